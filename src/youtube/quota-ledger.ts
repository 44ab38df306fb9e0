/**
 * The YouTube quota ledger of one channel (design sections 3 and 6): the units spent since midnight
 * Pacific time, per Google's cost table, and a call refused before it is sent when it would pass the
 * account's daily quota.
 */
import { systemClock, type Clock } from "../clock";
import { GoogleError } from "../google/errors";

/**
 * Units per call (Google's quota cost table for the methods this package uses). `videos.insert` is the
 * exception: Google's current table ("Quota costs", developers.google.com/youtube/v3/determine_quota_cost)
 * gives it a bucket of its own, 100 calls a day at 1 per call, outside the 10,000 units (the older table
 * charged 1600 units of the common pool); see UPLOAD_BUCKET.
 */
export const QUOTA_COSTS = {
  "liveStreams.list": 1,
  "liveStreams.insert": 50,
  "liveStreams.delete": 50,
  "liveBroadcasts.list": 1,
  "liveBroadcasts.insert": 50,
  "liveBroadcasts.bind": 50,
  "liveBroadcasts.transition": 50,
  "liveBroadcasts.delete": 50,
  "videos.insert": 1,
} as const;

export type QuotaMethod = keyof typeof QUOTA_COSTS;

/** Methods with a daily bucket of their own (calls a day), not charged to the common units. */
export const UPLOAD_BUCKET: Partial<Record<QuotaMethod, number>> = { "videos.insert": 100 };

/** YouTube's default allowance for a Google Cloud project. */
export const DEFAULT_DAILY_QUOTA = 10_000;

const PACIFIC = "America/Los_Angeles";
const dayFormat = new Intl.DateTimeFormat("en-CA", {
  timeZone: PACIFIC,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
});

/** The Pacific calendar day of an instant, as YYYY-MM-DD. */
export function pacificDay(at: number): string {
  return dayFormat.format(at);
}

/** The instant the Pacific day of `at` ends (the next midnight in Los Angeles, DST included). */
export function nextPacificMidnight(at: number): number {
  const [y, m, d] = pacificDay(at).split("-").map(Number);
  // Midnight in Los Angeles is 07:00 or 08:00 UTC; the right one is where the day changes.
  for (const offsetH of [7, 8]) {
    const t = Date.UTC(y, m - 1, d + 1, offsetH);
    if (pacificDay(t) !== pacificDay(at) && pacificDay(t - 1) === pacificDay(at)) return t;
  }
  return Date.UTC(y, m - 1, d + 1, 8);
}

/** A call this package did not send: it would pass the daily quota, or YouTube said it is spent. */
export class QuotaExhaustedError extends GoogleError {
  constructor(
    message: string,
    /** When the quota resets (midnight Pacific time), epoch ms. */
    readonly resetsAt: number,
    /** YouTube answered quotaExceeded (else the ledger refused before sending). */
    readonly fromYouTube = false,
  ) {
    super(message, 403, "quotaExceeded", false);
  }
}

export interface QuotaStats {
  /** Units spent since midnight Pacific time. */
  used: number;
  dailyQuota: number;
  /** When the count starts again from 0 (epoch ms). */
  resetsAt: number;
  /** Uploads started today (videos.insert, a bucket of its own). */
  uploads: number;
}

export class QuotaLedger {
  private readonly clock: Clock;
  private day: string;
  private used = 0;
  /** YouTube itself said the quota is spent (another app on the project may have used it). */
  private exhausted = false;
  /** Calls of the methods with their own bucket (uploads) today, and the buckets YouTube said are spent. */
  private readonly bucketUsed = new Map<QuotaMethod, number>();
  private readonly bucketExhausted = new Set<QuotaMethod>();

  constructor(
    private dailyQuota: number = DEFAULT_DAILY_QUOTA,
    clock: Clock = systemClock,
  ) {
    this.clock = clock;
    this.day = pacificDay(clock.now());
  }

  /** A redeployed account may have another `dailyQuota`; what was spent today stays spent. */
  setDailyQuota(units: number): void {
    this.dailyQuota = units;
  }

  stats(): QuotaStats {
    this.roll();
    return {
      used: this.used,
      dailyQuota: this.dailyQuota,
      resetsAt: nextPacificMidnight(this.clock.now()),
      uploads: this.bucketUsed.get("videos.insert") ?? 0,
    };
  }

  /**
   * Counts the call's units before it is sent, or throws QuotaExhaustedError (and counts nothing)
   * when it would pass the daily quota. Every call YouTube answers costs its units, failures too.
   */
  charge(method: QuotaMethod, what: string): void {
    this.roll();
    const cost = QUOTA_COSTS[method];
    const resetsAt = nextPacificMidnight(this.clock.now());
    const bucket = UPLOAD_BUCKET[method];
    if (bucket !== undefined) {
      const used = this.bucketUsed.get(method) ?? 0;
      if (this.bucketExhausted.has(method) || used + cost > bucket) {
        throw new QuotaExhaustedError(
          `${what} was not sent: ${method} has a daily allowance of its own (${bucket} calls a day by default) ` +
            `and ${this.bucketExhausted.has(method) ? "YouTube said it is spent" : `${used} are spent`}. ` +
            resetText(resetsAt),
          resetsAt,
        );
      }
      this.bucketUsed.set(method, used + cost);
      return;
    }
    if (this.exhausted) {
      throw new QuotaExhaustedError(
        `${what} was not sent: YouTube said the project's daily quota is spent. ${resetText(resetsAt)}`,
        resetsAt,
      );
    }
    if (this.used + cost > this.dailyQuota) {
      throw new QuotaExhaustedError(
        `${what} was not sent: it costs ${cost} units and ${this.used} of the youtube-account's daily quota of ` +
          `${this.dailyQuota} are spent since midnight Pacific time. ${resetText(resetsAt)}`,
        resetsAt,
      );
    }
    this.used += cost;
  }

  /** YouTube refused a call with quotaExceeded: it cost nothing, and nothing more goes out today. */
  refuseUntilReset(method: QuotaMethod): void {
    const bucket = this.bucketUsed.get(method);
    if (UPLOAD_BUCKET[method] !== undefined) {
      this.bucketUsed.set(method, Math.max(0, (bucket ?? 0) - QUOTA_COSTS[method]));
      this.bucketExhausted.add(method);
      return;
    }
    this.used = Math.max(0, this.used - QUOTA_COSTS[method]);
    this.exhausted = true;
  }

  private roll(): void {
    const today = pacificDay(this.clock.now());
    if (today !== this.day) {
      this.day = today;
      this.used = 0;
      this.exhausted = false;
      this.bucketUsed.clear();
      this.bucketExhausted.clear();
    }
  }
}

function resetText(resetsAt: number): string {
  return `The quota resets at midnight Pacific time (${new Date(resetsAt).toISOString()}).`;
}
