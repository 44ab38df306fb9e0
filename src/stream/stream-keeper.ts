/**
 * The stream keeper: the GenerateRtspStream / ExtendRtspStream / StopRtspStream lifecycle of one
 * camera's live stream (design sections 3, 5 and 6). Framework-free; time comes from the injected
 * clock, so the tests run a simulated day in a second.
 *
 * One `start()` begins a run: look the device up once, generate a stream, then extend it when about
 * a minute is left (re-armed from each new `expiresAt`, always with the newest extension token).
 * A failed extend is retried while the stream has time left; a rejected token or running out of time
 * generates a new stream ("restarted"). Failures to generate are retried with backoff for as long as
 * the keeper is meant to run; only configuration problems the user must fix end in state "error".
 */
import { EventEmitter } from "node:events";
import { Backoff } from "../backoff";
import { sleep, systemClock, type Clock } from "../clock";
import { TransientGoogleError } from "../google/errors";
import { retryDelay, serverDelayMs } from "../google/retry";
import {
  describeDevice,
  deviceId as shortDeviceId,
  type CameraInfo,
  type ExtendRtspStreamResult,
  type GenerateRtspStreamResult,
  type SdmCommandName,
  type SdmCommandRunner,
  type SdmCommands,
  type SdmDevice,
} from "../nest/sdm-types";
import { errorMessage, redact, secrets } from "../redact";
import { checkCamera, lookUpDevice } from "./camera-check";
import type { ParkedSession, RtspSessionTokens } from "./stream-handover";
import { classifyError, noDeviceData, StreamConfigError, type ErrorVerdict } from "./stream-messages";
import {
  redactReason,
  secondsParam,
  streamReason,
  streamWarning,
  type StreamWarning,
  type StreamWarningCode,
} from "./stream-reason";
import {
  cameraUrlEvent,
  type CameraUrlEvent,
  type StreamDriver,
  type StreamState,
  type StreamUrlEventName,
} from "./stream-state";

export { StreamConfigError } from "./stream-messages";
export type { StreamState, StreamStateName, StreamUrlEventName } from "./stream-state";

export type { SdmCommandRunner } from "../nest/sdm-types";

/** Payload of the `url` event: one each time the usable URL changes (Google's `rtsps://` URL). */
export type StreamUrlEvent = CameraUrlEvent<"RTSP">;

export interface StreamKeeperEvents {
  url: [StreamUrlEvent];
  state: [StreamState];
  /** Something went wrong that did not change the state (a failed best-effort StopRtspStream). Masked. */
  warning: [StreamWarning];
}

export interface StreamRetryOptions {
  /** First retry delay. Default 2 s. */
  initialMs?: number;
  /** Longest retry delay (an offline camera is retried this often). Default 120 s. */
  maxMs?: number;
  /** Default 2. */
  factor?: number;
  /** 0..1, see Backoff. Default 0.5. */
  jitter?: number;
}

/** The retry options with their defaults filled in. */
export function retryDefaults(retry: StreamRetryOptions = {}): Required<StreamRetryOptions> {
  return {
    initialMs: retry.initialMs ?? 2_000,
    maxMs: retry.maxMs ?? 120_000,
    factor: retry.factor ?? 2,
    jitter: retry.jitter ?? 0.5,
  };
}

export interface StreamKeeperOptions {
  sdm: SdmCommandRunner;
  /** Short device id or the full `enterprises/{project}/devices/{id}` name. */
  deviceId: string;
  clock?: Clock;
  /** For backoff jitter; injected so tests are deterministic. */
  random?: () => number;
  /**
   * Extend when this much time is left. Default 60 s. Never more than a quarter of the stream's
   * lifetime, so short-lived streams (test fakes) are extended proportionally.
   */
  extendLeadMs?: number;
  /**
   * Safety margin: no extend is attempted with less than this left (a new stream is generated
   * instead). Default 10 s; never more than a third of the extend lead.
   */
  minExtendLeadMs?: number;
  /**
   * The longest a stream is assumed to live after the command that made or extended it (SDM: 5 min).
   * Guards against a local clock that runs behind Google's. Default 5 min.
   */
  maxLifetimeMs?: number;
  retry?: StreamRetryOptions;
  /** Bound on `stop()`: waiting for a command in flight plus StopRtspStream. Default 5 s. */
  stopTimeoutMs?: number;
  /**
   * The device as already fetched and checked (CameraStream looks it up once to pick the protocol):
   * the keeper sends no device lookup of its own.
   */
  device?: SdmDevice;
  /**
   * A live session handed over by the keeper of a node that closed for a redeploy (StreamHandover):
   * the first start() advertises it as "started" and extends it, instead of generating a new one.
   */
  session?: RtspSessionTokens;
  /** The words of a configuration problem (a StreamConfigError) in the "error" state: the node's catalog; default: its message. */
  errorText?: (err: unknown) => string;
}

/** Tokens of one live stream session. */
interface Session {
  /** The URL as GenerateRtspStream returned it. */
  readonly rtspUrl: string;
  /** The URL for new connections: `rtspUrl` with `auth=` the newest streamToken. */
  url: string;
  streamToken: string;
  extensionToken: string;
  /** ISO, as Google said. */
  expiresAt: string;
  /** Local time (ms) the stream is taken to end. */
  deadline: number;
  /** deadline minus the time the answer came. */
  lifetimeMs: number;
  /** Abandoned (token rejected or out of time): not extended or stopped any more. */
  lost: boolean;
  /** The extension token a StopRtspStream was sent with. */
  stopSentFor?: string;
}

/** One start() … stop() (or error). */
class Run {
  cancelled = false;
  /** stop() has finished its own attempt: a stream that still comes back is stopped in the background. */
  stopSettled = false;
  readonly abort = new AbortController();
  session?: Session;
  /**
   * The request in flight: `settled` settles once it has and its result has been applied to the
   * session; `command` names it when it can bring a stream (the device lookup cannot).
   */
  inflight?: { settled: Promise<void>; command?: SdmCommandName };
  /** The most recent tokens, registered for exact-match redaction while the run lasts. */
  readonly tokens: string[] = [];
  /** park(): nobody listens any more; extended until taken or stopped, never replaced by a new stream. */
  parked = false;
  /** take(): the session lives on in another keeper; never stopped from here. */
  handedOver = false;
}

/** Thrown inside a cancelled run to unwind it quietly. */
class Cancelled extends Error {}

const TIMED_OUT = Symbol("timed out");
/** How many recent tokens each keeper keeps registered for exact-match redaction. */
const REMEMBERED_TOKENS = 8;
/** Never extend more often than this, whatever the stream's lifetime. */
const MIN_EXTEND_INTERVAL_MS = 1000;
/** An expiresAt this much beyond the longest lifetime (or already past) means the clocks disagree. */
const CLOCK_SKEW_WARN_MS = 60_000;

/** The RTSP URL for new connections: `rtspUrl` with its `auth=` query parameter set to `streamToken`. */
export function withStreamToken(rtspUrl: string, streamToken: string): string {
  const match = /([?&]auth=)([^&#]*)/.exec(rtspUrl);
  if (!match) {
    const hash = rtspUrl.indexOf("#");
    const base = hash >= 0 ? rtspUrl.slice(0, hash) : rtspUrl;
    const tail = hash >= 0 ? rtspUrl.slice(hash) : "";
    return `${base}${base.includes("?") ? "&" : "?"}auth=${encodeURIComponent(streamToken)}${tail}`;
  }
  // Keep whatever form Google used: raw unless the original token was percent-encoded.
  const value =
    /[&#\s%]/.test(streamToken) || match[2].includes("%") ? encodeURIComponent(streamToken) : streamToken;
  return rtspUrl.slice(0, match.index) + match[1] + value + rtspUrl.slice(match.index + match[0].length);
}

export class StreamKeeper extends EventEmitter<StreamKeeperEvents> implements StreamDriver {
  /** The device id as given (short id or full name). */
  readonly deviceId: string;
  /** The short device id, sent to the SDM client and carried in `url` events. */
  readonly shortDeviceId: string;

  private readonly sdm: SdmCommandRunner;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly extendLeadMs: number;
  private readonly minExtendLeadMs: number;
  private readonly maxLifetimeMs: number;
  private readonly retry: Required<StreamRetryOptions>;
  private readonly stopTimeoutMs: number;
  private readonly errorText?: (err: unknown) => string;
  private readonly prefetched?: SdmDevice;
  /** The handed-over session, until the first run takes it. */
  private adopted?: RtspSessionTokens;

  private run?: Run;
  private stopping?: Promise<void>;
  private info?: CameraInfo;
  private currentUrl: string | null = null;
  private currentState: StreamState = { state: "stopped" };
  /** No command before this time (set by a 429 with Retry-After). */
  private notBefore = 0;
  private skewWarned = false;

  constructor(options: StreamKeeperOptions) {
    super();
    const id = typeof options.deviceId === "string" ? options.deviceId.trim() : "";
    if (!id) throw new TypeError("StreamKeeper needs a device id (the camera's id or its full device name).");
    this.deviceId = id;
    this.shortDeviceId = shortDeviceId(id);
    this.sdm = options.sdm;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.extendLeadMs = options.extendLeadMs ?? 60_000;
    this.minExtendLeadMs = options.minExtendLeadMs ?? 10_000;
    this.maxLifetimeMs = options.maxLifetimeMs ?? 300_000;
    this.retry = retryDefaults(options.retry);
    this.stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
    this.prefetched = options.device;
    this.adopted = options.session;
    this.errorText = options.errorText;
  }

  /** The URL last advertised (newest token), or null when there is none. */
  get url(): string | null {
    return this.currentUrl;
  }

  /** The last state emitted. */
  get state(): StreamState {
    return { ...this.currentState };
  }

  /** The camera's display name once the device has been looked up. */
  get camera(): string | undefined {
    return this.info?.displayName;
  }

  /** True from start() until stop() or an error. */
  get running(): boolean {
    return !!this.run;
  }

  /** Starts keeping a stream. Harmless while already running. Never throws; problems surface as states. */
  start(): void {
    if (this.run) return;
    const run = new Run();
    this.run = run;
    const adopted = this.adopted;
    this.adopted = undefined;
    // Set at once, so that a stop() right away still stops the handed-over stream at Google.
    if (adopted) run.session = this.adoptSession(run, adopted);
    this.setState({ state: "starting", camera: this.camera });
    void this.loop(run).catch(() => undefined);
  }

  /**
   * Stops: cancels timers, reports "stopped" at once, then (best effort, bounded by stopTimeoutMs)
   * waits for a command in flight and sends StopRtspStream with the newest extension token.
   * Never rejects; a failed stop is reported as a `warning`.
   */
  stop(): Promise<void> {
    const run = this.run;
    if (!run) {
      if (this.currentState.state !== "stopped") {
        this.unadvertise();
        this.setState({ state: "stopped", camera: this.camera });
      }
      return this.stopping ?? Promise.resolve();
    }
    this.run = undefined;
    run.cancelled = true;
    run.abort.abort();
    this.unadvertise();
    this.setState({ state: "stopped", camera: this.camera });
    const stopping: Promise<void> = this.finishStop(run)
      .catch((err) => this.warn("stoppingFailed", { detail: errorMessage(err) }))
      .finally(() => {
        if (this.stopping === stopping) this.stopping = undefined;
      });
    this.stopping = stopping;
    return stopping;
  }

  /** stop() then start(): a new session (readers get "stopped" then "started"). */
  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  /**
   * For a handover (StreamHandover): readers are told "stopped" as by stop(), but the live session
   * goes on being extended, without events, until it is taken (`take()`: the newest tokens, no
   * StopRtspStream) or stopped (`stop()`). Undefined, and nothing changed, when there is no live
   * session to hand over (none yet, lost, or too close to its end): stop() then.
   */
  park(): ParkedSession | undefined {
    const run = this.run;
    const session = run?.session;
    if (!run || run.cancelled || run.parked || !session || session.lost) return undefined;
    if (session.deadline - this.clock.now() < this.marginFor(session)) return undefined;
    run.parked = true;
    this.unadvertise();
    this.setState({ state: "stopped", camera: this.camera });
    return {
      take: () => this.handOver(run),
      stop: () => (this.run === run ? this.stop() : Promise.resolve()),
    };
  }

  /** Ends a parked run without a stop and gives its session's newest tokens. */
  private async handOver(run: Run): Promise<RtspSessionTokens | undefined> {
    // An extend in flight brings the newest tokens: wait for it.
    while (run.inflight) await run.inflight.settled;
    if (this.run !== run || run.cancelled) return undefined;
    const session = run.session;
    this.run = undefined;
    run.cancelled = true;
    run.handedOver = true;
    run.abort.abort();
    this.forgetTokens(run);
    if (!session || session.lost || session.deadline - this.clock.now() < this.marginFor(session)) {
      return undefined;
    }
    return {
      rtspUrl: session.rtspUrl,
      streamToken: session.streamToken,
      extensionToken: session.extensionToken,
      expiresAt: session.expiresAt,
      deadline: session.deadline,
      lifetimeMs: session.lifetimeMs,
    };
  }

  private adoptSession(run: Run, tokens: RtspSessionTokens): Session {
    this.remember(run, tokens.streamToken, tokens.extensionToken);
    return {
      rtspUrl: tokens.rtspUrl,
      url: withStreamToken(tokens.rtspUrl, tokens.streamToken),
      streamToken: tokens.streamToken,
      extensionToken: tokens.extensionToken,
      expiresAt: tokens.expiresAt,
      deadline: tokens.deadline,
      lifetimeMs: tokens.lifetimeMs,
      lost: false,
    };
  }

  // ---- the run ---------------------------------------------------------------------------------

  private async loop(run: Run): Promise<void> {
    try {
      await this.lookup(run);
      let event: "started" | "restarted" = "started";
      if (run.session) {
        // Handed over: the same stream, new to this keeper's readers.
        this.checkRun(run);
        this.advertise("started", run.session);
        event = "restarted";
        await this.keepAlive(run);
      }
      for (;;) {
        if (run.parked) return this.endParked(run);
        await this.generate(run, event);
        event = "restarted";
        await this.keepAlive(run);
      }
    } catch (err) {
      if (run.cancelled) return;
      const error =
        err instanceof StreamConfigError
          ? err
          : new StreamConfigError("keeperStopped", { camera: this.label, detail: errorMessage(err) });
      this.fail(run, this.errorText?.(error) ?? error.message);
    }
  }

  /** Looks the device up once per run (unless given): display name, and whether it can stream via RTSP. */
  private async lookup(run: Run): Promise<void> {
    if (this.prefetched) {
      // Checked by whoever looked it up (CameraStream).
      this.info = describeDevice(this.prefetched);
      return;
    }
    const backoff = this.backoff();
    const device = await lookUpDevice(this.sdm, this.shortDeviceId, () => this.label, {
      delay: (err) => this.retryDelay(backoff, err),
      wait: (ms) => this.sleep(run, ms),
      check: () => this.checkRun(run),
      retrying: (why) => this.setState({ state: "retrying", why, camera: this.camera }),
      request: async (work) => {
        let device: SdmDevice | undefined;
        await this.track(run, undefined, async () => {
          device = await work();
        });
        return device;
      },
    });
    this.accept(device);
  }

  /** Takes the device's display name; throws StreamConfigError when it cannot stream via RTSP. */
  private accept(device: SdmDevice): void {
    if (!device || typeof device !== "object") throw noDeviceData(this.label);
    this.info = describeDevice(device);
    checkCamera(this.info, "RTSP");
  }

  /** GenerateRtspStream until it works (or a configuration error), then advertise the URL. */
  private async generate(run: Run, event: "started" | "restarted"): Promise<void> {
    const backoff = this.backoff();
    for (;;) {
      await this.waitForRateLimit(run);
      const sentAt = this.clock.now();
      try {
        await this.exec(run, "GenerateRtspStream", {}, (result) => {
          run.session = this.newSession(run, result, sentAt);
        });
      } catch (err) {
        this.checkRun(run);
        await this.afterFailure(run, backoff, err, classifyError(err, "generate", this.label));
        continue;
      }
      this.checkRun(run);
      this.advertise(event, run.session!);
      return;
    }
  }

  /** Extends the session about a minute before each expiry; returns when it is lost. */
  private async keepAlive(run: Run): Promise<void> {
    for (;;) {
      const session = run.session!;
      const wait = session.deadline - this.leadFor(session) - this.clock.now();
      await this.sleep(run, Math.max(MIN_EXTEND_INTERVAL_MS, wait));
      if (!(await this.extend(run, session))) return;
    }
  }

  /** One extend, retried while time remains. True when extended, false when a new stream is needed. */
  private async extend(run: Run, session: Session): Promise<boolean> {
    const backoff = this.backoff();
    for (;;) {
      if (session.deadline - this.clock.now() < this.marginFor(session)) {
        // Woke too late (a suspended host, a blocked event loop): an extend would only be refused.
        session.lost = true;
        this.setState({
          state: "retrying",
          why: streamReason("expiredBeforeExtend"),
          camera: this.camera,
        });
        return false;
      }
      this.setState({ state: "extending", expiresAt: session.expiresAt, camera: this.camera });
      const sentAt = this.clock.now();
      try {
        await this.exec(run, "ExtendRtspStream", { streamExtensionToken: session.extensionToken }, (result) =>
          this.rotate(run, session, result, sentAt),
        );
      } catch (err) {
        this.checkRun(run);
        const verdict = classifyError(err, "extend", this.label);
        if (verdict.kind === "fatal") throw verdict.error;
        if (verdict.kind === "rejected") {
          session.lost = true;
          this.setState({
            state: "retrying",
            why: streamReason("newStream", {}, verdict.reason),
            camera: this.camera,
          });
          return false;
        }
        const delay = this.retryDelay(backoff, err);
        const left = session.deadline - this.clock.now();
        if (delay > left - this.marginFor(session)) {
          session.lost = true;
          this.setState({
            state: "retrying",
            why: streamReason("extendTooLate", {}, verdict.reason),
            camera: this.camera,
          });
          return false;
        }
        this.setState({
          state: "retrying",
          why: streamReason("extendRetry", { seconds: secondsParam(delay) }, verdict.reason),
          expiresAt: session.expiresAt,
          camera: this.camera,
        });
        await this.sleep(run, delay);
        continue;
      }
      this.checkRun(run);
      this.advertise("extended", session);
      return true;
    }
  }

  /** Retry verdict: report "retrying" and wait; fatal verdict: throw. */
  private async afterFailure(run: Run, backoff: Backoff, err: unknown, verdict: ErrorVerdict): Promise<void> {
    if (verdict.kind === "fatal") throw verdict.error;
    const delay = this.retryDelay(backoff, err);
    this.setState({
      state: "retrying",
      why: streamReason("nextTry", { seconds: secondsParam(delay) }, verdict.reason),
      camera: this.camera,
    });
    await this.sleep(run, delay);
  }

  /** A parked session was lost: nobody is left to tell, and no new stream is made for nobody. */
  private endParked(run: Run): void {
    run.cancelled = true;
    run.stopSettled = true;
    run.abort.abort();
    if (this.run === run) this.run = undefined;
    this.forgetTokens(run);
  }

  private fail(run: Run, message: string): void {
    run.cancelled = true;
    run.stopSettled = true;
    run.abort.abort();
    if (this.run === run) this.run = undefined;
    this.unadvertise();
    this.setState({ state: "error", reason: message, camera: this.camera });
    this.forgetTokens(run);
  }

  // ---- stopping --------------------------------------------------------------------------------

  private async finishStop(run: Run): Promise<void> {
    const deadline = this.clock.now() + this.stopTimeoutMs;
    try {
      if (run.inflight) {
        const { settled, command } = run.inflight;
        if ((await this.within(settled, deadline - this.clock.now())) === TIMED_OUT) {
          if (command) this.warn("noAnswer", { command });
          return;
        }
      }
      await this.stopSession(run, deadline);
    } finally {
      run.stopSettled = true;
      this.forgetTokens(run);
    }
  }

  /** StopRtspStream with the newest extension token, once per token, bounded by `deadline`. */
  private async stopSession(run: Run, deadline: number): Promise<void> {
    const session = run.session;
    const now = this.clock.now();
    if (run.handedOver || !session || session.lost || session.deadline <= now) return;
    if (session.stopSentFor === session.extensionToken) return;
    session.stopSentFor = session.extensionToken;
    const remaining = deadline - now;
    try {
      const answer = await this.within(
        this.sdm.execute(this.shortDeviceId, "StopRtspStream", {
          streamExtensionToken: session.extensionToken,
        }),
        remaining,
      );
      if (answer === TIMED_OUT)
        this.warn("stopTimeout", { seconds: secondsParam(remaining), expiresAt: session.expiresAt });
    } catch (err) {
      this.warn("stopFailed", { detail: errorMessage(err), expiresAt: session.expiresAt });
    }
  }

  /** After a command of a cancelled run settles: stop what it brought if stop() is already done. */
  private checkRun(run: Run): void {
    if (!run.cancelled) return;
    if (run.stopSettled) {
      void this.stopSession(run, this.clock.now() + this.stopTimeoutMs).finally(() => this.forgetTokens(run));
    }
    throw new Cancelled("stopped");
  }

  // ---- sessions and tokens -----------------------------------------------------------------------

  private newSession(run: Run, result: GenerateRtspStreamResult, sentAt: number): Session {
    const rtspUrl = result?.streamUrls?.rtspUrl;
    if (typeof rtspUrl !== "string" || !rtspUrl || !result.streamToken || !result.streamExtensionToken) {
      throw new TransientGoogleError("GenerateRtspStream answered without a stream URL and tokens.");
    }
    const session: Session = {
      rtspUrl,
      url: rtspUrl,
      streamToken: "",
      extensionToken: "",
      expiresAt: "",
      deadline: 0,
      lifetimeMs: 0,
      lost: false,
    };
    this.rotate(run, session, result, sentAt);
    return session;
  }

  /** Takes the newest tokens and expiry (from a generate or an extend). */
  private rotate(run: Run, session: Session, result: ExtendRtspStreamResult, sentAt: number): void {
    if (!result || !result.streamToken || !result.streamExtensionToken) {
      throw new TransientGoogleError("ExtendRtspStream answered without new tokens.");
    }
    this.remember(run, result.streamToken, result.streamExtensionToken);
    const now = this.clock.now();
    const parsed = Date.parse(result.expiresAt);
    const latest = sentAt + this.maxLifetimeMs;
    // A stream lives at most maxLifetimeMs after the command; an expiry already past means the
    // local clock runs ahead of Google's, so go by the command time then.
    const deadline = Number.isFinite(parsed) && parsed > now ? Math.min(parsed, latest) : latest;
    if (
      Number.isFinite(parsed) &&
      (parsed <= now || parsed > latest + CLOCK_SKEW_WARN_MS) &&
      !this.skewWarned
    ) {
      this.skewWarned = true;
      this.warn("clockSkew", { expiresAt: new Date(parsed).toISOString() });
    }
    session.streamToken = result.streamToken;
    session.extensionToken = result.streamExtensionToken;
    session.url = withStreamToken(session.rtspUrl, result.streamToken);
    session.expiresAt = new Date(Number.isFinite(parsed) ? parsed : deadline).toISOString();
    session.deadline = deadline;
    session.lifetimeMs = Math.max(0, deadline - now);
  }

  /** The run is over: its tokens are dead, drop them from the process-wide registry. */
  private forgetTokens(run: Run): void {
    for (const token of run.tokens.splice(0)) secrets.delete(token);
  }

  private remember(run: Run, ...tokens: string[]): void {
    for (const token of tokens) {
      secrets.add(token);
      run.tokens.push(token);
    }
    while (run.tokens.length > REMEMBERED_TOKENS) secrets.delete(run.tokens.shift());
  }

  private leadFor(session: Session): number {
    return Math.min(this.extendLeadMs, session.lifetimeMs / 4);
  }

  private marginFor(session: Session): number {
    return Math.min(this.minExtendLeadMs, this.leadFor(session) / 3);
  }

  // ---- events ------------------------------------------------------------------------------------

  private get label(): string {
    return this.info?.displayName ?? this.shortDeviceId;
  }

  private advertise(event: StreamUrlEventName, session: Session): void {
    this.currentUrl = session.url;
    this.emit("url", cameraUrlEvent(this.urlSource, event, session.url, session.expiresAt));
    this.setState({ state: "live", expiresAt: session.expiresAt, camera: this.camera });
  }

  /** Tells readers the URL is no longer usable (only if one was advertised). */
  private unadvertise(): void {
    if (this.currentUrl === null) return;
    this.currentUrl = null;
    this.emit("url", cameraUrlEvent(this.urlSource, "stopped", null, null));
  }

  /** Who the url events are about. */
  private get urlSource(): { deviceId: string; camera: string; protocol: "RTSP" } {
    return { deviceId: this.shortDeviceId, camera: this.label, protocol: "RTSP" };
  }

  private setState(state: StreamState): void {
    const clean: StreamState = { state: state.state };
    if (state.reason !== undefined) clean.reason = redact(state.reason);
    if (state.why !== undefined) clean.why = redactReason(state.why);
    if (state.expiresAt !== undefined) clean.expiresAt = state.expiresAt;
    if (state.camera !== undefined) clean.camera = state.camera;
    this.currentState = clean;
    this.emit("state", { ...clean });
  }

  private warn(code: StreamWarningCode, params: Record<string, string> = {}): void {
    this.emit("warning", streamWarning(code, { camera: this.label, ...params }));
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  /** Runs an SDM command, applying its result before anyone waiting on the run's in-flight work resumes. */
  private async exec<C extends SdmCommandName>(
    run: Run,
    command: C,
    params: SdmCommands[C]["params"],
    apply: (result: SdmCommands[C]["results"]) => void,
  ): Promise<void> {
    await this.track(run, command, async () => {
      apply(await this.sdm.execute(this.shortDeviceId, command, params));
    });
  }

  private async track(
    run: Run,
    command: SdmCommandName | undefined,
    work: () => Promise<void>,
  ): Promise<void> {
    const done = work();
    const inflight = {
      settled: done.then(
        () => undefined,
        () => undefined,
      ),
      command,
    };
    run.inflight = inflight;
    try {
      await done;
    } finally {
      if (run.inflight === inflight) run.inflight = undefined;
    }
  }

  private backoff(): Backoff {
    return new Backoff({ ...this.retry, random: this.random });
  }

  /** The next retry delay; a 429's Retry-After is honoured (and holds back every command until then). */
  private retryDelay(backoff: Backoff, err: unknown): number {
    const serverMs = serverDelayMs(err);
    if (serverMs > 0) this.notBefore = Math.max(this.notBefore, this.clock.now() + serverMs);
    return retryDelay(backoff, err);
  }

  private async waitForRateLimit(run: Run): Promise<void> {
    const wait = this.notBefore - this.clock.now();
    if (wait > 0) await this.sleep(run, wait);
  }

  private sleep(run: Run, ms: number): Promise<void> {
    return sleep(this.clock, Math.max(0, ms), run.abort.signal).catch((err) => {
      if (run.cancelled) throw new Cancelled("stopped");
      throw err;
    });
  }

  /** Resolves with the promise's value, or TIMED_OUT after `ms` (the timer is always cleared). */
  private within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
    return new Promise<T | typeof TIMED_OUT>((resolve, reject) => {
      let finished = false;
      const timer = ms > 0 ? this.clock.setTimeout(() => finish(() => resolve(TIMED_OUT)), ms) : undefined;
      const finish = (fn: () => void) => {
        if (finished) return;
        finished = true;
        this.clock.clearTimeout(timer);
        fn();
      };
      promise.then(
        (value) => finish(() => resolve(value)),
        (err) => finish(() => reject(err)),
      );
      if (ms <= 0) queueMicrotask(() => finish(() => resolve(TIMED_OUT)));
    });
  }
}
