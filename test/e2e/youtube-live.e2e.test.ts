/**
 * youtube-live end to end: a real RTSP camera source (GStreamer), real ffmpeg under nest-restream,
 * a real ingest (nginx-rtmp, or an HLS PUT receiver) that tells the fake YouTube when media arrives,
 * and the fake Google's YouTube over HTTP. The broadcast goes live; YouTube ending it gives a new live
 * broadcast while the same ffmpeg keeps publishing; a redeploy reuses the stream; a stop completes the
 * broadcast and stops ffmpeg; the account's ledger matches the fake's count.
 */
import assert from "node:assert/strict";
import { FakeGoogle, FAKE_DEFAULTS } from "../fixtures/fake-google";
import { HlsReceiver } from "../fixtures/hls-receiver";
import { listProcesses } from "../fixtures/probe";
import { RtmpServer } from "../fixtures/rtmp-server";
import { RtspSource } from "../fixtures/rtsp-source";
import type { RestreamMsg } from "../support/messages";
import { builtNode, collect, helper, startServer, stopServer } from "../support/node-red";
import { assertNoSecrets } from "../support/secrets";
import { waitFor } from "../support/wait";

const nodes = [builtNode("youtube-account"), builtNode("youtube-live"), builtNode("nest-restream")];
const YOUTUBE_SCOPE = "https://www.googleapis.com/auth/youtube";

interface StatusMsg {
  payload: { state: string; broadcastId: string | null; quotaUsed: number };
}

describe("youtube-live end to end (real ffmpeg, nginx-rtmp and HLS ingest, fake YouTube)", function () {
  this.timeout(120_000);
  let src: RtspSource;
  let rtmp: RtmpServer;
  let hls: HlsReceiver;
  let fake: FakeGoogle;
  let refreshToken: string;
  const ingest = (key: string, on: boolean) => fake?.youtube.ingest(key, on);

  before(async () => {
    [src, rtmp, hls] = await Promise.all([
      RtspSource.start({ mounts: [{ path: "/cam", audio: "aac" }] }),
      RtmpServer.start({ onPublish: ingest }),
      HlsReceiver.start({ onIngest: ingest }),
    ]);
    fake = await FakeGoogle.start({
      youtube: {
        activeAfterMs: 1_500,
        inactiveAfterMs: 3_000,
        liveStartingMs: 500,
        rtmpBase: rtmp.url,
        hlsBase: hls.url,
      },
    });
    refreshToken = fake.issueRefreshToken({ scope: YOUTUBE_SCOPE });
    await startServer(fake.env());
  });
  after(async () => {
    await stopServer();
    await Promise.all([src?.stop(), rtmp?.stop(), hls?.stop(), fake?.stop()]);
  });
  afterEach(() => helper.unload());

  const credentials = {
    yt: { clientId: FAKE_DEFAULTS.clientId, clientSecret: FAKE_DEFAULTS.clientSecret, refreshToken: "" },
  };
  function flow(liveId: string, ingestKind: string) {
    return [
      { id: "yt", type: "youtube-account", name: "Channel" },
      {
        id: liveId,
        type: "youtube-live",
        account: "yt",
        ingest: ingestKind,
        pollSeconds: 10,
        wires: [["rs"], ["state"]],
      },
      { id: "rs", type: "nest-restream", audio: "auto", wires: [["rsState"], [], []] },
      { id: "state", type: "helper" },
      { id: "rsState", type: "helper" },
    ];
  }
  const startMsg = () => ({
    payload: src.url("/cam"),
    stream: { event: "started", camera: "Garden", url: src.url("/cam") },
  });
  const ffmpegFor = (key: string) => listProcesses("ffmpeg", key);

  it("goes live over RTMP; a broadcast YouTube ends is replaced while the same ffmpeg publishes; stop completes", async () => {
    await helper.load(nodes, flow("live", "rtmp"), { yt: { ...credentials.yt, refreshToken } });
    const states = collect<StatusMsg>("state");
    const rsStates = collect<RestreamMsg>("rsState");
    helper.getNode("live").receive(startMsg());
    const key = await waitFor(
      () => fake.youtube.streams()[0]?.cdn?.ingestionInfo?.streamName,
      10_000,
      "the stream",
    );
    await rtmp.waitForPublish(key, 30_000);
    const first = await waitFor(() => states.find((s) => s.payload.state === "live"), 40_000, "live");
    const [pid] = ffmpegFor(key);
    assert.ok(pid, "an ffmpeg publishes with the stream's key");
    const publishes = rtmp.publishes.length;

    fake.youtube.endBroadcast(first.payload.broadcastId ?? "");
    const second = await waitFor(
      () =>
        states.find((s) => s.payload.state === "live" && s.payload.broadcastId !== first.payload.broadcastId),
      40_000,
      "a new live broadcast",
    );
    assert.notEqual(second.payload.broadcastId, first.payload.broadcastId);
    assert.deepEqual(ffmpegFor(key), [pid], "the same ffmpeg, never restarted");
    assert.equal(rtmp.publishes.length, publishes, "no new publish at the ingest");
    assert.equal(fake.youtube.broadcasts().filter((b) => b.status?.lifeCycleStatus === "live").length, 1);

    helper.getNode("live").receive({ payload: null, stream: { event: "stopped" } });
    await waitFor(() => rsStates.some((m) => m.payload.state === "stopped"), 20_000, "the restream stopped");
    await waitFor(() => states.some((s) => s.payload.state === "complete"), 20_000, "complete");
    const byId = fake.youtube.broadcasts().find((b) => b.id === second.payload.broadcastId);
    assert.equal(byId?.status?.lifeCycleStatus, "complete");
    assert.equal(
      states.at(-1)?.payload.quotaUsed,
      fake.youtube.unitsUsed(),
      "the ledger counts what YouTube counts",
    );
    assertNoSecrets(
      [...states, ...rsStates, ...(helper.log().args as unknown[][]).map((a) => a[0])],
      [key, refreshToken, FAKE_DEFAULTS.clientSecret, ...fake.oauth.issuedTokens()],
    );
  });

  it("a redeploy reuses the node's stream (no second insert)", async () => {
    const inserts = () => fake.youtube.calls.filter((c) => c.name === "liveStreams.insert").length;
    const before = inserts();
    await helper.load(nodes, flow("live", "rtmp"), { yt: { ...credentials.yt, refreshToken } });
    const states = collect<StatusMsg>("state");
    helper.getNode("live").receive(startMsg());
    await waitFor(() => states.find((s) => s.payload.state === "live"), 40_000, "live again");
    assert.equal(inserts(), before, "the same stream");
    assert.equal(fake.youtube.streams().length, 1);
    helper.getNode("live").receive({ payload: "stop" });
    await waitFor(() => states.some((s) => s.payload.state === "complete"), 20_000, "complete");
  });

  it("goes live over HLS ingest", async () => {
    await helper.load(nodes, flow("live-hls", "hls"), { yt: { ...credentials.yt, refreshToken } });
    const states = collect<StatusMsg>("state");
    helper.getNode("live-hls").receive(startMsg());
    const key = await waitFor(
      () =>
        fake.youtube.streams().find((s) => s.cdn?.ingestionType === "hls")?.cdn?.ingestionInfo?.streamName,
      10_000,
      "the HLS stream",
    );
    await waitFor(() => states.find((s) => s.payload.state === "live"), 60_000, "live over HLS");
    assert.ok(hls.segments(key).length >= 2, "segments arrived with the stream's key");
    helper.getNode("live-hls").receive({ payload: false });
    await waitFor(() => states.some((s) => s.payload.state === "complete"), 20_000, "complete");
  });
  it("a stream deleted in YouTube Studio is made again: ffmpeg publishes with the new key, live again", async () => {
    await helper.load(nodes, flow("live-gone", "rtmp"), { yt: { ...credentials.yt, refreshToken } });
    const states = collect<StatusMsg>("state");
    helper.getNode("live-gone").receive(startMsg());
    const mine = () => fake.youtube.streams().filter((s) => s.snippet?.description?.includes("live-gone"));
    const old = await waitFor(() => mine()[0], 10_000, "the stream");
    const oldKey = old.cdn?.ingestionInfo?.streamName ?? "";
    const first = await waitFor(() => states.find((s) => s.payload.state === "live"), 40_000, "live");
    fake.youtube.studioDeleteStream(old.id);
    const fresh = await waitFor(() => mine()[0], 30_000, "the stream made again");
    const newKey = fresh.cdn?.ingestionInfo?.streamName ?? "";
    assert.notEqual(newKey, oldKey);
    await rtmp.waitForPublish(newKey, 30_000);
    await waitFor(
      () =>
        states.find((s) => s.payload.state === "live" && s.payload.broadcastId !== first.payload.broadcastId),
      40_000,
      "a new live broadcast on the new stream",
    );
    const live = fake.youtube.broadcasts().filter((b) => b.status?.lifeCycleStatus === "live");
    assert.equal(live.length, 1);
    assert.equal(live[0].contentDetails?.boundStreamId, fresh.id);
    await waitFor(() => ffmpegFor(oldKey).length === 0, 10_000, "no ffmpeg left on the old key");
    assert.equal(ffmpegFor(newKey).length, 1);
    helper.getNode("live-gone").receive({ payload: "stop" });
    await waitFor(() => states.some((s) => s.payload.state === "complete"), 20_000, "complete");
  });
});
