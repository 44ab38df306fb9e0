import assert from "node:assert/strict";
import type { ProgressSample } from "../../src/ffmpeg/progress";
import { StallWatchdog } from "../../src/ffmpeg/stall-watchdog";
import { FakeClock } from "../support/fake-clock";

function sample(frames: number | null, outTimeUs: number | null = null): ProgressSample {
  return {
    frames,
    fps: null,
    bitrateKbps: null,
    totalSize: null,
    outTimeUs,
    speed: null,
    dupFrames: null,
    dropFrames: null,
    end: false,
  };
}

function setup(timeoutMs = 20_000) {
  const clock = new FakeClock();
  const stalls: number[] = [];
  const watchdog = new StallWatchdog(clock, timeoutMs, (idle) => stalls.push(idle));
  return { clock, stalls, watchdog };
}

describe("StallWatchdog", () => {
  it("reports a run that never makes progress once, after the timeout", async () => {
    const { clock, stalls } = setup();
    await clock.advance(19_999);
    assert.deepEqual(stalls, []);
    await clock.advance(1);
    assert.deepEqual(stalls, [20_000]);
    await clock.advance(60_000);
    assert.deepEqual(stalls, [20_000], "once");
    assert.equal(clock.timers, 0);
  });

  it("counts more frames or more output time as progress; the same figures are not", async () => {
    const { clock, stalls, watchdog } = setup();
    assert.equal(watchdog.observe(sample(15)), true);
    assert.equal(watchdog.observe(sample(15)), false, "no more frames");
    assert.equal(watchdog.observe(sample(15, 1_000_000)), true, "more output time (audio only, say)");
    assert.equal(watchdog.observe(sample(null, null)), false, "N/A figures");
    assert.equal(watchdog.observe(sample(10, 500_000)), false, "figures never go back");
    await clock.advance(20_000);
    assert.deepEqual(stalls, [20_000]);
  });

  it("progress moves the deadline: a stall is counted from the last advance", async () => {
    const { clock, stalls, watchdog } = setup();
    let frames = 0;
    for (let i = 0; i < 30; i++) {
      watchdog.observe(sample((frames += 15)));
      await clock.advance(1000);
    }
    assert.deepEqual(stalls, []);
    // The last advance was at 29 s; blocks keep coming but frames do not move.
    watchdog.observe(sample(frames));
    await clock.advance(18_999);
    assert.deepEqual(stalls, []);
    await clock.advance(1);
    assert.deepEqual(stalls, [20_000]);
    assert.equal(clock.timers, 0, "one timer at a time, none after the stall");
  });

  it("stop() cancels it", async () => {
    const { clock, stalls, watchdog } = setup();
    watchdog.stop();
    assert.equal(clock.timers, 0);
    await clock.advance(60_000);
    assert.deepEqual(stalls, []);
  });
});
