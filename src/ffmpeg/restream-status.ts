/** What a nest-restream status line shows, as typed data: the adapter words it from its message catalog. */
import { formatDuration } from "../format";
import { redact } from "../redact";
import type { RestreamSnapshot } from "./restream-snapshot";

export type RestreamStatus =
  | { state: "stopped" }
  | { state: "starting" }
  /** Figures rounded; null where ffmpeg has not reported them (yet). `uptime` "m:ss", null at 0. */
  | { state: "live"; fps: number | null; kbps: number | null; uptime: string | null }
  /** `reason`: the first line of the last error, redacted; null when there is none. */
  | { state: "retrying"; restarts: number; reason: string | null }
  | { state: "failed"; reason: string | null }
  /** The configured destination does not resolve (msg.target may still fix it): a RestreamRefusal. */
  | { state: "misconfigured"; error: Error };

export function restreamStatus(s: RestreamSnapshot): RestreamStatus {
  switch (s.state) {
    case "live":
      return {
        state: "live",
        fps: roundOrNull(s.fps),
        kbps: roundOrNull(s.bitrateKbps),
        uptime: s.uptimeS ? formatDuration(s.uptimeS * 1000) : null,
      };
    case "starting":
      return { state: "starting" };
    case "retrying":
      return { state: "retrying", restarts: s.restarts, reason: firstLine(s.lastError) };
    case "failed":
      return { state: "failed", reason: firstLine(s.lastError) };
    default:
      return { state: "stopped" };
  }
}

function roundOrNull(n: number | null | undefined): number | null {
  return n !== null && n !== undefined ? Math.round(n) : null;
}

/**
 * The first line of the last error, redacted, made to fit a status: ffmpeg's "rtmp://host/app/***:
 * Input/output error (ffmpeg exited with status 1)" becomes "Input/output error — rtmp://host" (the
 * parenthesis, what happened in the catalog's words, goes whatever its language).
 */
function firstLine(text: string | null | undefined): string | null {
  const line = redact((text ?? "").split("\n")[0].trim());
  const named = /^([a-z][a-z0-9+.-]*:\/\/[^/\s?]+)\S*: (.+?)(?: \([^()]*\))?$/i.exec(line);
  return (named ? `${named[2]} — ${named[1]}` : line) || null;
}
