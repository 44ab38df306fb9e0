/**
 * The README's "one project carries at most 40 cameras", checked: real StreamKeepers on one real
 * SdmClient and its CommandBudget (10 commands per 61 s) against the fake Google's sandbox limits,
 * all cameras started at once, 5-minute streams, on a fake clock (test/support/camera-capacity.ts).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { findSourceFile } from "../fixtures/ports";
import { largestCameraCount, simulateCameras, type CapacityReport } from "../support/camera-capacity";

const HOUR = 3_600_000;

/** Every stream stayed alive: no expiry, no replacement, no second without a live URL, no 429. */
function assertHeld(r: CapacityReport): void {
  const what = JSON.stringify(r);
  assert.equal(r.expired, 0, `no stream expired: ${what}`);
  assert.equal(r.restarts, 0, `no stream had to be replaced: ${what}`);
  assert.equal(r.secondsWithoutStream, 0, `every camera always had a live URL: ${what}`);
  assert.equal(r.live, r.cameras, `every camera is live at the end: ${what}`);
  assert.equal(r.generates, r.cameras, `one GenerateRtspStream per camera: ${what}`);
  assert.equal(r.refused429, 0, `Google refused nothing: ${what}`);
  assert.ok(r.maxPerMinute <= 10, `at most 10 commands in any minute: ${what}`);
  assert.deepEqual(r.violations, []);
}

describe("cameras per project (simulated, 5-minute streams, 10 commands per 61 s)", function () {
  this.timeout(60_000);
  let hour: CapacityReport;

  before(async () => {
    hour = await simulateCameras(40, { durationMs: HOUR });
  });

  it("40 cameras started at once, for an hour: no stream expires, about one command per camera every 4 minutes", () => {
    assertHeld(hour);
    // A generate, then an extend when about a minute of the 5 is left: at most 1 + 15 in the hour
    // (one camera alone sends 16); queueing behind the full budget stretches the interval.
    assert.ok(
      hour.commandsPerCameraHour > 14 && hour.commandsPerCameraHour <= 16,
      `commands per camera-hour ${hour.commandsPerCameraHour}`,
    );
    assert.equal(hour.commands, hour.generates + hour.extends, "nothing but generates and extends");
    // Each extend was answered with time to spare (well over the keeper's 10 s safety margin).
    assert.ok(hour.minLeftAtExtendMs > 10_000, `closest call ${hour.minLeftAtExtendMs} ms`);
    // 40 cameras use the whole budget: the queue fills but is served.
    assert.equal(hour.maxPerMinute, 10, "the budget was full");
    assert.ok(hour.maxQueued > 0 && hour.maxQueued < hour.cameras, `most queued ${hour.maxQueued}`);
  });

  it("the queue stays bounded: three hours queue no more than one", async () => {
    const three = await simulateCameras(40, { durationMs: 3 * HOUR });
    assertHeld(three);
    // A queue that grew by even one command every few minutes would be longer after three hours.
    assert.ok(
      three.maxQueuedSecondHalf <= hour.maxQueuedSecondHalf,
      `second half of 3 h: ${three.maxQueuedSecondHalf} queued; of 1 h: ${hour.maxQueuedSecondHalf}`,
    );
    assert.ok(three.queuedAtEnd <= hour.maxQueuedSecondHalf, `queued at the end ${three.queuedAtEnd}`);
    assert.ok(three.commandsPerCameraHour > 14 && three.commandsPerCameraHour <= 16);
  });

  it("one camera more than the largest count that holds loses streams, and the README says that count", async () => {
    const largest = await largestCameraCount(80, { durationMs: HOUR });
    assert.ok(largest >= 1, "at least one camera holds");
    const over = await simulateCameras(largest + 1, { durationMs: HOUR });
    assert.ok(over.expired > 0 && over.restarts > 0, `${largest + 1} cameras: ${JSON.stringify(over)}`);
    const readme = fs.readFileSync(findSourceFile("README.md", __dirname), "utf8");
    const claim = /one\s+project\s+carries\s+(?:at\s+most\s+|about\s+)?(\d+)\s+cameras/.exec(readme);
    assert.ok(claim, "the README states how many cameras one project carries");
    assert.equal(Number(claim[1]), largest, "the README's camera count is the largest that holds");
  });
});
