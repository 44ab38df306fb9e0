/**
 * A small RTSP(S) client (RFC 2326) for one upstream camera session: what the local RTSP server
 * needs to serve an RTSP Nest camera to many readers while Google allows one client per URL.
 *
 * Only what Google's edge needs: TLS (rtsps://) or TCP, OPTIONS, DESCRIBE, SETUP with TCP
 * interleaved transport (video on channels 0-1, audio on 2-3), PLAY, keep-alive within the session
 * timeout (GET_PARAMETER when the server lists it, else OPTIONS; plus an empty RTCP receiver report
 * on each RTCP channel) and TEARDOWN. No authentication: the token is in the URL (`?auth=`).
 * Interleaved `$` frames are handed on as `rtp` events, untouched (no re-encoding, no copy).
 *
 * Whatever the server sends, memory stays bounded: a response head or body beyond the limits, a
 * byte that starts neither a response nor a frame, or a server that stops answering (or stops
 * sending media) closes the connection with a reason. Reasons and errors never hold the URL's
 * token (they are redacted).
 */
import { EventEmitter } from "node:events";
import * as net from "node:net";
import * as tls from "node:tls";
import { systemClock, type Clock, type Timer } from "../clock";
import { errorMessage, redact } from "../redact";
import { parseUpstreamSdp, type UpstreamMedia } from "./upstream-sdp";
import { RTSP_REASONS } from "./reason-phrases";

export type { UpstreamMedia, UpstreamTrack } from "./upstream-sdp";

export type MediaKind = "video" | "audio";

export interface RtspClientLimits {
  /** A response's status line and header fields (default 16 KiB). */
  maxHeaderBytes: number;
  /** A response body (the SDP; default 64 KiB). */
  maxBodyBytes: number;
}

export const RTSP_CLIENT_LIMITS: Readonly<RtspClientLimits> = Object.freeze({
  maxHeaderBytes: 16 * 1024,
  maxBodyBytes: 64 * 1024,
});

export interface RtspClientOptions {
  /** `rtsp://` or `rtsps://` URL, token in the query as Google gives it. */
  url: string;
  clock?: Clock;
  /** TCP (and TLS) connect, default 10 s. */
  connectTimeoutMs?: number;
  /** Each request's answer, default 10 s. */
  requestTimeoutMs?: number;
  /** After PLAY: no interleaved data for this long closes the connection (default 10 s). */
  mediaTimeoutMs?: number;
  /** Keep-alive interval; default half the session timeout the server gives (60 s when none), at most 30 s. */
  keepaliveMs?: number;
  /** Extra certificate authorities for rtsps:// (PEM), besides the system's. */
  ca?: string | Buffer | (string | Buffer)[];
  limits?: Partial<RtspClientLimits>;
  /** Tests: make the socket (already connecting). */
  connect?: (host: string, port: number, secure: boolean) => net.Socket;
  userAgent?: string;
}

export interface RtspClientEvents {
  /** One RTP packet of a track. A view into the received bytes: copy it to keep it. */
  rtp: [MediaKind, Buffer];
  /** The connection ended (not by close()): why, redacted. */
  close: [string];
}

interface Response {
  status: number;
  reason: string;
  headers: Map<string, string>;
  body: Buffer;
}

interface Pending {
  cseq: number;
  method: string;
  resolve: (r: Response) => void;
  reject: (err: Error) => void;
  timer: Timer;
}

/** An RTSP status that is not 2xx; `status` lets callers tell a refused token (401/403/404) from the rest. */
export class RtspStatusError extends Error {
  /** The server's reason phrase, printable ASCII, at most 100 characters (not redacted: never log it). */
  readonly reason: string;
  constructor(
    readonly method: string,
    readonly status: number,
    reason: string,
  ) {
    // The server's own reason phrase is not shown: it could carry anything, a token among it.
    super(`the camera's RTSP server answered ${method} with ${status} ${RTSP_REASONS[status] ?? ""}`.trim());
    this.reason = reason;
  }
}

const EMPTY = Buffer.alloc(0);

export class RtspClient extends EventEmitter<RtspClientEvents> {
  private readonly url: URL;
  private readonly clock: Clock;
  private readonly limits: RtspClientLimits;
  private socket?: net.Socket;
  private buffer: Buffer = EMPTY;
  private cseq = 0;
  private readonly pending = new Map<number, Pending>();
  private session?: string;
  private sessionTimeoutS = 60;
  private keepaliveTimer?: Timer;
  private mediaTimer?: Timer;
  private lastData = 0;
  private playing = false;
  private closed = false;
  private useGetParameter = false;
  private channels = new Map<number, MediaKind>();
  private rtcpChannels: number[] = [];
  /** The media the server described (after open()). */
  media?: UpstreamMedia;
  /** Bytes of RTP received (statistics). */
  bytes = 0;

  constructor(private readonly options: RtspClientOptions) {
    super();
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TypeError(`not an RTSP URL: ${redact(String(options.url)).slice(0, 200)}`);
    }
    if (url.protocol !== "rtsp:" && url.protocol !== "rtsps:")
      throw new TypeError(`not an RTSP URL: ${redact(options.url).slice(0, 200)}`);
    this.url = url;
    this.clock = options.clock ?? systemClock;
    this.limits = { ...RTSP_CLIENT_LIMITS, ...options.limits };
  }

  /** True after open() resolved and until the connection ends. */
  get isPlaying(): boolean {
    return this.playing && !this.closed;
  }

  /** Connects, describes, sets the tracks up and plays. Rejects (redacted) when any step fails. */
  async open(): Promise<UpstreamMedia> {
    try {
      await this.connect();
      const options = await this.request("OPTIONS", this.options.url);
      this.useGetParameter = /\bGET_PARAMETER\b/i.test(options.headers.get("public") ?? "");
      const described = await this.request("DESCRIBE", this.options.url, { Accept: "application/sdp" });
      const given = described.headers.get("content-base") ?? described.headers.get("content-location");
      // Request lines are built from it: an rtsp(s) URL of visible characters, else the URL we asked.
      const base = given && /^rtsps?:\/\/[\x21-\x7e]{1,4096}$/i.test(given) ? given : this.options.url;
      const media = parseUpstreamSdp(described.body.toString("utf8"), base);
      if (!media.video && !media.audio)
        throw new Error("the camera's stream has no H.264 video or audio track");
      let channel = 0;
      for (const track of [media.video, media.audio]) {
        if (!track) continue;
        const reply = await this.request("SETUP", track.controlUrl, {
          Transport: `RTP/AVP/TCP;unicast;interleaved=${channel}-${channel + 1}`,
        });
        const transport = reply.headers.get("transport") ?? "";
        const m = /interleaved=(\d+)(?:-(\d+))?/i.exec(transport);
        const rtp = m ? Number(m[1]) : channel;
        const rtcp = m?.[2] !== undefined ? Number(m[2]) : rtp + 1;
        this.channels.set(rtp, track.kind);
        this.rtcpChannels.push(rtcp);
        const session = reply.headers.get("session");
        if (session) {
          const [id, ...params] = session.split(";").map((p) => p.trim());
          // Echoed into every later request: one token of visible characters, nothing else.
          if (!/^[\x21-\x7e]{1,256}$/.test(id))
            throw new Error("the camera's RTSP server gave a malformed session");
          this.session ??= id;
          const timeout = params.find((p) => /^timeout=/i.test(p));
          const seconds = timeout ? Number(timeout.split("=")[1]) : NaN;
          if (Number.isFinite(seconds) && seconds > 0) this.sessionTimeoutS = seconds;
        }
        channel += 2;
      }
      if (!this.session) throw new Error("the camera's RTSP server gave no session");
      await this.request("PLAY", media.controlUrl, { Range: "npt=0.000-" });
      if (this.closed) throw new Error("the connection closed");
      this.media = media;
      this.playing = true;
      this.lastData = this.clock.now();
      this.armKeepalive();
      this.armMediaWatch();
      return media;
    } catch (err) {
      const reason = redact(errorMessage(err));
      this.shutdown();
      throw err instanceof RtspStatusError ? err : new Error(reason);
    }
  }

  /** Ends the session (TEARDOWN, best effort) and the connection; no `close` event follows. */
  close(): void {
    if (this.closed) return;
    const socket = this.socket;
    if (socket && this.session && !socket.destroyed) {
      // TEARDOWN, then a graceful end; a server that does not close within a second is cut.
      this.shutdown("closed", false);
      socket.end(this.requestText("TEARDOWN", this.options.url, {}), "latin1");
      const timer = this.clock.setTimeout(() => socket.destroy(), 1000);
      socket.once("close", () => this.clock.clearTimeout(timer));
      return;
    }
    this.shutdown();
  }

  // ---- connection --------------------------------------------------------------------------------

  private connect(): Promise<void> {
    const secure = this.url.protocol === "rtsps:";
    const host = this.url.hostname.replace(/^\[|\]$/g, "");
    const port = Number(this.url.port) || (secure ? 443 : 554);
    const ms = this.options.connectTimeoutMs ?? 10_000;
    return new Promise<void>((resolve, reject) => {
      let socket: net.Socket;
      if (this.options.connect) socket = this.options.connect(host, port, secure);
      else if (secure) {
        const ca = this.options.ca ? [...tls.rootCertificates, ...[this.options.ca].flat()] : undefined;
        socket = tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ca });
      } else socket = net.connect({ host, port });
      this.socket = socket;
      const timer = this.clock.setTimeout(() => {
        fail(new Error(`could not connect to the camera's RTSP server within ${ms / 1000} s`));
      }, ms);
      const ready = secure && !this.options.connect ? "secureConnect" : "connect";
      const fail = (err: Error) => {
        this.clock.clearTimeout(timer);
        socket.destroy();
        reject(new Error(`could not connect to the camera's RTSP server: ${err.message}`));
      };
      socket.once("error", fail);
      socket.once(ready, () => {
        this.clock.clearTimeout(timer);
        socket.off("error", fail);
        socket.setNoDelay(true);
        socket.on("error", (err) => this.lost(`the connection failed: ${err.message}`));
        socket.on("close", () => this.lost("the camera's RTSP server closed the connection"));
        socket.on("data", (chunk: Buffer) => this.onData(chunk));
        if (this.closed) reject(new Error("closed"));
        else resolve();
      });
    });
  }

  /** The connection ended on its own: reject what waits, tell the owner once. */
  private lost(reason: string): void {
    if (this.closed) return;
    const wasPlaying = this.playing;
    this.shutdown(reason);
    if (wasPlaying) this.emit("close", redact(reason));
  }

  private shutdown(reason = "closed", destroy = true): void {
    this.closed = true;
    this.playing = false;
    this.clock.clearTimeout(this.keepaliveTimer);
    this.clock.clearTimeout(this.mediaTimer);
    this.keepaliveTimer = this.mediaTimer = undefined;
    for (const p of this.pending.values()) {
      this.clock.clearTimeout(p.timer);
      p.reject(new Error(reason));
    }
    this.pending.clear();
    this.buffer = EMPTY;
    if (destroy) this.socket?.destroy();
  }

  // ---- requests ----------------------------------------------------------------------------------

  private requestText(method: string, uri: string, headers: Record<string, string>): string {
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${++this.cseq}`];
    lines.push(`User-Agent: ${this.options.userAgent ?? "node-red-contrib-nest-restream"}`);
    if (this.session) lines.push(`Session: ${this.session}`);
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    return lines.join("\r\n") + "\r\n\r\n";
  }

  private request(method: string, uri: string, headers: Record<string, string> = {}): Promise<Response> {
    const socket = this.socket;
    if (!socket || this.closed) return Promise.reject(new Error("not connected"));
    const text = this.requestText(method, uri, headers);
    const cseq = this.cseq;
    const ms = this.options.requestTimeoutMs ?? 10_000;
    return new Promise<Response>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.pending.delete(cseq);
        reject(new Error(`the camera's RTSP server did not answer ${method} within ${ms / 1000} s`));
        this.lost(`the camera's RTSP server did not answer ${method}`);
      }, ms);
      this.pending.set(cseq, {
        cseq,
        method,
        timer,
        resolve: (r) => {
          if (r.status >= 200 && r.status < 300) resolve(r);
          else reject(new RtspStatusError(method, r.status, r.reason));
        },
        reject,
      });
      socket.write(text, "latin1");
    });
  }

  private armKeepalive(): void {
    const ms =
      this.options.keepaliveMs ?? Math.max(1_000, Math.min(30_000, (this.sessionTimeoutS * 1000) / 2));
    this.keepaliveTimer = this.clock.setTimeout(() => {
      if (this.closed) return;
      this.sendReceiverReports();
      this.request(this.useGetParameter ? "GET_PARAMETER" : "OPTIONS", this.options.url).catch(
        () => undefined, // a timeout ends the connection itself; an error status is no reason to
      );
      this.armKeepalive();
    }, ms);
  }

  /** An empty RTCP receiver report on each RTCP channel: "still here", as ffmpeg sends. */
  private sendReceiverReports(): void {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    for (const channel of this.rtcpChannels) {
      const frame = Buffer.from([0x24, channel, 0, 8, 0x80, 201, 0, 1, 0, 0, 0, 0]);
      frame.writeUInt32BE(0x4e455354, 8);
      socket.write(frame);
    }
  }

  private armMediaWatch(): void {
    const ms = this.options.mediaTimeoutMs ?? 10_000;
    if (ms <= 0) return;
    const due = this.lastData + ms - this.clock.now();
    this.mediaTimer = this.clock.setTimeout(
      () => {
        if (this.closed) return;
        if (this.clock.now() - this.lastData >= ms) {
          this.lost(`no media from the camera for ${ms / 1000} s`);
          return;
        }
        this.armMediaWatch();
      },
      Math.max(10, due),
    );
  }

  // ---- reading -----------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let data = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    this.buffer = EMPTY;
    let off = 0;
    while (off < data.length && !this.closed) {
      const b = data[off];
      if (b === 0x24) {
        if (data.length - off < 4) break;
        const len = data.readUInt16BE(off + 2);
        if (data.length - off < 4 + len) break;
        const channel = data[off + 1];
        const kind = this.channels.get(channel);
        if (this.playing) this.lastData = this.clock.now();
        if (kind && len >= 12) {
          this.bytes += len;
          this.emit("rtp", kind, data.subarray(off + 4, off + 4 + len));
        }
        off += 4 + len;
        continue;
      }
      if (b === 0x0d || b === 0x0a) {
        off++;
        continue;
      }
      const used = this.readMessage(data, off);
      if (used < 0) return; // closed
      if (used === 0) break;
      off += used;
    }
    if (this.closed) return;
    if (off < data.length) {
      // An incomplete frame is at most 64 KiB; an incomplete message is bounded by readMessage.
      data = data.subarray(off);
      this.buffer = Buffer.from(data);
    }
  }

  /** Reads one RTSP message at `off`: bytes used, 0 when incomplete, -1 when it closed the connection. */
  private readMessage(data: Buffer, off: number): number {
    const limit = this.limits.maxHeaderBytes;
    const window = data.subarray(off, off + limit + 4);
    const start = window.toString("latin1", 0, Math.min(window.length, 34));
    if (window.length >= 5 && !start.startsWith("RTSP/") && !/^[A-Z_]{1,32}( |$)/.test(start)) {
      this.garbled("the camera's RTSP server sent data that is neither RTSP nor media");
      return -1;
    }
    const end = window.indexOf("\r\n\r\n");
    if (end < 0) {
      if (window.length >= limit + 4) {
        this.garbled("the camera's RTSP server sent a response head over the limit");
        return -1;
      }
      return 0;
    }
    const lines = window.toString("latin1", 0, end).split("\r\n");
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const i = line.indexOf(":");
      if (i <= 0) continue;
      headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    const lengthText = headers.get("content-length") ?? "0";
    const length = /^\d{1,9}$/.test(lengthText) ? Number(lengthText) : NaN;
    if (!Number.isFinite(length) || length > this.limits.maxBodyBytes) {
      this.garbled("the camera's RTSP server sent a response body over the limit");
      return -1;
    }
    if (data.length - off < end + 4 + length) return 0;
    const body = Buffer.from(data.subarray(off + end + 4, off + end + 4 + length));
    const status = /^RTSP\/\d\.\d\s+(\d{3})\s*(.*)$/.exec(lines[0]);
    if (status) {
      const cseq = Number(headers.get("cseq"));
      const p = this.pending.get(cseq);
      if (p) {
        this.pending.delete(cseq);
        this.clock.clearTimeout(p.timer);
        p.resolve({
          status: Number(status[1]),
          reason: status[2].replace(/[^\x20-\x7e]/g, "?").slice(0, 100),
          headers,
          body,
        });
      }
    } else {
      // A request from the server (GET_PARAMETER, ANNOUNCE…): answered "not implemented".
      const cseq = headers.get("cseq");
      if (cseq && /^\d{1,10}$/.test(cseq))
        this.socket?.write(`RTSP/1.0 501 Not Implemented\r\nCSeq: ${cseq}\r\n\r\n`, "latin1");
    }
    return end + 4 + length;
  }

  private garbled(reason: string): void {
    const wasPlaying = this.playing;
    this.shutdown(reason);
    if (wasPlaying) this.emit("close", reason);
  }
}

export { parseUpstreamSdp };
