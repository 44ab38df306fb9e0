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
 */
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { buildRtspSdp, type RtspSdpOptions } from "./sdp";

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
  log?: (level: "debug" | "info" | "warn", message: string) => void;
}

interface Stream {
  camera: string;
  source: RtspStreamSource;
  readers: Set<Reader>;
  waiters: Set<() => void>;
}

interface Request {
  method: string;
  uri: string;
  headers: Map<string, string>;
  body: Buffer;
}

const SERVER = "node-red-contrib-nest-restream";
const PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";
const MAX_HEADER = 64 * 1024;

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  454: "Session Not Found",
  455: "Method Not Valid in This State",
  459: "Aggregate Operation Not Allowed",
  461: "Unsupported Transport",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "RTSP Version Not Supported",
};

class Reader {
  buffer: Buffer = Buffer.alloc(0);
  stream?: Stream;
  session?: string;
  playing = false;
  channels: Partial<Record<TrackKind, number>> = {};
  queue: Promise<void> = Promise.resolve();
  closed = false;

  constructor(readonly socket: net.Socket) {}
}

export class LocalRtspServer {
  private readonly server: net.Server;
  private readonly streams = new Map<string, Stream>();
  private readonly readers = new Set<Reader>();
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly urlHost?: string;
  private readonly describeWaitMs: number;
  private readonly maxBufferedBytes: number;
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

  /** The URL readers open for this camera. */
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

  /** Sends one RTP packet to every reader playing this stream's track of that kind. */
  send(camera: string, kind: TrackKind, packet: Buffer): void {
    const s = this.streams.get(camera);
    if (!s || s.readers.size === 0 || packet.length > 0xffff) return;
    const frames = new Map<number, Buffer>();
    for (const r of s.readers) {
      const channel = r.channels[kind];
      if (!r.playing || channel === undefined || r.closed) continue;
      if (r.socket.writableLength > this.maxBufferedBytes) {
        this.log("warn", `dropping a local RTSP reader of "${camera}" that does not keep up`);
        this.drop(r);
        continue;
      }
      let frame = frames.get(channel);
      if (!frame) {
        frame = Buffer.allocUnsafe(4 + packet.length);
        frame[0] = 0x24;
        frame[1] = channel;
        frame.writeUInt16BE(packet.length, 2);
        packet.copy(frame, 4);
        frames.set(channel, frame);
      }
      r.socket.write(frame);
    }
  }

  private accept(socket: net.Socket): void {
    const reader = new Reader(socket);
    this.readers.add(reader);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(reader, chunk));
    socket.on("error", () => this.drop(reader));
    socket.on("close", () => this.drop(reader));
  }

  private drop(reader: Reader): void {
    if (!reader.closed) {
      reader.closed = true;
      reader.socket.destroy();
    }
    reader.playing = false;
    this.readers.delete(reader);
    reader.stream?.readers.delete(reader);
  }

  private onData(reader: Reader, chunk: Buffer): void {
    reader.buffer = reader.buffer.length ? Buffer.concat([reader.buffer, chunk]) : chunk;
    for (;;) {
      const buf = reader.buffer;
      if (buf.length === 0) return;
      if (buf[0] === 0x24) {
        // Interleaved data from the reader (RTCP receiver reports): not needed, skipped.
        if (buf.length < 4) return;
        const len = buf.readUInt16BE(2);
        if (buf.length < 4 + len) return;
        reader.buffer = buf.subarray(4 + len);
        continue;
      }
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buf.length > MAX_HEADER) this.drop(reader);
        return;
      }
      const req = parseHead(buf.subarray(0, end).toString("latin1"));
      if (!req) {
        this.drop(reader);
        return;
      }
      const length = Number(req.headers.get("content-length") ?? 0) || 0;
      if (buf.length < end + 4 + length) return;
      req.body = buf.subarray(end + 4, end + 4 + length);
      reader.buffer = buf.subarray(end + 4 + length);
      // Requests are answered in order; DESCRIBE may wait for the stream to become ready.
      reader.queue = reader.queue
        .then(() => this.handle(reader, req))
        .catch((err: unknown) => {
          this.log("warn", `RTSP request failed: ${err instanceof Error ? err.message : String(err)}`);
          this.reply(reader, req, 500);
        });
    }
  }

  private reply(
    reader: Reader,
    req: Request,
    status: number,
    headers: Record<string, string> = {},
    body = "",
  ): void {
    if (reader.closed) return;
    const lines = [`RTSP/1.0 ${status} ${REASONS[status] ?? "Error"}`];
    const cseq = req.headers.get("cseq");
    if (cseq !== undefined) lines.push(`CSeq: ${cseq}`);
    lines.push(`Server: ${SERVER}`, `Date: ${new Date().toUTCString()}`);
    if (reader.session && !("Session" in headers)) lines.push(`Session: ${reader.session};timeout=60`);
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    const payload = Buffer.from(body, "utf8");
    if (payload.length) lines.push(`Content-Length: ${payload.length}`);
    reader.socket.write(Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), payload]));
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

  private async handle(reader: Reader, req: Request): Promise<void> {
    if (reader.closed) return;
    const { camera, control } = this.target(req.uri);
    const stream = camera !== undefined ? this.streams.get(camera) : undefined;
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

  private sessionMatches(reader: Reader, req: Request): boolean {
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

  private setup(reader: Reader, req: Request, stream: Stream | undefined, control: string): void {
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
    if (!transport) return this.reply(reader, req, 461);
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

function parseHead(head: string): Request | undefined {
  const lines = head.split(/\r\n/);
  const m = /^([A-Z_]+)\s+(\S+)\s+RTSP\/1\.\d$/.exec(lines[0] ?? "");
  if (!m) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return { method: m[1], uri: m[2], headers, body: Buffer.alloc(0) };
}

/** Picks the first TCP interleaved option of a Transport header; undefined when only UDP is offered. */
function chooseTransport(header: string): { interleaved?: number } | undefined {
  for (const spec of header.split(",")) {
    const parts = spec.split(";").map((p) => p.trim());
    if (!/^RTP\/AVP\/TCP$/i.test(parts[0] ?? "")) continue;
    const il = parts.find((p) => /^interleaved=/i.test(p));
    const n = il ? Number(il.split("=")[1].split("-")[0]) : undefined;
    return { interleaved: n !== undefined && Number.isInteger(n) && n >= 0 ? n : undefined };
  }
  return undefined;
}
