/**
 * youtube-upload's status line (idle, starting, percent and speed, waiting for the quota, retrying
 * with why, the last video), at most once a second while only the percentage moves. The words come
 * from the caller's message catalog (`text`, the node's `RED._`); this decides which, with what, and when.
 */
import { systemClock, type Clock } from "../clock";
import { truncate } from "../format";
import { redact } from "../redact";
import type { QueueStatus } from "./upload-queue";

/** Keys of the status texts (`youtube-upload.status.<key>` in the node's catalog). */
export type UploadStatusKey =
  "noAccount" | "idle" | "queued" | "starting" | "uploading" | "waiting" | "retrying" | "done";
export type UploadStatusText = (key: UploadStatusKey, vars?: Record<string, string | number>) => string;

export interface UploadStatusView {
  fill: "green" | "yellow" | "blue" | "grey";
  shape: "dot" | "ring";
  text: string;
}

/** Status updates that only move the percentage go out at most this often. */
export const PROGRESS_STATUS_MS = 1_000;

type Kind = "waiting" | "retrying" | "progress" | "starting" | "idle";

function kindOf(s: QueueStatus): Kind {
  if (s.waitingUntil) return "waiting";
  if (s.retrying) return "retrying";
  if (s.current && s.current.total > 0) return "progress";
  return s.queued > 0 ? "starting" : "idle";
}

/** "1.5 MB/s" or "300 KB/s". */
export function speedText(bytesPerSecond: number): string {
  if (bytesPerSecond >= 1024 * 1024) return `${(bytesPerSecond / 1024 / 1024).toFixed(1)} MB/s`;
  return `${Math.round(bytesPerSecond / 1024)} KB/s`;
}

/** The status line for a queue status. */
export function uploadStatusView(s: QueueStatus, text: UploadStatusText): UploadStatusView {
  const queued = text("queued", { count: s.queued });
  switch (kindOf(s)) {
    case "waiting": {
      const until = new Date(s.waitingUntil ?? 0).toISOString().slice(0, 16).replace("T", " ");
      return { fill: "yellow", shape: "ring", text: truncate(`${text("waiting", { until })} · ${queued}`) };
    }
    case "retrying":
      return {
        fill: "yellow",
        shape: "ring",
        text: truncate(redact(`${text("retrying", { error: s.retrying ?? "" })} · ${queued}`)),
      };
    case "progress": {
      const c = s.current ?? { sent: 0, total: 1, bytesPerSecond: 0 };
      const percent = Math.floor((c.sent / c.total) * 100);
      return {
        fill: "blue",
        shape: "dot",
        text: truncate(text("uploading", { percent, speed: speedText(c.bytesPerSecond), queued })),
      };
    }
    case "starting":
      return { fill: "blue", shape: "ring", text: truncate(`${text("starting")} · ${queued}`) };
    default:
      return s.lastVideoId
        ? { fill: "green", shape: "dot", text: truncate(text("done", { videoId: s.lastVideoId })) }
        : { fill: "grey", shape: "ring", text: text("idle") };
  }
}

/** Decides which queue statuses reach the node's status: every change of kind, progress once a second. */
export class UploadStatusLine {
  private lastKind?: Kind;
  private lastShown = 0;

  constructor(
    private readonly text: UploadStatusText,
    private readonly show: (view: UploadStatusView) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  update(s: QueueStatus): void {
    const kind = kindOf(s);
    const now = this.clock.now();
    if (kind === "progress" && kind === this.lastKind && now - this.lastShown < PROGRESS_STATUS_MS) return;
    this.lastKind = kind;
    this.lastShown = now;
    this.show(uploadStatusView(s, this.text));
  }
}
