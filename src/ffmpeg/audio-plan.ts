/**
 * Decides how one restream run handles audio (auto, copy, aac, silent, none) from what ffmpeg's own
 * stream listing says the input carries, and allows the few immediate restarts that fix a wrong guess.
 *
 * Audio "auto" and the input's audio: what the camera sends is learned from ffmpeg's own stream
 * listing on stderr, never from a second connection (one Nest URL serves one client, so no
 * ffprobe). While it is unknown (`inputAudio` undefined) the plan is "probe": map the input's
 * first audio stream if there is one (`-map 0:a:0?`) and COPY it, because Nest RTSP cameras send
 * AAC: for them the first run is the right one (one ffmpeg, one publish). The Restreamer reads the
 * listing of that run and, when the input needs another plan, restarts once at once (after the
 * first run has exited): "silence" when there is no audio (anullsrc as a second input, because
 * YouTube wants an audio track), "encode" (to AAC) for Opus or another codec that an output cannot
 * carry (FLV refuses Opus at the header, so that run exits by itself). Matroska and MPEG-TS
 * outputs carry any codec: there a copied Opus track is kept. The planner remembers the layout,
 * so reconnects and new sessions of the same camera start with the right plan.
 */
import type { InputLayout } from "./progress";
import type { Destination } from "./targets";

export const AUDIO_MODES = ["auto", "copy", "aac", "silent", "none"] as const;
export type AudioMode = (typeof AUDIO_MODES)[number];

/** What is done with audio in one run. */
export type AudioPlan = "probe" | "copy" | "encode" | "silence" | "none";

/** The input's audio as learned: undefined = not known yet, null = the input has none. */
export type InputAudio = { codec: string } | null | undefined;

/** At most this many immediate restarts to fix the audio plan per start. */
export const MAX_REPLANS = 2;

export class AudioModeError extends Error {
  override name = "AudioModeError";
}

/**
 * Decides the audio handling from the mode and what is known of the input. With `outputs`, a
 * non-AAC input is copied when every output's container can carry it (see `carriesAnyAudio`).
 */
export function audioPlan(
  mode: AudioMode = "auto",
  inputAudio?: InputAudio,
  outputs?: readonly Destination[],
): AudioPlan {
  switch (mode) {
    case "none":
      return "none";
    case "silent":
      return "silence";
    case "copy":
      return "copy";
    case "aac":
      return "encode";
    case "auto":
      if (inputAudio === undefined) return "probe";
      if (inputAudio === null) return "silence";
      if (isAac(inputAudio.codec)) return "copy";
      return outputs && outputs.length > 0 && outputs.every(carriesAnyAudio) ? "copy" : "encode";
    default:
      throw new AudioModeError(`audio must be one of ${AUDIO_MODES.join(", ")}; got ${JSON.stringify(mode)}`);
  }
}

export function isAac(codec: string): boolean {
  return /^aac(_latm)?$/i.test(codec);
}

/**
 * Whether an output's container takes any audio codec as is (Opus included): Matroska and MPEG-TS
 * (recordings, SRT). FLV (RTMP, YouTube) takes only AAC/MP3; HLS, MP4 and RTSP are re-encoded to
 * AAC to stay on the safe side.
 */
export function carriesAnyAudio(dest: Destination): boolean {
  const format =
    dest.format === "segment" ? dest.options.find(([k]) => k === "segment_format")?.[1] : dest.format;
  return format === "matroska" || format === "mpegts";
}

/** What the next run assumes of the input, and the plan that follows from it. */
export interface NextRun {
  plan: AudioPlan;
  inputAudio: InputAudio;
  /** The input's frame rate as last listed (the GOP of a re-encode). */
  inputFps: number | undefined;
}

/** What a run's stream listing means for it: keep it (with what it turned out to do), or restart it now. */
export type ListingVerdict = { keep: AudioPlan } | { replan: string } | null;

/** The audio plan of one Restreamer across its runs: the last listing, the source's hint, the replans. */
export class AudioPlanner {
  private last: { key: string; layout: InputLayout } | null = null;
  /** What the source says it sends, for a first run before any listing (a WebRTC camera: Opus). */
  private hint: InputAudio = undefined;
  private replans = 0;

  constructor(private readonly mode: AudioMode = "auto") {}

  /** Keeps what the source says it sends; undefined changes nothing. */
  setHint(inputAudio: InputAudio): void {
    if (inputAudio !== undefined) this.hint = inputAudio;
  }

  /** A start from stopped: the replans allowed start over. */
  resetReplans(): void {
    this.replans = 0;
  }

  /**
   * The plan for the next run. A new session of the same camera nearly always has the same tracks:
   * start from the last listing (`listed` checks the guess and asks for a replan if it was wrong).
   */
  next(destinations: readonly Destination[]): NextRun {
    const known = this.last?.layout;
    const inputAudio: InputAudio =
      known === undefined ? this.hint : known.audio ? { codec: known.audio.codec } : null;
    return { plan: audioPlan(this.mode, inputAudio, destinations), inputAudio, inputFps: known?.video?.fps };
  }

  /** The last listing, if it was of the session `key`. */
  layoutOf(key: string): InputLayout | null {
    return this.last?.key === key ? this.last.layout : null;
  }

  /** Remembers what ffmpeg listed for a run of session `key`. */
  remember(key: string, layout: InputLayout): void {
    this.last = { key, layout };
  }

  /**
   * The plan this input needs, against what the running ffmpeg does ("probe" copies the audio
   * there is, and publishes none when there is none). A mismatch costs one immediate restart
   * (never two connections at once: the Restreamer starts the next run once this one has exited),
   * at most MAX_REPLANS per start; null when there is nothing to do.
   */
  check(
    layout: InputLayout,
    running: AudioPlan,
    destinations: readonly Destination[] | undefined,
  ): ListingVerdict {
    if (this.mode !== "auto") return null;
    const needed = audioPlan("auto", layout.audio ? { codec: layout.audio.codec } : null, destinations);
    const actual = running === "probe" ? (layout.audio ? "copy" : "none") : running;
    if (needed === actual) return { keep: actual };
    if (this.replans >= MAX_REPLANS) return null;
    this.replans++;
    return {
      replan:
        needed === "silence"
          ? "the input has no audio: restarting at once with a silent audio track"
          : needed === "copy"
            ? `the input's audio is ${layout.audio?.codec}: restarting at once to copy it`
            : `the input's audio is ${layout.audio?.codec}: restarting at once to re-encode it to AAC`,
    };
  }
}
