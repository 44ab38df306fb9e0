import type { Clock, Timer } from "../../src/clock";

/**
 * A clock for code that does real I/O (a local HTTP fake) and also waits: every wait it asks for is
 * skipped (its callback runs on the next turn) and counted as time gone by, so backoff and a wait for
 * midnight Pacific time take no real time while `now()` moves as if they had.
 */
export class SkipClock implements Clock {
  /** Every wait asked for, in ms, in order. */
  readonly waits: number[] = [];
  private skipped = 0;
  private seq = 0;
  private readonly cancelled = new Set<number>();

  constructor(private readonly start = Date.now()) {}

  private readonly realStart = Date.now();

  now(): number {
    return this.start + (Date.now() - this.realStart) + this.skipped;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const id = ++this.seq;
    setImmediate(() => {
      if (this.cancelled.delete(id)) return;
      this.waits.push(ms);
      this.skipped += Math.max(0, ms);
      fn();
    });
    return { id };
  }

  clearTimeout(timer: Timer | undefined): void {
    if (timer) this.cancelled.add(timer.id as number);
  }
}
