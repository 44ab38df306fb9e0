/**
 * What a nest-restream message means for its Restreamer: start, switch, keep a new URL for the next
 * reconnect, stop, or move to the destination `msg.target` merges into the configured one.
 */
import type { VideoMode } from "./args";
import type { AudioMode } from "./audio-plan";
import { parseRestreamInput, type TargetOverride } from "./restream-input";
import { Restreamer, type RestreamerOptions } from "./restreamer";
import type { RestreamStatus } from "./restream-status";
import { checkMessagePattern, isFilePath, MessagePathError, pathInMessageDir } from "./message-paths";
import { RestreamRefusal, type RestreamRefusalCode } from "./refusal";
import {
  resolveOutputs,
  TargetError,
  YOUTUBE_HLS_URL,
  YOUTUBE_RTMP_URL,
  YOUTUBE_RTMPS_URL,
  type TargetConfig,
} from "./targets";
import { tlsTrust, type TlsTrust } from "./tls-trust";

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
  /** Keys for the extra outputs (a credential), one per line in the order of `extraOutputs`. */
  extraKeys?: string;
  /** Send the stored stream key to a server that `msg.target` names (another host). Default false. */
  keyForMessageServers?: boolean;
  /** The directory file paths from messages must lie in; empty: file paths from messages are refused. */
  messageDir?: string;
  /** Accept a file path in `msg.payload` as the input (inside `messageDir`). Default false: stream URLs only. */
  messageFileInputs?: boolean;
  /** PEM file of the certificates rtmps:// destinations are verified against; empty: the system's. */
  caFile?: string;
  /** Check rtmps:// servers' certificates (default true). */
  tlsVerify?: boolean;
}

/** What the node allows messages to do besides stream URLs and its own server. */
export interface MessagePolicy {
  keyForMessageServers?: boolean;
  messageDir?: string;
  messageFileInputs?: boolean;
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

/**
 * `msg.target` over the configured destination: what it names replaces, the rest stays. The stored
 * stream key goes only to the node's own server (the same host; any YouTube ingest host for a
 * YouTube key): a message that names another server brings its own `streamKey`, unless the node
 * opted in with `keyForMessageServers`. Throws a TargetError saying so.
 */
export function mergeTarget(
  configured: TargetConfig,
  override: TargetOverride,
  policy: MessagePolicy = {},
): TargetConfig {
  const merged: TargetConfig = {
    ...configured,
    ...(override.target !== undefined ? { target: override.target } : {}),
    ...(override.url !== undefined ? { url: override.url } : {}),
    ...(override.streamKey !== undefined ? { streamKey: override.streamKey } : {}),
  };
  if (
    override.streamKey === undefined &&
    configured.streamKey &&
    !policy.keyForMessageServers &&
    usesKey(merged) &&
    !sameServer(serverOf(configured), serverOf(merged))
  ) {
    const host = hostOf(serverOf(merged));
    throw host ? new TargetError("keyOtherServer", { host }) : new TargetError("keyOtherDestination");
  }
  return merged;
}

/** Whether the destination would carry the stream key (YouTube targets, custom rtmp(s)). */
function usesKey(t: TargetConfig): boolean {
  const kind = t.target || "youtube-rtmps";
  if (kind === "youtube-hls") return !/[?&]cid=/.test(t.url ?? ""); // a cid= in the url is its key
  if (kind !== "custom") return true;
  return /^rtmps?:\/\//i.test(t.url?.trim() ?? "");
}

function serverOf(t: TargetConfig): string | undefined {
  const url = t.url?.trim() || undefined;
  switch (t.target || "youtube-rtmps") {
    case "youtube-rtmps":
      return url ?? YOUTUBE_RTMPS_URL;
    case "youtube-rtmp":
      return url ?? YOUTUBE_RTMP_URL;
    case "youtube-hls":
      return url ?? YOUTUBE_HLS_URL;
    default:
      return url;
  }
}

function hostOf(url: string | undefined): string | undefined {
  if (!url || isFilePath(url)) return undefined;
  try {
    return new URL(url).hostname.toLowerCase() || undefined;
  } catch {
    return undefined;
  }
}

function sameServer(a: string | undefined, b: string | undefined): boolean {
  const ha = hostOf(a);
  const hb = hostOf(b);
  if (!ha || !hb) return false;
  const youtube = (h: string) => h === "youtube.com" || h.endsWith(".youtube.com");
  return ha === hb || (youtube(ha) && youtube(hb));
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
    const keys = (config.extraKeys ?? "").split(/\r?\n/).map((line) => line.trim());
    const outputs: TargetConfig[] = (config.extraOutputs ?? "")
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean)
      .map((url, i) => {
        const key = keys[i];
        const streamKey = key && key !== "-" ? key : undefined;
        return { target: "custom", url, segmentSeconds, ...(streamKey ? { streamKey } : {}) };
      });
    const tls = tlsTrust({ caFile: config.caFile, verify: config.tlsVerify !== false });
    const restreamer = new Restreamer({
      ...extras,
      tls,
      target,
      outputs,
      audio: config.audio || "auto",
      video: config.video || "copy",
      ffmpegPath: config.ffmpegPath?.trim() || undefined,
      snapshotSeconds,
    });
    const policy: MessagePolicy = {
      keyForMessageServers: config.keyForMessageServers === true,
      messageDir: config.messageDir?.trim() || undefined,
      messageFileInputs: config.messageFileInputs === true,
    };
    return new RestreamController(restreamer, target, outputs, snapshotSeconds, policy, tls);
  }

  constructor(
    readonly restreamer: Restreamer,
    private target: TargetConfig,
    private readonly outputs: readonly TargetConfig[],
    private readonly snapshotSeconds = 0,
    private readonly policy: MessagePolicy = {},
    private readonly tls: TlsTrust = {},
  ) {}

  /** Before any message: stopped, or what is wrong with the configured destination. */
  initialStatus(): RestreamStatus {
    try {
      if (this.tls.missing) throw new TargetError("caFileMissing", { file: this.tls.missing });
      resolveOutputs(this.target, this.outputs);
      return { state: "stopped" };
    } catch (err) {
      return { state: "misconfigured", error: err as Error };
    }
  }

  /**
   * Applies one input message. Rejects (changing nothing) on a message that is not understood, a
   * destination that does not resolve, "start" before any URL, or "snapshot" without a picture.
   * Resolves with the picture for "snapshot".
   */
  async handle(msg: RestreamMessage): Promise<SnapshotReply | undefined> {
    const { command, target: requested, inputAudio } = parseRestreamInput(msg);
    // Every check (paths, keys) before anything changes: a refused message leaves the restream as it is.
    // (Awaited only for file paths: stream URLs take effect at once, as before.)
    let next: TargetConfig | undefined;
    if (requested) {
      next = mergeTarget(this.target, requested, this.policy);
      if (this.isMessageFile(next, requested)) next = await this.checkedDestination(next, requested);
    }
    if ("url" in command && isFilePath(command.url)) command.url = await this.checkedInput(command.url);
    if (next) this.retarget(next);
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
      const code: RestreamRefusalCode = this.snapshotSeconds > 0 ? "noSnapshotYet" : "snapshotsOff";
      throw new RestreamRefusal(code);
    }
    const { jpeg, width, height, takenAt } = picture;
    return { jpeg, snapshot: { takenAt: new Date(takenAt).toISOString(), width, height } };
  }

  /** Stops the restream (q, then SIGTERM, then SIGKILL); resolves once no ffmpeg runs. */
  stop(): Promise<void> {
    return this.restreamer.stop();
  }

  private retarget(next: TargetConfig): void {
    this.restreamer.setTarget(next, this.outputs); // throws on a bad destination: nothing changes then
    this.target = next;
  }

  private isMessageFile(next: TargetConfig, override: TargetOverride): boolean {
    return (
      override.url !== undefined && (next.target || "youtube-rtmps") === "custom" && isFilePath(override.url)
    );
  }

  /** A file destination from `msg.target`: a recording name down to the second, inside messageDir. */
  private async checkedDestination(next: TargetConfig, override: TargetOverride): Promise<TargetConfig> {
    const url = override.url ?? "";
    resolveOutputs(next, this.outputs); // what is wrong with the path itself first
    checkMessagePattern(url);
    return { ...next, url: await pathInMessageDir(this.policy.messageDir, url, "destination") };
  }

  /** An input from a message: a stream URL, or a file inside messageDir when the node allows files. */
  private async checkedInput(url: string): Promise<string> {
    if (!this.policy.messageFileInputs) {
      throw new MessagePathError("fileInputsOff");
    }
    return pathInMessageDir(this.policy.messageDir, url, "input");
  }
}
