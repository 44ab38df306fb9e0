/**
 * One camera's WebRTC media session with Google's SDM API (cameras whose `supportedProtocols` is
 * `["WEB_RTC"]`), on werift (pure TypeScript WebRTC): offer receive-only audio and video plus the
 * data channel Nest requires, let Google answer through `GenerateWebRtcStream`, keep the session
 * alive with `ExtendWebRtcStream` about a minute before `expiresAt`, and replace it with a new one
 * when the camera refuses to extend (battery cameras: 400 FAILED_PRECONDITION), when the peer
 * connection fails, or when media stops. RTP packets come out as 'rtp' events, unchanged.
 */
import { EventEmitter } from "node:events";
import {
  PictureLossIndication,
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  type RTCPeerConnectionConfig,
  type RTCRtpTransceiver,
  type RtpPacket,
} from "werift";
import { Backoff } from "../backoff";
import { sleep, systemClock, type Clock, type Timer } from "../clock";
import {
  CredentialsError,
  FailedPreconditionError,
  InvalidArgumentError,
  InvalidClientError,
  InvalidGrantError,
  NotFoundError,
  PermissionDeniedError,
} from "../google/errors";
import { retryDelay, serverDelayMs } from "../google/retry";
import type { SdmCommandExecutor } from "../nest/sdm-types";
import { errorMessage } from "../redact";
import { secondsParam, streamReason, type StreamReason } from "../stream/stream-reason";
import type { StreamState, StreamStateName } from "../stream/stream-state";
import { ParameterSets, startsKeyframe } from "./h264";
import { fixNestAnswer, parseNegotiatedMedia, type NegotiatedMedia } from "./sdp";
import { FullIntraRequest, offerCodecs, rawPacket } from "./webrtc-media";

/** How soon a failed extend is tried again (while the session has time left). */
const EXTEND_RETRY_MS = 10_000;

export type WebRtcState = StreamStateName;

/** The `state` event (the one stream state type; `expiresAt`: the current media session's). */
export type WebRtcStateEvent = StreamState;

export interface WebRtcSessionEvent {
  /** Google's id of the media session (not a secret). */
  mediaSessionId: string;
  expiresAt: string;
  /** 1 for the first session, +1 for each session that replaced another. */
  generation: number;
  /** `"started"`, `"extended"` (same session, later expiry) or `"renewed"` (a new session replaced the old one). */
  event: "started" | "extended" | "renewed";
  media: NegotiatedMedia;
}

export interface WebRtcRtpEvent {
  kind: "video" | "audio";
  /**
   * The raw RTP packet as the camera sent it (decrypted), a buffer of its own for each event; the
   * bridge rewrites it in place (SSRC, sequence numbers, timestamps), so copy it to keep it.
   */
  packet: Buffer;
  /** Video only: this packet starts a keyframe (IDR or the SPS before it). */
  keyframe?: boolean;
  /** Which session generation the packet came from. */
  generation: number;
}

export type WebRtcLogLevel = "debug" | "info" | "warn";

export interface WebRtcSessionOptions {
  sdm: SdmCommandExecutor;
  /** Device id (short or full `enterprises/…/devices/…` name, as the runner expects it). */
  deviceId: string;
  clock?: Clock;
  /**
   * Extend this long before `expiresAt` (default 60 s); never more than a quarter of the session's
   * lifetime, so short-lived sessions (test fakes) are extended proportionally.
   */
  extendLeadMs?: number;
  /** Give up on a new peer that is not connected this long after the answer (default 20 s). */
  connectTimeoutMs?: number;
  /** Wait at most this long for ICE gathering before sending the offer (default 10 s). */
  gatherTimeoutMs?: number;
  /** Replace the session when no RTP arrived for this long (default 10 s; 0 = never). */
  mediaTimeoutMs?: number;
  /** Replace the session when the peer stays `disconnected` this long (default 5 s). */
  disconnectGraceMs?: number;
  /** Until the first keyframe, ask for one this often (default 2 s). Also the watchdog period. */
  keyframeProbeMs?: number;
  /** After that, ask for one when none came for this long (default 10 s; 0 = never). */
  keyframeIntervalMs?: number;
  /** Bound on StopWebRtcStream and closing a peer (default 5 s). */
  stopTimeoutMs?: number;
  /** Delays between failed attempts to open a session (default 5 s doubling to 5 min, with jitter). */
  backoff?: Backoff;
  /** Extra werift peer configuration (ICE servers, interface addresses, port range…). */
  peerConfig?: RTCPeerConnectionConfig;
  log?: (level: WebRtcLogLevel, message: string) => void;
}

interface Peer {
  n: number;
  pc: RTCPeerConnection;
  video: RTCRtpTransceiver;
  audio: RTCRtpTransceiver;
  mediaSessionId?: string;
  expiresAt: number;
  media?: NegotiatedMedia;
  videoSsrc?: number;
  lastRtpAt: number;
  sawKeyframe: boolean;
  lastKeyframeAt: number;
  lastKeyframeRequestAt: number;
  firSeq: number;
  disconnectedAt?: number;
  closed: boolean;
  /** Rejects the pending connect wait of a peer that is still being opened. */
  failOpening?: (err: Error) => void;
  connected: boolean;
}

class StoppedError extends Error {
  constructor() {
    super("stopped");
  }
}

/** Errors that another attempt will not fix: tell the user instead of retrying. */
export function isFatalSdmError(err: unknown): boolean {
  return (
    err instanceof InvalidGrantError ||
    err instanceof InvalidClientError ||
    err instanceof CredentialsError ||
    err instanceof PermissionDeniedError ||
    err instanceof NotFoundError ||
    err instanceof InvalidArgumentError
  );
}

export interface WebRtcSessionEvents {
  state: [WebRtcStateEvent];
  session: [WebRtcSessionEvent];
  rtp: [WebRtcRtpEvent];
}

export class WebRtcSession extends EventEmitter<WebRtcSessionEvents> {
  private readonly sdm: SdmCommandExecutor;
  private readonly deviceId: string;
  private readonly clock: Clock;
  private readonly opts: Required<
    Pick<
      WebRtcSessionOptions,
      | "extendLeadMs"
      | "connectTimeoutMs"
      | "gatherTimeoutMs"
      | "mediaTimeoutMs"
      | "disconnectGraceMs"
      | "keyframeProbeMs"
      | "keyframeIntervalMs"
      | "stopTimeoutMs"
    >
  >;
  private readonly backoff: Backoff;
  private readonly peerConfig: RTCPeerConnectionConfig;
  private readonly log: (level: WebRtcLogLevel, message: string) => void;

  private started = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private establishing = false;
  private current?: Peer;
  private readonly peers = new Set<Peer>();
  private peerSeq = 0;
  private generationNo = 0;
  private extendTimer?: Timer;
  private tickTimer?: Timer;
  private stateNow: WebRtcState = "stopped";
  private readonly params = new ParameterSets();
  /** Keyframe requests sent (PLI, plus FIR when negotiated), for status and tests. */
  keyframeRequests = 0;

  constructor(options: WebRtcSessionOptions) {
    super();
    this.sdm = options.sdm;
    this.deviceId = options.deviceId;
    this.clock = options.clock ?? systemClock;
    this.opts = {
      extendLeadMs: options.extendLeadMs ?? 60_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 20_000,
      gatherTimeoutMs: options.gatherTimeoutMs ?? 10_000,
      mediaTimeoutMs: options.mediaTimeoutMs ?? 10_000,
      disconnectGraceMs: options.disconnectGraceMs ?? 5_000,
      keyframeProbeMs: options.keyframeProbeMs ?? 2_000,
      keyframeIntervalMs: options.keyframeIntervalMs ?? 10_000,
      stopTimeoutMs: options.stopTimeoutMs ?? 5_000,
    };
    this.backoff = options.backoff ?? new Backoff({ initialMs: 5_000, maxMs: 300_000 });
    this.peerConfig = options.peerConfig ?? {};
    this.log = options.log ?? (() => undefined);
  }

  /** Current state. */
  get state(): WebRtcState {
    return this.stateNow;
  }

  /** Payload types and codecs negotiated with the camera (undefined until the first session is up). */
  get media(): NegotiatedMedia | undefined {
    return this.current?.media;
  }

  /** The newest in-band SPS/PPS (for `sprop-parameter-sets`). */
  get parameterSets(): ParameterSets {
    return this.params;
  }

  get mediaSessionId(): string | undefined {
    return this.current?.mediaSessionId;
  }

  /** ISO expiry of the current media session. */
  get expiresAt(): string | undefined {
    return this.current ? new Date(this.current.expiresAt).toISOString() : undefined;
  }

  /** Number of sessions opened so far. */
  get generation(): number {
    return this.generationNo;
  }

  /** Opens the first media session; progress and failures come as 'state' events. */
  start(): void {
    if (this.started) throw new Error("A WebRtcSession starts once; create a new one to start again.");
    this.started = true;
    this.setState("starting");
    void this.establish();
  }

  /** Closes the peer connections and sends StopWebRtcStream (bounded in time). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort(new StoppedError());
    this.clock.clearTimeout(this.extendTimer);
    this.clock.clearTimeout(this.tickTimer);
    this.current = undefined;
    await Promise.all([...this.peers].map((p) => this.closePeer(p, "stopped")));
    this.setState("stopped");
  }

  /**
   * Asks the camera for a keyframe now (a reader joined): a PLI, and a FIR when the answer accepts
   * it (Nest cameras answer a FIR with SPS/PPS in the same access unit). Returns false when there is
   * no live video yet, or a request went out less than half a second ago.
   */
  requestKeyframe(): boolean {
    const peer = this.current;
    if (!peer || !peer.connected) return false;
    const ssrc = peer.videoSsrc ?? peer.video.receiver.tracks[0]?.ssrc;
    if (ssrc === undefined) return false;
    const now = this.clock.now();
    if (now - peer.lastKeyframeRequestAt < 500) return false;
    peer.lastKeyframeRequestAt = now;
    const senderSsrc = peer.video.receiver.rtcpSsrc;
    const packets = [
      new RtcpPayloadSpecificFeedback({
        feedback: new PictureLossIndication({ senderSsrc, mediaSsrc: ssrc }),
      }),
    ];
    if (peer.media?.video?.fir) {
      packets.push(
        new RtcpPayloadSpecificFeedback({
          feedback: new FullIntraRequest(senderSsrc, ssrc, peer.firSeq++ & 0xff),
        }),
      );
    }
    try {
      peer.video.receiver.dtlsTransport
        .sendRtcp(packets)
        .catch((e: unknown) => this.log("debug", `keyframe request failed: ${errorMessage(e)}`));
      this.keyframeRequests++;
      return true;
    } catch (e) {
      this.log("debug", `keyframe request failed: ${errorMessage(e)}`);
      return false;
    }
  }

  /** `reason`: why it stopped (error); `why`: why it retries or renews (a code the adapter words). */
  private setState(state: WebRtcState, reason?: string | StreamReason): void {
    this.stateNow = state;
    const ev: WebRtcStateEvent = { state };
    if (typeof reason === "string") {
      if (reason) ev.reason = reason;
    } else if (reason) ev.why = reason;
    if (this.current && state !== "stopped" && state !== "error") ev.expiresAt = this.expiresAt;
    this.emit("state", ev);
  }

  /** Opens sessions until one is live (or stopped, or a fatal error). Only one runs at a time. */
  private async establish(): Promise<void> {
    if (this.establishing || this.stopped) return;
    this.establishing = true;
    try {
      while (!this.stopped) {
        try {
          const peer = await this.openPeer();
          this.promote(peer);
          return;
        } catch (err) {
          if (this.stopped || err instanceof StoppedError) return;
          if (isFatalSdmError(err)) {
            this.log("warn", `WebRTC stream failed: ${errorMessage(err)}`);
            await this.failFatal(errorMessage(err));
            return;
          }
          const delay = retryDelay(this.backoff, err);
          this.log("warn", `${errorMessage(err)}; new WebRTC session in ${Math.round(delay / 1000)} s`);
          this.setState(
            "retrying",
            streamReason("webrtcNextSession", { detail: errorMessage(err), seconds: secondsParam(delay) }),
          );
          try {
            await sleep(this.clock, delay, this.abort.signal);
          } catch {
            return;
          }
        }
      }
    } finally {
      this.establishing = false;
    }
  }

  private async failFatal(reason: string): Promise<void> {
    this.stopped = true;
    this.abort.abort(new StoppedError());
    this.clock.clearTimeout(this.extendTimer);
    this.clock.clearTimeout(this.tickTimer);
    this.current = undefined;
    await Promise.all([...this.peers].map((p) => this.closePeer(p, reason)));
    this.setState("error", reason);
  }

  private async openPeer(): Promise<Peer> {
    const pc = new RTCPeerConnection({
      bundlePolicy: "max-bundle",
      ...this.peerConfig,
      codecs: offerCodecs(),
    });
    // Nest requires audio first, then video, then the data channel (m=application).
    const audio = pc.addTransceiver("audio", { direction: "recvonly" });
    const video = pc.addTransceiver("video", { direction: "recvonly" });
    const channel = pc.createDataChannel("dataSendChannel", { id: 1 });
    const now = this.clock.now();
    const peer: Peer = {
      n: ++this.peerSeq,
      pc,
      audio,
      video,
      expiresAt: 0,
      lastRtpAt: now,
      sawKeyframe: false,
      lastKeyframeAt: 0,
      lastKeyframeRequestAt: 0,
      firSeq: 0,
      closed: false,
      connected: false,
    };
    this.peers.add(peer);

    video.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => this.onRtp(peer, "video", rtp));
    });
    audio.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => this.onRtp(peer, "audio", rtp));
    });
    pc.connectionStateChange.subscribe((s) => this.onPeerState(peer, s));
    channel.stateChanged.subscribe((s) => {
      if (s === "closed")
        this.peerFailed(
          peer,
          "the camera closed the WebRTC data channel",
          streamReason("webrtcChannelClosed"),
        );
    });

    try {
      await pc.setLocalDescription(await pc.createOffer());
      await this.waitGathering(pc);
      this.checkStopped();
      const offerSdp = pc.localDescription?.sdp;
      if (!offerSdp) throw new Error("werift produced no local offer");
      const res = await this.sdm.execute(this.deviceId, "GenerateWebRtcStream", { offerSdp });
      if (peer.closed) {
        // stop() ran while Google was answering: stop the session it just made.
        if (res.mediaSessionId) void this.stopMediaSession(res.mediaSessionId, "stopped while starting");
        throw new StoppedError();
      }
      peer.mediaSessionId = res.mediaSessionId;
      peer.expiresAt = this.parseExpiry(res.expiresAt);
      this.checkStopped();
      if (!res.answerSdp) throw new Error("GenerateWebRtcStream returned no answerSdp");
      const answer = fixNestAnswer(res.answerSdp);
      peer.media = parseNegotiatedMedia(answer);
      if (!peer.media.video) throw new Error("the camera's WebRTC answer has no H.264 video");
      await pc.setRemoteDescription({ type: "answer", sdp: answer });
      await this.waitConnected(peer);
      this.checkStopped();
      return peer;
    } catch (err) {
      await this.closePeer(peer, "failed to open");
      throw err;
    }
  }

  private checkStopped(): void {
    if (this.stopped) throw new StoppedError();
  }

  private parseExpiry(expiresAt: string | undefined): number {
    const t = expiresAt ? Date.parse(expiresAt) : NaN;
    // Google's sessions last 5 minutes; assume that when the answer has no usable time.
    return Number.isFinite(t) ? t : this.clock.now() + 5 * 60_000;
  }

  private waitGathering(pc: RTCPeerConnection): Promise<void> {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return this.waitFor((settle) => {
      const timer = this.clock.setTimeout(() => {
        // Send what was gathered so far rather than nothing.
        this.log(
          "debug",
          "ICE gathering did not complete in time; sending the offer with the candidates so far",
        );
        settle();
      }, this.opts.gatherTimeoutMs);
      const sub = pc.iceGatheringStateChange.subscribe((s) => {
        if (s === "complete") settle();
      });
      return () => {
        this.clock.clearTimeout(timer);
        sub.unSubscribe();
      };
    });
  }

  private waitConnected(peer: Peer): Promise<void> {
    if (peer.pc.connectionState === "connected") {
      peer.connected = true;
      return Promise.resolve();
    }
    return this.waitFor((settle) => {
      const timer = this.clock.setTimeout(
        () =>
          settle(
            new Error(
              `the WebRTC connection to the camera did not come up in ${this.opts.connectTimeoutMs / 1000} s`,
            ),
          ),
        this.opts.connectTimeoutMs,
      );
      const sub = peer.pc.connectionStateChange.subscribe((s) => {
        if (s === "connected") {
          peer.connected = true;
          settle();
        } else if (s === "failed" || s === "closed")
          settle(new Error(`the WebRTC connection to the camera ${s}`));
      });
      peer.failOpening = (err) => settle(err);
      return () => {
        this.clock.clearTimeout(timer);
        sub.unSubscribe();
        peer.failOpening = undefined;
      };
    });
  }

  /**
   * A promise settled by `setup`'s `settle` callback or by stop(); `setup` returns its cleanup,
   * which runs exactly once either way.
   */
  private waitFor(setup: (settle: (err?: Error) => void) => () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let done = false;
      let cleanup: (() => void) | undefined;
      const onAbort = () => settle(new StoppedError());
      const settle = (err?: Error) => {
        if (done) return;
        done = true;
        cleanup?.();
        this.abort.signal.removeEventListener("abort", onAbort);
        if (err) reject(err);
        else resolve();
      };
      if (this.abort.signal.aborted) return settle(new StoppedError());
      this.abort.signal.addEventListener("abort", onAbort, { once: true });
      const c = setup(settle);
      if (done) c();
      else cleanup = c;
    });
  }

  /** Makes a connected peer the current one; the one it replaces is closed and stopped. */
  private promote(peer: Peer): void {
    const old = this.current;
    this.current = peer;
    this.generationNo++;
    this.backoff.reset();
    const now = this.clock.now();
    peer.lastRtpAt = now;
    this.clock.clearTimeout(this.extendTimer);
    this.armExtend(peer);
    this.clock.clearTimeout(this.tickTimer);
    this.tickTimer = this.clock.setTimeout(() => this.tick(), this.opts.keyframeProbeMs);
    this.requestKeyframe();
    const media = peer.media ?? {};
    this.log(
      "info",
      `WebRTC session ${this.generationNo} live (media session ${peer.mediaSessionId}, expires ${this.expiresAt})`,
    );
    this.emit("session", {
      mediaSessionId: peer.mediaSessionId ?? "",
      expiresAt: this.expiresAt ?? "",
      generation: this.generationNo,
      event: this.generationNo === 1 ? "started" : "renewed",
      media,
    } satisfies WebRtcSessionEvent);
    this.setState("live");
    if (old) void this.closePeer(old, "replaced by a new session");
  }

  private armExtend(peer: Peer): void {
    // Called right after each answer, so what is left now is the session's lifetime.
    const left = peer.expiresAt - this.clock.now();
    const lead = Math.min(this.opts.extendLeadMs, left / 4);
    const delay = Math.max(1_000, left - lead);
    this.extendTimer = this.clock.setTimeout(() => void this.extend(peer), delay);
  }

  private async extend(peer: Peer): Promise<void> {
    if (peer !== this.current || this.stopped || !peer.mediaSessionId) return;
    this.setState("extending");
    try {
      const res = await this.sdm.execute(this.deviceId, "ExtendWebRtcStream", {
        mediaSessionId: peer.mediaSessionId,
      });
      if (peer !== this.current || this.stopped) return;
      if (res.mediaSessionId) peer.mediaSessionId = res.mediaSessionId;
      peer.expiresAt = this.parseExpiry(res.expiresAt);
      this.armExtend(peer);
      this.emit("session", {
        mediaSessionId: peer.mediaSessionId,
        expiresAt: this.expiresAt ?? "",
        generation: this.generationNo,
        event: "extended",
        media: peer.media ?? {},
      } satisfies WebRtcSessionEvent);
      this.setState("live");
    } catch (err) {
      if (peer !== this.current || this.stopped) return;
      if (
        err instanceof FailedPreconditionError ||
        err instanceof InvalidArgumentError ||
        err instanceof NotFoundError
      ) {
        // Battery cameras refuse to extend (FAILED_PRECONDITION); an unknown session id is no better.
        // Open a new session while this one still plays; it is closed once the new one is live.
        this.log(
          "info",
          `the camera refused to extend the WebRTC session (${errorMessage(err)}); opening a new one`,
        );
        this.setState("extending", streamReason("webrtcExtendRefused", { detail: errorMessage(err) }));
        void this.establish();
        return;
      }
      const delay = Math.max(EXTEND_RETRY_MS, serverDelayMs(err));
      const left = peer.expiresAt - this.clock.now();
      if (left - delay > 5_000) {
        this.log(
          "warn",
          `extending the WebRTC session failed (${errorMessage(err)}); trying again in ${Math.round(delay / 1000)} s`,
        );
        this.setState(
          "retrying",
          streamReason("webrtcExtendRetry", { detail: errorMessage(err), seconds: secondsParam(delay) }),
        );
        this.extendTimer = this.clock.setTimeout(() => void this.extend(peer), delay);
      } else {
        this.log("warn", `extending the WebRTC session failed (${errorMessage(err)}); opening a new one`);
        this.setState("retrying", streamReason("webrtcExtendFailed", { detail: errorMessage(err) }));
        void this.establish();
      }
    }
  }

  /** Periodic: keyframe requests and the media / disconnect watchdog of the current peer. */
  private tick(): void {
    const peer = this.current;
    if (!peer || this.stopped) return;
    const now = this.clock.now();
    const { mediaTimeoutMs, disconnectGraceMs, keyframeIntervalMs, keyframeProbeMs } = this.opts;
    if (mediaTimeoutMs > 0 && now - peer.lastRtpAt > mediaTimeoutMs) {
      const idle = Math.round((now - peer.lastRtpAt) / 1000);
      this.peerFailed(
        peer,
        `no media from the camera for ${idle} s`,
        streamReason("webrtcNoMedia", { seconds: String(idle) }),
      );
      return;
    }
    if (peer.disconnectedAt !== undefined && now - peer.disconnectedAt >= disconnectGraceMs) {
      this.peerFailed(
        peer,
        "the WebRTC connection to the camera was lost",
        streamReason("webrtcConnectionLost"),
      );
      return;
    }
    if (!peer.sawKeyframe) this.requestKeyframe();
    else if (keyframeIntervalMs > 0 && now - peer.lastKeyframeAt >= keyframeIntervalMs)
      this.requestKeyframe();
    this.tickTimer = this.clock.setTimeout(() => this.tick(), keyframeProbeMs);
  }

  private onRtp(peer: Peer, kind: "video" | "audio", rtp: RtpPacket): void {
    if (peer !== this.current || peer.closed) return;
    const now = this.clock.now();
    peer.lastRtpAt = now;
    let keyframe: boolean | undefined;
    if (kind === "video") {
      const first = peer.videoSsrc === undefined;
      peer.videoSsrc = rtp.header.ssrc;
      // The answer may not name the camera's SSRC: the first packet does, so ask now.
      if (first && peer.lastKeyframeRequestAt === 0) this.requestKeyframe();
      keyframe = startsKeyframe(rtp.payload);
      this.params.observe(rtp.payload);
      if (keyframe) {
        peer.sawKeyframe = true;
        peer.lastKeyframeAt = now;
      }
    }
    const ev: WebRtcRtpEvent = { kind, packet: rawPacket(rtp), generation: this.generationNo };
    if (keyframe !== undefined) ev.keyframe = keyframe;
    this.emit("rtp", ev);
  }

  private onPeerState(peer: Peer, state: string): void {
    if (peer.closed) return;
    if (state === "connected") peer.disconnectedAt = undefined;
    else if (state === "disconnected") peer.disconnectedAt ??= this.clock.now();
    else if (state === "failed" || state === "closed")
      this.peerFailed(
        peer,
        `the WebRTC connection to the camera ${state}`,
        streamReason("webrtcConnectionState", { state }),
      );
  }

  /** A peer died: if it was the live one, replace it. */
  /** `reason` for the log and Google, `why` (the same, as a code) for the state. */
  private peerFailed(peer: Peer, reason: string, why: StreamReason): void {
    if (peer.closed || this.stopped) return;
    if (peer.failOpening) {
      peer.failOpening(new Error(reason));
      return;
    }
    if (peer !== this.current) {
      void this.closePeer(peer, reason);
      return;
    }
    this.current = undefined;
    this.clock.clearTimeout(this.extendTimer);
    this.clock.clearTimeout(this.tickTimer);
    this.log("warn", `WebRTC session lost: ${reason}; opening a new one`);
    void this.closePeer(peer, reason);
    this.setState("retrying", streamReason("webrtcLost", {}, why));
    void this.establish();
  }

  /** Closes the peer connection and tells Google to stop its media session (best effort, bounded). */
  private async closePeer(peer: Peer, reason: string): Promise<void> {
    if (peer.closed) return;
    peer.closed = true;
    this.peers.delete(peer);
    const tasks: Promise<unknown>[] = [peer.pc.close().catch(() => undefined)];
    if (peer.mediaSessionId) tasks.push(this.stopMediaSession(peer.mediaSessionId, reason));
    let timer: Timer | undefined;
    await Promise.race([
      Promise.all(tasks),
      new Promise<void>((resolve) => {
        timer = this.clock.setTimeout(resolve, this.opts.stopTimeoutMs);
      }),
    ]);
    this.clock.clearTimeout(timer);
  }

  private stopMediaSession(mediaSessionId: string, reason: string): Promise<void> {
    this.log("debug", `stopping media session ${mediaSessionId} (${reason})`);
    return this.sdm
      .execute(this.deviceId, "StopWebRtcStream", { mediaSessionId })
      .then(() => undefined)
      .catch((e: unknown) => this.log("debug", `StopWebRtcStream failed: ${errorMessage(e)}`));
  }
}
