/**
 * youtube-upload node: hands the files it is sent (nest-restream's output 2) to an UploadQueue kept
 * under the Node-RED user directory, and the queue's progress and videos to the status and the output.
 */
import os from "node:os";
import path from "node:path";
import { truncate } from "../src/format";
import { errorMessage, redact } from "../src/redact";
import type { Privacy } from "../src/youtube/live-api";
import { chunkBytes, UploadFileError } from "../src/youtube/resumable-upload";
import { parseTags, PRIVACIES, uploadMetadata, type UploadSettings } from "../src/youtube/upload-input";
import {
  queueFileFor,
  UploadQueue,
  type QueueEntry,
  type QueueStatus,
  type UploadDone,
} from "../src/youtube/upload-queue";
import type { Node, NodeStatus, RED } from "./red-types";
import { accountOrRefuse } from "./lib/account-guard";
import type { YouTubeVideoSettings } from "./lib/youtube-settings";
import type { YouTubeAccountNode } from "./youtube-account";

interface YouTubeUploadConfig extends YouTubeVideoSettings {
  tags?: string;
  categoryId?: string;
  notifySubscribers?: boolean;
  deleteAfterUpload?: boolean;
  chunkMiB?: string | number;
}

function settingsFrom(config: YouTubeUploadConfig): UploadSettings {
  return {
    title: config.title?.trim() || "{file}",
    description: config.description ?? "",
    privacy: PRIVACIES.includes(config.privacy as Privacy) ? (config.privacy as Privacy) : "private",
    tags: parseTags(config.tags),
    categoryId: config.categoryId?.trim() || "22",
    madeForKids: config.madeForKids === true,
    notifySubscribers: config.notifySubscribers === true,
  };
}

/** Status updates that only move the percentage go out at most this often. */
const PROGRESS_STATUS_MS = 1_000;

module.exports = function register(RED: RED) {
  function YouTubeUploadNode(this: Node, config: YouTubeUploadConfig) {
    RED.nodes.createNode(this, config);
    const accountNode = accountOrRefuse<YouTubeAccountNode>(RED, this, config.account, "youtube-upload");
    if (!accountNode) return;
    const settings = settingsFrom(config);
    const chunk = chunkBytes(config.chunkMiB);
    const userDir =
      typeof RED.settings.userDir === "string" && RED.settings.userDir
        ? RED.settings.userDir
        : path.join(os.homedir(), ".node-red");
    const queue = new UploadQueue({
      file: queueFileFor(userDir, this.id),
      uploader: () => accountNode.account().uploader({ chunkBytes: chunk }),
    });

    let lastProgress = 0;
    let lastKind = "";
    queue.on("status", (s: QueueStatus) => {
      const kind = statusKind(s);
      const now = Date.now();
      if (kind === "progress" && kind === lastKind && now - lastProgress < PROGRESS_STATUS_MS) return;
      lastKind = kind;
      lastProgress = now;
      this.status(statusFor(RED, s));
    });
    queue.on("done", (d: UploadDone) => {
      const { result, entry } = d;
      this.send({
        payload: {
          videoId: result.videoId,
          url: `https://www.youtube.com/watch?v=${result.videoId}`,
          file: entry.file,
          bytes: result.bytes,
          seconds: Math.round(result.seconds * 10) / 10,
          resumes: result.resumes,
        },
        video: result.video,
        ...(d.deleted ? { deleted: true } : {}),
      });
    });
    queue.on("failed", (entry: QueueEntry, err: unknown) => {
      this.error(RED._("youtube-upload.error.failed", { file: entry.file, error: inputError(err) }), {
        payload: entry.file,
      });
    });
    queue.on("warning", (text: string) => this.warn(redact(text)));

    const inputError = (err: unknown): string =>
      err instanceof UploadFileError
        ? RED._(`youtube-upload.error.${err.code}`, { detail: redact(err.message) })
        : errorMessage(err);

    const opened = queue.open().catch((err: unknown) => {
      this.error(RED._("youtube-upload.error.queue", { error: errorMessage(err) }));
    });

    this.on("input", async (msg, _send, done) => {
      await opened;
      try {
        const file = msg.payload;
        const meta = uploadMetadata(msg, typeof file === "string" ? file : "", settings, Date.now());
        await queue.add(file, meta, config.deleteAfterUpload === true);
        done();
      } catch (err) {
        done(new Error(inputError(err)));
      }
    });

    this.on("close", (_removed, done) => {
      // What is queued, and the session of the file going up, stay on disk for the next start.
      void queue.close().then(() => done());
    });
  }

  RED.nodes.registerType("youtube-upload", YouTubeUploadNode);
};

function statusKind(s: QueueStatus): string {
  if (s.waitingUntil) return "waiting";
  if (s.retrying) return "retrying";
  if (s.current && s.current.total > 0) return "progress";
  return s.queued > 0 ? "starting" : "idle";
}

function speed(bytesPerSecond: number): string {
  if (bytesPerSecond >= 1024 * 1024) return `${(bytesPerSecond / 1024 / 1024).toFixed(1)} MB/s`;
  return `${Math.round(bytesPerSecond / 1024)} KB/s`;
}

function statusFor(RED: RED, s: QueueStatus): NodeStatus {
  const t = (key: string, subs?: Record<string, unknown>) => RED._(`youtube-upload.status.${key}`, subs);
  const queued = t("queued", { count: s.queued });
  switch (statusKind(s)) {
    case "waiting": {
      const until = new Date(s.waitingUntil ?? 0).toISOString().slice(0, 16).replace("T", " ");
      return { fill: "yellow", shape: "ring", text: truncate(`${t("waiting", { until })} · ${queued}`) };
    }
    case "retrying":
      return {
        fill: "yellow",
        shape: "ring",
        text: truncate(redact(`${t("retrying", { error: s.retrying ?? "" })} · ${queued}`)),
      };
    case "progress": {
      const c = s.current ?? { sent: 0, total: 1, bytesPerSecond: 0 };
      const percent = Math.floor((c.sent / c.total) * 100);
      return {
        fill: "blue",
        shape: "dot",
        text: truncate(t("uploading", { percent, speed: speed(c.bytesPerSecond), queued })),
      };
    }
    case "starting":
      return { fill: "blue", shape: "ring", text: truncate(`${t("starting")} · ${queued}`) };
    default:
      return s.lastVideoId
        ? { fill: "green", shape: "dot", text: truncate(t("done", { videoId: s.lastVideoId })) }
        : { fill: "grey", shape: "ring", text: t("idle") };
  }
}
