/**
 * Polls `check` (real time) until it returns a truthy value or the timeout passes. For tests with real
 * I/O. `pollMs`: how often it asks (default 50 ms).
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = "condition",
  pollMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Waits (real time) until `cond()` holds: `what` names it in the timeout's error, `ms` bounds the wait. */
export type Until = (cond: () => boolean, what?: string, ms?: number) => Promise<void>;

/** `waitFor` for a suite: `until(cond, what, ms)` with the suite's own default timeout and poll interval. */
export function untilWithin(defaultMs: number, pollMs = 10): Until {
  return async (cond, what = "condition", ms = defaultMs) => {
    await waitFor(cond, ms, what, pollMs);
  };
}
