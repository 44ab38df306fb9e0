/**
 * One camera's live stream, whichever protocol the camera speaks (design section 3, nest-stream).
 * Framework-free; time comes from the injected clock.
 *
 * `start()` looks the device up once and checks it (camera-check.ts), picks the protocol from the
 * camera's `sdm.devices.traits.CameraLiveStream.supportedProtocols` (RTSP when listed, else WEB_RTC;
 * or the one forced by the `protocol` option) and drives one of two StreamDrivers (stream-state.ts):
 * - RTSP: a StreamKeeper (GenerateRtspStream / ExtendRtspStream): the URL is Google's `rtsps://` URL.
 * - WEB_RTC: a WebRtcBridge (GenerateWebRtcStream / ExtendWebRtcStream, werift): the camera is
 *   served as `rtsp://<host>:<port>/<device id>` by a local RTSP server that the cameras of this
 *   process share per bind address and port (see RtspServerPool).
 *
 * Events, the same for both (the driver's events, forwarded; states carry the protocol once known):
 * - 'url' `{ event, url, expiresAt, deviceId, camera, protocol }` (CameraUrlEvent)
 * - 'state' `{ state, reason?, why?, expiresAt?, camera?, protocol? }` (`why`: a StreamReason)
 * - 'warning' a StreamWarning (code and parameters, masked)
 */
import { EventEmitter } from "node:events";
import { Backoff } from "../backoff";
import { sleep, systemClock, type Clock } from "../clock";
import { retryDelay } from "../google/retry";
import {
  describeDevice,
  deviceId as shortDeviceId,
  type CameraInfo,
  type SdmDevice,
  type StreamProtocol,
} from "../nest/sdm-types";
import { errorMessage, redact } from "../redact";
import { RtspRelay, type RtspRelayClientOptions, type RtspRelayOptions } from "../rtsp/rtsp-relay";
import { isLoopbackHost, type RtspCredentials } from "../webrtc/rtsp-auth";
import { sharedRtspServers, type RtspServerLease, type RtspServerPool } from "../webrtc/rtsp-server-pool";
import { WebRtcBridge, type WebRtcBridgeOptions } from "../webrtc/webrtc-bridge";
import type { WebRtcLogLevel } from "../webrtc/webrtc-session";
import { checkCamera, lookUpDevice, PROTOCOL_CHOICES, type ProtocolChoice } from "./camera-check";
import {
  retryDefaults,
  StreamKeeper,
  type SdmCommandRunner,
  type StreamKeeperOptions,
  type StreamRetryOptions,
} from "./stream-keeper";
import { sharedStreamHandover, type RtspSessionTokens, type StreamHandover } from "./stream-handover";
import { exposedWarning, portFellBack, rtspServerError, StreamConfigError } from "./stream-messages";
import { redactReason, streamWarning, type StreamWarningCode } from "./stream-reason";
import {
  cameraUrlEvent,
  type CameraUrlEvent,
  type StreamDriver,
  type StreamDriverEvents,
  type StreamState,
} from "./stream-state";

export { chooseProtocol, PROTOCOL_CHOICES, type ProtocolChoice } from "./camera-check";
export type { CameraUrlEvent, StreamDriver } from "./stream-state";
export { protocolLabel } from "./stream-status";

/** Where WebRTC cameras are served by default: loopback only (other machines need credentials, see `credentials`). */
export const DEFAULT_RTSP_HOST = "127.0.0.1";
/**
 * The default port of the local RTSP server, so the URL of a WebRTC camera stays the same across
 * restarts and redeploys. When another program holds it (go2rtc, mediamtx, Frigate…), an
 * ephemeral port is used instead, with a warning; an explicitly configured port is never replaced.
 */
export const DEFAULT_RTSP_PORT = 8554;

/** The one state type (with the protocol in use once the device has been looked up). */
export type CameraStreamState = StreamState;

export type CameraStreamEvents = StreamDriverEvents;

export type CameraStreamLogLevel = WebRtcLogLevel;

export interface CameraStreamWebRtcOptions {
  /** Bind address of the local RTSP server (default 127.0.0.1). */
  host?: string;
  /**
   * Port of the local RTSP server: 0 = an ephemeral port. Default DEFAULT_RTSP_PORT (8554), with a
   * fall-back to an ephemeral port when that one is in use.
   */
  port?: number;
  /** Servers to share (default: the process-wide pool). */
  servers?: RtspServerPool;
  /** Path of the stream on the server (default: the short device id). */
  path?: string;
  /**
   * User name and password the readers of this camera's local URL must give (RTSP Digest or
   * Basic); the URLs in the events then carry them. Without, anyone who reaches the port may read
   * the camera: a warning says so when the server listens beyond loopback.
   */
  credentials?: RtspCredentials;
  session?: WebRtcBridgeOptions["session"];
  dropReadersOnRenew?: boolean;
  keyframeGateMs?: number;
  parameterSetsWaitMs?: number;
}

/** How an RTSP camera is handed out (design section 3, nest-stream `serve`). */
export type ServeChoice = "direct" | "local";
export const SERVE_CHOICES: readonly ServeChoice[] = ["direct", "local"];

/** `serve: "local"` for RTSP cameras: the upstream client and relay options. */
export interface CameraStreamLocalOptions {
  client?: RtspRelayClientOptions;
  reconnect?: RtspRelayOptions["reconnect"];
  keyframeGateMs?: number;
}

/**
 * Handing an RTSP camera's live session over across a redeploy (StreamHandover): `park()` leaves it
 * for the successor, whose first run adopts it instead of generating a new stream.
 */
export interface CameraStreamHandoverOptions {
  /** Default: the process-wide one. */
  registry?: StreamHandover;
  /** What makes two accounts the same Google project: e.g. the SDM endpoint and the project id. */
  scope: string;
  /** Names the account's credentials: a session is only handed to an account with the same ones. */
  fingerprint: string;
  /**
   * park(): called when a session is parked; the function it returns runs once the session has been
   * adopted or stopped (hold the account the parked keeper still sends its commands through).
   */
  hold?: () => () => void;
}

export interface CameraStreamOptions {
  /** The SDM client (device lookup and commands); the account's SdmClient fits. */
  sdm: SdmCommandRunner;
  /** Short device id or the full `enterprises/{project}/devices/{id}` name. */
  deviceId: string;
  /** "auto" (default): RTSP when the camera lists it, else WEB_RTC. */
  protocol?: ProtocolChoice;
  /**
   * RTSP cameras: "direct" (default) hands out Google's `rtsps://…?auth=…` URL; "local" serves the
   * camera on the local RTSP server (the `webrtc` host and port) at a stable URL, one upstream
   * session for any number of readers. WebRTC cameras are always local.
   */
  serve?: ServeChoice;
  /** Options of `serve: "local"` for RTSP cameras. */
  local?: CameraStreamLocalOptions;
  clock?: Clock;
  random?: () => number;
  /** Retries of the device lookup (and of the RTSP keeper's commands). */
  retry?: StreamRetryOptions;
  /** StreamKeeper options for RTSP cameras. */
  rtsp?: Omit<
    StreamKeeperOptions,
    "sdm" | "deviceId" | "clock" | "random" | "retry" | "device" | "errorText"
  >;
  /** Local RTSP server and WebRTC session options for WebRTC cameras. */
  webrtc?: CameraStreamWebRtcOptions;
  /** Progress of WebRTC sessions (already redacted); the states carry what the user must see. */
  log?: (level: CameraStreamLogLevel, message: string) => void;
  /** RTSP cameras served "direct": hand the live session over across a redeploy. */
  handover?: CameraStreamHandoverOptions;
  /**
   * The words of a configuration problem (a StreamConfigError) in the "error" state and of the
   * warnings of the local RTSP server (exposed, another port): the node's catalog; default: the message.
   */
  errorText?: (err: unknown) => string;
  /** Tests: make the drivers. */
  createKeeper?: (options: StreamKeeperOptions) => StreamKeeper;
  createBridge?: (options: WebRtcBridgeOptions) => WebRtcBridge;
  createRelay?: (options: RtspRelayOptions) => RtspRelay;
}

/** What drives the stream: a StreamKeeper (RTSP) or a WebRtcBridge (WEB_RTC). */
type Driver = StreamDriver;

/** One start() … stop() (or error). */
interface Run {
  cancelled: boolean;
  readonly abort: AbortController;
  driver?: Driver;
  lease?: RtspServerLease;
}

class Cancelled extends Error {}

export class CameraStream extends EventEmitter<CameraStreamEvents> {
  /** The device id as given (short id or full name). */
  readonly deviceId: string;
  /** The short device id, as in the events. */
  readonly shortDeviceId: string;
  readonly protocolChoice: ProtocolChoice;

  private readonly options: CameraStreamOptions;
  private readonly sdm: SdmCommandRunner;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly retry: Required<StreamRetryOptions>;
  private run?: Run;
  private stopping?: Promise<void>;
  private info?: CameraInfo;
  private inUse?: StreamProtocol;
  private currentUrl: string | null = null;
  private lastUrlEvent?: CameraUrlEvent;
  private currentState: CameraStreamState = { state: "stopped" };

  constructor(options: CameraStreamOptions) {
    super();
    const id = typeof options.deviceId === "string" ? options.deviceId.trim() : "";
    if (!id) throw new TypeError("CameraStream needs a device id (the camera's id or its full device name).");
    const serve = options.serve ?? "direct";
    if (!SERVE_CHOICES.includes(serve)) {
      throw new TypeError(`Serve must be "direct" or "local", not ${JSON.stringify(serve)}.`);
    }
    const choice = options.protocol ?? "auto";
    if (!PROTOCOL_CHOICES.includes(choice)) {
      throw new TypeError(`Protocol must be "auto", "RTSP" or "WEB_RTC", not ${JSON.stringify(choice)}.`);
    }
    this.options = options;
    this.deviceId = id;
    this.shortDeviceId = shortDeviceId(id);
    this.protocolChoice = choice;
    this.sdm = options.sdm;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.retry = retryDefaults(options.retry);
  }

  /** The URL last advertised, or null. */
  get url(): string | null {
    return this.currentUrl;
  }

  /** The last state emitted. */
  get state(): CameraStreamState {
    return { ...this.currentState };
  }

  /** The camera's display name once the device has been looked up. */
  get camera(): string | undefined {
    return this.info?.displayName;
  }

  /** The protocol of the current (or last) run, once the device has been looked up. */
  get protocol(): StreamProtocol | undefined {
    return this.inUse;
  }

  /** True from start() until stop() or an error. */
  get running(): boolean {
    return !!this.run;
  }

  /** The driver of the current run (tests, benchmark). */
  get driver(): Driver | undefined {
    return this.run?.driver;
  }

  /** Starts the stream. Harmless while running. Never throws; problems surface as states. */
  start(): void {
    if (this.run) return;
    const run: Run = { cancelled: false, abort: new AbortController() };
    this.run = run;
    this.lastUrlEvent = undefined;
    this.inUse = undefined;
    this.setState({ state: "starting" });
    void this.begin(run).catch((err: unknown) => {
      if (run.cancelled) return;
      const error =
        err instanceof StreamConfigError
          ? err
          : new StreamConfigError("unexpectedStop", { camera: this.label, detail: errorMessage(err) });
      this.fail(run, this.text(error));
    });
  }

  /**
   * Stops: reports "stopped" at once (and a stopped URL if one was advertised), then stops the
   * driver (best effort StopRtspStream / StopWebRtcStream, bounded in time) and gives the local RTSP
   * server back. Never rejects.
   */
  stop(): Promise<void> {
    const run = this.run;
    if (!run) return this.stopping ?? Promise.resolve();
    this.run = undefined;
    run.cancelled = true;
    run.abort.abort();
    this.unadvertise();
    this.setState({ state: "stopped" });
    return this.disposeRun(run);
  }

  /**
   * For a redeploy: like stop() for readers ("stopped" at once), but an RTSP camera's live session
   * (served "direct") is parked for the successor (the `handover` option) instead of stopped at
   * Google; it is stopped there if nobody adopts it in time. Anything else is stopped as by stop().
   * Never rejects.
   */
  park(): Promise<void> {
    const run = this.run;
    const handover = this.options.handover;
    const driver = run?.driver as (Driver & { park?: StreamKeeper["park"] }) | undefined;
    if (!run || !handover || typeof driver?.park !== "function" || run.lease) return this.stop();
    const parked = driver.park();
    if (!parked) return this.stop();
    this.run = undefined;
    run.cancelled = true;
    run.abort.abort();
    run.driver = undefined;
    driver.removeAllListeners();
    this.unadvertise();
    this.setState({ state: "stopped" });
    const registry = handover.registry ?? sharedStreamHandover;
    const release = handover.hold?.();
    registry.park(this.handoverKey(handover), handover.fingerprint, parked, release);
    return this.disposeRun(run);
  }

  /** stop() then start(): a new lookup and a new session (readers get "stopped" then "started"). */
  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  // ---- the run -----------------------------------------------------------------------------------

  private async begin(run: Run): Promise<void> {
    // The previous run's driver lets go of its path on the local server first.
    await this.stopping;
    if (run.cancelled) return;
    let device: SdmDevice;
    try {
      const backoff = new Backoff({ ...this.retry, random: this.random });
      device = await lookUpDevice(this.sdm, this.shortDeviceId, () => this.label, {
        delay: (err) => retryDelay(backoff, err),
        wait: (ms) => sleep(this.clock, ms, run.abort.signal).catch(() => undefined),
        check: () => {
          if (run.cancelled) throw new Cancelled();
        },
        retrying: (why) => this.setState({ state: "retrying", why }),
      });
    } catch (err) {
      if (err instanceof Cancelled) return;
      throw err;
    }
    const info = describeDevice(device);
    this.info = info;
    const protocol = checkCamera(info, this.protocolChoice);
    this.inUse = protocol;
    this.setState({ state: "starting" });
    if (protocol === "RTSP" && (this.options.serve ?? "direct") === "local")
      await this.startRelay(run, device, info);
    else if (protocol === "RTSP")
      this.startKeeper(run, device, run.cancelled ? undefined : await this.adopt());
    else await this.startBridge(run, info);
  }

  private makeKeeper(device: SdmDevice, session?: RtspSessionTokens): StreamKeeper {
    const options: StreamKeeperOptions = {
      ...this.options.rtsp,
      sdm: this.sdm,
      deviceId: this.shortDeviceId,
      clock: this.clock,
      random: this.random,
      retry: this.retry,
      device,
    };
    if (this.options.errorText) options.errorText = this.options.errorText;
    if (session) options.session = session;
    return this.options.createKeeper?.(options) ?? new StreamKeeper(options);
  }

  private handoverKey(handover: CameraStreamHandoverOptions): string {
    return `${handover.scope}|${this.shortDeviceId}`;
  }

  /** The session a predecessor parked for this camera, if any (and the credentials are the same). */
  private async adopt(): Promise<RtspSessionTokens | undefined> {
    const handover = this.options.handover;
    if (!handover) return undefined;
    const registry = handover.registry ?? sharedStreamHandover;
    return registry.adopt(this.handoverKey(handover), handover.fingerprint);
  }

  private startKeeper(run: Run, device: SdmDevice, session?: RtspSessionTokens): void {
    const keeper = this.makeKeeper(device, session);
    if (run.cancelled) {
      // Stopped while the session was being taken: stop it at Google rather than drop it.
      if (session) {
        keeper.start();
        void keeper.stop();
      }
      return;
    }
    this.attach(run, keeper);
    keeper.start();
  }

  /** `serve: "local"`: the keeper's stream, read once and served by the local RTSP server. */
  private async startRelay(run: Run, device: SdmDevice, info: CameraInfo): Promise<void> {
    const served = await this.leaseServer(run, info);
    if (!served) return;
    const local = this.options.local ?? {};
    const options: RtspRelayOptions = {
      keeper: this.makeKeeper(device),
      server: served.lease.server,
      path: served.path,
      deviceId: this.shortDeviceId,
      displayName: info.displayName,
      clock: this.clock,
      random: this.random,
      client: local.client,
      reconnect: local.reconnect,
      keyframeGateMs: local.keyframeGateMs,
      credentials: this.options.webrtc?.credentials,
      log: (level, message) => this.log(level, message),
    };
    const relay = this.options.createRelay?.(options) ?? new RtspRelay(options);
    this.attach(run, relay);
    relay.start();
  }

  /** A lease on the local RTSP server for this camera's path (undefined when the run was cancelled). */
  private async leaseServer(
    run: Run,
    info: CameraInfo,
  ): Promise<{ lease: RtspServerLease; path: string } | undefined> {
    const opts = this.options.webrtc ?? {};
    const host = opts.host?.trim() || DEFAULT_RTSP_HOST;
    const port = opts.port ?? DEFAULT_RTSP_PORT;
    const path = opts.path ?? this.shortDeviceId;
    const log = (level: WebRtcLogLevel, message: string) => this.log(level, message);
    let lease: RtspServerLease;
    try {
      lease = await (opts.servers ?? sharedRtspServers).acquire({
        host,
        port,
        fallbackToEphemeral: opts.port === undefined,
        log,
      });
    } catch (err) {
      if (run.cancelled) return undefined;
      throw rtspServerError(info.displayName, host, port, err);
    }
    if (run.cancelled) {
      await lease.release();
      return undefined;
    }
    run.lease = lease;
    if (lease.server.hasStream(path)) {
      throw new StreamConfigError("alreadyServed", { camera: info.displayName, url: lease.server.url(path) });
    }
    if (!opts.credentials && !isLoopbackHost(host))
      this.warn("configured", { text: this.text(exposedWarning(host)) });
    if (lease.fellBack) {
      this.warn("configured", { text: this.text(portFellBack(port, lease.server.port)) });
    }
    return { lease, path };
  }

  private async startBridge(run: Run, info: CameraInfo): Promise<void> {
    const served = await this.leaseServer(run, info);
    if (!served) return;
    const { lease, path } = served;
    const opts = this.options.webrtc ?? {};
    const log = (level: WebRtcLogLevel, message: string) => this.log(level, message);
    const options: WebRtcBridgeOptions = {
      sdm: this.sdm,
      deviceId: this.shortDeviceId,
      path,
      displayName: info.displayName,
      clock: this.clock,
      server: lease.server,
      session: opts.session,
      dropReadersOnRenew: opts.dropReadersOnRenew,
      keyframeGateMs: opts.keyframeGateMs,
      parameterSetsWaitMs: opts.parameterSetsWaitMs,
      credentials: opts.credentials,
      log,
    };
    const bridge = this.options.createBridge?.(options) ?? new WebRtcBridge(options);
    this.attach(run, bridge);
    bridge.start();
  }

  /** Forwards the driver's events while `run` is the current run. */
  private attach(run: Run, driver: Driver): void {
    run.driver = driver;
    driver.on("url", (ev) => {
      if (this.run !== run) return;
      this.currentUrl = ev.url;
      this.lastUrlEvent = ev;
      this.emit("url", { ...ev });
    });
    driver.on("state", (ev) => {
      if (this.run !== run || ev.state === "stopped") return;
      if (ev.state === "error") {
        this.fail(run, ev.reason ?? this.text(new StreamConfigError("streamFailed", { camera: this.label })));
        return;
      }
      const out: CameraStreamState = { state: ev.state };
      if (ev.reason !== undefined) out.reason = ev.reason;
      if (ev.why !== undefined) out.why = ev.why;
      if (ev.expiresAt !== undefined) out.expiresAt = ev.expiresAt;
      this.setState(out);
    });
    driver.on("warning", (w) => this.emit("warning", streamWarning(w.code, { ...w.params })));
  }

  /** Ends the run in state "error": the URL is of no use any more. */
  private fail(run: Run, message: string): void {
    if (this.run !== run) return;
    this.run = undefined;
    run.cancelled = true;
    run.abort.abort();
    this.unadvertise();
    this.setState({ state: "error", reason: message });
    void this.disposeRun(run);
  }

  /** dispose(), tracked so that stop() and the next run wait for it. */
  private disposeRun(run: Run): Promise<void> {
    const previous = this.stopping;
    const stopping: Promise<void> = Promise.all([previous, this.dispose(run)])
      .then(() => undefined)
      .finally(() => {
        if (this.stopping === stopping) this.stopping = undefined;
      });
    this.stopping = stopping;
    return stopping;
  }

  /** Stops the run's driver (its url/state events are no longer forwarded) and gives the server back. */
  private async dispose(run: Run): Promise<void> {
    const driver = run.driver;
    if (driver) {
      driver.removeAllListeners("url");
      driver.removeAllListeners("state");
      try {
        await driver.stop();
      } catch (err) {
        this.warn("stoppingFailed", { detail: errorMessage(err) });
      }
      driver.removeAllListeners("warning");
    }
    const lease = run.lease;
    run.lease = undefined;
    await lease?.release().catch(() => undefined);
  }

  // ---- events ------------------------------------------------------------------------------------

  private get label(): string {
    return this.info?.displayName ?? this.shortDeviceId;
  }

  /** Tells readers the URL is no longer usable (only if one was advertised). */
  private unadvertise(): void {
    if (this.currentUrl === null) return;
    this.currentUrl = null;
    const last = this.lastUrlEvent;
    const ev = cameraUrlEvent(
      {
        deviceId: this.shortDeviceId,
        camera: last?.camera ?? this.label,
        protocol: last?.protocol ?? this.inUse ?? "RTSP",
      },
      "stopped",
      null,
      null,
    );
    this.lastUrlEvent = ev;
    this.emit("url", ev);
  }

  private setState(state: CameraStreamState): void {
    const clean: CameraStreamState = { state: state.state };
    if (state.reason !== undefined) clean.reason = redact(state.reason);
    if (state.why !== undefined) clean.why = redactReason(state.why);
    if (state.expiresAt !== undefined) clean.expiresAt = state.expiresAt;
    const camera = state.camera ?? this.info?.displayName;
    if (camera !== undefined) clean.camera = camera;
    if (this.inUse && state.state !== "stopped") clean.protocol = this.inUse;
    const prev = this.currentState;
    // The driver's first "starting" repeats ours.
    if (
      clean.state === "starting" &&
      prev.state === "starting" &&
      prev.camera === clean.camera &&
      prev.protocol === clean.protocol
    )
      return;
    this.currentState = clean;
    this.emit("state", { ...clean });
  }

  /** A configuration problem or warning in the caller's words (the node's catalog). */
  private text(err: StreamConfigError): string {
    return this.options.errorText?.(err) ?? err.message;
  }

  private warn(code: StreamWarningCode, params: Record<string, string>): void {
    this.emit("warning", streamWarning(code, { camera: this.label, ...params }));
  }

  private log(level: CameraStreamLogLevel, message: string): void {
    this.options.log?.(level, redact(`Camera "${this.label}": ${message}`));
  }
}
