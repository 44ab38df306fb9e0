/**
 * youtube-upload node: hands the files it is sent (nest-restream's output 2) to an UploadQueue kept
 * under the Node-RED user directory, and the queue's progress and videos to the status and the output.
 */
import os from "node:os";
import path from "node:path";
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
import { UploadStatusLine } from "../src/youtube/upload-status";
import type { Node, RED } from "./red-types";
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

    const statusLine = new UploadStatusLine(
      (key, vars) => RED._(`youtube-upload.status.${key}`, vars),
      (view) => this.status(view),
    );
    queue.on("status", (s: QueueStatus) => statusLine.update(s));
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
