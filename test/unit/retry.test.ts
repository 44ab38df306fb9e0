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
});
