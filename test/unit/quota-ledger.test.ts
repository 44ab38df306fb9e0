import assert from "node:assert/strict";
import {
  nextPacificMidnight,
  pacificDay,
  QuotaExhaustedError,
  QuotaLedger,
} from "../../src/youtube/quota-ledger";
import { FakeClock } from "../support/fake-clock";

describe("QuotaLedger", () => {
  it("knows the Pacific day and when it ends, in winter and in summer time", () => {
    // 2026-01-15 07:59 UTC is still the 14th in Los Angeles (PST, UTC-8).
    assert.equal(pacificDay(Date.UTC(2026, 0, 15, 7, 59)), "2026-01-14");
    assert.equal(nextPacificMidnight(Date.UTC(2026, 0, 15, 7, 59)), Date.UTC(2026, 0, 15, 8));
    // In July (PDT, UTC-7) midnight is 07:00 UTC.
    assert.equal(nextPacificMidnight(Date.UTC(2026, 6, 1, 12)), Date.UTC(2026, 6, 2, 7));
    // The night summer time starts (2026-03-08): the 9th begins at 07:00 UTC.
    assert.equal(nextPacificMidnight(Date.UTC(2026, 2, 8, 12)), Date.UTC(2026, 2, 9, 7));
    // The day it ends (2026-11-01) lasts 25 hours: the 2nd begins at 08:00 UTC.
    assert.equal(nextPacificMidnight(Date.UTC(2026, 10, 1, 12)), Date.UTC(2026, 10, 2, 8));
  });

  it("counts Google's costs and refuses, without counting, a call that would pass the quota", () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 20));
    const ledger = new QuotaLedger(105, clock);
    ledger.charge("liveStreams.insert", "A");
    ledger.charge("liveBroadcasts.insert", "B");
    ledger.charge("liveStreams.list", "C");
    assert.equal(ledger.stats().used, 101);
    assert.throws(
      () => ledger.charge("liveBroadcasts.bind", "Binding"),
      (err: unknown) =>
        err instanceof QuotaExhaustedError &&
        /Binding was not sent: it costs 50 units and 101 of the youtube-account's daily quota of 105/.test(
          err.message,
        ) &&
        err.resetsAt === Date.UTC(2026, 0, 2, 8),
    );
    assert.equal(ledger.stats().used, 101);
    ledger.charge("liveStreams.list", "D");
    assert.equal(ledger.stats().used, 102);
  });

  it("starts again at midnight Pacific time", async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 2, 7, 59));
    const ledger = new QuotaLedger(100, clock);
    ledger.charge("liveStreams.insert", "A");
    ledger.charge("liveStreams.insert", "B");
    assert.throws(() => ledger.charge("liveStreams.list", "C"), QuotaExhaustedError);
    await clock.advance(60_000);
    assert.equal(ledger.stats().used, 0);
    ledger.charge("liveStreams.list", "C");
  });

  it("after YouTube's own quotaExceeded, refunds that call and sends nothing more until the reset", async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 20));
    const ledger = new QuotaLedger(10_000, clock);
    ledger.charge("liveBroadcasts.insert", "A");
    ledger.refuseUntilReset("liveBroadcasts.insert");
    assert.equal(ledger.stats().used, 0);
    assert.throws(
      () => ledger.charge("liveStreams.list", "B"),
      /YouTube said the project's daily quota is spent/,
    );
    await clock.advance(13 * 3_600_000);
    ledger.charge("liveStreams.list", "B");
  });

  it("counts uploads in videos.insert's own bucket (100 a day), not in the 10,000 units", () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 20));
    const ledger = new QuotaLedger(10_000, clock);
    for (let i = 0; i < 100; i++) ledger.charge("videos.insert", "Upload");
    assert.deepEqual(
      { used: ledger.stats().used, uploads: ledger.stats().uploads },
      { used: 0, uploads: 100 },
    );
    assert.throws(
      () => ledger.charge("videos.insert", "Starting the upload"),
      (err: unknown) =>
        err instanceof QuotaExhaustedError &&
        /Starting the upload was not sent: videos.insert has a daily allowance of its own/.test(err.message),
    );
    // The other calls are not touched by a spent upload bucket.
    ledger.charge("liveStreams.list", "List");
    assert.equal(ledger.stats().used, 1);
  });

  it("stops uploads only when YouTube says the upload quota is spent, until the next Pacific day", async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 20));
    const ledger = new QuotaLedger(10_000, clock);
    ledger.charge("videos.insert", "Upload");
    ledger.refuseUntilReset("videos.insert");
    assert.equal(ledger.stats().uploads, 0, "the refused call cost nothing");
    assert.throws(() => ledger.charge("videos.insert", "Upload"), QuotaExhaustedError);
    ledger.charge("liveBroadcasts.insert", "Broadcast");
    await clock.advance(12 * 3_600_000);
    ledger.charge("videos.insert", "Upload");
    assert.equal(ledger.stats().uploads, 1);
  });
});
