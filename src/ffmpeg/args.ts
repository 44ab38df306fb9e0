/**
 * Builds the ffmpeg command line for one restream run (design section 7); how audio is handled
 * comes from the plan of audio-plan.ts.
 */
import { audioPlan, type AudioMode, type InputAudio } from "./audio-plan";
import { outputArgs, teeSpec, type Destination } from "./targets";

export const VIDEO_MODES = ["copy", "h264"] as const;
export type VideoMode = (typeof VIDEO_MODES)[number];

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
  /**
   * When > 0, a second output writes a JPEG of the camera at most this often (from keyframes only
   * when the video is copied) to file descriptor SNAPSHOT_FD, as back-to-back JPEG images.
   */
  snapshotSeconds?: number;
}

/** The file descriptor ffmpeg writes snapshots to (`pipe:3`): the spawn gives it a fourth pipe. */
export const SNAPSHOT_FD = 3;

export class ArgsError extends Error {
  override name = "ArgsError";
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

  const snapshotSeconds = options.snapshotSeconds ?? 0;
  if (!(Number.isFinite(snapshotSeconds) && snapshotSeconds >= 0))
    throw new ArgsError("snapshotSeconds must be a number of seconds ≥ 0");

  // Input #0: the camera.
  if (isRtspUrl(inputUrl)) args.push("-rtsp_transport", "tcp", "-timeout", String(timeoutUs));
  // Copied video is decoded for snapshots only: keyframes are enough, and cost little.
  if (snapshotSeconds > 0 && video === "copy") args.push("-skip_frame", "nokey");
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
  if (snapshotSeconds > 0) args.push(...snapshotOutputArgs(snapshotSeconds));
  return args;
}

/** A JPEG at most every `seconds` (the first frame, then one ≥ `seconds` after the last chosen). */
function snapshotOutputArgs(seconds: number): string[] {
  return [
    "-map",
    "0:v:0",
    "-an",
    "-sn",
    "-vf",
    `select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,${seconds})`,
    "-fps_mode",
    "passthrough",
    "-c:v",
    "mjpeg",
    "-q:v",
    "4",
    "-f",
    "image2pipe",
    `pipe:${SNAPSHOT_FD}`,
  ];
}
