import assert from "node:assert/strict";
import { Backoff } from "../../src/backoff";
import { RateLimitedError, TransientGoogleError, NotFoundError } from "../../src/google/errors";
import { isRetryable, retryDelay, serverDelayMs, withRetries } from "../../src/google/retry";
import { FakeClock } from "../support/fake-clock";
import { drive, driveToError } from "../support/drive";

describe("retry policy", () => {
  it("retries network failures, 5xx and 429; an answer such as 404 is final", () => {
    assert.ok(isRetryable(new TransientGoogleError("down", 503)));
    assert.ok(isRetryable(new RateLimitedError("slow down", 5_000)));
    assert.ok(!isRetryable(new NotFoundError("gone")));
    assert.ok(!isRetryable(new Error("plain")));
  });

  it("waits what Retry-After asked for, else the backoff's next delay", () => {
    const backoff = new Backoff({ initialMs: 1_000, maxMs: 8_000, jitter: 0 });
    assert.equal(serverDelayMs(new RateLimitedError("x", 7_000)), 7_000);
    assert.equal(serverDelayMs(new RateLimitedError("x")), 0);
    assert.equal(retryDelay(backoff, new RateLimitedError("x", 7_000)), 7_000);
    assert.equal(retryDelay(backoff, new TransientGoogleError("x")), 1_000);
    assert.equal(retryDelay(backoff, new TransientGoogleError("x")), 2_000);
  });

  it("tries a bounded number of times, reporting each wait", async () => {
    const clock = new FakeClock();
    const waits: number[] = [];
    let calls = 0;
    const err = await driveToError(
      clock,
      withRetries(
        async () => {
          calls++;
          throw new TransientGoogleError("down", 503);
        },
        {
          clock,
          initialMs: 1_000,
          maxMs: 10_000,
          jitter: 0,
          maxAttempts: 3,
          onRetry: (r) => waits.push(r.delayMs),
        },
      ),
      60_000,
    );
    assert.ok(err instanceof TransientGoogleError);
    assert.equal(calls, 3);
    assert.deepEqual(waits, [1_000, 2_000]);
  });

  it("never retries what a retry loop below already gave up on", async () => {
    const clock = new FakeClock();
    let calls = 0;
    const inner = () =>
      withRetries(
        async () => {
          calls++;
          throw new TransientGoogleError("down", 503);
        },
        { clock, initialMs: 1_000, maxMs: 1_000, jitter: 0, maxAttempts: 2 },
      );
    const err = await driveToError(
      clock,
      withRetries(inner, { clock, initialMs: 1_000, maxMs: 1_000, jitter: 0, maxAttempts: 5 }),
      60_000,
    );
    assert.ok(err instanceof TransientGoogleError);
    assert.equal(calls, 2, "the outer loop adds no tries of its own");
    assert.ok(!isRetryable(err));
  });

  it("succeeds after a failure, waiting Retry-After", async () => {
    const clock = new FakeClock();
    const at: number[] = [];
    const result = await drive(
      clock,
      withRetries(
        async () => {
          at.push(clock.now());
          if (at.length === 1) throw new RateLimitedError("slow down", 9_000);
          return "ok";
        },
        { clock, initialMs: 1_000, maxMs: 1_000, maxAttempts: 3 },
      ),
      60_000,
    );
    assert.equal(result, "ok");
    assert.equal(at[1] - at[0], 9_000);
  });

  it("counts 429s on their own schedule, and hands every 429 wait to pause instead of sleeping", async () => {
    const clock = new FakeClock();
    const failures = [
      new RateLimitedError("slow down"),
      new TransientGoogleError("down", 503),
      new RateLimitedError("slow down", 50_000),
      new RateLimitedError("slow down"),
    ];
    const paused: number[] = [];
    const slept: number[] = [];
    const start = clock.now();
    let calls = 0;
    const err = await driveToError(
      clock,
      withRetries(
        async () => {
          calls++;
          throw failures.shift() ?? new Error("no more");
        },
        {
          clock,
          initialMs: 1_000,
          maxMs: 1_000,
          jitter: 0,
          maxAttempts: 2,
          rateLimited: {
            initialMs: 10_000,
            maxMs: 120_000,
            jitter: 0,
            maxRetries: 2,
            pause: (ms) => paused.push(ms),
          },
          onRetry: ({ delayMs, error }) => {
            if (!(error instanceof RateLimitedError)) slept.push(delayMs);
          },
        },
      ),
      60_000,
    );
    assert.ok(err instanceof RateLimitedError);
    assert.equal(calls, 4, "two 429 retries and one transient retry, each counted apart");
    assert.deepEqual(paused, [10_000, 50_000, 20_000], "Retry-After wins; the last 429's wait is paid too");
    assert.deepEqual(slept, [1_000]);
    assert.equal(
      clock.now() - start,
      1_000,
      "the 429 waits were left to pause, only the transient one slept here",
    );
    assert.ok(!isRetryable(err), "given up on: final for the loops above");
  });

  it("leaves a one-try view's failure to its caller's schedule when spend is false", async () => {
    const clock = new FakeClock();
    const err = await driveToError(
      clock,
      withRetries(
        async () => {
          throw new TransientGoogleError("down", 503);
        },
        { clock, initialMs: 1_000, maxMs: 1_000, maxAttempts: 1, spend: false },
      ),
      60_000,
    );
    assert.ok(isRetryable(err), "the caller may still try again");
  });
});
