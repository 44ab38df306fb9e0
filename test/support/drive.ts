import { flush, type FakeClock } from "./fake-clock";

/**
 * Advances the fake clock in steps until `promise` settles, then returns its outcome. Fails if it is
 * still pending after `maxMs` of fake time (a hang, not a slow test).
 */
export async function drive<T>(
  clock: FakeClock,
  promise: Promise<T>,
  maxMs = 3_600_000,
  stepMs = 1_000,
): Promise<T> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await flush();
  for (let waited = 0; !settled; waited += stepMs) {
    if (waited >= maxMs) throw new Error(`still pending after ${maxMs} ms of fake time`);
    await clock.advance(stepMs);
  }
  return promise;
}

/** The error `promise` rejects with (fails if it resolves), driving the clock meanwhile. */
export async function driveToError(
  clock: FakeClock,
  promise: Promise<unknown>,
  maxMs?: number,
): Promise<Error> {
  try {
    await drive(clock, promise, maxMs);
  } catch (err) {
    if (err instanceof Error && /still pending after/.test(err.message)) throw err;
    return err as Error;
  }
  throw new Error("expected a rejection, got a result");
}
