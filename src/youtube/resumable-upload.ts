/**
 * One video up to YouTube by Google's resumable protocol (design section 5): a session is started
 * with the video resource (`POST …/videos?uploadType=resumable`), its URI (a secret: it carries the
 * `upload_id`) takes the bytes in chunks of multiples of 256 KiB streamed from the file, and after
 * any failure the server is asked what it has (`Content-Range: bytes *\/TOTAL`) and the upload goes on
 * from there. An expired session (404/410) starts over; 5xx and network failures back off with the one
 * retry policy (google/retry.ts); a spent quota or upload limit waits for midnight Pacific time.
 */
import { EventEmitter } from "node:events";
import fs from "node:fs";
import { Transform, type Readable } from "node:stream";
import path from "node:path";
import { sleep, systemClock, type Clock } from "../clock";
import { Backoff } from "../backoff";
import { errorFromResponse, type ApiErrorRules } from "../google/error-envelope";
import { GoogleError } from "../google/errors";
import {
  AxiosTransport,
  parseBody,
  sendRequest,
  type HttpResponse,
  type HttpTransport,
} from "../google/http";
import { isRetryable, retryDelay } from "../google/retry";
import type { TokenKeeper } from "../google/token-keeper";
import { secrets } from "../redact";
import type { Privacy } from "./live-api";
import { nextPacificMidnight, QuotaExhaustedError, type QuotaLedger } from "./quota-ledger";
import { youtubeErrorRules } from "./youtube-errors";

/** The granule of the resumable protocol: every chunk but the last is a multiple of it. */
export const CHUNK_GRANULE = 256 * 1024;
export const DEFAULT_CHUNK_MIB = 8;

/** `chunkMiB` from the editor as bytes: a multiple of 256 KiB, at least one granule (default 8 MiB). */
export function chunkBytes(chunkMiB: unknown): number {
  const n = Number(chunkMiB);
  const mib = chunkMiB === undefined || chunkMiB === null || chunkMiB === "" || !Number.isFinite(n) ? 8 : n;
  const granules = Math.round((mib * 1024 * 1024) / CHUNK_GRANULE);
  return Math.max(1, Math.min(granules, 4096)) * CHUNK_GRANULE;
}

export interface VideoMetadata {
  title: string;
  description?: string;
  privacy: Privacy;
  tags?: string[];
  categoryId?: string;
  madeForKids?: boolean;
  notifySubscribers?: boolean;
}

/** What YouTube answers for the last chunk (the parts this package reads). */
export interface VideoResource {
  id: string;
  snippet?: { title?: string };
  status?: { uploadStatus?: string; privacyStatus?: string };
}

export interface UploadProgress {
  /** Bytes the server confirmed, plus what went out of the current chunk so far. */
  sent: number;
  total: number;
  /** Average over this run (bytes that went out / seconds). */
  bytesPerSecond: number;
}

export interface UploadResult {
  video: VideoResource;
  videoId: string;
  bytes: number;
  /** Seconds from the start of this run to the video resource. */
  seconds: number;
  /** How many times the upload went on from what the server said it had (after a failure or a restart). */
  resumes: number;
  /** Sessions started by this run (0 when a saved session was finished). */
  sessionsStarted: number;
}

export interface ResumableUploadOptions {
  tokens: Pick<TokenKeeper, "withToken">;
  /** The channel's ledger: videos.insert is charged when a session is started. */
  ledger?: QuotaLedger;
  /** `youtubeUploadUrl` from endpoints.ts. */
  uploadUrl: string;
  http?: HttpTransport;
  clock?: Clock;
  random?: () => number;
  /** Bytes per chunk; rounded to a multiple of 256 KiB. Default 8 MiB. */
  chunkBytes?: number;
  /** Per request; default 60 s plus one second per 64 KiB of the chunk (a slow link). */
  timeoutMs?: number;
  /** Waits between failed tries (the one backoff): default 1 s doubling to 60 s. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often `progress` is told during a chunk, ms. Default 1000. */
  progressEveryMs?: number;
}

export interface RunOptions {
  /** A session URI kept from an earlier run (a restart): it is asked what it has first. */
  session?: string;
  /** Told the session URI as soon as it is known, and undefined when it is gone: keep it on disk. */
  onSession?: (uri: string | undefined) => void | Promise<void>;
  signal?: AbortSignal;
}

/** The session URI answered 404 or 410: the server forgot it; a new session starts from byte 0. */
export class SessionGoneError extends GoogleError {
  constructor(status: number) {
    super(
      `The YouTube upload session expired (HTTP ${status}); the upload starts again.`,
      status,
      "SESSION_GONE",
      false,
    );
  }
}

/** The file to upload is not usable (missing, empty, a directory, changed under the upload). */
export class UploadFileError extends Error {
  constructor(
    message: string,
    readonly code: "notString" | "missing" | "empty" | "notFile" | "changed",
  ) {
    super(message);
    this.name = "UploadFileError";
  }
}

interface ServerState {
  /** The next byte the server wants. */
  next: number;
  video?: VideoResource;
}

const CONTENT_TYPES: Record<string, string> = {
  ".mp4": "video/mp4",
  ".m4v": "video/mp4",
  ".mov": "video/quicktime",
  ".mkv": "video/x-matroska",
  ".webm": "video/webm",
  ".ts": "video/mp2t",
  ".flv": "video/x-flv",
  ".avi": "video/x-msvideo",
};

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
}

/** Checks that `file` is a non-empty regular file; its size. */
export async function uploadableSize(file: unknown): Promise<number> {
  if (typeof file !== "string" || file.trim() === "") {
    throw new UploadFileError(`Expected a file path (a string), got ${describe(file)}.`, "notString");
  }
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch {
    throw new UploadFileError(`The file ${file} does not exist (or cannot be read).`, "missing");
  }
  if (!st.isFile()) throw new UploadFileError(`${file} is not a file (a directory?).`, "notFile");
  if (st.size === 0)
    throw new UploadFileError(`The file ${file} is empty: there is nothing to upload.`, "empty");
  return st.size;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return "an empty string";
  if (v === undefined) return "nothing";
  if (Buffer.isBuffer(v)) return "a Buffer";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** The video resource of `videos.insert`: YouTube's limits on titles and descriptions applied. */
export function videoResource(meta: VideoMetadata): Record<string, unknown> {
  const clean = (s: string) => s.replace(/[<>]/g, "");
  const title = [...clean(meta.title).trim()].slice(0, 100).join("") || "Untitled";
  const description = clean(meta.description ?? "").slice(0, 5000);
  const tags = (meta.tags ?? []).map((t) => clean(t).trim()).filter(Boolean);
  return {
    snippet: {
      title,
      description,
      ...(tags.length ? { tags } : {}),
      categoryId: meta.categoryId?.trim() || "22",
    },
    status: { privacyStatus: meta.privacy, selfDeclaredMadeForKids: meta.madeForKids === true },
  };
}

/** Reads `Range: bytes=0-N` (the server has bytes 0..N): the next byte it wants; none: 0. */
export function nextByteFromRange(range: string | undefined): number {
  const m = /bytes=(\d+)-(\d+)/.exec(range ?? "");
  return m ? Number(m[2]) + 1 : 0;
}

/** The upload's own error reasons, before YouTube's common ones. */
function uploadRules(now: number): ApiErrorRules {
  const common = youtubeErrorRules(now);
  return (info) => {
    if (info.reason === "uploadLimitExceeded" || info.reason === "quotaExceeded") {
      const resetsAt = nextPacificMidnight(now);
      const which =
        info.reason === "uploadLimitExceeded"
          ? "The channel has uploaded as many videos as YouTube allows for now"
          : "The project's daily YouTube quota for uploads is spent";
      return new QuotaExhaustedError(
        `${info.message}. ${which}; the upload waits for the reset at midnight Pacific time ` +
          `(${new Date(resetsAt).toISOString()}) and loses nothing.`,
        resetsAt,
        true,
      );
    }
    return common(info);
  };
}

export class ResumableUpload extends EventEmitter {
  private readonly options: ResumableUploadOptions;
  private readonly clock: Clock;
  private readonly http: HttpTransport;
  private readonly chunk: number;
  private readonly uploadUrl: string;

  constructor(options: ResumableUploadOptions) {
    super();
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.http = options.http ?? new AxiosTransport();
    const wanted = options.chunkBytes ?? DEFAULT_CHUNK_MIB * 1024 * 1024;
    this.chunk = Math.max(1, Math.round(wanted / CHUNK_GRANULE)) * CHUNK_GRANULE;
    this.uploadUrl = options.uploadUrl.replace(/\/+$/, "");
  }

  get chunkBytes(): number {
    return this.chunk;
  }

  /**
   * Uploads `file` with `meta` until YouTube returns the video resource. Throws UploadFileError for a
   * file that is not uploadable, a GoogleError YouTube will not change its mind about (400, 403), or
   * the signal's reason when aborted (the session stays valid: run again with it).
   */
  async run(file: string, meta: VideoMetadata, run: RunOptions = {}): Promise<UploadResult> {
    const total = await uploadableSize(file);
    const started = this.clock.now();
    const backoff = new Backoff({
      initialMs: this.options.initialBackoffMs ?? 1_000,
      maxMs: this.options.maxBackoffMs ?? 60_000,
      random: this.options.random,
    });
    let uri = run.session;
    if (uri) secrets.add(uri);
    let next: number | undefined = uri ? undefined : 0;
    let resumes = 0;
    let sessionsStarted = 0;
    let sentThisRun = 0;
    /** Sessions that died with no byte confirmed since: the first starts over at once, more back off. */
    let goneInARow = 0;
    const forget = async () => {
      if (uri) secrets.delete(uri);
      uri = undefined;
      next = 0;
      await run.onSession?.(undefined);
    };
    try {
      for (;;) {
        if (run.signal?.aborted) throw run.signal.reason ?? new Error("aborted");
        try {
          if (!uri) {
            uri = await this.startSession(file, meta, total, run.signal);
            sessionsStarted++;
            next = 0;
            await run.onSession?.(uri);
          }
          if (next === undefined) {
            const state = await this.query(uri, total, run.signal);
            resumes++;
            this.emit("resumed", { at: state.next, total });
            if (state.video) return this.done(state.video, total, started, resumes, sessionsStarted);
            next = state.next;
          }
          const before = next;
          const state = await this.putChunk(
            uri,
            file,
            next,
            total,
            run.signal,
            (n) => {
              sentThisRun += n;
              return sentThisRun;
            },
            started,
          );
          if (state.video) return this.done(state.video, total, started, resumes, sessionsStarted);
          next = state.next;
          this.progress(next, total, sentThisRun, started);
          if (next > before) {
            backoff.reset();
            goneInARow = 0;
          }
          // The server kept nothing of the chunk: not in a loop at full speed.
          else await sleep(this.clock, backoff.next(), run.signal);
        } catch (err) {
          if (run.signal?.aborted) throw run.signal.reason ?? err;
          if (err instanceof SessionGoneError) {
            // Each new session costs an upload of the day's allowance: never in a loop at full speed.
            const delayMs = goneInARow++ > 0 ? backoff.next() : 0;
            this.emit("retry", { error: err, delayMs });
            await forget();
            if (delayMs > 0) await sleep(this.clock, delayMs, run.signal);
            continue;
          }
          if (err instanceof QuotaExhaustedError) {
            if (err.fromYouTube) this.options.ledger?.refuseUntilReset("videos.insert");
            const waitMs = Math.max(1_000, err.resetsAt - this.clock.now() + 60_000);
            this.emit("waiting", { error: err, until: this.clock.now() + waitMs });
            await sleep(this.clock, waitMs, run.signal);
            // After the wait nothing is known of what the session holds: ask first.
            if (uri) next = undefined;
            continue;
          }
          if (isRetryable(err)) {
            const delayMs = retryDelay(backoff, err);
            this.emit("retry", { error: err, delayMs });
            await sleep(this.clock, delayMs, run.signal);
            // The server may have kept less (or more) than was sent: ask it.
            if (uri) next = undefined;
            continue;
          }
          throw err;
        }
      }
    } finally {
      // The caller keeps the URI on disk for a restart; in this process it stays masked meanwhile.
      if (uri) secrets.delete(uri);
    }
  }

  private done(
    video: VideoResource,
    total: number,
    started: number,
    resumes: number,
    sessionsStarted: number,
  ) {
    const seconds = Math.max(0, (this.clock.now() - started) / 1000);
    this.emit("progress", { sent: total, total, bytesPerSecond: seconds > 0 ? total / seconds : 0 });
    return { video, videoId: video.id, bytes: total, seconds, resumes, sessionsStarted };
  }

  private progress(sent: number, total: number, sentThisRun: number, started: number): void {
    const seconds = (this.clock.now() - started) / 1000;
    this.emit("progress", { sent, total, bytesPerSecond: seconds > 0 ? sentThisRun / seconds : 0 });
  }

  /** `POST {upload url}/videos?uploadType=resumable&part=snippet,status` → the session URI. */
  private async startSession(
    file: string,
    meta: VideoMetadata,
    total: number,
    signal?: AbortSignal,
  ): Promise<string> {
    const what = "Starting the YouTube upload";
    const query = new URLSearchParams({ uploadType: "resumable", part: "snippet,status" });
    query.set("notifySubscribers", meta.notifySubscribers === true ? "true" : "false");
    const res = await this.options.tokens.withToken(async (token) => {
      // Charged when it really goes out.
      this.options.ledger?.charge("videos.insert", what);
      const answer = await sendRequest(this.http, {
        method: "POST",
        url: `${this.uploadUrl}/videos?${query.toString()}`,
        headers: {
          Authorization: `Bearer ${token}`,
          "Content-Type": "application/json; charset=UTF-8",
          "X-Upload-Content-Length": String(total),
          "X-Upload-Content-Type": contentTypeOf(file),
        },
        data: videoResource(meta),
        timeoutMs: 30_000,
        signal,
      });
      if (answer.status < 200 || answer.status >= 300) throw this.error(answer, what);
      return answer;
    });
    const location = res.headers.location;
    if (!location) {
      throw new GoogleError(
        `${what}: YouTube's answer had no session address (Location).`,
        res.status,
        "BAD_RESPONSE",
        false,
      );
    }
    secrets.add(location);
    return location;
  }

  /** `PUT` with `Content-Range: bytes *\/TOTAL`: what the server has. */
  private async query(uri: string, total: number, signal?: AbortSignal): Promise<ServerState> {
    const res = await this.put(uri, {
      headers: { "Content-Length": "0", "Content-Range": `bytes */${total}` },
      timeoutMs: 30_000,
      signal,
      what: "Asking YouTube how much of the upload it has",
    });
    return this.state(res, "Asking YouTube how much of the upload it has", total);
  }

  /** One chunk from `first`, streamed from the file. */
  private async putChunk(
    uri: string,
    file: string,
    first: number,
    total: number,
    signal: AbortSignal | undefined,
    count: (n: number) => number,
    started: number,
  ): Promise<ServerState> {
    // A file that changed size under the upload would send other bytes than YouTube was promised.
    const now = await fs.promises.stat(file).catch(() => undefined);
    if (!now || now.size !== total) {
      throw new UploadFileError(
        `The file ${file} changed while it was being uploaded (${total} bytes when it started, ` +
          `${now ? `${now.size} now` : "gone now"}): it is not uploaded.`,
        "changed",
      );
    }
    const last = Math.min(first + this.chunk, total) - 1;
    const length = last - first + 1;
    const what = "Uploading to YouTube";
    const every = this.options.progressEveryMs ?? 1_000;
    let lastTold = this.clock.now();
    const res = await this.put(uri, {
      headers: {
        "Content-Length": String(length),
        "Content-Range": `bytes ${first}-${last}/${total}`,
        "Content-Type": contentTypeOf(file),
      },
      body: () => {
        // A fresh stream for every try: a chunk is read from the disk as it goes out, never held whole.
        const source = fs.createReadStream(file, { start: first, end: last, highWaterMark: CHUNK_GRANULE });
        // A file cut short under the upload ends the chunk early: fail the request at once (the next
        // try finds the new size) instead of leaving YouTube waiting for the bytes it was promised.
        const stream = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            done(null, chunk);
          },
          flush(done) {
            done(out === length ? null : new Error(`the file ended ${length - out} bytes early`));
          },
        });
        source.on("error", (err) => stream.destroy(err));
        source.pipe(stream);
        let out = 0;
        source.on("data", (b: Buffer | string) => {
          out += b.length;
          const runTotal = count(b.length);
          const now = this.clock.now();
          if (now - lastTold >= every) {
            lastTold = now;
            const seconds = (now - started) / 1000;
            this.emit("progress", {
              sent: Math.min(total, first + out),
              total,
              bytesPerSecond: seconds > 0 ? runTotal / seconds : 0,
            });
          }
        });
        return stream;
      },
      timeoutMs: this.options.timeoutMs ?? 60_000 + Math.ceil(length / 65_536) * 1_000,
      signal,
      what,
    });
    const state = this.state(res, what, total);
    if (!state.video && state.next > last + 1) {
      throw new GoogleError(
        `${what}: YouTube says it has more bytes than were sent.`,
        308,
        "BAD_RESPONSE",
        false,
      );
    }
    return state;
  }

  private async put(
    uri: string,
    req: {
      headers: Record<string, string>;
      body?: () => Readable;
      timeoutMs: number;
      signal?: AbortSignal;
      what: string;
    },
  ): Promise<HttpResponse> {
    return this.options.tokens.withToken(async (token) => {
      const body = req.body?.();
      try {
        const res = await sendRequest(this.http, {
          method: "PUT",
          url: uri,
          headers: { Authorization: `Bearer ${token}`, ...req.headers },
          body,
          timeoutMs: req.timeoutMs,
          signal: req.signal,
        });
        if (res.status === 404 || res.status === 410) throw new SessionGoneError(res.status);
        if (res.status === 308 || (res.status >= 200 && res.status < 300)) return res;
        throw this.error(res, req.what);
      } finally {
        body?.destroy();
      }
    });
  }

  private state(res: HttpResponse, what: string, total: number): ServerState {
    if (res.status === 308) {
      const next = nextByteFromRange(res.headers.range);
      if (next > total)
        throw new GoogleError(`${what}: YouTube's Range is past the end.`, 308, "BAD_RESPONSE", false);
      return { next };
    }
    const body = parseBody(res.data) as VideoResource | undefined;
    if (!body || typeof body !== "object" || typeof body.id !== "string") {
      throw new GoogleError(
        `${what}: YouTube's answer had no video resource.`,
        res.status,
        "BAD_RESPONSE",
        false,
      );
    }
    return { next: total, video: body };
  }

  private error(res: HttpResponse, what: string): GoogleError {
    const now = this.clock.now();
    return errorFromResponse(res, what, now, uploadRules(now));
  }
}
