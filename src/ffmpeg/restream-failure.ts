/**
 * Why an ffmpeg run ended or could not start, as codes and their parameters (`RestreamRefusal`): the
 * adapter words them from its catalog (`nest-restream.errors.<code>`); ffmpeg's own stderr line that
 * says why (`failureReason`) goes with them as ffmpeg wrote it.
 */
import type { FfmpegExit } from "./ffmpeg-process";
import { RestreamRefusal } from "./refusal";
import { SYSTEM_CA_FILES } from "./tls-trust";

export const RESTREAM_FAILURE_CODES = [
  "ffmpegMissing",
  "ffmpegNotRunnable",
  "ffmpegNotStarted",
  "ffmpegError",
  "ffmpegKilled",
  "ffmpegExitedZero",
  "ffmpegExited",
  "noProgress",
  "stalled",
  "unverifiedTls",
] as const;
export type RestreamFailureCode = (typeof RESTREAM_FAILURE_CODES)[number];

export type RestreamFailure = RestreamRefusal<RestreamFailureCode>;

const failure = (code: RestreamFailureCode, params: Record<string, string> = {}): RestreamFailure =>
  new RestreamRefusal(code, params);

/** A spawn that failed: no ffmpeg at the path, one that may not be run, or another error of the system. */
export function spawnFailure(err: NodeJS.ErrnoException, ffmpegPath: string): RestreamFailure {
  if (err.code === "ENOENT") return failure("ffmpegMissing", { path: ffmpegPath });
  if (err.code === "EACCES") return failure("ffmpegNotRunnable", { path: ffmpegPath });
  return failure("ffmpegNotStarted", { error: err.message });
}

/** An exit nobody asked for: an error of the process, a signal, status 0 (an input or output ended), a status. */
export function exitFailure(exit: FfmpegExit): RestreamFailure {
  if (exit.error) return failure("ffmpegError", { error: exit.error.message });
  if (exit.signal) return failure("ffmpegKilled", { signal: exit.signal });
  if (exit.code === 0) return failure("ffmpegExitedZero");
  return failure("ffmpegExited", { status: String(exit.code) });
}

/** A run the stall watchdog ended: no progress since it started, or progress that stopped. */
export function stallFailure(idleMs: number, wasLive: boolean): RestreamFailure {
  return failure(wasLive ? "stalled" : "noProgress", { seconds: String(Math.round(idleMs / 1000)) });
}

/** The warning, once per restream, when an rtmps:// destination starts without a certificate check. */
export function unverifiedTls(): RestreamFailure {
  return failure("unverifiedTls", { files: SYSTEM_CA_FILES.join(", ") });
}
