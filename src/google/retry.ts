/**
 * The one retry policy for calls to Google: which failures are worth another try, and how long to
 * wait before it (the backoff's next delay, or the server's `Retry-After` when that is longer).
 */
import { Backoff, type BackoffOptions } from "../backoff";
import { sleep, type Clock } from "../clock";
import { GoogleError, RateLimitedError } from "./errors";

/** Errors a retry loop already gave up on: final for every caller above it (no retries of retries). */
const spent = new WeakSet<object>();

/**
 * Network failures, timeouts, 5xx and 429 are worth another try, unless a retry loop below already
 * spent its tries on them; everything else is an answer.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof GoogleError && err.transient && !spent.has(err);
}

/** The server's own wait (`Retry-After`, read once in http.ts) in ms, or 0. */
export function serverDelayMs(err: unknown): number {
  return err instanceof RateLimitedError && err.retryAfterMs !== undefined && err.retryAfterMs > 0
    ? err.retryAfterMs
    : 0;
}

/** The wait before the next try: what the server asked for (`Retry-After`), else the backoff's next delay. */
export function retryDelay(backoff: Backoff, err: unknown): number {
  return serverDelayMs(err) || backoff.next();
}

/** A schedule of its own for 429s (SDM's: longer waits, counted apart from other failures). */
export interface RateLimitSchedule extends BackoffOptions {
  /** Retries after a 429, beyond the first try. */
  maxRetries: number;
  /**
   * Takes every wait a 429 asks for, the last one included, instead of this loop sleeping it: a
   * shared budget pauses for it, and the next `beforeAttempt` waits it out.
   */
  pause?: (delayMs: number) => void;
}

export interface RetryOptions extends BackoffOptions {
  clock: Clock;
  /** Tries in all, the first included. */
  maxAttempts: number;
  signal?: AbortSignal;
  /** Told before each wait (for a status line or a log). */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** Called before each try (a budget slot, say). */
  beforeAttempt?: () => Promise<void>;
  /** 429s on their own schedule; without it they share the one above. */
  rateLimited?: RateLimitSchedule;
  /**
   * Whether an error given up on is final for every loop above (default true). False for a view
   * that makes one try and leaves the schedule to its caller.
   */
  spend?: boolean;
}

/**
 * Runs `op` until it succeeds, fails with an error that is not retryable, or its schedule's tries
 * are spent. The one retry loop: callers that keep their own schedule use `retryDelay` instead.
 */
export async function withRetries<T>(op: () => Promise<T>, options: RetryOptions): Promise<T> {
  const general = { backoff: new Backoff(options), maxRetries: options.maxAttempts - 1, retries: 0 };
  const rate = options.rateLimited;
  const limited = rate ? { backoff: new Backoff(rate), maxRetries: rate.maxRetries, retries: 0 } : general;
  for (let attempt = 1; ; attempt++) {
    await options.beforeAttempt?.();
    try {
      return await op();
    } catch (err) {
      if (options.signal?.aborted) throw err;
      if (!isRetryable(err)) throw err;
      const isRateLimit = err instanceof RateLimitedError;
      const schedule = isRateLimit ? limited : general;
      // A 429's wait is the project's, so it is paid even when no try follows.
      const pause = isRateLimit ? rate?.pause : undefined;
      const delayMs = pause || schedule.retries < schedule.maxRetries ? retryDelay(schedule.backoff, err) : 0;
      pause?.(delayMs);
      if (schedule.retries >= schedule.maxRetries) {
        if (options.spend !== false) spent.add(err as GoogleError);
        throw err;
      }
      schedule.retries++;
      options.onRetry?.({ attempt, delayMs, error: err });
      if (!pause) await sleep(options.clock, delayMs, options.signal);
    }
  }
}
