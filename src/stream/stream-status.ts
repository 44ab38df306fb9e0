/**
 * The status line of a stream (design section 3: live with time left, extending, retrying with why,
 * stopped, error), refreshed while live so the time left counts down. The words come from the
 * caller's message catalog (`text`, the node's `RED._`); this decides which, with what, and when.
 */
import { systemClock, type Clock, type Timer } from "../clock";
import { formatDuration, truncate } from "../format";
import type { StreamProtocol } from "../nest/sdm-types";
import { redact } from "../redact";
import type { StreamReason } from "./stream-reason";
import type { StreamState } from "./stream-state";

/** Keys of the status texts (`nest-stream.status.<key>` in the node's catalog). */
export type StatusKey =
  | "stopped"
  | "starting"
  | "live"
  | "extending"
  | "retrying"
  | "error"
  | "via"
  | "left"
  | "camera"
  | "exposed"
  | "noAccount";

/** Looks a status text up (`__name__` placeholders filled from `vars`). */
export type StatusText = (key: StatusKey, vars?: Record<string, string>) => string;

/** Words why a stream retries (the node's catalog, `nest-stream.reasons.<code>`: reasonText). */
export type ReasonText = (why: StreamReason) => string;

/** What a Node-RED node's `status()` takes. */
export interface StatusView {
  fill: "green" | "yellow" | "red" | "grey";
  shape: "dot" | "ring";
  text: string;
}

/** How often the "live, m:ss left" status is refreshed by default. */
export const STATUS_TICK_MS = 15_000;

/** "RTSP" / "WebRTC", for status lines and messages. */
export function protocolLabel(protocol: StreamProtocol): string {
  return protocol === "WEB_RTC" ? "WebRTC" : "RTSP";
}

/** The status line for a state at time `now`. */
export function statusView(s: StreamState, now: number, text: StatusText, why: ReasonText): StatusView {
  const via = (status: string) =>
    s.protocol ? text("via", { status, protocol: protocolLabel(s.protocol) }) : status;
  const named = (status: string) =>
    truncate(s.camera ? text("camera", { camera: s.camera, status }) : status);
  switch (s.state) {
    case "live": {
      const left = s.expiresAt ? Date.parse(s.expiresAt) - now : NaN;
      const live = via(text("live"));
      return {
        fill: "green",
        shape: "dot",
        text: named(
          Number.isFinite(left) ? text("left", { status: live, left: formatDuration(left) }) : live,
        ),
      };
    }
    case "starting":
      return { fill: "yellow", shape: "ring", text: named(via(text("starting"))) };
    case "extending":
      return { fill: "green", shape: "ring", text: named(via(text("extending"))) };
    case "retrying":
      return {
        fill: "yellow",
        shape: "ring",
        text: named(text("retrying", { reason: redact(s.why ? why(s.why) : "") })),
      };
    case "error":
      return {
        fill: "red",
        shape: "dot",
        text: truncate(s.reason !== undefined ? redact(s.reason) : text("error")),
      };
    default:
      return { fill: "grey", shape: "ring", text: text("stopped") };
  }
}

export interface StreamStatusOptions {
  text: StatusText;
  /** Words why it retries. */
  why: ReasonText;
  show: (view: StatusView) => void;
  clock?: Clock;
  /** Refresh period while live (default 15 s). */
  tickMs?: number;
  /**
   * True while the camera is served by a local RTSP server that other machines reach without a
   * password: the status then says so (text `exposed`, yellow) while it starts or is live.
   */
  exposed?: (state: StreamState) => boolean;
}

/** Shows each state, and while live refreshes it every tick. */
export class StreamStatus {
  private readonly clock: Clock;
  private readonly tickMs: number;
  private state: StreamState = { state: "stopped" };
  private timer?: Timer;
  private closed = false;

  constructor(private readonly options: StreamStatusOptions) {
    this.clock = options.clock ?? systemClock;
    this.tickMs = options.tickMs ?? STATUS_TICK_MS;
  }

  /** Shows the state (and keeps the time left current while live). */
  update(state: StreamState): void {
    if (this.closed) return;
    this.state = state;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.refresh();
  }

  /** There is no account to stream with (until a command's error says more). */
  noAccount(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.options.show({ fill: "red", shape: "ring", text: this.options.text("noAccount") });
  }

  /** No more updates or ticks. */
  close(): void {
    this.closed = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private refresh(): void {
    let view = statusView(this.state, this.clock.now(), this.options.text, this.options.why);
    const serving = ["starting", "live", "extending"].includes(this.state.state);
    if (serving && this.options.exposed?.(this.state)) {
      view = { fill: "yellow", shape: view.shape, text: this.options.text("exposed", { status: view.text }) };
    }
    this.options.show(view);
    if (this.state.state === "live" && !this.closed) {
      this.timer = this.clock.setTimeout(() => this.refresh(), this.tickMs);
    }
  }
}
