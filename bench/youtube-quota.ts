/**
 * YouTube quota of youtube-live (`npm run bench`): the units one start → live → stop cycle costs and
 * the units of a simulated day live (rotateHours 11, pollSeconds 60), counted by the fake YouTube's
 * quota (Google's cost table) and by the account's own ledger, on a fake clock. Prints a Markdown table.
 */
import { LiveApi } from "../src/youtube/live-api";
import { LiveBroadcaster, type BroadcastStatus } from "../src/youtube/live-broadcaster";
import { QuotaLedger } from "../src/youtube/quota-ledger";
import { FakeYouTube } from "../test/fixtures/fake-google/youtube";
import { FakeClock } from "../test/support/fake-clock";
import { alwaysToken, FakeYouTubeTransport } from "../test/support/youtube-transport";

async function run(
  nodeId: string,
  liveMs: number,
): Promise<{ fake: number; ledger: number; broadcasts: number }> {
  // 08:05 UTC is 00:05 in Los Angeles: a day live ends before the next quota reset, so both counts compare.
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 8, 5));
  const youtube = new FakeYouTube({ now: () => clock.now(), dailyQuota: 1_000_000 });
  const ledger = new QuotaLedger(1_000_000, clock);
  const api = new LiveApi({
    tokens: alwaysToken,
    ledger,
    baseUrl: "https://youtube.test/youtube/v3",
    clock,
    http: new FakeYouTubeTransport(youtube),
  });
  const settings = {
    title: "{camera}",
    description: "",
    privacy: "unlisted" as const,
    latency: "normal" as const,
    ingest: "rtmps" as const,
    rotateHours: 11,
    captions: false,
    madeForKids: false,
    pollSeconds: 60,
  };
  const b = new LiveBroadcaster({ api, ledger, nodeId, settings, clock });
  let last: BroadcastStatus | undefined;
  b.on("status", (s: BroadcastStatus) => (last = s));
  const target = await b.follow({ action: "url", event: "started", camera: "cam" });
  youtube.ingest(target?.streamKey ?? "", true);
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 600 && !check(); i++) await clock.advance(1_000);
  };
  await until(() => last?.state === "live");
  await clock.advance(liveMs);
  await b.follow({ action: "end" });
  await until(() => last?.state === "complete");
  b.close();
  return { fake: youtube.unitsUsed(), ledger: ledger.stats().used, broadcasts: youtube.broadcasts().length };
}

async function main(): Promise<void> {
  const cycle = await run("bench-cycle", 60_000);
  const day = await run("bench-day", 23.5 * 3_600_000);
  console.log(
    "| youtube-live, rtmps ingest, pollSeconds 60 | units (fake YouTube) | units (ledger) | broadcasts |",
  );
  console.log("| --- | --- | --- | --- |");
  console.log(`| start → live → 1 min live → stop | ${cycle.fake} | ${cycle.ledger} | ${cycle.broadcasts} |`);
  console.log(`| 23.5 h live, rotateHours 11, then stop | ${day.fake} | ${day.ledger} | ${day.broadcasts} |`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
