/**
 * What a nest-restream message means for its Restreamer: start, switch, keep a new URL for the next
 * reconnect, stop, or move to the destination `msg.target` merges into the configured one.
 */
import { errorMessage } from "../redact";
import type { VideoMode } from "./args";
import type { AudioMode } from "./audio-plan";
import { parseRestreamInput, type TargetOverride } from "./restream-input";
import { Restreamer, type RestreamerOptions } from "./restreamer";
import type { RestreamStatus } from "./restream-status";
import { resolveOutputs, type TargetConfig } from "./targets";

/** A nest-restream node's settings as the editor saves them (design section 3), plus its stream key. */
export interface RestreamConfig {
  target?: string;
  url?: string;
  streamKey?: string;
  segmentSeconds?: number | string;
  /** More destinations, one per line. */
  extraOutputs?: string;
  audio?: AudioMode | "";
  video?: VideoMode | "";
  ffmpegPath?: string;
  /** Seconds between snapshots of the running stream; 0 or empty: none. */
  snapshotSeconds?: number | string;
}

/** What nest-restream sends on output 3 for "snapshot" (design section 3). */
export interface SnapshotReply {
  jpeg: Buffer;
  snapshot: { takenAt: string; width: number; height: number };
}

/** The Restreamer options besides the destinations (tests: a fake spawn and clock). */
export type RestreamerExtras = Omit<RestreamerOptions, "target" | "outputs">;

/** The message fields nest-restream reads. */
export interface RestreamMessage {
  payload?: unknown;
  stream?: unknown;
  target?: unknown;
}

/** `msg.target` over the configured destination: what it names replaces, the rest stays. */
export function mergeTarget(configured: TargetConfig, override: TargetOverride): TargetConfig {
  return {
    ...configured,
    ...(override.target !== undefined ? { target: override.target } : {}),
    ...(override.url !== undefined ? { url: override.url } : {}),
    ...(override.streamKey !== undefined ? { streamKey: override.streamKey } : {}),
  };
}

export class RestreamController {
  /** The node's settings as a Restreamer: the main target, the extra outputs, audio, video, ffmpeg. */
  static fromConfig(config: RestreamConfig, extras: RestreamerExtras = {}): RestreamController {
    const segmentSeconds = Number(config.segmentSeconds) > 0 ? Number(config.segmentSeconds) : undefined;
    const snapshotSeconds = Number(config.snapshotSeconds) > 0 ? Number(config.snapshotSeconds) : 0;
    const target: TargetConfig = {
      target: config.target || "youtube-rtmps",
      url: config.url?.trim() || undefined,
      streamKey: config.streamKey?.trim() || undefined,
      segmentSeconds,
    };
    const outputs: TargetConfig[] = (config.extraOutputs ?? "")
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean)
      .map((url) => ({ target: "custom", url, segmentSeconds }));
    const restreamer = new Restreamer({
      ...extras,
      target,
      outputs,
      audio: config.audio || "auto",
      video: config.video || "copy",
      ffmpegPath: config.ffmpegPath?.trim() || undefined,
      snapshotSeconds,
    });
    return new RestreamController(restreamer, target, outputs, snapshotSeconds);
  }

  constructor(
    readonly restreamer: Restreamer,
    private target: TargetConfig,
    private readonly outputs: readonly TargetConfig[],
    private readonly snapshotSeconds = 0,
  ) {}

  /** Before any message: stopped, or what is wrong with the configured destination. */
  initialStatus(): RestreamStatus {
    try {
      resolveOutputs(this.target, this.outputs);
      return { state: "stopped" };
    } catch (err) {
      return { state: "misconfigured", reason: errorMessage(err) };
    }
  }

  /**
   * Applies one input message. Rejects (changing nothing) on a message that is not understood, a
   * destination that does not resolve, "start" before any URL, or "snapshot" without a picture.
   * Resolves with the picture for "snapshot".
   */
  async handle(msg: RestreamMessage): Promise<SnapshotReply | undefined> {
    const { command, target: override, inputAudio } = parseRestreamInput(msg);
    if (override) this.retarget(override);
    const r = this.restreamer;
    switch (command.action) {
      case "play":
        r.play(command.url, inputAudio);
        break;
      case "switch":
        // nest-stream "restarted": a running restream moves to the new session; a stopped one only keeps it.
        if (r.state === "stopped") r.updateUrl(command.url);
        else r.play(command.url, inputAudio);
        break;
      case "update-url":
        // nest-stream "extended": the running ffmpeg keeps its session; the new URL is for reconnects
        // (and for a later "start"). It never starts a restream that was stopped on purpose.
        r.updateUrl(command.url);
        break;
      case "start":
        r.start();
        break;
      case "stop":
        await r.stop();
        break;
      case "snapshot":
        return this.snapshot();
      case "none":
        break;
    }
    return undefined;
  }

  private snapshot(): SnapshotReply {
    const picture = this.restreamer.latestPicture;
    if (!picture) {
      throw new Error(
        this.snapshotSeconds > 0
          ? "no snapshot yet: the restream has not received a keyframe from the camera"
          : "snapshots are off: set the node's snapshot interval (snapshotSeconds) above 0",
      );
    }
    const { jpeg, width, height, takenAt } = picture;
    return { jpeg, snapshot: { takenAt: new Date(takenAt).toISOString(), width, height } };
  }

  /** Stops the restream (q, then SIGTERM, then SIGKILL); resolves once no ffmpeg runs. */
  stop(): Promise<void> {
    return this.restreamer.stop();
  }

  private retarget(override: TargetOverride): void {
    const next = mergeTarget(this.target, override);
    this.restreamer.setTarget(next, this.outputs); // throws on a bad destination: nothing changes then
    this.target = next;
  }
}
