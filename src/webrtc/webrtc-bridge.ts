/**
 * Makes a WebRTC-only Nest camera look like an RTSP camera: a WebRtcSession receives the camera's
 * H.264 and Opus over WebRTC, and a LocalRtspServer serves them at one local URL that does not
 * change while the bridge runs, across extends and session renewals alike.
 *
 * The WEB_RTC StreamDriver of a CameraStream: the same events as the RTSP stream keeper's:
 * - 'url' `{ event: "started" | "restarted" | "stopped", url, expiresAt, deviceId, camera, protocol: "WEB_RTC" }`
 * - 'state' `{ state: "starting" | "live" | "extending" | "retrying" | "stopped" | "error", reason?, why?, expiresAt?, camera }`
 *
 * When a new WebRTC session replaces the old one (refused extend, dropped peer), readers keep
 * their connection by default: packets of the new session are rewritten onto the same SSRC,
 * sequence numbers and timeline (see RtpContinuity), and video resumes at a keyframe, so a running
 * ffmpeg sees a short gap, not a new stream. With `dropReadersOnRenew` the readers are
 * disconnected instead and 'url' says "restarted".
 */
import { EventEmitter } from "node:events";
import type { StreamWarning } from "../stream/stream-reason";
import { systemClock, type Clock, type Timer } from "../clock";
import { deviceId as shortDeviceId, type SdmCommandExecutor } from "../nest/sdm-types";
import {
  cameraUrlEvent,
  type CameraUrlEvent,
  type StreamDriver,
  type StreamState,
} from "../stream/stream-state";
import { LocalPublication } from "./local-publication";
import type { RtspCredentials } from "./rtsp-auth";
import type { LocalRtspServer } from "./rtsp-server";
import {
  WebRtcSession,
  type WebRtcLogLevel,
  type WebRtcRtpEvent,
  type WebRtcSessionEvent,
  type WebRtcSessionOptions,
  type WebRtcState,
  type WebRtcStateEvent,
} from "./webrtc-session";

/**
 * The `url` event (as the RTSP stream keeper's, protocol "WEB_RTC"): "started", "restarted" (only
 * with `dropReadersOnRenew`: readers must reconnect) or "stopped"; the URL is the local rtsp:// URL;
 * `expiresAt` is the current WebRTC media session's (renewed automatically).
 */
export type WebRtcUrlEvent = CameraUrlEvent<"WEB_RTC">;

/** The `state` event: the one stream state type. */
export type WebRtcBridgeStateEvent = StreamState;

export interface WebRtcBridgeEvents {
  url: [WebRtcUrlEvent];
  state: [StreamState];
  warning: [StreamWarning];
}

export interface WebRtcBridgeOptions {
  sdm: SdmCommandExecutor;
  /** Device id: short, or the full `enterprises/{project}/devices/{id}` name. */
  deviceId: string;
  /** Path of the stream on the local RTSP server (default: the short device id). */
  path?: string;
  /** The camera's display name for events (default: the short device id); see `displayName`. */
  displayName?: string;
  clock?: Clock;
  /** The local RTSP server, listening, that serves the stream (CameraStream's pooled one, shared by several bridges). */
  server: LocalRtspServer;
  /** Options passed to the WebRtcSession (timeouts, werift peer config…). */
  session?: Omit<WebRtcSessionOptions, "sdm" | "deviceId" | "clock" | "log">;
  /** Disconnect local readers when a new WebRTC session replaces the old one (default false). */
  dropReadersOnRenew?: boolean;
  /** User name and password readers of the local URL must give (none: anyone who reaches the port). */
  credentials?: RtspCredentials;
  /** After a renewal, drop video until the next keyframe, at most this long (default 5 s; 0 = off). */
  keyframeGateMs?: number;
  /**
   * Before announcing the URL, wait this long at most for the camera's SPS/PPS, so DESCRIBE can
   * carry `sprop-parameter-sets` and ffmpeg starts without probing for them (default 5 s).
   */
  parameterSetsWaitMs?: number;
  log?: (level: WebRtcLogLevel, message: string) => void;
  /** Creates the session (tests); default `new WebRtcSession(options)`. */
  createSession?: (options: WebRtcSessionOptions) => WebRtcSession;
}

export class WebRtcBridge extends EventEmitter<WebRtcBridgeEvents> implements StreamDriver {
  /** Path of the stream on the local RTSP server. */
  readonly path: string;
  /** Short device id, as in the events. */
  readonly deviceId: string;
  /** The camera's display name, as in the events (may be set once known). */
  displayName: string;
  private readonly clock: Clock;
  private readonly server: LocalRtspServer;
  private session?: WebRtcSession;
  private running = false;
  private startedUrl = false;
  /** The local stream: the first session's tracks, one timeline each, DESCRIBE. */
  private readonly publication: LocalPublication;
  private gateUntil = 0;
  private gateTimer?: Timer;
  private announceTimer?: Timer;
  private readerKeyframeTimer?: Timer;
  private stateNow: WebRtcState = "stopped";
  private expires?: string;

  constructor(private readonly options: WebRtcBridgeOptions) {
    super();
    this.deviceId = shortDeviceId(options.deviceId);
    this.path = options.path ?? this.deviceId;
    this.displayName = options.displayName ?? this.deviceId;
    this.clock = options.clock ?? systemClock;
    this.server = options.server;
    this.publication = new LocalPublication({
      server: this.server,
      path: this.path,
      parameterSets: () => this.session?.parameterSets,
      credentials: options.credentials,
      onPlay: () => this.keyframeForReader(),
    });
  }

  /** The local URL (known once the server listens). */
  get url(): string | undefined {
    return this.server.isListening ? this.server.readerUrl(this.path) : undefined;
  }

  get state(): WebRtcState {
    return this.stateNow;
  }

  get expiresAt(): string | undefined {
    return this.expires;
  }

  /** The current WebRTC session (status, tests). */
  get webrtc(): WebRtcSession | undefined {
    return this.session;
  }

  /** The local RTSP server this bridge serves on. */
  get rtspServer(): LocalRtspServer {
    return this.server;
  }

  /** Opens the local path and starts the WebRTC session; 'url' `started` follows once media flows. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedUrl = false;
    this.setState({ state: "starting" });
    this.publication.open();
    const session = (this.options.createSession ?? ((o) => new WebRtcSession(o)))({
      ...this.options.session,
      sdm: this.options.sdm,
      deviceId: this.options.deviceId,
      clock: this.clock,
      log: this.options.log,
    });
    this.session = session;
    session.on("state", (ev: WebRtcStateEvent) => this.onSessionState(ev));
    session.on("session", (ev: WebRtcSessionEvent) => this.onSession(ev));
    session.on("rtp", (ev: WebRtcRtpEvent) => this.onRtp(ev));
    session.start();
  }

  /** Stops the WebRTC session (StopWebRtcStream), disconnects readers and closes the local path. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.clock.clearTimeout(this.gateTimer);
    this.clock.clearTimeout(this.announceTimer);
    this.clock.clearTimeout(this.readerKeyframeTimer);
    this.readerKeyframeTimer = undefined;
    const session = this.session;
    this.session = undefined;
    if (session) {
      session.removeAllListeners();
      await session.stop();
    }
    this.publication.close();
    this.expires = undefined;
    if (this.startedUrl) {
      this.startedUrl = false;
      this.emitUrl("stopped", null, null);
    }
    this.setState({ state: "stopped" });
  }

  private onSessionState(ev: WebRtcStateEvent): void {
    if (!this.running) return;
    if (ev.expiresAt) this.expires = ev.expiresAt;
    if (ev.state === "stopped") return; // stop() reports its own
    if (ev.state === "starting" && this.stateNow === "starting") return;
    this.setState(ev);
    if (ev.state === "error") {
      // Fatal (camera not found, permission, wrong protocol…): the URL is of no use any more.
      this.server.dropReaders(this.path);
      if (this.startedUrl) {
        this.startedUrl = false;
        this.emitUrl("stopped", null, null);
      }
    }
  }

  private onSession(ev: WebRtcSessionEvent): void {
    if (!this.running) return;
    this.expires = ev.expiresAt;
    if (ev.event === "extended") return;
    if (this.publication.advertise(ev.media)) {
      // The first session's payload types are what DESCRIBE advertises from now on.
      const wait = this.options.parameterSetsWaitMs ?? 5_000;
      if (wait > 0 && ev.media.video && !this.session?.parameterSets.spropParameterSets) {
        this.announceTimer = this.clock.setTimeout(() => this.announce(), wait);
      } else this.announce();
      return;
    }
    if (ev.event === "renewed") {
      if (this.options.dropReadersOnRenew) {
        this.server.dropReaders(this.path);
        if (this.startedUrl) {
          const url = this.server.readerUrl(this.path);
          this.emitUrl("restarted", url, ev.expiresAt);
        }
      } else this.openGate();
    }
  }

  /** The stream can be described: wake waiting DESCRIBEs and hand out the URL. */
  private announce(): void {
    if (!this.running || this.publication.announced) return;
    this.clock.clearTimeout(this.announceTimer);
    this.publication.announce();
    if (this.stateNow === "error") return;
    this.startedUrl = true;
    const url = this.server.readerUrl(this.path);
    this.emitUrl("started", url, this.expires ?? null);
  }

  /**
   * A reader started to play: it needs a keyframe. The session sends at most one request per half
   * second, and a reader often connects just after the one that brought the SPS/PPS announcing the
   * URL: then ask again once the half second has passed, rather than wait for the camera's own GOP.
   */
  private keyframeForReader(): void {
    if (this.session?.requestKeyframe() || this.readerKeyframeTimer) return;
    this.readerKeyframeTimer = this.clock.setTimeout(() => {
      this.readerKeyframeTimer = undefined;
      if (this.running) this.session?.requestKeyframe();
    }, 500);
  }

  /** After a renewal, video waits for a keyframe of the new session (bounded). */
  private openGate(): void {
    const ms = this.options.keyframeGateMs ?? 5_000;
    if (ms <= 0) return;
    this.gateUntil = this.clock.now() + ms;
    this.clock.clearTimeout(this.gateTimer);
    this.gateTimer = this.clock.setTimeout(() => (this.gateUntil = 0), ms);
  }

  private onRtp(ev: WebRtcRtpEvent): void {
    if (!this.running) return;
    if (ev.kind === "video") {
      if (!this.publication.has("video")) return;
      if (!this.publication.announced && this.session?.parameterSets.spropParameterSets) this.announce();
      if (this.gateUntil) {
        if (!ev.keyframe && this.clock.now() < this.gateUntil) return;
        this.gateUntil = 0;
        this.clock.clearTimeout(this.gateTimer);
      }
      // In place: the session serialized this packet for its listeners, nothing else holds it.
      this.publication.send("video", ev.packet);
    } else this.publication.send("audio", ev.packet);
  }

  private emitUrl(event: WebRtcUrlEvent["event"], url: string | null, expiresAt: string | null): void {
    const camera = { deviceId: this.deviceId, camera: this.displayName, protocol: "WEB_RTC" as const };
    this.emit("url", cameraUrlEvent(camera, event, url, expiresAt));
  }

  private setState(ev: WebRtcStateEvent): void {
    this.stateNow = ev.state;
    const out: WebRtcBridgeStateEvent = { ...ev };
    if (!out.expiresAt && this.expires && ev.state !== "stopped" && ev.state !== "error") {
      out.expiresAt = this.expires;
    }
    out.camera = this.displayName;
    this.emit("state", out);
  }
}
