/** The Restreamer's state at one moment, as events and nest-restream's output message carry it. */
import { redact } from "../redact";
import type { AudioPlan } from "./audio-plan";
import type { InputLayout, ProgressSample, StreamInfo } from "./progress";
import { describeDestination, resolveOutputs, type Destination, type TargetConfig } from "./targets";

export type RestreamState = "starting" | "live" | "retrying" | "stopped" | "failed";

/** What nest-restream sends as `msg.payload` (design section 3), plus a few extras. */
export interface RestreamSnapshot {
  state: RestreamState;
  /** The input URL, redacted; null before the first play(). */
  url: string | null;
  fps: number | null;
  bitrateKbps: number | null;
  frames: number | null;
  speed: number | null;
  /** Seconds the current ffmpeg has been live; 0 when not live. */
  uptimeS: number;
  /** Restarts after failures or stalls since play() started from stopped. */
  restarts: number;
  /** Why the last run failed, with the last stderr lines; redacted. */
  lastError: string | null;
  pid: number | null;
  /** The main destination, redacted. */
  target: string | null;
  /** How audio is handled by the current run. */
  audio: AudioPlan | null;
  /** What the input carries, once ffmpeg has listed it. */
  input: { video: string | null; audio: string | null } | null;
}

/** The nest-restream output message's payload (design section 3): the snapshot without internals. */
export type RestreamPayload = Pick<
  RestreamSnapshot,
  "state" | "url" | "fps" | "bitrateKbps" | "frames" | "speed" | "uptimeS" | "restarts" | "lastError"
>;

export function restreamPayload(s: RestreamSnapshot): RestreamPayload {
  const { state, url, fps, bitrateKbps, frames, speed, uptimeS, restarts, lastError } = s;
  return { state, url, fps, bitrateKbps, frames, speed, uptimeS, restarts, lastError };
}

/** What a snapshot is made of. */
export interface SnapshotParts {
  state: RestreamState;
  now: number;
  /** The URL the next (re)connect uses, in clear (redacted here). */
  url: string | null;
  /** The running ffmpeg, if one runs. */
  run: {
    pid: number | null;
    plan: AudioPlan;
    sample: ProgressSample | null;
    liveSince: number | null;
  } | null;
  restarts: number;
  lastError: string | null;
  /** The resolved destinations, else the configured main target (null if it does not resolve). */
  destinations: readonly Destination[] | null;
  target: TargetConfig;
  /** The input's last listing, if it is of the current session. */
  layout: InputLayout | null;
}

export function takeSnapshot(p: SnapshotParts): RestreamSnapshot {
  const run = p.run;
  const s = run?.sample ?? null;
  return {
    state: p.state,
    url: p.url ? redact(p.url) : null,
    fps: s?.fps ?? null,
    bitrateKbps: s?.bitrateKbps ?? null,
    frames: s?.frames ?? null,
    speed: s?.speed ?? null,
    uptimeS: run?.liveSince != null && p.state === "live" ? Math.floor((p.now - run.liveSince) / 1000) : 0,
    restarts: p.restarts,
    lastError: p.lastError,
    pid: run?.pid ?? null,
    target: mainTarget(p.destinations, p.target),
    audio: run?.plan ?? null,
    input: p.layout ? { video: describeStream(p.layout.video), audio: describeStream(p.layout.audio) } : null,
  };
}

function mainTarget(destinations: readonly Destination[] | null, target: TargetConfig): string | null {
  try {
    const main = (destinations ?? resolveOutputs(target, []))[0];
    return main ? describeDestination(main) : null;
  } catch {
    return null;
  }
}

/** "h264 1920x1080 15 fps", "aac 48000 Hz". */
export function describeStream(s: StreamInfo | null): string | null {
  if (!s) return null;
  const parts = [s.codec];
  if (s.width && s.height) parts.push(`${s.width}x${s.height}`);
  if (s.fps) parts.push(`${s.fps} fps`);
  if (s.sampleRate) parts.push(`${s.sampleRate} Hz`);
  return parts.join(" ");
}
