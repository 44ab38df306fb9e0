import assert from "node:assert/strict";
import { Backoff } from "../../src/backoff";
import { sleep } from "../../src/clock";
import { FakeClock } from "../support/fake-clock";

describe("Backoff", () => {
  it("grows exponentially up to the maximum, with jitter within [d/2, d]", () => {
    const noJitter = new Backoff({ initialMs: 1000, maxMs: 8000, jitter: 0 });
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => noJitter.next()),
      [1000, 2000, 4000, 8000, 8000],
    );
    const jittered = new Backoff({ initialMs: 1000, maxMs: 8000, random: () => 1 });
    assert.equal(jittered.next(), 500);
    noJitter.reset();
    assert.equal(noJitter.next(), 1000);
    assert.equal(noJitter.attempts, 1);
  });
});

describe("sleep on a clock", () => {
  it("resolves when the fake clock passes the delay, and aborts", async () => {
    const clock = new FakeClock();
    let done = false;
    void sleep(clock, 5000).then(() => (done = true));
    await clock.advance(4999);
    assert.equal(done, false);
    await clock.advance(1);
    assert.equal(done, true);

    const controller = new AbortController();
    const p = sleep(clock, 5000, controller.signal);
    controller.abort(new Error("stop"));
    await assert.rejects(p, /stop/);
    assert.equal(clock.timers, 0);
  });
});
