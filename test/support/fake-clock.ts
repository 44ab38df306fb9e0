import type { Clock, Timer } from "../../src/clock";

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that only moves when told. `advance` runs due timers in time order and lets promise
 * continuations settle between them, so async code driven by timers behaves as in real time.
 */
export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const id = ++this.seq;
    this.pending.push({ id, at: this.time + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(timer: Timer | undefined): void {
    if (!timer) return;
    this.pending = this.pending.filter((p) => p.id !== timer.id);
  }

  /** Number of timers waiting. */
  get timers(): number {
    return this.pending.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    await flush();
    for (;;) {
      this.pending.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.pending[0];
      if (!next || next.at > end) break;
      this.pending.shift();
      this.time = next.at;
      next.fn();
      await flush();
    }
    this.time = end;
    await flush();
  }

  /** Advances in steps (so long simulations interleave with I/O-free async work). */
  async run(totalMs: number, stepMs = 1000): Promise<void> {
    for (let t = 0; t < totalMs; t += stepMs) await this.advance(Math.min(stepMs, totalMs - t));
  }
}

/** Lets pending promise callbacks run (several turns, for chains of awaits). */
export async function flush(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
