/**
 * Live captions by HTTP POST (design section 5): one poster per caption ingestion URL sends
 * `text/plain` bodies `YYYY-MM-DDTHH:MM:SS.mmm\n<text>\n` (UTC) with `seq` up by one for each new
 * caption and the same on a retry, one request at a time and in order. It keeps the offset to the
 * server's clock (the first line of each reply, a 400 for skew included), so its timestamps stay
 * inside YouTube's 60-second window even when this machine's clock is wrong.
 */
import { Backoff } from "../backoff";
import { sleep, systemClock, type Clock } from "../clock";
import { errorFromResponse } from "../google/error-envelope";
import { AxiosTransport, isOk, sendRequest, type HttpTransport } from "../google/http";
import { isRetryable, retryDelay } from "../google/retry";
import { errorMessage, secrets } from "../redact";

/** What the node sends for each caption (design section 3), plus why it failed. */
export interface CaptionResult {
  seq: number;
  /** The caption as posted (line breaks as `<br>`). */
  text: string;
  /** The caption's timestamp as sent (ISO, UTC, on the server's clock as far as it is known). */
  sentAt: string;
  /** The server's time from its last reply (ISO), or null when no reply came. */
  serverTime: string | null;
  ok: boolean;
  /** Why it was not shown (dropped), when `ok` is false. */
  error?: string;
}

export interface CaptionPosterStats {
  sent: number;
  /** Captions given up on (failed, too old to show, or pushed out of a full queue). */
  dropped: number;
  /** server clock minus this machine's clock, ms. */
  offsetMs: number;
  last?: CaptionResult;
}

export interface CaptionPosterOptions {
  /** The caption ingestion URL (a secret): `http://upload.youtube.com/closedcaption?cid=…`. */
  url: string;
  http?: HttpTransport;
  clock?: Clock;
  random?: () => number;
  /** A caption is retried while it is younger than this (default 30 s, half YouTube's window). */
  maxAgeMs?: number;
  /** Captions waiting behind the one in flight; beyond this the oldest waiting one is dropped. Default 20. */
  maxQueue?: number;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
}

/** YouTube refuses a timestamp more than this far from its clock. */
export const SKEW_LIMIT_MS = 60_000;
/** First wait before a retry, and the longest. */
export const RETRY_INITIAL_MS = 1_000;
export const RETRY_MAX_MS = 8_000;

const WHAT = "YouTube caption";

/**
 * The last `seq` used per ingestion URL, for the life of the process: YouTube wants it rising per
 * URL, so a redeployed node (a new poster for the same URL) goes on from where the old one was.
 */
const lastSeq = new Map<string, number>();
/** The server clock's offset per URL, kept across redeploys the same way. */
const knownOffset = new Map<string, number>();

/** `YYYY-MM-DDTHH:MM:SS.mmm` in UTC, without `Z`: YouTube's caption timestamp. */
export function captionTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23);
}

/** The server time on the first line of a caption reply (ms), or undefined. */
export function serverTimeOf(body: unknown): number | undefined {
  const text = typeof body === "string" ? body : Buffer.isBuffer(body) ? body.toString("utf8") : "";
  const m = /^\s*(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)/.exec(text);
  if (!m) return undefined;
  const t = Date.parse(`${m[1]}Z`);
  return Number.isFinite(t) ? t : undefined;
}

/** The URL's `cid`: YouTube's stream key, a secret on its own too. */
function cidOf(url: string): string | undefined {
  try {
    return new URL(url).searchParams.get("cid") ?? undefined;
  } catch {
    return undefined;
  }
}

/** A 400 whose text says the timestamp was too far from the server's clock. */
function isSkew(status: number, body: unknown): boolean {
  return status === 400 && typeof body === "string" && /timestamp skew/i.test(body);
}

interface Pending {
  seq: number;
  text: string;
  /** This machine's clock when the caption was made: its timestamp is this plus the offset. */
  madeAt: number;
  resolve(result: CaptionResult): void;
}

export class CaptionPoster {
  readonly url: string;
  private readonly http: HttpTransport;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly maxAgeMs: number;
  private readonly maxQueue: number;
  private readonly timeoutMs: number;
  private readonly queue: Pending[] = [];
  private running = false;
  private closed = false;
  private readonly abort = new AbortController();
  private serverTime: number | undefined;
  private sent = 0;
  private dropped = 0;
  private last: CaptionResult | undefined;

  constructor(options: CaptionPosterOptions) {
    this.url = options.url;
    this.http = options.http ?? new AxiosTransport();
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.maxAgeMs = Math.min(options.maxAgeMs ?? 30_000, SKEW_LIMIT_MS - 5_000);
    this.maxQueue = options.maxQueue ?? 20;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    secrets.add(this.url, cidOf(this.url));
  }

  /** Server clock minus local clock (ms), as learnt from the replies so far. */
  get offsetMs(): number {
    return knownOffset.get(this.url) ?? 0;
  }

  stats(): CaptionPosterStats {
    return { sent: this.sent, dropped: this.dropped, offsetMs: this.offsetMs, last: this.last };
  }

  /**
   * Queues one caption; resolves (never rejects) with its result once it was shown or given up on.
   * Its `seq` is taken now, so captions keep the order of the calls.
   */
  post(text: string): Promise<CaptionResult> {
    const seq = (lastSeq.get(this.url) ?? 0) + 1;
    lastSeq.set(this.url, seq);
    const madeAt = this.clock.now();
    if (this.closed) return Promise.resolve(this.drop({ seq, text, madeAt }, "the node was closed"));
    return new Promise((resolve) => {
      this.queue.push({ seq, text, madeAt, resolve });
      while (this.queue.length > this.maxQueue) {
        const old = this.queue.shift() as Pending;
        old.resolve(this.drop(old, "too many captions waiting (YouTube is not answering fast enough)"));
      }
      void this.run();
    });
  }

  /** Gives up on what waits (each resolves with ok false) and stops retrying. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort(new Error("closed"));
    for (const p of this.queue.splice(0)) p.resolve(this.drop(p, "the node was closed"));
    secrets.delete(this.url);
    secrets.delete(cidOf(this.url));
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      // The caption in flight leaves the queue: what waits behind it is `queue`.
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        next.resolve(this.closed ? this.drop(next, "the node was closed") : await this.deliver(next));
      }
    } finally {
      this.running = false;
    }
  }

  /** One caption, to the end: shown, or dropped after its retries. */
  private async deliver(p: Pending): Promise<CaptionResult> {
    const backoff = new Backoff({ initialMs: RETRY_INITIAL_MS, maxMs: RETRY_MAX_MS, random: this.random });
    let skewFixes = 0;
    for (;;) {
      const at = p.madeAt + this.offsetMs;
      let error: unknown;
      try {
        const sentLocal = this.clock.now();
        const res = await sendRequest(this.http, {
          method: "POST",
          url: this.postUrl(p.seq),
          headers: { "Content-Type": "text/plain; charset=utf-8" },
          data: `${captionTimestamp(at)}\n${p.text}\n`,
          timeoutMs: this.timeoutMs,
          signal: this.abort.signal,
        });
        const skewed = isSkew(res.status, res.data);
        this.learnOffset(res.data, sentLocal, this.clock.now());
        if (isOk(res)) {
          this.sent++;
          return this.finish(p, at, true);
        }
        // Skew: the reply told us the server's time; send again at once, same seq, corrected time.
        if (skewed && skewFixes++ < 2) continue;
        // The first line is the server's time, not part of why.
        const why = typeof res.data === "string" && serverTimeOf(res.data) !== undefined;
        const reason = why ? { ...res, data: String(res.data).replace(/^[^\n]*\n?/, "") } : res;
        error = errorFromResponse(reason, WHAT, this.clock.now());
      } catch (err) {
        if (this.closed) return this.drop(p, "the node was closed", at);
        error = err;
      }
      if (!isRetryable(error)) return this.drop(p, errorMessage(error), at);
      const delayMs = retryDelay(backoff, error);
      // Worth another try only if it would still be shown once it arrives.
      if (this.clock.now() + delayMs - p.madeAt > this.maxAgeMs) {
        return this.drop(p, `${errorMessage(error)} (given up: the caption would be too old)`, at);
      }
      try {
        await sleep(this.clock, delayMs, this.abort.signal);
      } catch {
        return this.drop(p, "the node was closed", at);
      }
    }
  }

  private postUrl(seq: number): string {
    const u = new URL(this.url);
    u.searchParams.set("seq", String(seq));
    return u.toString();
  }

  /** The reply's first line is the server's time: the offset is taken at the request's midpoint. */
  private learnOffset(body: unknown, sentLocal: number, repliedLocal: number): void {
    const server = serverTimeOf(body);
    if (server === undefined) return;
    this.serverTime = server;
    knownOffset.set(this.url, Math.round(server - (sentLocal + repliedLocal) / 2));
  }

  private finish(p: Pick<Pending, "seq" | "text">, at: number, ok: boolean, error?: string): CaptionResult {
    const result: CaptionResult = {
      seq: p.seq,
      text: p.text,
      sentAt: new Date(at).toISOString(),
      serverTime: this.serverTime === undefined ? null : new Date(this.serverTime).toISOString(),
      ok,
      ...(error === undefined ? {} : { error }),
    };
    this.last = result;
    return result;
  }

  private drop(p: Pick<Pending, "seq" | "text" | "madeAt">, why: string, at?: number): CaptionResult {
    this.dropped++;
    return this.finish(p, at ?? p.madeAt + this.offsetMs, false, why);
  }
}

/** For tests: forget the seq and offset kept per URL. */
export function resetCaptionState(url?: string): void {
  if (url === undefined) {
    lastSeq.clear();
    knownOffset.clear();
  } else {
    lastSeq.delete(url);
    knownOffset.delete(url);
  }
}
