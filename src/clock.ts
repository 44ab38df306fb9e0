/** Time as the core sees it. Injected everywhere so tests drive time instead of sleeping. */
export type Timer = { readonly id: unknown };

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer | undefined): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, Math.max(0, ms));
    // Timers must never keep Node-RED (or a test run) alive on their own.
    handle.unref?.();
    return { id: handle };
  },
  clearTimeout(timer) {
    if (timer) clearTimeout(timer.id as NodeJS.Timeout);
  },
};

/** Resolves after `ms` on the given clock (a fake clock resolves it when advanced). */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error("aborted"));
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal?.reason ?? new Error("aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
