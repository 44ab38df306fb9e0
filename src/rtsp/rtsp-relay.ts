/**
 * nest-stream `serve: "local"` for an RTSP camera: ONE upstream Google RTSPS session, served by the
 * local RTSP server to any number of readers at `rtsp://<host>:<port>/<device id>`.
 *
 * The RTSP StreamDriver for local serving. A StreamKeeper keeps the SDM stream (generate, extend,
 * new stream when one is lost) exactly as for `serve: "direct"`; an RtspClient reads the camera's
 * H.264 and AAC over the newest Google URL; the packets go to every local reader unchanged (no
 * re-encoding), rewritten only onto one stable SSRC, sequence and timeline (LocalPublication), so that
 * when the upstream connection is replaced readers see a short pause, not a new stream:
 * - an extend changes the token in Google's URL: the open upstream session is kept;
 * - the upstream connection drops (Google cut it, a network blip): reconnect at once with the
 *   newest URL, then with backoff; video resumes at a keyframe;
 * - the keeper had to generate a new stream ("restarted"): the upstream switches to its URL the
 *   same way. The readers need not act: 'url' says "extended" (same local URL, new expiry).
 *
 * Events as every StreamDriver: 'url' (protocol "RTSP", the local URL), 'state', 'warning'.
 */
import { EventEmitter } from "node:events";
import { Backoff } from "../backoff";
import { systemClock, type Clock, type Timer } from "../clock";
import { errorMessage, redact } from "../redact";
import type { StreamKeeper, StreamUrlEvent } from "../stream/stream-keeper";
import { streamReason, streamWarning } from "../stream/stream-reason";
import {
  cameraUrlEvent,
  type CameraUrlEvent,
  type StreamDriver,
  type StreamDriverEvents,
  type StreamState,
} from "../stream/stream-state";
import { ParameterSets, rtpPayload, startsKeyframe } from "../webrtc/h264";
import { LocalPublication, type PublishedMedia } from "../webrtc/local-publication";
import type { RtspCredentials } from "../webrtc/rtsp-auth";
import type { LocalRtspServer } from "../webrtc/rtsp-server";
import { RtspClient, type MediaKind, type RtspClientOptions, type UpstreamMedia } from "./rtsp-client";

/** A drop within this long of the last immediate reconnect waits for the backoff instead. */
const IMMEDIATE_GAP_MS = 2_000;

export type RtspRelayClientOptions = Omit<RtspClientOptions, "url" | "clock">;

export interface RtspRelayOptions {
  /** The SDM stream's keeper (not started): its URLs are read, never handed out. */
  keeper: StreamKeeper;
  server: LocalRtspServer;
  /** Path on the local server (the short device id). */
  path: string;
  deviceId: string;
  displayName?: string;
  clock?: Clock;
  random?: () => number;
  client?: RtspRelayClientOptions;
  /** Reconnect delays after the first, immediate one (default 500 ms … 10 s). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** After an upstream switch, drop video until a keyframe, at most this long (default 5 s; 0 = off). */
  keyframeGateMs?: number;
  /** User name and password readers of the local URL must give (none: anyone who reaches the port). */
  credentials?: RtspCredentials;
  log?: (level: "debug" | "info" | "warn", message: string) => void;
  /** Tests: make the upstream client. */
  createClient?: (options: RtspClientOptions) => RtspClient;
}

export class RtspRelay extends EventEmitter<StreamDriverEvents> implements StreamDriver {
  readonly path: string;
  readonly deviceId: string;
  displayName: string;
  private readonly clock: Clock;
  private readonly keeper: StreamKeeper;
  private readonly server: LocalRtspServer;
  private readonly log: NonNullable<RtspRelayOptions["log"]>;
  private readonly backoff: Backoff;
  private running = false;
  private newestUrl?: string;
  private expires?: string;
  private client?: RtspClient;
  private connecting = false;
  private reconnectTimer?: Timer;
  private readonly params = new ParameterSets();
  /** The local stream: the first session's tracks, one timeline each, DESCRIBE. */
  private readonly publication: LocalPublication;
  private gateUntil = 0;
  private upstreamUp = false;
  /** When the last reconnect went at once: another drop within IMMEDIATE_GAP_MS backs off. */
  private lastImmediateAt = -Infinity;
  /** Upstream connections opened (statistics, tests). */
  connections = 0;
  /** RTP packets received from upstream (statistics, benchmark). */
  packets = 0;

  constructor(private readonly options: RtspRelayOptions) {
    super();
    this.keeper = options.keeper;
    this.server = options.server;
    this.path = options.path;
    this.deviceId = options.deviceId;
    this.displayName = options.displayName ?? options.deviceId;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => undefined);
    this.backoff = new Backoff({
      initialMs: options.reconnect?.initialMs ?? 500,
      maxMs: options.reconnect?.maxMs ?? 10_000,
      random: options.random,
    });
    this.publication = new LocalPublication({
      server: this.server,
      path: this.path,
      parameterSets: () => this.params,
      credentials: options.credentials,
    });
  }

  /** The local URL. */
  get url(): string {
    return this.server.readerUrl(this.path);
  }

  /** The current upstream client (tests, benchmark). */
  get upstream(): RtspClient | undefined {
    return this.client;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.publication.open();
    this.keeper.on("url", (ev) => this.onKeeperUrl(ev as StreamUrlEvent));
    this.keeper.on("state", (ev) => this.onKeeperState(ev));
    this.keeper.on("warning", (warning) => this.emit("warning", warning));
    this.keeper.start();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.dropClient();
    this.keeper.removeAllListeners("url");
    this.keeper.removeAllListeners("state");
    await this.keeper.stop();
    this.keeper.removeAllListeners("warning");
    const announced = this.publication.announced;
    this.publication.close();
    if (announced) this.emitUrl("stopped", null, null);
    this.emit("state", { state: "stopped", camera: this.displayName });
  }

  // ---- the SDM stream ----------------------------------------------------------------------------

  private onKeeperUrl(ev: StreamUrlEvent): void {
    if (!this.running) return;
    this.displayName = ev.camera;
    if (ev.event === "stopped" || ev.url === null) {
      // The keeper ended (error, or stopped): the upstream goes with it.
      this.newestUrl = undefined;
      this.dropClient();
      return;
    }
    this.newestUrl = ev.url;
    this.expires = ev.expiresAt ?? undefined;
    if (ev.event === "extended") {
      // Same session: the open upstream connection stays; the new URL is for the next reconnect.
      if (this.publication.announced) this.emitUrl("extended", this.url, this.expires ?? null);
      return;
    }
    // "started" or "restarted" (a new session replaced a lost one): (re)connect to it.
    if (ev.event === "restarted") {
      this.log("info", "a new camera stream replaced the lost one: switching the upstream to it");
      this.dropClient();
      if (this.publication.announced) this.emitUrl("extended", this.url, this.expires ?? null);
    }
    this.backoff.reset();
    this.connectSoon(0);
  }

  private onKeeperState(ev: StreamState): void {
    if (!this.running) return;
    if (ev.state === "stopped") return; // stop() reports its own
    // Live only when the upstream is, too; before the first connection the keeper's live waits.
    if (ev.state === "live" && !this.upstreamUp) return;
    this.emit("state", { ...ev, camera: ev.camera ?? this.displayName });
  }

  // ---- the upstream connection -------------------------------------------------------------------

  private connectSoon(ms: number): void {
    this.clock.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = this.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, ms);
  }

  private async connect(): Promise<void> {
    if (!this.running || this.connecting || this.client || !this.newestUrl) return;
    const url = this.newestUrl;
    this.connecting = true;
    const client = (this.options.createClient ?? ((o) => new RtspClient(o)))({
      ...this.options.client,
      url,
      clock: this.clock,
    });
    this.client = client;
    this.connections++;
    client.on("rtp", (kind, packet) => this.onRtp(kind, packet));
    client.on("close", (reason) => this.onUpstreamClosed(client, reason));
    let media: UpstreamMedia;
    try {
      media = await client.open();
    } catch (err) {
      this.connecting = false;
      if (this.client !== client) return;
      this.client = undefined;
      client.removeAllListeners();
      if (!this.running) return;
      const delay = this.backoff.next();
      const reason = redact(errorMessage(err));
      this.log("warn", `the camera's stream could not be opened (${reason}); next try in ${delay} ms`);
      this.upstreamUp = false;
      this.emit("state", {
        state: "retrying",
        why: streamReason("relayOpenFailed", { detail: reason, seconds: String(Math.ceil(delay / 1000)) }),
        expiresAt: this.expires,
        camera: this.displayName,
      });
      this.connectSoon(delay);
      return;
    }
    this.connecting = false;
    if (this.client !== client || !this.running) {
      client.close();
      return;
    }
    this.backoff.reset();
    this.takeMedia(media);
    this.upstreamUp = true;
    this.emit("state", { state: "live", expiresAt: this.expires, camera: this.displayName });
  }

  private takeMedia(media: UpstreamMedia): void {
    for (const track of [media.video, media.audio]) {
      if (track?.kind === "video" && track.fmtp) {
        const sprop = /(?:^|;)\s*sprop-parameter-sets=([^;]+)/i.exec(track.fmtp)?.[1];
        const [sps, pps] = (sprop ?? "").split(",").map((b) => Buffer.from(b.trim(), "base64"));
        if (sps?.length && !this.params.sps) this.params.sps = sps;
        if (pps?.length && !this.params.pps) this.params.pps = pps;
      }
    }
    if (this.publication.advertise(media)) {
      // The first session's tracks are what DESCRIBE advertises from now on.
      this.publication.announce();
      this.emitUrl("started", this.url, this.expires ?? null);
      return;
    }
    const before = this.publication.tracks;
    if (before && (!!before.audio !== !!media.audio || !!before.video !== !!media.video)) {
      this.emit(
        "warning",
        streamWarning("otherTracks", {
          camera: this.displayName,
          tracks: describeTracks(media),
          first: describeTracks(before),
        }),
      );
    }
    // A new upstream session: video waits for its first keyframe (bounded).
    const ms = this.options.keyframeGateMs ?? 5_000;
    if (ms > 0) this.gateUntil = this.clock.now() + ms;
  }

  private onUpstreamClosed(client: RtspClient, reason: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners();
    if (!this.running) return;
    this.upstreamUp = false;
    this.log("info", `the camera's stream connection ended (${reason}): reconnecting with the newest URL`);
    this.emit("state", {
      state: "retrying",
      why: streamReason("relayEnded", { detail: reason }),
      expiresAt: this.expires,
      camera: this.displayName,
    });
    // At once (the newest URL is known); a connection that keeps dropping right away backs off.
    const now = this.clock.now();
    if (now - this.lastImmediateAt >= IMMEDIATE_GAP_MS) {
      this.lastImmediateAt = now;
      this.connectSoon(0);
    } else this.connectSoon(this.backoff.next());
  }

  private dropClient(): void {
    const client = this.client;
    this.client = undefined;
    this.connecting = false;
    this.upstreamUp = false;
    if (client) {
      client.removeAllListeners();
      client.close();
    }
  }

  // ---- media -------------------------------------------------------------------------------------

  /** `packet` is a view into what the client just received, used by nobody after: rewritten in place. */
  private onRtp(kind: MediaKind, packet: Buffer): void {
    if (!this.running) return;
    this.packets++;
    if (kind === "video") {
      if (!this.publication.has("video")) return;
      const payload = rtpPayload(packet);
      this.params.observe(payload);
      if (this.gateUntil) {
        if (!startsKeyframe(payload) && this.clock.now() < this.gateUntil) return;
        this.gateUntil = 0;
      }
      if (this.server.readerCount(this.path) > 0) this.publication.send("video", packet);
    } else {
      if (!this.publication.has("audio") || this.server.readerCount(this.path) === 0) return;
      this.publication.send("audio", packet);
    }
  }

  private emitUrl(event: CameraUrlEvent["event"], url: string | null, expiresAt: string | null): void {
    const camera = { deviceId: this.deviceId, camera: this.displayName, protocol: "RTSP" as const };
    this.emit("url", cameraUrlEvent(camera, event, url, expiresAt));
  }
}

function describeTracks(media: PublishedMedia): string {
  return [media.video ? "video" : "", media.audio ? "audio" : ""].filter(Boolean).join(" and ") || "none";
}
