/**
 * A minimal RTSP server (RFC 2326) that serves live RTP to local readers such as ffmpeg, so a
 * WebRTC-only Nest camera looks like any RTSP camera: `rtsp://<host>:<port>/<camera>`.
 *
 * Only what a reader needs: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, GET_PARAMETER/SET_PARAMETER
 * (keep-alive) and TEARDOWN; RTP travels interleaved in the RTSP TCP connection (`$`, channel,
 * 16-bit length, packet). A SETUP asking for UDP is answered 461 Unsupported Transport, on which
 * ffmpeg falls back to TCP (or use `-rtsp_transport tcp`). Video is `trackID=0` on channels 0-1,
 * audio `trackID=1` on channels 2-3 unless the reader asks for other channels. Several readers may
 * play one stream at once; each PLAY calls the stream's `onPlay` (to request a keyframe).
 *
 * A stream may have credentials (`RtspStreamSource.credentials`): then every request for it but
 * OPTIONS needs RTSP Digest or Basic (rtsp-auth.ts) once per connection, and is answered 401 with
 * both challenges until the client gives them (403 and closed once its address has made too many
 * failed attempts). `readerUrl()` is the URL with them in it, for the readers.
 *
 * Whatever a client sends, the server stays up and keeps serving the others: requests are read
 * one at a time (rtsp-request.ts) within limits (see RtspServerLimits), and what it refuses is
 * answered with its RTSP status (RFC 2326 section 11: 400, 403, 408, 413, 414, 503) before the
 * connection is closed.
 */
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { systemClock, type Clock, type Timer } from "../clock";
import { RtspAuthenticator, withCredentials, type RtspAuthOptions, type RtspCredentials } from "./rtsp-auth";
import { buildRtspSdp, type RtspSdpOptions } from "./sdp";
import { RTSP_REASONS } from "../rtsp/reason-phrases";
import {
  ByteQueue,
  chooseTransport,
  parseRequest,
  type ParsedRequest,
  type RtspRequest,
  type RtspRequestLimits,
} from "./rtsp-request";

export type TrackKind = "video" | "audio";

/** What DESCRIBE advertises for a stream. */
export interface RtspStreamDescription {
  video?: RtspSdpOptions["video"];
  audio?: RtspSdpOptions["audio"];
}

export interface RtspStreamSource {
  /** The stream's media, or undefined while it is not known yet (DESCRIBE then waits a while). */
  describe(): RtspStreamDescription | undefined;
  /** A reader started to play. */
  onPlay?(): void;
  /**
   * Readers of this path must give this user name and password (RTSP Digest or Basic); without,
   * anyone who reaches the port may read it. Each path has its own.
   */
  credentials?: RtspCredentials;
}

export interface LocalRtspServerOptions {
  /** Bind address (default 127.0.0.1: only this machine can read the cameras). */
  host?: string;
  /** Port (default 0: an ephemeral port, see `port` after `listen()`). */
  port?: number;
  /** Host written into `url()` (default: the bind address, or 127.0.0.1 when bound to all interfaces). */
  urlHost?: string;
  /** How long a DESCRIBE waits for a stream whose media is not known yet (default 10 s). */
  describeWaitMs?: number;
  /** A reader whose socket has more than this many bytes waiting is too slow and is dropped (default 8 MiB). */
  maxBufferedBytes?: number;
  /**
   * RTP for readers is gathered this long and written in one go (default 20 ms, at most twice that
   * when no packet follows; 0: at the end of the event loop turn). A write per packet costs a
   * syscall and a wake-up of the reader each; the delay is real time, not the injected clock's.
   */
  flushMs?: number;
  /** What one client may send and hold (defaults: RTSP_SERVER_LIMITS). */
  limits?: Partial<RtspServerLimits>;
  /** Realm, nonce lifetime and the limit on failed attempts of paths with credentials. */
  auth?: Omit<RtspAuthOptions, "clock">;
  /** Time for the request and idle timeouts (default: the system clock). */
  clock?: Clock;
  log?: (level: "debug" | "info" | "warn", message: string) => void;
}

/**
 * Limits on what one client may send and hold; each refusal is answered before closing. Those on
 * one request (head, URI, body) are RtspRequestLimits (rtsp-request.ts).
 */
export interface RtspServerLimits extends RtspRequestLimits {
  /**
   * Replies a client has not read yet: beyond this the server reads no further request from it
   * until it reads them (pipelined requests do not pile up replies). Not for playing readers,
   * whose RTP is bounded by `maxBufferedBytes`.
   */
  maxUnreadReplyBytes: number;
  /** Time to send a whole request once its first byte came (then 408 Request Time-out). */
  requestTimeoutMs: number;
  /** A connection that does not play and sends no request for this long is closed. */
  idleTimeoutMs: number;
  /** Connections at once; one more is answered 503 Service Unavailable. */
  maxConnections: number;
  /** After a refusal, how long the answer may take to leave before the socket is destroyed. */
  closeGraceMs: number;
}

export const RTSP_SERVER_LIMITS: Readonly<RtspServerLimits> = Object.freeze({
  maxHeaderBytes: 8 * 1024,
  maxUriBytes: 4 * 1024,
  maxBodyBytes: 64 * 1024,
  maxUnreadReplyBytes: 64 * 1024,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxConnections: 64,
  closeGraceMs: 2_000,
});

interface Stream {
  camera: string;
  source: RtspStreamSource;
  readers: Set<Reader>;
  waiters: Set<() => void>;
}

const SERVER = "node-red-contrib-nest-restream";
const PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

class Reader {
  readonly buffer = new ByteQueue();
  /** The buffer must hold this many bytes before parsing again is worth it. */
  need = 1;
  stream?: Stream;
  session?: string;
  playing = false;
  channels: Partial<Record<TrackKind, number>> = {};
  /** A request is being answered: the next one waits (requests are answered in order). */
  busy = false;
  /** Reading is paused until the client reads its replies. */
  throttled = false;
  closed = false;
  /** Runs while part of a request has come and the rest has not. */
  requestTimer?: Timer;
  /** Runs while the connection does not play. */
  idleTimer?: Timer;
  /** RTP packets waiting for the next flush (see `flushMs`), which frames them into one write. */
  pending: Buffer[] = [];
  /** The interleaved channel of each pending packet. */
  pendingChannels: number[] = [];
  /** Bytes the pending packets take framed (4 bytes each more). */
  pendingBytes = 0;
  /** The stream whose credentials this connection gave (its later requests need not repeat them). */
  authorized?: Stream;
  /** The client's address, whose failed attempts are counted. */
  readonly address: string;

  constructor(readonly socket: net.Socket) {
    this.address = socket.remoteAddress ?? "";
  }
}

function samePending(a: Reader, b: Reader): boolean {
  if (a.pending.length !== b.pending.length) return false;
  for (let i = 0; i < a.pending.length; i++) {
    if (a.pending[i] !== b.pending[i] || a.pendingChannels[i] !== b.pendingChannels[i]) return false;
  }
  return true;
}

function clearPending(r: Reader): void {
  r.pending = [];
  r.pendingChannels = [];
  r.pendingBytes = 0;
}

export class LocalRtspServer {
  private readonly server: net.Server;
  private readonly streams = new Map<string, Stream>();
  private readonly readers = new Set<Reader>();
  /** Refused connections whose answer is still leaving. */
  private readonly ending = new Set<net.Socket>();
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly urlHost?: string;
  private readonly describeWaitMs: number;
  private readonly maxBufferedBytes: number;
  /** Readers with pending frames, and the flush that will write them. */
  private flushing: Reader[] = [];
  private flushScheduled = false;
  private flushTimer?: NodeJS.Timeout;
  private flushDueAt = 0;
  private readonly flushMs: number;
  private readonly limits: RtspServerLimits;
  private readonly clock: Clock;
  private readonly auth: RtspAuthenticator;
  private readonly log: NonNullable<LocalRtspServerOptions["log"]>;
  private readonly sdpSessionId = Math.floor(Math.random() * 1e9);
  private boundPort = 0;
  private listening = false;

  constructor(options: LocalRtspServerOptions = {}) {
    this.host = options.host ?? "127.0.0.1";
    this.requestedPort = options.port ?? 0;
    this.urlHost = options.urlHost;
    this.describeWaitMs = options.describeWaitMs ?? 10_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.flushMs = options.flushMs ?? 20;
    this.limits = { ...RTSP_SERVER_LIMITS, ...definedOnly(options.limits ?? {}) };
    this.clock = options.clock ?? systemClock;
    this.auth = new RtspAuthenticator({ ...options.auth, clock: this.clock });
    this.log = options.log ?? (() => undefined);
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** Starts listening; resolves once the port is known. Listening again after close() reuses the port. */
  async listen(): Promise<void> {
    if (this.listening) return;
    const port = this.boundPort || this.requestedPort;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once("error", onError);
      this.server.listen({ host: this.host, port }, () => {
        this.server.off("error", onError);
        resolve();
      });
    });
    this.server.on("error", (err) => this.log("warn", `RTSP server error: ${err.message}`));
    const addr = this.server.address();
    this.boundPort = typeof addr === "object" && addr ? addr.port : port;
    this.listening = true;
  }

  /** Stops listening and disconnects every reader. */
  async close(): Promise<void> {
    for (const r of this.readers) this.drop(r);
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushScheduled = false;
    this.flushing = [];
    for (const socket of this.ending) socket.destroy();
    for (const s of this.streams.values()) for (const w of s.waiters) w();
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.removeAllListeners("error");
  }

  get port(): number {
    return this.boundPort;
  }

  get isListening(): boolean {
    return this.listening;
  }

  /**
   * The URL readers open for this camera, with the stream's user name and password in it when it
   * has them (`rtsp://user:password@host:port/camera`, percent-encoded). Only for the readers: show
   * it redacted.
   */
  readerUrl(camera: string): string {
    return withCredentials(this.url(camera), this.streams.get(camera)?.source.credentials);
  }

  /** The URL of this camera, without credentials. */
  url(camera: string): string {
    let host = this.urlHost ?? this.host;
    if (host === "0.0.0.0") host = "127.0.0.1";
    else if (host === "::") host = "::1";
    if (host.includes(":")) host = `[${host}]`;
    return `rtsp://${host}:${this.boundPort}/${encodeURIComponent(camera)}`;
  }

  /** Serves a stream at `/<camera>`. */
  addStream(camera: string, source: RtspStreamSource): void {
    if (this.streams.has(camera)) throw new Error(`The local RTSP server already serves "${camera}".`);
    this.streams.set(camera, { camera, source, readers: new Set(), waiters: new Set() });
  }

  /** Stops serving a stream and disconnects its readers. */
  removeStream(camera: string): void {
    const s = this.streams.get(camera);
    if (!s) return;
    this.streams.delete(camera);
    for (const r of s.readers) this.drop(r);
    for (const w of s.waiters) w();
  }

  hasStream(camera: string): boolean {
    return this.streams.has(camera);
  }

  /** Tells waiting DESCRIBE requests that the stream's media is now known. */
  ready(camera: string): void {
    const s = this.streams.get(camera);
    if (!s) return;
    for (const w of s.waiters) w();
  }

  /** Disconnects the stream's readers (they reconnect and DESCRIBE again). */
  dropReaders(camera: string): void {
    const s = this.streams.get(camera);
    if (s) for (const r of s.readers) this.drop(r);
  }

  /** Number of readers playing (or set up to play) a stream. */
  readerCount(camera: string): number {
    return this.streams.get(camera)?.readers.size ?? 0;
  }

  /**
   * Sends one RTP packet to every reader playing this stream's track of that kind. The packet is
   * kept, not copied, until the next flush (see `flushMs`): the caller must not change it after.
   */
  send(camera: string, kind: TrackKind, packet: Buffer): void {
    const s = this.streams.get(camera);
    if (!s || s.readers.size === 0 || packet.length > 0xffff) return;
    for (const r of s.readers) {
      const channel = r.channels[kind];
      if (!r.playing || channel === undefined || r.closed) continue;
      if (r.socket.writableLength + r.pendingBytes > this.maxBufferedBytes) {
        this.log("warn", `dropping a local RTSP reader of "${camera}" that does not keep up`);
        this.drop(r);
        continue;
      }
      if (r.pending.length === 0) this.flushing.push(r);
      r.pending.push(packet);
      r.pendingChannels.push(channel);
      r.pendingBytes += 4 + packet.length;
    }
    if (this.flushing.length === 0) return;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      if (this.flushMs > 0) {
        // The flush normally happens here, on a packet that comes after flushMs (a camera sends
        // audio every 20 ms): a wake-up costs more than the write. The timer is for the last packets.
        this.flushDueAt = performance.now() + this.flushMs;
        this.flushTimer = setTimeout(this.flush, 2 * this.flushMs);
      } else setImmediate(this.flush);
    } else if (this.flushMs > 0 && performance.now() >= this.flushDueAt) {
      clearTimeout(this.flushTimer);
      this.flush();
    }
  }

  /** Writes each reader's pending packets, framed, in one write (see Reader.pending). */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    this.flushTimer = undefined;
    const readers = this.flushing;
    this.flushing = [];
    // Readers of one stream usually got the very same packets on the same channels: frame them
    // once for all of them.
    let last: Reader | undefined;
    let lastData: Buffer | undefined;
    for (const r of readers) {
      if (!r.playing || r.closed || r.pending.length === 0) {
        clearPending(r);
        continue;
      }
      let data: Buffer;
      if (last && lastData && samePending(r, last)) data = lastData;
      else {
        data = Buffer.allocUnsafe(r.pendingBytes);
        let off = 0;
        for (let i = 0; i < r.pending.length; i++) {
          const packet = r.pending[i] as Buffer;
          data[off] = 0x24;
          data[off + 1] = r.pendingChannels[i] as number;
          data.writeUInt16BE(packet.length, off + 2);
          packet.copy(data, off + 4);
          off += 4 + packet.length;
        }
      }
      if (last) clearPending(last);
      last = r;
      lastData = data;
      r.socket.write(data);
    }
    if (last) clearPending(last);
  };

  private accept(socket: net.Socket): void {
    socket.on("error", () => undefined);
    if (this.readers.size >= this.limits.maxConnections) {
      this.log("warn", `refusing a local RTSP connection: ${this.readers.size} already open`);
      const reader = new Reader(socket);
      this.refuse(reader, 503);
      return;
    }
    const reader = new Reader(socket);
    this.readers.add(reader);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(reader, chunk));
    socket.on("error", () => this.drop(reader));
    socket.on("close", () => this.drop(reader));
    this.armIdle(reader);
  }

  private drop(reader: Reader): void {
    if (!reader.closed) {
      reader.closed = true;
      reader.socket.destroy();
    }
    this.clearTimers(reader);
    reader.buffer.clear();
    clearPending(reader);
    reader.playing = false;
    this.readers.delete(reader);
    reader.stream?.readers.delete(reader);
  }

  private clearTimers(reader: Reader): void {
    this.clock.clearTimeout(reader.requestTimer);
    this.clock.clearTimeout(reader.idleTimer);
    reader.requestTimer = undefined;
    reader.idleTimer = undefined;
  }

  /** Answers `status` (echoing a well-formed CSeq), then closes the connection. */
  private refuse(reader: Reader, status: number, cseq?: string): void {
    if (reader.closed) return;
    const lines = [`RTSP/1.0 ${status} ${RTSP_REASONS[status] ?? "Error"}`];
    if (cseq !== undefined) lines.push(`CSeq: ${cseq}`);
    lines.push(`Server: ${SERVER}`, `Date: ${new Date().toUTCString()}`, "Connection: close");
    if (status === 503) lines.push("Retry-After: 5");
    const socket = reader.socket;
    socket.end(lines.join("\r\n") + "\r\n\r\n", "latin1");
    reader.closed = true;
    this.drop(reader);
    // end() waits for the client to take the answer; one that never reads is cut.
    this.ending.add(socket);
    const timer = this.clock.setTimeout(() => socket.destroy(), this.limits.closeGraceMs);
    socket.once("close", () => {
      this.clock.clearTimeout(timer);
      this.ending.delete(socket);
    });
  }

  /** A connection that does not play is closed when it stays silent too long. */
  private armIdle(reader: Reader): void {
    this.clock.clearTimeout(reader.idleTimer);
    reader.idleTimer = undefined;
    if (reader.closed || reader.playing) return;
    reader.idleTimer = this.clock.setTimeout(() => {
      if (reader.closed || reader.playing) return;
      // A request being answered (a DESCRIBE waiting for media) is not idleness.
      if (reader.busy) return this.armIdle(reader);
      this.log("debug", "closing an idle local RTSP connection");
      this.drop(reader);
    }, this.limits.idleTimeoutMs);
  }

  private onData(reader: Reader, chunk: Buffer): void {
    if (reader.closed) return;
    reader.buffer.append(chunk);
    // At most about one request is held: while one is being answered, reading pauses.
    if (reader.busy && reader.buffer.length > this.limits.maxHeaderBytes + this.limits.maxBodyBytes) {
      reader.socket.pause();
      reader.throttled = true;
    }
    if (reader.buffer.length >= reader.need) this.pump(reader);
    else this.awaitRest(reader);
  }

  /** A reply left the process: a client that reads its replies again may send more requests. */
  private onFlushed(reader: Reader): void {
    if (!reader.throttled || reader.busy || reader.closed) return;
    if (reader.socket.writableLength > this.limits.maxUnreadReplyBytes) return;
    reader.throttled = false;
    reader.socket.resume();
    this.pump(reader);
  }

  /** Reads the next request off the buffer, when none is being answered. */
  private pump(reader: Reader): void {
    while (!reader.closed && !reader.busy && !reader.throttled) {
      const buf = reader.buffer.view();
      if (buf.length > 0 && buf[0] === 0x24) {
        // Interleaved data from the reader (RTCP receiver reports): not needed, skipped.
        const len = buf.length < 4 ? 0 : buf.readUInt16BE(2);
        if (buf.length < 4 + len) {
          reader.need = 4 + len;
          return this.awaitRest(reader);
        }
        reader.buffer.consume(4 + len);
        reader.need = 1;
        continue;
      }
      const parsed: ParsedRequest = buf.length > 0 ? parseRequest(buf, this.limits) : { need: 1 };
      if ("need" in parsed) {
        reader.need = parsed.need;
        return this.awaitRest(reader);
      }
      reader.need = 1;
      this.clock.clearTimeout(reader.requestTimer);
      reader.requestTimer = undefined;
      if ("refuse" in parsed) {
        this.log("debug", `refusing a local RTSP request: ${parsed.refuse} ${RTSP_REASONS[parsed.refuse]}`);
        return this.refuse(reader, parsed.refuse, parsed.cseq);
      }
      reader.buffer.consume(parsed.size);
      const req = parsed.request;
      reader.busy = true;
      // Requests are answered in order; DESCRIBE may wait for the stream to become ready.
      this.handle(reader, req)
        .catch((err: unknown) => {
          this.log("warn", `RTSP request failed: ${err instanceof Error ? err.message : String(err)}`);
          this.reply(reader, req, 500);
        })
        .finally(() => {
          reader.busy = false;
          this.armIdle(reader);
          if (reader.closed) return;
          if (!reader.playing && reader.socket.writableLength > this.limits.maxUnreadReplyBytes) {
            // The client sends requests and does not read the answers: read on once it does.
            if (!reader.throttled) this.log("debug", "a local RTSP client does not read its replies");
            reader.throttled = true;
            reader.socket.pause();
            return;
          }
          reader.throttled = false;
          reader.socket.resume();
          this.pump(reader);
        });
    }
  }

  /** Part of a request (or frame) is here: the rest must come within the request timeout. */
  private awaitRest(reader: Reader): void {
    if (reader.buffer.length === 0) {
      this.clock.clearTimeout(reader.requestTimer);
      reader.requestTimer = undefined;
      return;
    }
    reader.requestTimer ??= this.clock.setTimeout(() => {
      reader.requestTimer = undefined;
      if (reader.closed || reader.busy || reader.buffer.length === 0) return;
      this.log("debug", "a local RTSP client did not finish its request in time");
      this.refuse(reader, 408);
    }, this.limits.requestTimeoutMs);
  }

  private reply(
    reader: Reader,
    req: RtspRequest,
    status: number,
    headers: Record<string, string | string[]> = {},
    body = "",
  ): void {
    if (reader.closed) return;
    const lines = [`RTSP/1.0 ${status} ${RTSP_REASONS[status] ?? "Error"}`];
    const cseq = req.headers.get("cseq");
    if (cseq !== undefined) lines.push(`CSeq: ${cseq}`);
    lines.push(`Server: ${SERVER}`, `Date: ${new Date().toUTCString()}`);
    if (reader.session && !("Session" in headers)) lines.push(`Session: ${reader.session};timeout=60`);
    for (const [k, v] of Object.entries(headers)) {
      for (const value of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${value}`);
    }
    const payload = Buffer.from(body, "utf8");
    if (payload.length) lines.push(`Content-Length: ${payload.length}`);
    reader.socket.write(
      Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), payload]),
      () => this.onFlushed(reader),
    );
  }

  private target(uri: string): { camera?: string; control: string } {
    if (uri === "*") return { control: "" };
    let path: string;
    try {
      path = /^rtsps?:\/\//i.test(uri) ? new URL(uri).pathname : uri.split("?")[0];
    } catch {
      return { control: "" };
    }
    const parts = path.split("/").filter((p) => p.length > 0);
    if (parts.length === 0) return { control: "" };
    let camera: string;
    try {
      camera = decodeURIComponent(parts[0]);
    } catch {
      return { control: "" };
    }
    return { camera, control: parts.slice(1).join("/") };
  }

  private async handle(reader: Reader, req: RtspRequest): Promise<void> {
    if (reader.closed) return;
    const { camera, control } = this.target(req.uri);
    const stream = camera !== undefined ? this.streams.get(camera) : undefined;
    if (req.method !== "OPTIONS" && !this.authorize(reader, req, stream ?? reader.stream)) return;
    switch (req.method) {
      case "OPTIONS":
        return this.reply(reader, req, 200, { Public: PUBLIC });
      case "GET_PARAMETER":
      case "SET_PARAMETER":
        return this.reply(reader, req, 200);
      case "DESCRIBE": {
        if (!stream) return this.reply(reader, req, 404);
        const desc = await this.waitDescribe(stream);
        if (!desc || (!desc.video && !desc.audio)) return this.reply(reader, req, 503);
        const sdp = buildRtspSdp({
          host: this.host,
          name: stream.camera,
          sessionId: this.sdpSessionId,
          ...desc,
        });
        const base = this.url(stream.camera) + "/";
        return this.reply(
          reader,
          req,
          200,
          { "Content-Base": base, "Content-Type": "application/sdp", "Cache-Control": "no-cache" },
          sdp,
        );
      }
      case "SETUP":
        return this.setup(reader, req, stream, control);
      case "PLAY": {
        if (!reader.session || !reader.stream || !this.sessionMatches(reader, req))
          return this.reply(reader, req, 454);
        if (stream && stream !== reader.stream) return this.reply(reader, req, 455);
        this.reply(reader, req, 200, { Range: "npt=now-" });
        const first = !reader.playing;
        reader.playing = true;
        if (first) reader.stream.source.onPlay?.();
        return;
      }
      case "PAUSE":
        if (!reader.session || !this.sessionMatches(reader, req)) return this.reply(reader, req, 454);
        reader.playing = false;
        return this.reply(reader, req, 200);
      case "TEARDOWN":
        if (reader.session && !this.sessionMatches(reader, req)) return this.reply(reader, req, 454);
        this.reply(reader, req, 200);
        if (reader.stream)
          this.log("debug", `a local RTSP reader of "${reader.stream.camera}" ended its session`);
        reader.playing = false;
        reader.stream?.readers.delete(reader);
        reader.stream = undefined;
        reader.channels = {};
        reader.session = undefined;
        return;
      case "ANNOUNCE":
      case "RECORD":
      case "REDIRECT":
        return this.reply(reader, req, 405, { Allow: PUBLIC });
      default:
        return this.reply(reader, req, 501, { Public: PUBLIC });
    }
  }

  /**
   * Lets the request through when its stream has no credentials or the connection gave them (now
   * or before); otherwise answers 401 with a challenge (403 and closes once the client's address
   * has used up its failed attempts) and returns false.
   */
  private authorize(reader: Reader, req: RtspRequest, stream: Stream | undefined): boolean {
    const credentials = stream?.source.credentials;
    if (!stream || !credentials || reader.authorized === stream) return true;
    if (this.auth.blocked(reader.address)) {
      this.refuse(reader, 403, req.headers.get("cseq"));
      return false;
    }
    // A Digest answer names the request it was made for: this one, or another URI of the same path.
    const sameRequest = (uri: string) => uri === req.uri || this.target(uri).camera === stream.camera;
    const result = this.auth.check(
      req.headers.get("authorization"),
      req.method,
      credentials,
      sameRequest,
      reader.address,
    );
    if (result === "ok") {
      reader.authorized = stream;
      const scheme = /^\s*digest\s/i.test(req.headers.get("authorization") ?? "") ? "Digest" : "Basic";
      this.log(
        "debug",
        `a local RTSP client from ${reader.address} signed in to "${stream.camera}" (${scheme})`,
      );
      return true;
    }
    if (result === "wrong") {
      const blocked = this.auth.failed(reader.address);
      this.log(
        blocked ? "warn" : "debug",
        blocked
          ? `refusing local RTSP clients from ${reader.address} for a while: too many wrong passwords`
          : `a local RTSP client from ${reader.address} gave a wrong user name or password`,
      );
      if (blocked) {
        this.refuse(reader, 403, req.headers.get("cseq"));
        return false;
      }
    }
    this.reply(reader, req, 401, {
      "WWW-Authenticate": this.auth.challenge(result === "stale", reader.address),
    });
    return false;
  }

  private sessionMatches(reader: Reader, req: RtspRequest): boolean {
    const s = req.headers.get("session")?.split(";")[0].trim();
    return s === undefined || s === reader.session;
  }

  private waitDescribe(stream: Stream): Promise<RtspStreamDescription | undefined> {
    const now = stream.source.describe();
    if (now || this.describeWaitMs <= 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stream.waiters.delete(done);
        resolve(this.streams.get(stream.camera) === stream ? stream.source.describe() : undefined);
      };
      const timer = setTimeout(done, this.describeWaitMs);
      timer.unref?.();
      stream.waiters.add(done);
    });
  }

  private setup(reader: Reader, req: RtspRequest, stream: Stream | undefined, control: string): void {
    if (!stream) return this.reply(reader, req, 404);
    if (reader.session && !this.sessionMatches(reader, req)) return this.reply(reader, req, 454);
    if (reader.stream && reader.stream !== stream) return this.reply(reader, req, 459);
    const desc = stream.source.describe();
    let kind: TrackKind | undefined;
    if (/(^|\/)trackID=0$/.test(control)) kind = "video";
    else if (/(^|\/)trackID=1$/.test(control)) kind = "audio";
    else if (control === "" && desc) kind = desc.video ? "video" : "audio";
    if (!kind || (desc && !desc[kind])) return this.reply(reader, req, 404);

    const transport = chooseTransport(req.headers.get("transport") ?? "");
    if (!transport) {
      // ffmpeg, GStreamer and live555 then SETUP again with TCP (interleaved).
      this.log("debug", "a local RTSP client asked for UDP: 461, it may set up TCP instead");
      return this.reply(reader, req, 461);
    }
    const wanted = transport.interleaved ?? (kind === "video" ? 0 : 2);
    const other = kind === "video" ? reader.channels.audio : reader.channels.video;
    const channel = other === wanted ? wanted + 2 : wanted;
    if (channel > 254) return this.reply(reader, req, 400);
    reader.channels[kind] = channel;
    reader.session ??= randomBytes(8).toString("hex");
    reader.stream = stream;
    stream.readers.add(reader);
    this.reply(reader, req, 200, {
      Transport: `RTP/AVP/TCP;unicast;interleaved=${channel}-${channel + 1}`,
    });
  }
}

/** The options given, without the keys given as undefined (which would hide the defaults). */
function definedOnly<T extends object>(options: Partial<T>): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(options) as (keyof T)[]) {
    if (options[key] !== undefined) out[key] = options[key];
  }
  return out;
}
