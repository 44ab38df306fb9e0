/**
 * What a youtube-captions message means (design section 3): a caption's text, a clock command,
 * a caption ingestion URL from youtube-live; and the clock's time format.
 */
import { describeValue } from "../stream/stream-command";

export type CaptionMode = "text" | "clock";
export const CAPTION_MODES: readonly CaptionMode[] = ["text", "clock"];

/** Why an input was refused; the adapter words it from its catalog (`youtube-captions.error.<code>`). */
export const CAPTION_INPUT_CODES = ["notText", "empty", "badUrl", "noUrl", "notCommand"] as const;
export type CaptionInputCode = (typeof CAPTION_INPUT_CODES)[number];

export class CaptionInputError extends Error {
  constructor(
    readonly code: CaptionInputCode,
    /** What came instead, described without its content ("a object", "\"go\""). */
    readonly got: string,
  ) {
    super(`youtube-captions: ${code} (got ${got})`);
    this.name = "CaptionInputError";
  }
}

export type CaptionInput =
  /** A caption to post (text mode). */
  | { action: "caption"; text: string; url?: string }
  /** Clock mode. */
  | { action: "start" | "stop"; url?: string }
  /** Only a new ingestion URL (youtube-live's messages in text mode, or `msg.captions` alone). */
  | { action: "url"; url: string };

/** A caption ingestion URL: http(s) with a `cid` (YouTube: `http://upload.youtube.com/closedcaption?cid=…`). */
export function isCaptionUrl(value: unknown): value is string {
  if (typeof value !== "string") return false;
  try {
    const u = new URL(value.trim());
    return (u.protocol === "http:" || u.protocol === "https:") && !!u.searchParams.get("cid");
  } catch {
    return false;
  }
}

/** `describeValue` that never repeats a string (it may be a URL with a key in it). */
function described(value: unknown): string {
  return typeof value === "string" ? `a string of ${value.length} characters` : describeValue(value);
}

const START = /^\s*(start|on)\s*$/i;
const STOP = /^\s*(stop|off)\s*$/i;

export function parseCaptionInput(
  mode: CaptionMode,
  msg: { payload?: unknown; captions?: unknown; stream?: unknown },
): CaptionInput {
  let url: string | undefined;
  if (msg.captions !== undefined && msg.captions !== null) {
    const raw = typeof msg.captions === "object" ? (msg.captions as { url?: unknown }).url : msg.captions;
    if (!isCaptionUrl(raw)) throw new CaptionInputError("badUrl", described(raw));
    url = raw.trim();
  }
  const withUrl = <T extends object>(v: T): T & { url?: string } => (url ? { ...v, url } : v);
  const p = msg.payload;
  const event =
    msg.stream && typeof msg.stream === "object" ? (msg.stream as { event?: unknown }).event : undefined;

  if (mode === "clock") {
    if (event === "stopped" || p === null || p === false || (typeof p === "string" && STOP.test(p))) {
      return withUrl({ action: "stop" as const });
    }
    if (event === "started" || event === "extended" || event === "restarted") {
      return withUrl({ action: "start" as const });
    }
    if (p === true || (typeof p === "string" && START.test(p))) return withUrl({ action: "start" as const });
    if (url && (p === undefined || p === "")) return { action: "url", url };
    throw new CaptionInputError("notCommand", described(p));
  }

  // Text mode: a nest-stream message passed on by youtube-live carries the URL, not a caption.
  if (msg.stream !== undefined && url) return { action: "url", url };
  if (url && (p === undefined || p === "")) return { action: "url", url };
  if (typeof p !== "string" && typeof p !== "number")
    throw new CaptionInputError("notText", describeValue(p));
  const text = captionText(String(p));
  if (!text) throw new CaptionInputError("empty", describeValue(p));
  return withUrl({ action: "caption" as const, text });
}

/** Trimmed, each line break a `<br>` (YouTube's line break in a caption), blank lines dropped. */
export function captionText(text: string): string {
  return text
    .split(/\r\n|\r|\n|<br\s*\/?>/i)
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join("<br>");
}

/**
 * The local time `ms` in `format`: `YYYY`, `MM`, `DD`, `HH`, `mm`, `ss` and `SSS` are replaced,
 * `[text]` is kept as it is, anything else too.
 */
export function formatClock(ms: number, format: string): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  const tokens: Record<string, string> = {
    YYYY: String(d.getFullYear()),
    MM: two(d.getMonth() + 1),
    DD: two(d.getDate()),
    HH: two(d.getHours()),
    mm: two(d.getMinutes()),
    ss: two(d.getSeconds()),
    SSS: String(d.getMilliseconds()).padStart(3, "0"),
  };
  return format.replace(/\[([^\]]*)\]|YYYY|SSS|MM|DD|HH|mm|ss/g, (tok, literal?: string) =>
    literal !== undefined ? literal : (tokens[tok] ?? tok),
  );
}
