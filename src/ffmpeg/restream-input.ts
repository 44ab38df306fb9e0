/** What a nest-restream input message asks for (design section 3, nest-restream). */
import { describeValue } from "../stream/stream-command";
import { RestreamRefusal } from "./refusal";
import { TARGET_KINDS, type TargetKind } from "./targets";

export type RestreamAction =
  | { action: "play"; url: string }
  /** nest-stream's "restarted": switch a running restream to the new session; a stopped one only keeps the URL. */
  | { action: "switch"; url: string }
  | { action: "update-url"; url: string }
  | { action: "start" }
  | { action: "stop" }
  /** Send the newest JPEG of the camera (output 3). */
  | { action: "snapshot" }
  | { action: "none" };

export interface TargetOverride {
  /** One of TARGET_KINDS (youtube-live sends the kind of its ingest). */
  target?: TargetKind;
  url?: string;
  streamKey?: string;
}

export interface RestreamInput {
  command: RestreamAction;
  target?: TargetOverride;
  /** The input's audio when the source says it (nest-stream's WebRTC cameras send Opus). */
  inputAudio?: { codec: string };
}

/**
 * Why a message is not understood: `notUnderstood` with `got` (msg.payload, described without its
 * content), or which of msg.stream and msg.target is wrong.
 */
export const RESTREAM_INPUT_CODES = [
  "notUnderstood",
  "streamEvent",
  "targetNotObject",
  "targetKind",
  "targetUrl",
  "targetStreamKey",
] as const;
export type RestreamInputCode = (typeof RESTREAM_INPUT_CODES)[number];

export class RestreamInputError extends RestreamRefusal<RestreamInputCode> {
  constructor(code: RestreamInputCode, params: Record<string, string> = {}) {
    super(code, params);
    this.name = "RestreamInputError";
  }
}

const URL_LIKE = /^(rtsps?|rtmps?|srt|https?):\/\/\S+$/i;
const FILE_LIKE = /^(\/|\.\.?\/|[A-Za-z]:\\)\S*$/;
/** The msg.stream events nest-stream sends that nest-restream acts on. */
export const STREAM_EVENTS: readonly string[] = ["started", "extended", "restarted", "stopped"];
/** The words msg.payload may carry (case and surrounding spaces ignored). */
export const RESTREAM_COMMANDS = ["start", "stop", "snapshot"] as const;

export function isInputUrl(value: string): boolean {
  return URL_LIKE.test(value) || FILE_LIKE.test(value);
}

export function parseRestreamInput(msg: {
  payload?: unknown;
  stream?: unknown;
  target?: unknown;
}): RestreamInput {
  const target = parseTarget(msg.target);
  const event = parseStreamEvent(msg.stream);
  const p = msg.payload;

  const word =
    typeof p === "string" ? RESTREAM_COMMANDS.find((c) => c === p.trim().toLowerCase()) : undefined;
  let command: RestreamAction;
  if (event === "stopped" || p === null || p === false) command = { action: "stop" };
  else if (word) command = { action: word };
  else if (typeof p === "string" && isInputUrl(p.trim())) {
    const url = p.trim();
    command =
      event === "extended"
        ? { action: "update-url", url }
        : event === "restarted"
          ? { action: "switch", url }
          : { action: "play", url };
  } else if (target && (p === undefined || p === "")) command = { action: "none" };
  else throw new RestreamInputError("notUnderstood", { got: describeValue(p) });
  const result: RestreamInput = target ? { command, target } : { command };
  if (isWebRtcStream(msg.stream)) result.inputAudio = { codec: "opus" };
  return result;
}

function isWebRtcStream(stream: unknown): boolean {
  return (
    typeof stream === "object" && stream !== null && (stream as { protocol?: unknown }).protocol === "WEB_RTC"
  );
}

function parseStreamEvent(stream: unknown): string | undefined {
  if (stream === undefined || stream === null) return undefined;
  const event = typeof stream === "object" ? (stream as { event?: unknown }).event : undefined;
  if (typeof event !== "string" || !STREAM_EVENTS.includes(event)) {
    throw new RestreamInputError("streamEvent");
  }
  return event;
}

function parseTarget(target: unknown): TargetOverride | undefined {
  if (target === undefined || target === null) return undefined;
  if (typeof target !== "object" || Array.isArray(target)) throw new RestreamInputError("targetNotObject");
  const { target: kind, url, streamKey } = target as Record<string, unknown>;
  const out: TargetOverride = {};
  if (kind !== undefined) {
    if (!TARGET_KINDS.includes(kind as TargetKind)) {
      throw new RestreamInputError("targetKind");
    }
    out.target = kind as TargetKind;
  }
  if (url !== undefined) {
    if (typeof url !== "string" || !isInputUrl(url.trim())) throw new RestreamInputError("targetUrl");
    out.url = url.trim();
  }
  if (streamKey !== undefined) {
    if (typeof streamKey !== "string" || /\s/.test(streamKey.trim()) || !streamKey.trim()) {
      throw new RestreamInputError("targetStreamKey");
    }
    out.streamKey = streamKey.trim();
  }
  return out;
}
