/**
 * The project-wide `executeCommand` budget (design section 6): every nest-stream node of one account
 * shares one, so N cameras together never send more than `limit` commands in any sliding window.
 * Callers queue (first come, first served) rather than fail; time comes from the injected clock.
 */
import { systemClock, type Clock, type Timer } from "../clock";
import { ClosedError } from "../google/errors";

export interface CommandBudgetOptions {
  /** Commands per window for the whole project. Default 10 (Google's sandbox limit). */
  limit?: number;
  /** Default 60 s. */
  windowMs?: number;
  /**
   * Extra time a grant keeps its slot, so network delay between here and Google cannot make two
   * commands look less than a window apart to Google. Default 1 s.
   */
  marginMs?: number;
  /** Commands per window for one key (device + command). Default 5 (Google's per-device limit). */
  perKeyLimit?: number;
  clock?: Clock;
  /** The window's history to count in (default: one of its own). See commandWindowFor. */
  window?: CommandWindow;
}

export interface CommandBudgetStats {
  limit: number;
  windowMs: number;
  /** Grants still counting in the window. */
  used: number;
  /** Callers waiting for a slot. */
  queued: number;
  /** When a 429 pause ends (epoch ms), if one is in force. */
  pausedUntil?: number;
  /** Earliest time a new caller could be granted (epoch ms): now when a slot is free. */
  nextSlotAt: number;
  /** Grants since creation. */
  granted: number;
  /** `penalize` calls since creation. */
  penalties: number;
}

interface Grant {
  at: number;
  key?: string;
}

/**
 * What Google's window remembers of a project: the commands granted and a 429 pause. It outlives
 * the budgets that count in it, as Google's window outlives a redeploy of the account node.
 */
export class CommandWindow {
  readonly grants: Grant[] = [];
  pausedUntil = 0;
}

const projectWindows = new Map<string, CommandWindow>();

/**
 * Forgets every project's window: for tests whose fake Google starts a new window (a new
 * Google, as far as the runtime in the same process can tell).
 */
export function forgetCommandWindows(): void {
  projectWindows.clear();
}

/**
 * The one window of a Google project (key: the SDM endpoint and project id) for the life of the
 * process: old and new account nodes of a redeploy count in the same one.
 */
export function commandWindowFor(key: string): CommandWindow {
  let w = projectWindows.get(key);
  if (!w) {
    w = new CommandWindow();
    projectWindows.set(key, w);
  }
  return w;
}

interface Waiter {
  key?: string;
  resolve(): void;
  reject(err: unknown): void;
  detach(): void;
}

export class CommandBudget {
  readonly limit: number;
  readonly windowMs: number;
  readonly perKeyLimit: number;
  private readonly marginMs: number;
  private readonly clock: Clock;
  private readonly window: CommandWindow;
  private queue: Waiter[] = [];
  private timer?: Timer;
  private granted = 0;
  private penalties = 0;
  private closed = false;

  constructor(options: CommandBudgetOptions = {}) {
    this.limit = Math.max(1, options.limit ?? 10);
    this.windowMs = options.windowMs ?? 60_000;
    this.marginMs = options.marginMs ?? 1_000;
    this.perKeyLimit = Math.max(1, options.perKeyLimit ?? 5);
    this.clock = options.clock ?? systemClock;
    this.window = options.window ?? new CommandWindow();
  }

  private get grants(): Grant[] {
    return this.window.grants;
  }

  /**
   * Resolves when the caller may send one command; the grant counts from that moment. `key`
   * (e.g. `device:command`) also applies the per-key limit. Rejects when `signal` aborts or on close.
   */
  acquire(signal?: AbortSignal, key?: string): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError("The command budget"));
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error("aborted"));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.queue = this.queue.filter((w) => w !== waiter);
        reject(signal?.reason ?? new Error("aborted"));
        this.pump();
      };
      const waiter: Waiter = {
        key,
        resolve,
        reject,
        detach: () => signal?.removeEventListener("abort", onAbort),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.push(waiter);
      this.pump();
    });
  }

  /** Stops all grants for `ms` (after a 429: Google's Retry-After, or a backoff delay). */
  penalize(ms: number): void {
    this.penalties++;
    this.window.pausedUntil = Math.max(this.window.pausedUntil, this.clock.now() + Math.max(0, ms));
    this.pump();
  }

  stats(): CommandBudgetStats {
    const now = this.clock.now();
    this.prune(now);
    const { pausedUntil } = this.window;
    const paused = pausedUntil > now;
    let nextSlotAt = this.grants.length < this.limit ? now : this.expiry(this.grants[0]);
    if (paused) nextSlotAt = Math.max(nextSlotAt, pausedUntil);
    return {
      limit: this.limit,
      windowMs: this.windowMs,
      used: this.grants.length,
      queued: this.queue.length,
      pausedUntil: paused ? pausedUntil : undefined,
      nextSlotAt,
      granted: this.granted,
      penalties: this.penalties,
    };
  }

  /** Rejects every waiter and cancels the timer. */
  close(): void {
    this.closed = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const waiting = this.queue;
    this.queue = [];
    for (const w of waiting) {
      w.detach();
      w.reject(new ClosedError("The command budget"));
    }
  }

  /** Grants whoever can go now, then sleeps until the next moment anything could change. */
  private pump(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.queue.length === 0) return;
    const now = this.clock.now();
    this.prune(now);
    if (now < this.window.pausedUntil) {
      this.wakeAt(this.window.pausedUntil, now);
      return;
    }
    // In arrival order; a waiter held by its per-key limit does not block others behind it.
    for (let i = 0; i < this.queue.length && this.grants.length < this.limit;) {
      const waiter = this.queue[i];
      if (waiter.key !== undefined && this.keyCount(waiter.key) >= this.perKeyLimit) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      this.grants.push({ at: now, key: waiter.key });
      this.granted++;
      waiter.detach();
      waiter.resolve();
    }
    // Someone still waits, so some grant holds a slot (global or per key): the oldest frees first.
    if (this.queue.length > 0 && this.grants.length > 0) this.wakeAt(this.expiry(this.grants[0]), now);
  }

  private wakeAt(at: number, now: number): void {
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, at - now);
  }

  private expiry(grant: Grant): number {
    return grant.at + this.windowMs + this.marginMs;
  }

  private prune(now: number): void {
    while (this.grants.length > 0 && this.expiry(this.grants[0]) <= now) this.grants.shift();
  }

  private keyCount(key: string): number {
    let n = 0;
    for (const g of this.grants) if (g.key === key) n++;
    return n;
  }
}
