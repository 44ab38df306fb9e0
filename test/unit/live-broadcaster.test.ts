import assert from "node:assert/strict";
import { LiveApi } from "../../src/youtube/live-api";
import {
  CLOSE_WAIT_MS,
  LiveBroadcaster,
  type BroadcasterMemory,
  type BroadcastSettings,
  type BroadcastStatus,
} from "../../src/youtube/live-broadcaster";
import type { HttpRequest, HttpResponse } from "../../src/google/http";
import type { LiveTarget } from "../../src/youtube/live-broadcaster";
import { QuotaLedger } from "../../src/youtube/quota-ledger";
import { FakeYouTube } from "../fixtures/fake-google/youtube";
import { FakeClock, flush } from "../support/fake-clock";
import { alwaysToken, FakeYouTubeTransport } from "../support/youtube-transport";

const HOUR = 3_600_000;
const SETTINGS: BroadcastSettings = {
  title: "{camera} live {date}",
  description: "",
  privacy: "unlisted",
  latency: "normal",
  ingest: "rtmps",
  rotateHours: 11,
  captions: false,
  madeForKids: false,
  pollSeconds: 60,
};
let nodeSeq = 0;

function setup(
  settings: Partial<BroadcastSettings> = {},
  options: { dailyQuota?: number; nodeId?: string } = {},
) {
  // 2026-01-01 12:00 UTC: far from a Pacific midnight, so the day's count never resets mid-test.
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 12));
  const youtube = new FakeYouTube({ now: () => clock.now(), rtmpsBase: "rtmps://ingest.test/live2" });
  const ledger = new QuotaLedger(options.dailyQuota ?? 10_000, clock);
  const transport = new FakeYouTubeTransport(youtube);
  const api = new LiveApi({
    tokens: alwaysToken,
    ledger,
    baseUrl: "https://youtube.test/youtube/v3",
    clock,
    http: transport,
    random: () => 0.5,
  });
  const nodeId = options.nodeId ?? `node-${++nodeSeq}`;
  const make = (memory?: BroadcasterMemory) =>
    new LiveBroadcaster({
      api,
      ledger,
      nodeId,
      name: "Front",
      settings: { ...SETTINGS, ...settings },
      clock,
      memory,
    });
  const broadcaster = make();
  const statuses: BroadcastStatus[] = [];
  broadcaster.on("status", (s: BroadcastStatus) => statuses.push(s));
  return { clock, youtube, ledger, api, broadcaster, statuses, make, nodeId, transport };
}

/** Advances fake time in steps until `check` holds (fails after `maxMs`). */
async function until(clock: FakeClock, check: () => boolean, maxMs = HOUR, stepMs = 1_000): Promise<void> {
  for (let waited = 0; !check(); waited += stepMs) {
    if (waited > maxMs) throw new Error(`not reached within ${maxMs} ms of fake time`);
    await clock.advance(stepMs);
  }
}

const started = (camera = "Front door") => ({ action: "url" as const, event: "started" as const, camera });
const liveOnes = (yt: FakeYouTube) => yt.broadcasts().filter((b) => b.status?.lifeCycleStatus === "live");
const count = (yt: FakeYouTube, name: string) => yt.calls.filter((c) => c.name === name).length;

describe("LiveBroadcaster (fake YouTube, fake clock)", () => {
  it("makes one reusable stream and a bound broadcast, and goes live once YouTube reads the stream active", async () => {
    const { clock, youtube, broadcaster, statuses } = setup();
    const target = await broadcaster.follow(started());
    assert.ok(target);
    assert.equal(target.target, "youtube-rtmps");
    assert.match(target.url, /^rtmps:\/\/ingest\.test\/live2/);
    const [stream] = youtube.streams();
    assert.equal(target.streamKey, stream.cdn?.ingestionInfo?.streamName);
    assert.equal(stream.contentDetails?.isReusable, true);
    const [b] = youtube.broadcasts();
    assert.equal(b.contentDetails?.boundStreamId, stream.id);
    assert.match(b.snippet?.title ?? "", /^Front door live 2026-01-01$/);

    // No media yet: it waits, polling sparingly, and does not go live.
    await clock.advance(60_000);
    await flush();
    assert.equal(liveOnes(youtube).length, 0);
    const pollsWhileWaiting = youtube.calls.filter((c) => c.name === "liveStreams.list").length;
    assert.ok(pollsWhileWaiting >= 3 && pollsWhileWaiting <= 12, `polls in a minute: ${pollsWhileWaiting}`);

    youtube.ingest(target.streamKey, true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    assert.equal(liveOnes(youtube).length, 1);
    const last = statuses.at(-1);
    assert.equal(last?.watchUrl, `https://www.youtube.com/watch?v=${b.id}`);
    assert.equal(last?.health, "good");
    broadcaster.close();
  });

  it("makes the broadcast with the node's privacy, made-for-kids flag, captions and msg.title; msg.target per ingest", async () => {
    const { youtube, broadcaster } = setup({
      privacy: "private",
      madeForKids: true,
      captions: true,
      latency: "low",
      description: "the porch",
    });
    const target = await broadcaster.follow({ ...started(), title: "Porch at night {date}" });
    const [b] = youtube.broadcasts();
    assert.equal(b.snippet?.title, "Porch at night 2026-01-01");
    assert.equal(b.snippet?.description, "the porch");
    assert.equal(b.status?.privacyStatus, "private");
    assert.equal(b.status?.selfDeclaredMadeForKids, true);
    assert.equal(b.contentDetails?.latencyPreference, "low");
    assert.equal(b.contentDetails?.closedCaptionsType, "closedCaptionsHttpPost");
    const [stream] = youtube.streams();
    assert.equal(broadcaster.captionsUrl, stream.contentDetails?.closedCaptionsIngestionUrl);
    assert.equal(target?.target, "youtube-rtmps");
    assert.equal(target?.url, stream.cdn?.ingestionInfo?.rtmpsIngestionAddress);
    broadcaster.close();

    for (const [ingest, kind, type] of [
      ["rtmp", "youtube-rtmp", "rtmp"],
      ["hls", "youtube-hls", "hls"],
    ] as const) {
      const other = setup({ ingest });
      const t = await other.broadcaster.follow(started());
      const [s2] = other.youtube.streams();
      assert.equal(s2.cdn?.ingestionType, type);
      assert.deepEqual(t, {
        target: kind,
        url: s2.cdn?.ingestionInfo?.ingestionAddress,
        streamKey: s2.cdn?.ingestionInfo?.streamName,
      });
      assert.equal(other.broadcaster.captionsUrl, undefined, "no caption URL with captions off");
      other.broadcaster.close();
    }
  });

  it("checks health every pollSeconds while live, and passes extended/restarted without calls", async () => {
    const { clock, youtube, broadcaster, statuses } = setup({ pollSeconds: 120 });
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    const before = youtube.calls.length;
    const again = await broadcaster.follow({ action: "url", event: "extended", camera: "Front door" });
    assert.deepEqual(again, target);
    await broadcaster.follow({ action: "url", event: "restarted", camera: "Front door" });
    assert.equal(youtube.calls.length, before, "extended and restarted cost nothing");
    await clock.advance(10 * 60_000);
    const checks = youtube.calls.slice(before).filter((c) => c.name === "liveBroadcasts.list").length;
    assert.ok(checks >= 4 && checks <= 6, `checks in 10 min at 120 s: ${checks}`);
    broadcaster.close();
  });

  it("replaces a broadcast YouTube ended while the camera still streams, on the same stream", async () => {
    const { clock, youtube, broadcaster, statuses } = setup({ pollSeconds: 30 });
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    const first = statuses.at(-1)?.broadcastId;
    youtube.endBroadcast(first ?? "");
    await until(clock, () => statuses.at(-1)?.state === "live" && statuses.at(-1)?.broadcastId !== first);
    assert.equal(youtube.streams().length, 1);
    assert.equal(liveOnes(youtube).length, 1);
    assert.equal(broadcaster.target?.streamKey, target?.streamKey, "same key: ffmpeg is untouched");
    broadcaster.close();
  });

  it("rotates after rotateHours, never two broadcasts live at once", async () => {
    const { clock, youtube, broadcaster, statuses } = setup({ rotateHours: 2, pollSeconds: 60 });
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    let maxLive = 0;
    const statusTimes: { at: number; id: string; state: string }[] = [];
    broadcaster.on("status", (s: BroadcastStatus) => {
      maxLive = Math.max(maxLive, liveOnes(youtube).length);
      statusTimes.push({ at: clock.now(), id: s.broadcastId ?? "", state: s.state });
    });
    await until(clock, () => statuses.at(-1)?.state === "live");
    await clock.advance(5 * HOUR);
    await until(clock, () => statuses.at(-1)?.state === "live", 60_000);
    const all = youtube.broadcasts();
    assert.ok(all.length >= 3, `broadcasts in 5 h at 2 h each: ${all.length}`);
    assert.equal(maxLive, 1);
    // Each broadcast took over when the one before had been live rotateHours (plus at most one check
    // at pollSeconds and the few seconds of going live), never earlier; all on the one stream and key.
    const liveAt = new Map<string, number>();
    for (const c of statusTimes) if (c.state === "live" && !liveAt.has(c.id)) liveAt.set(c.id, c.at);
    const starts = [...liveAt.values()];
    assert.equal(starts.length, 3, `broadcasts live in 5 h: ${starts.length}`);
    for (let i = 1; i < starts.length; i++) {
      const gap = starts[i] - starts[i - 1];
      assert.ok(gap >= 2 * HOUR && gap <= 2 * HOUR + 90_000, `broadcast ${i + 1} took over after ${gap} ms`);
    }
    assert.equal(youtube.streams().length, 1);
    assert.equal(broadcaster.target?.streamKey, target?.streamKey, "same key: ffmpeg is untouched");
    assert.equal(liveOnes(youtube).length, 1);
    assert.ok(all.filter((b) => b.status?.lifeCycleStatus === "complete").length >= 2);
    broadcaster.close();
  });

  it("completes a live broadcast on stop, and deletes one that never went live", async () => {
    const { clock, youtube, broadcaster, statuses } = setup();
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    assert.equal(await broadcaster.follow({ action: "end" }), null);
    await until(clock, () => statuses.at(-1)?.state === "complete", 10_000);
    assert.equal(youtube.broadcasts()[0].status?.lifeCycleStatus, "complete");

    youtube.ingest(target?.streamKey ?? "", false);
    await clock.advance(10_000); // YouTube reads the stream inactive a few seconds after media stops
    await broadcaster.follow(started());
    assert.equal(youtube.broadcasts().length, 2);
    await broadcaster.follow({ action: "end" });
    await until(clock, () => statuses.at(-1)?.state === "complete", 10_000);
    assert.equal(youtube.broadcasts().length, 1, "the unused broadcast is deleted");
    broadcaster.close();
  });

  it("finds its stream again after a restart (one list) and reuses it after a redeploy (no call)", async () => {
    const first = setup();
    await first.broadcaster.follow(started());
    first.broadcaster.close();
    const inserts = () => first.youtube.calls.filter((c) => c.name === "liveStreams.insert").length;
    assert.equal(inserts(), 1);
    // A redeploy: a new broadcaster for the same node in the same process.
    // Looking the stream up is a list of the channel's streams (mine=true).
    const lists = () =>
      first.transport.requests.filter((r) => /\/liveStreams\?.*mine=true/.test(r.url)).length;
    const listsBefore = lists();
    const again = first.make();
    await again.follow(started());
    assert.equal(inserts(), 1);
    assert.equal(lists(), listsBefore, "a redeploy looks nothing up");
    again.close();
    // A restart: a new process remembers nothing, and finds the stream by its mark with one list.
    const restarted = first.make({ streams: new Map(), live: new Map() });
    await restarted.follow(started());
    assert.equal(lists(), listsBefore + 1);
    assert.equal(inserts(), 1);
    assert.equal(first.youtube.streams().length, 1);
    restarted.close();
  });

  it("after a crash and a restart goes on with the broadcast still live on its stream", async () => {
    const { clock, youtube, broadcaster, statuses, make } = setup();
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    const live = statuses.at(-1)?.broadcastId;
    broadcaster.close(); // Node-RED killed: nothing completed, the broadcast stays live
    const restarted = make({ streams: new Map(), live: new Map() });
    const seen: BroadcastStatus[] = [];
    restarted.on("status", (s: BroadcastStatus) => seen.push(s));
    await restarted.follow(started());
    await clock.advance(2 * 60_000);
    assert.equal(youtube.broadcasts().length, 1, "no second broadcast");
    assert.equal(liveOnes(youtube)[0]?.id, live);
    assert.equal(seen.at(-1)?.state, "live");
    assert.ok(!seen.some((s) => s.state === "error"));
    restarted.close();
  });

  it("refuses a call that would pass the daily quota before sending it, and says when it resets", async () => {
    const { youtube, broadcaster, statuses, ledger } = setup({}, { dailyQuota: 120 });
    await assert.rejects(
      broadcaster.follow(started()),
      /daily quota of 120[\s\S]*resets at midnight Pacific/,
    );
    assert.equal(statuses.at(-1)?.state, "error");
    // Stream list (1) + stream insert (50) + broadcast insert (50) = 101 (a stream made just now has no
    // broadcast to look for); the bind (50) was never sent.
    assert.equal(ledger.stats().used, 101);
    assert.equal(youtube.unitsUsed(), 101);
    assert.ok(!youtube.calls.some((c) => c.name === "liveBroadcasts.bind"));
    broadcaster.close();
  });

  it("explains a channel that cannot stream live", async () => {
    const { youtube, broadcaster } = setup();
    youtube.liveStreamingEnabled = false;
    await assert.rejects(broadcaster.follow(started()), /enable it in YouTube Studio[\s\S]*24 hours/);
    broadcaster.close();
  });

  it("waits on errorStreamInactive and takes the broadcast live later", async () => {
    const { clock, youtube, broadcaster, statuses } = setup();
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    youtube.fail("liveBroadcasts.transition", 403, "errorStreamInactive", 2);
    await until(clock, () => statuses.at(-1)?.state === "live");
    assert.equal(liveOnes(youtube).length, 1);
    assert.ok(!statuses.some((s) => s.state === "error"), "a wait, not an error");
    broadcaster.close();
  });

  it("on redundantTransition reads where the broadcast is and goes on from there", async () => {
    const { clock, youtube, broadcaster, statuses } = setup();
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    youtube.fail("liveBroadcasts.transition", 403, "redundantTransition", 1);
    await until(clock, () => statuses.at(-1)?.state === "live");
    assert.equal(liveOnes(youtube).length, 1);
    assert.ok(!statuses.some((s) => s.state === "error"));
    broadcaster.close();
  });

  it("on invalidTransition of a broadcast that ended meanwhile makes a new one on the same stream", async () => {
    const { clock, youtube, broadcaster, statuses } = setup();
    const target = await broadcaster.follow(started());
    const first = youtube.broadcasts()[0].id;
    youtube.endBroadcast(first);
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    const refused = youtube.calls.filter((c) => c.name === "liveBroadcasts.transition" && c.status === 403);
    assert.equal(
      refused.length,
      1,
      "YouTube answered the transition of the ended broadcast invalidTransition",
    );
    const live = liveOnes(youtube);
    assert.equal(live.length, 1);
    assert.notEqual(live[0].id, first);
    assert.equal(youtube.streams().length, 1);
    broadcaster.close();
  });

  it("reports a spent quota from YouTube itself, and sends nothing more until the reset", async () => {
    const { clock, youtube, broadcaster, statuses } = setup({ pollSeconds: 60 });
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    youtube.fail("liveBroadcasts.list", 403, "quotaExceeded", 1);
    await until(clock, () => statuses.at(-1)?.state === "error", 5 * 60_000);
    assert.match(statuses.at(-1)?.error ?? "", /daily quota[\s\S]*resets at midnight Pacific time/);
    const sent = youtube.calls.length;
    await clock.advance(30 * 60_000);
    assert.equal(youtube.calls.length, sent, "nothing sent while the quota is spent");
    broadcaster.close();
  });

  it("a bind that fails leaves no broadcast behind, and the next start binds a new one", async () => {
    const { youtube, broadcaster } = setup();
    youtube.fail("liveBroadcasts.bind", 503, "backendError", 1);
    await assert.rejects(broadcaster.follow(started()));
    assert.equal(youtube.broadcasts().length, 0, "the unbound broadcast was deleted");
    await broadcaster.follow(started());
    const [b] = youtube.broadcasts();
    assert.equal(b.contentDetails?.boundStreamId, youtube.streams()[0].id);
    broadcaster.close();
  });

  it("an insert whose answer is lost: the broadcast YouTube made is found and used, none left over", async () => {
    const { youtube, broadcaster, transport } = setup();
    const warnings: string[] = [];
    broadcaster.on("warning", (w: string) => warnings.push(w));
    transport.loseAnswers("POST", "/liveBroadcasts");
    const target = await broadcaster.follow(started());
    assert.ok(target);
    assert.equal(count(youtube, "liveBroadcasts.insert"), 1, "one insert: the one whose answer was lost");
    const [b, ...more] = youtube.broadcasts();
    assert.deepEqual(more, [], "no second broadcast");
    assert.equal(b.contentDetails?.boundStreamId, youtube.streams()[0].id);
    assert.match(warnings.join("\n"), new RegExp(`broadcast ${b.id} although its answer was lost`));
    broadcaster.close();
  });

  it("an insert whose answer is lost and whose broadcast cannot be listed then: the next try finds it", async () => {
    const { clock, youtube, broadcaster, transport } = setup();
    // Right after the lost answer, YouTube's list fails too (every retry of it).
    transport.loseAnswers("POST", "/liveBroadcasts", 1, () =>
      youtube.fail("liveBroadcasts.list", 503, "backendError", 3),
    );
    let settled = false;
    const first = assert.rejects(broadcaster.follow(started())).finally(() => (settled = true));
    await until(clock, () => settled, 5 * 60_000); // the list's own retries back off on the clock
    await first;
    assert.equal(youtube.broadcasts().length, 1, "YouTube made it");
    await broadcaster.follow(started());
    assert.equal(count(youtube, "liveBroadcasts.insert"), 1, "not made twice");
    const [b, ...more] = youtube.broadcasts();
    assert.deepEqual(more, []);
    assert.equal(b.contentDetails?.boundStreamId, youtube.streams()[0].id);
    broadcaster.close();
  });

  it("an insert lost before it reached YouTube fails the start; the next start makes one broadcast", async () => {
    const { youtube, broadcaster } = setup();
    youtube.fail("liveBroadcasts.insert", 503, "backendError", 1);
    await assert.rejects(broadcaster.follow(started()), /Backend Error|backendError|503/);
    assert.equal(count(youtube, "liveBroadcasts.list"), 1, "looked for it once");
    assert.equal(youtube.broadcasts().length, 0);
    await broadcaster.follow(started());
    assert.equal(youtube.broadcasts().length, 1);
    broadcaster.close();
  });

  it("a stop that arrives while a start waits for YouTube is passed on after it", async () => {
    const { broadcaster } = setup();
    const order: string[] = [];
    const start = broadcaster.follow(started()).then(() => order.push("start"));
    const stop = broadcaster.follow({ action: "end" }).then(() => order.push("stop"));
    await Promise.all([start, stop]);
    assert.deepEqual(order, ["start", "stop"]);
    broadcaster.close();
  });

  it("the ledger matches the fake's count for a start → live → stop cycle", async () => {
    const { clock, youtube, broadcaster, statuses, ledger } = setup();
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    await broadcaster.follow({ action: "end" });
    await until(clock, () => statuses.at(-1)?.state === "complete", 10_000);
    assert.equal(ledger.stats().used, youtube.unitsUsed());
    broadcaster.close();
  });
  // ---------------------------------------------------------------- review fixes

  it("a rotation whose bind fails goes on with the broadcast it made: never more than one spare", async () => {
    const { clock, youtube, broadcaster, statuses } = setup({ rotateHours: 2, pollSeconds: 60 });
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    const first = statuses.at(-1)?.broadcastId;
    youtube.fail("liveBroadcasts.bind", 503, "backendError", 2);
    await clock.advance(2 * HOUR);
    await until(
      clock,
      () => statuses.at(-1)?.state === "live" && statuses.at(-1)?.broadcastId !== first,
      HOUR,
    );
    assert.equal(count(youtube, "liveBroadcasts.insert"), 2, "one broadcast made for the rotation");
    assert.equal(youtube.broadcasts().length, 2);
    assert.equal(liveOnes(youtube).length, 1);
    broadcaster.close();
  });

  it("a rotation whose completion of the old broadcast fails reuses the bound spare on the retry", async () => {
    const { clock, youtube, broadcaster, statuses } = setup({ rotateHours: 2, pollSeconds: 60 });
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    const first = statuses.at(-1)?.broadcastId;
    youtube.fail("liveBroadcasts.transition", 503, "backendError", 2);
    await clock.advance(2 * HOUR);
    await until(
      clock,
      () => statuses.at(-1)?.state === "live" && statuses.at(-1)?.broadcastId !== first,
      HOUR,
    );
    assert.equal(count(youtube, "liveBroadcasts.insert"), 2);
    assert.equal(count(youtube, "liveBroadcasts.bind"), 2);
    assert.equal(youtube.broadcasts().length, 2);
    const old = youtube.broadcasts().find((b) => b.id === first);
    assert.equal(old?.status?.lifeCycleStatus, "complete");
    broadcaster.close();
  });

  it("a rotation after a redeploy takes the upcoming broadcast already bound to the stream", async () => {
    const { clock, youtube, broadcaster, statuses, api } = setup({ rotateHours: 2, pollSeconds: 60 });
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    // A spare left bound by an earlier node (it made and bound one, then was redeployed).
    const spare = await api.insertBroadcast({
      title: "spare",
      privacy: "unlisted",
      latency: "normal",
      captions: false,
      madeForKids: false,
      scheduledStartTime: new Date(clock.now()).toISOString(),
    });
    await api.bind(spare.id, youtube.streams()[0].id);
    await clock.advance(2 * HOUR);
    await until(clock, () => statuses.at(-1)?.broadcastId === spare.id && statuses.at(-1)?.state === "live");
    assert.equal(count(youtube, "liveBroadcasts.insert"), 2, "no third broadcast");
    broadcaster.close();
  });

  it("stop reads the broadcast's state first: one YouTube already ended is done, not an error", async () => {
    const { clock, youtube, broadcaster, statuses } = setup({ pollSeconds: 600 });
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    const id = statuses.at(-1)?.broadcastId ?? "";
    youtube.endBroadcast(id); // the node's cache still says live
    const before = youtube.calls.length;
    await broadcaster.follow({ action: "end" });
    await until(clock, () => statuses.at(-1)?.state === "complete", 10_000);
    assert.ok(!statuses.some((s) => s.state === "error"));
    assert.deepEqual(
      youtube.calls.slice(before).map((c) => c.name),
      ["liveBroadcasts.list"],
      "one read (1 unit), no transition",
    );
    broadcaster.close();
  });

  it("stop of a broadcast deleted in YouTube Studio is done; of a ready one deletes it after reading", async () => {
    const { clock, youtube, broadcaster, statuses } = setup();
    await broadcaster.follow(started());
    const [b] = youtube.broadcasts();
    youtube.studioDeleteBroadcast(b.id);
    await broadcaster.follow({ action: "end" });
    await until(clock, () => statuses.at(-1)?.state === "complete", 10_000);
    assert.ok(!statuses.some((s) => s.state === "error"), JSON.stringify(statuses.at(-1)));

    await broadcaster.follow(started());
    const before = youtube.calls.length;
    await broadcaster.follow({ action: "end" });
    await until(clock, () => statuses.at(-1)?.state === "complete", 10_000);
    assert.deepEqual(
      youtube.calls
        .slice(before)
        .map((c) => c.name)
        .filter((n) => n.startsWith("liveBroadcasts.")),
      ["liveBroadcasts.list", "liveBroadcasts.delete"],
      "read first (1 unit), then deleted",
    );
    assert.equal(youtube.broadcasts().length, 0);
    broadcaster.close();
  });

  it("stop of a broadcast that went live meanwhile (deletion not allowed) completes it", async () => {
    const { clock, youtube, broadcaster, statuses } = setup();
    await broadcaster.follow(started());
    // YouTube read it "ready"; the delete is refused because it went live in between.
    youtube.fail("liveBroadcasts.delete", 403, "liveBroadcastDeletionNotAllowed", 1);
    const [b] = youtube.broadcasts();
    const target = broadcaster.target;
    youtube.ingest(target?.streamKey ?? "", true);
    await clock.advance(4_000);
    await broadcaster.follow({ action: "end" });
    await until(
      clock,
      () => statuses.at(-1)?.state === "complete" || statuses.at(-1)?.state === "error",
      10_000,
    );
    assert.equal(statuses.at(-1)?.state, "complete", statuses.at(-1)?.error);
    assert.ok(youtube.broadcasts().every((x) => x.id !== b.id || x.status?.lifeCycleStatus !== "live"));
    broadcaster.close();
  });

  it("a broadcast deleted in YouTube Studio before it went live is replaced, and goes live", async () => {
    const { clock, youtube, broadcaster, statuses } = setup();
    const target = await broadcaster.follow(started());
    const [b] = youtube.broadcasts();
    youtube.studioDeleteBroadcast(b.id);
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live", 10 * 60_000);
    assert.equal(liveOnes(youtube).length, 1);
    assert.notEqual(liveOnes(youtube)[0].id, b.id);
    assert.equal(youtube.streams().length, 1);
    broadcaster.close();
  });

  it("a live broadcast deleted in YouTube Studio is replaced on the same stream", async () => {
    const { clock, youtube, broadcaster, statuses } = setup({ pollSeconds: 30 });
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    const first = statuses.at(-1)?.broadcastId ?? "";
    youtube.studioDeleteBroadcast(first);
    await until(clock, () => statuses.at(-1)?.state === "live" && statuses.at(-1)?.broadcastId !== first);
    assert.equal(liveOnes(youtube).length, 1);
    broadcaster.close();
  });

  it("a stream deleted in YouTube Studio is made again once, with a new destination and broadcast", async () => {
    const { clock, youtube, broadcaster, statuses } = setup({ pollSeconds: 30 });
    const targets: LiveTarget[] = [];
    broadcaster.on("target", (t: LiveTarget) => targets.push(t));
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    const old = youtube.streams()[0].id;
    youtube.studioDeleteStream(old);
    await until(clock, () => targets.length > 0, 5 * 60_000);
    assert.equal(youtube.streams().length, 1);
    const [fresh] = youtube.streams();
    assert.notEqual(fresh.id, old);
    assert.equal(targets[0].streamKey, fresh.cdn?.ingestionInfo?.streamName);
    assert.equal(broadcaster.target?.streamKey, targets[0].streamKey);
    youtube.ingest(targets[0].streamKey, true);
    await until(clock, () => statuses.at(-1)?.state === "live" && statuses.at(-1)?.streamId === fresh.id);
    assert.equal(liveOnes(youtube)[0]?.contentDetails?.boundStreamId, fresh.id);
    // Gone again in the same camera session: not made a third time, and said why.
    youtube.studioDeleteStream(fresh.id);
    await until(clock, () => statuses.at(-1)?.state === "error", 5 * 60_000);
    assert.match(statuses.at(-1)?.error ?? "", /gone again/);
    await clock.advance(10 * 60_000);
    assert.equal(count(youtube, "liveStreams.insert"), 2);
    broadcaster.close();
  });

  it("a stream made again after a failed try: the next check tries again, and ffmpeg gets the key first", async () => {
    const { clock, youtube, broadcaster, statuses } = setup({ pollSeconds: 30 });
    const targets: LiveTarget[] = [];
    broadcaster.on("target", (t: LiveTarget) => targets.push(t));
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    youtube.studioDeleteStream(youtube.streams()[0].id);
    youtube.fail("liveStreams.insert", 503, "backendError", 1);
    // and YouTube refuses the first new broadcast: the new key still reaches ffmpeg
    youtube.fail("liveBroadcasts.insert", 503, "backendError", 1);
    await until(clock, () => targets.length > 0, 10 * 60_000);
    assert.ok(
      statuses.some((s) => s.state === "error"),
      "the failed try is reported",
    );
    assert.equal(youtube.streams().length, 1);
    youtube.ingest(targets[0].streamKey, true);
    const fresh = youtube.streams()[0].id;
    await until(clock, () => statuses.at(-1)?.state === "live" && statuses.at(-1)?.streamId === fresh, HOUR);
    assert.equal(targets.length, 1);
    assert.equal(count(youtube, "liveStreams.insert"), 3, "the first, the failed try, the one made again");
    assert.equal(liveOnes(youtube).length, 1);
    broadcaster.close();
  });

  it("a stream known in this process but deleted in YouTube Studio is made again at the next start", async () => {
    const first = setup();
    await first.broadcaster.follow(started());
    await first.broadcaster.follow({ action: "end" });
    first.broadcaster.close();
    first.youtube.studioDeleteStream(first.youtube.streams()[0].id);
    const again = first.make();
    const target = await again.follow(started());
    assert.equal(first.youtube.streams().length, 1);
    assert.equal(target?.streamKey, first.youtube.streams()[0].cdn?.ingestionInfo?.streamName);
    const live = first.youtube.broadcasts().filter((b) => b.status?.lifeCycleStatus === "ready");
    assert.equal(live.length, 1);
    assert.equal(live[0].contentDetails?.boundStreamId, first.youtube.streams()[0].id);
    again.close();
  });

  it("output 2 tells changes only: polls that change nothing send nothing", async () => {
    const { clock, youtube, broadcaster, statuses } = setup({ pollSeconds: 60 });
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    await clock.advance(2 * 60_000);
    const sent = statuses.length;
    await clock.advance(20 * 60_000);
    assert.equal(statuses.length, sent, "20 polls, no change, nothing sent");
    youtube.setStreamHealth(youtube.streams()[0].id, {
      status: "bad",
      configurationIssues: [
        { type: "bitrateLow", severity: "warning", reason: "Low bitrate", description: "Low bitrate" },
      ],
    });
    await clock.advance(2 * 60_000);
    assert.equal(statuses.length, sent + 1);
    assert.equal(statuses.at(-1)?.health, "bad");
    assert.deepEqual(statuses.at(-1)?.issues, ["bitrateLow"]);
    broadcaster.close();
  });

  it("rotateHours above 12 is clamped to 12 with a warning (YouTube archives at most 12 h)", async () => {
    const { clock, youtube, broadcaster, statuses } = setup({ rotateHours: 24, pollSeconds: 60 });
    assert.match(broadcaster.warnings.join("\n"), /rotateHours 24 is more than 12/);
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live");
    await clock.advance(12 * HOUR + 5 * 60_000);
    assert.equal(youtube.broadcasts().length, 2, "a new broadcast after 12 h");
    assert.equal(liveOnes(youtube).length, 1);
    broadcaster.close();
    const never = setup({ rotateHours: 0 }).broadcaster;
    assert.deepEqual(never.warnings, []);
    never.close();
    const negative = setup({ rotateHours: -3 }).broadcaster;
    assert.match(negative.warnings.join("\n"), /using 11/);
    negative.close();
  });

  it("ultra-low latency with captions falls back to low latency, with a warning", async () => {
    const { youtube, broadcaster } = setup({ latency: "ultraLow", captions: true });
    assert.match(broadcaster.warnings.join("\n"), /captions at ultra-low latency[\s\S]*"low"/);
    await broadcaster.follow(started());
    const [b] = youtube.broadcasts();
    assert.equal(b.contentDetails?.latencyPreference, "low");
    assert.equal(b.contentDetails?.closedCaptionsType, "closedCaptionsHttpPost");
    broadcaster.close();
  });

  it("after a crash finds the ready broadcast bound to its stream and takes it live, not another", async () => {
    const { clock, youtube, broadcaster, make } = setup();
    const target = await broadcaster.follow(started());
    const [b] = youtube.broadcasts();
    assert.equal(b.status?.lifeCycleStatus, "ready");
    broadcaster.close(); // Node-RED killed before the camera's video reached YouTube
    const restarted = make({ streams: new Map(), live: new Map() });
    const seen: BroadcastStatus[] = [];
    restarted.on("status", (s: BroadcastStatus) => seen.push(s));
    await restarted.follow(started());
    assert.equal(youtube.broadcasts().length, 1, "no second broadcast");
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => seen.at(-1)?.state === "live");
    assert.equal(liveOnes(youtube)[0]?.id, b.id);
    restarted.close();
  });

  it("finds its stream among more than 50 (the next pages of liveStreams.list)", async () => {
    const { youtube, api, broadcaster, make } = setup();
    for (let i = 0; i < 55; i++) await api.insertStream(`other ${i}`, "another app's stream", "rtmp");
    await broadcaster.follow(started());
    broadcaster.close();
    assert.equal(youtube.streams().length, 56);
    const restarted = make({ streams: new Map(), live: new Map() });
    await restarted.follow(started());
    assert.equal(youtube.streams().length, 56, "found again on page 2, not made again");
    assert.equal(count(youtube, "liveBroadcasts.insert"), 1);
    restarted.close();
  });

  it("polls the stream sparingly until YouTube reads it active: 5, 5, 5, 10, 10, 15, then every 30 s", async () => {
    const { clock, youtube, broadcaster, statuses } = setup();
    const target = await broadcaster.follow(started());
    const from = youtube.calls.length;
    await clock.advance(3 * 60_000);
    const polls = youtube.calls.slice(from).filter((c) => c.name === "liveStreams.list");
    assert.deepEqual(
      youtube.calls.slice(from).filter((c) => c.name !== "liveStreams.list"),
      [],
      "nothing but stream reads while no video arrives",
    );
    const gaps = polls.slice(1).map((c, i) => (c.at - polls[i].at) / 1000);
    assert.deepEqual(gaps, [5, 5, 5, 10, 10, 15, 30, 30, 30, 30]);
    youtube.ingest(target?.streamKey ?? "", true);
    await until(clock, () => statuses.at(-1)?.state === "live", 60_000);
    broadcaster.close();
  });

  it("a transition refused for another reason (invalidTransition, still ready) is said, and tried again after 5 min", async () => {
    const { clock, youtube, broadcaster, statuses } = setup();
    const target = await broadcaster.follow(started());
    youtube.ingest(target?.streamKey ?? "", true);
    youtube.fail("liveBroadcasts.transition", 403, "invalidTransition", 1);
    await until(clock, () => statuses.at(-1)?.state === "error", 5 * 60_000);
    assert.match(statuses.at(-1)?.error ?? "", /Invalid transition/);
    const transitions = () => youtube.calls.filter((c) => c.name === "liveBroadcasts.transition");
    assert.equal(transitions().length, 1);
    const refusedAt = transitions()[0].at;
    await until(clock, () => statuses.at(-1)?.state === "live", 10 * 60_000);
    const [, retried] = transitions();
    assert.equal(retried.at - refusedAt, 5 * 60_000, "one try after five minutes, no loop of 50-unit calls");
    assert.equal(liveOnes(youtube).length, 1);
    assert.equal(youtube.broadcasts().length, 1, "the same broadcast, not a new one");
    broadcaster.close();
  });

  it("close waits for a YouTube step in flight, at most CLOSE_WAIT_MS", async () => {
    const { clock, broadcaster, transport } = setup();
    const real = transport.request.bind(transport);
    let hold: (() => void) | undefined;
    let held = 0;
    transport.request = async (req: HttpRequest): Promise<HttpResponse> => {
      if (req.url.includes("/liveBroadcasts?") && req.method === "POST") {
        held++;
        await new Promise<void>((resolve) => (hold = resolve));
      }
      return real(req);
    };
    const start = broadcaster.follow(started()).catch(() => undefined);
    await until(clock, () => held === 1, 10_000, 100);
    let closed = false;
    const closing = broadcaster.close().then(() => (closed = true));
    await clock.advance(1_000);
    assert.equal(closed, false, "the insert is still in flight");
    hold?.();
    await closing;
    await start;
    assert.equal(closed, true);

    // A step that never ends does not hold the close past CLOSE_WAIT_MS.
    const other = setup();
    const stuck = other.transport;
    stuck.request = () => new Promise<HttpResponse>(() => undefined);
    void other.broadcaster.follow(started()).catch(() => undefined);
    let done = false;
    const ending = other.broadcaster.close().then(() => (done = true));
    await other.clock.advance(CLOSE_WAIT_MS - 1_000);
    assert.equal(done, false);
    await other.clock.advance(1_000);
    await ending;
    assert.equal(done, true);
  });
});
