/**
 * The ffmpeg command line for one restream run (design section 7).
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
 * outputs carry any codec: there a copied Opus track is kept. The Restreamer remembers the
 * layout, so reconnects and new sessions of the same camera start with the right plan.
 */
import { outputArgs, teeSpec, type Destination } from "./targets";

export const AUDIO_MODES = ["auto", "copy", "aac", "silent", "none"] as const;
export type AudioMode = (typeof AUDIO_MODES)[number];
export const VIDEO_MODES = ["copy", "h264"] as const;
export type VideoMode = (typeof VIDEO_MODES)[number];

/** What is done with audio in one run. */
export type AudioPlan = "probe" | "copy" | "encode" | "silence" | "none";

/** The input's audio as learned: undefined = not known yet, null = the input has none. */
export type InputAudio = { codec: string } | null | undefined;

export const DEFAULT_RTSP_TIMEOUT_US = 10_000_000;
export const SILENCE_SOURCE = "anullsrc=channel_layout=stereo:sample_rate=44100";
const AAC_ARGS = ["-c:a", "aac", "-b:a", "128k"];

export interface BuildArgsOptions {
  inputUrl: string;
  /** One destination, or several fanned out through the tee muxer. */
  outputs: readonly Destination[];
  audio?: AudioMode;
  video?: VideoMode;
  /** What input #0 carries, if known (from an earlier run's stream listing). */
  inputAudio?: InputAudio;
  /** Input frame rate if known: sets the GOP for `video: "h264"`. */
  inputFps?: number;
  /** RTSP socket I/O timeout in microseconds (`-timeout`; ffmpeg ≥ 5 has no -stimeout). */
  timeoutUs?: number;
  /** Extra input options placed right before `-i` (e.g. `-re` for a file input in tests). */
  inputArgs?: readonly string[];
  /** ffmpeg log level on stderr; "info" (default) is needed for the stream listing. */
  logLevel?: string;
}

export class ArgsError extends Error {
  override name = "ArgsError";
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
      throw new ArgsError(`audio must be one of ${AUDIO_MODES.join(", ")}; got ${JSON.stringify(mode)}`);
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

export function isRtspUrl(url: string): boolean {
  return /^rtsps?:\/\//i.test(url);
}

export function buildArgs(options: BuildArgsOptions): string[] {
  const { inputUrl, outputs, video = "copy", timeoutUs = DEFAULT_RTSP_TIMEOUT_US } = options;
  if (typeof inputUrl !== "string" || !inputUrl.trim()) throw new ArgsError("the input URL is empty");
  if (outputs.length === 0) throw new ArgsError("no output destination");
  if (!VIDEO_MODES.includes(video)) {
    throw new ArgsError(`video must be one of ${VIDEO_MODES.join(", ")}; got ${JSON.stringify(video)}`);
  }
  if (!Number.isInteger(timeoutUs) || timeoutUs <= 0)
    throw new ArgsError("timeoutUs must be a positive integer");
  const plan = audioPlan(options.audio ?? "auto", options.inputAudio, outputs);

  const args = [
    "-hide_banner",
    "-nostats",
    "-loglevel",
    options.logLevel ?? "info",
    "-progress",
    "pipe:1",
    "-stats_period",
    "1",
    "-y",
  ];

  // Input #0: the camera.
  if (isRtspUrl(inputUrl)) args.push("-rtsp_transport", "tcp", "-timeout", String(timeoutUs));
  args.push("-fflags", "+genpts", ...(options.inputArgs ?? []), "-i", inputUrl);
  // Input #1: silence, when the camera sends no audio.
  if (plan === "silence") args.push("-f", "lavfi", "-i", SILENCE_SOURCE);

  args.push("-map", "0:v:0");
  if (plan === "silence") args.push("-map", "1:a:0");
  else if (plan !== "none") args.push("-map", "0:a:0?");

  if (video === "h264") {
    // Keyframes every 2 s whatever the frame rate (YouTube wants ≤ 4 s, recommends 2 s).
    const gop = Math.max(
      1,
      Math.round(2 * (options.inputFps && options.inputFps > 0 ? options.inputFps : 15)),
    );
    args.push(
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-tune",
      "zerolatency",
      "-pix_fmt",
      "yuv420p",
      "-g",
      String(gop),
      "-keyint_min",
      String(gop),
      "-sc_threshold",
      "0",
      "-force_key_frames",
      "expr:gte(t,n_forced*2)",
      "-maxrate",
      "6000k",
      "-bufsize",
      "12000k",
    );
  } else {
    args.push("-c:v", "copy");
  }

  switch (plan) {
    case "none":
      args.push("-an");
      break;
    case "probe":
    case "copy":
      args.push("-c:a", "copy");
      break;
    case "silence":
      args.push(...AAC_ARGS, "-shortest");
      break;
    case "encode":
      args.push(...AAC_ARGS, "-ar", "48000");
      break;
  }
  // A live input with a second (lavfi) input or an encoder can queue packets at the start.
  args.push("-max_muxing_queue_size", "1024");

  if (outputs.length === 1) {
    args.push(...outputArgs(outputs[0] as Destination));
  } else {
    // Each slave gets its own muxer; encoders must put codec headers out of band for FLV/MP4.
    if (video === "h264" || (plan !== "copy" && plan !== "probe")) args.push("-flags", "+global_header");
    args.push("-f", "tee", teeSpec(outputs));
  }
  return args;
}
