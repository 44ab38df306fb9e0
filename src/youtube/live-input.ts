/** What a youtube-live input message asks for: nest-stream's messages, and "stop" / false / null. */
import { describeValue } from "../stream/stream-command";

export type LiveInput =
  /** A URL of a camera session: the broadcast must exist (made if none is under way). */
  | { action: "url"; event: "started" | "extended" | "restarted"; camera: string; title?: string }
  /** The camera stopped: pass on, then complete the broadcast. */
  | { action: "end" };

export const ACCEPTED_LIVE_INPUTS =
  'nest-stream\'s messages (msg.payload a URL with msg.stream.event "started", "extended" or "restarted", or ' +
  'msg.stream.event "stopped"), and msg.payload "stop", false or null; msg.title may set the broadcast\'s title';

/** The node words it from its catalog (`youtube-live.error.input`, with `got`); the message is the same in English. */
export class LiveInputError extends Error {
  constructor(
    /** What came instead, described without its content. */
    readonly got: string,
  ) {
    super(`youtube-live accepts ${ACCEPTED_LIVE_INPUTS}; got ${got}. The broadcast was left as it is.`);
    this.name = "LiveInputError";
  }
}

const STREAM_URL = /^(rtsps?|rtmps?|srt|https?):\/\/\S+$/i;

export function parseLiveInput(msg: { payload?: unknown; stream?: unknown; title?: unknown }): LiveInput {
  const p = msg.payload;
  const stream = msg.stream;
  const event =
    stream && typeof stream === "object"
      ? (stream as { event?: unknown }).event
      : stream === undefined
        ? undefined
        : null;
  if (event === "stopped" || p === null || p === false) return { action: "end" };
  if (typeof p === "string" && /^\s*stop\s*$/i.test(p)) return { action: "end" };
  if (typeof p !== "string" || !STREAM_URL.test(p.trim())) throw new LiveInputError(describeValue(p));
  if (event !== "started" && event !== "extended" && event !== "restarted") {
    throw new LiveInputError(
      event === undefined
        ? "a URL without msg.stream (wire youtube-live after nest-stream)"
        : "an unknown msg.stream.event",
    );
  }
  const s = stream as { camera?: unknown; deviceId?: unknown };
  const camera =
    (typeof s.camera === "string" && s.camera.trim()) ||
    (typeof s.deviceId === "string" && s.deviceId) ||
    "camera";
  if (msg.title !== undefined && (typeof msg.title !== "string" || !msg.title.trim())) {
    throw new LiveInputError(`msg.title ${describeValue(msg.title)}, which is not a title`);
  }
  const title = typeof msg.title === "string" ? msg.title.trim() : undefined;
  return title ? { action: "url", event, camera, title } : { action: "url", event, camera };
}
