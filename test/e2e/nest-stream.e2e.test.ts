/**
 * nest-stream end to end: the fake Google hands out short-lived streams (4 s) behind a token-checking
 * RTSPS edge in front of a real RTSP camera source; nest-stream keeps them alive and nest-restream's
 * real ffmpeg reads the URL into a real RTMP server.
 */
import assert from "node:assert/strict";
import { FakeGoogle } from "../fixtures/fake-google";
import { listProcesses } from "../fixtures/probe";
import { RtmpServer } from "../fixtures/rtmp-server";
import { RtspEdge, type RtspEdgeEvent } from "../fixtures/rtsp-edge";
import { RtspSource } from "../fixtures/rtsp-source";
import { builtNode, collect, helper, startServer, stopServer } from "../support/node-red";
import { waitFor } from "../support/wait";
import type { RestreamMsg, StreamMsg } from "../support/messages";
import { ACCOUNT_CREDENTIALS, cameraToRestreamFlow } from "../support/flows";

const nodes = [builtNode("nest-account"), builtNode("nest-stream"), builtNode("nest-restream")];

/**
 * The shortest wait of a restreamer retry that is not "at once": its backoff starts at 1 s with
 * half jitter (src/ffmpeg/restreamer.ts, src/backoff.ts), so [500, 1000] ms.
 */
const RETRY_MIN_MS = 500;

describe("nest-stream end to end (fake Google, RTSPS edge, real ffmpeg and RTMP)", function () {
  this.timeout(90_000);
  let fake: FakeGoogle;
  let source: RtspSource;
  let rtmp: RtmpServer;

  before(async () => {
    source = await RtspSource.start({ mounts: [{ path: "/cam-aac", audio: "aac" }] });
    rtmp = await RtmpServer.start();
    fake = await FakeGoogle.start({ streamLifetimeS: 4, mediaUrl: source.url("/cam-aac") });
    await startServer(fake.env());
  });
  after(async () => {
    await stopServer();
    await Promise.all([fake?.stop(), source?.stop(), rtmp?.stop()]);
  });
  afterEach(async () => {
    await helper.unload();
    fake.resetRateLimits();
  });

  const flow = (key: string) => cameraToRestreamFlow(`${rtmp.url}/${key}`, { deviceId: "cam-front" });
  const credentials = ACCOUNT_CREDENTIALS;

  it("reads one session continuously across five extends; the edge never cuts it", async () => {
    const edge = await RtspEdge.start({ authority: fake, tls: true });
    fake.setRtspEdgeBase(edge.baseUrl);
    // 10 s streams: extends every 7.5 s keep one camera within Google's 10 commands a minute.
    fake.streamLifetimeS = 10;
    try {
      await helper.load(nodes, flow("keep"), credentials);
      const urls = collect<StreamMsg>("urls");
      const states = collect<RestreamMsg>("states");
      // Audio "auto" copies the camera's AAC from the first run: that ffmpeg is the one that stays.
      await waitFor(
        () => states.some((m) => (m.payload as { state?: string }).state === "live"),
        30_000,
        "live",
      );
      await rtmp.waitForPublish("keep", 20_000);
      const pids = listProcesses("ffmpeg", "/keep");
      assert.equal(pids.length, 1, "one ffmpeg publishes");
      const accepted = edge.stats.accepted;
      const publishes = rtmp.publishes.filter((p) => p.key === "keep").length;
      const extendsBefore = urls.filter((m) => m.stream?.event === "extended").length;

      await waitFor(
        () => urls.filter((m) => m.stream?.event === "extended").length >= extendsBefore + 5,
        60_000,
        "five extends",
      );
      assert.ok(rtmp.isPublishing("keep"), "still publishing after five extends");
      assert.deepEqual(listProcesses("ffmpeg", "/keep"), pids, "the same ffmpeg throughout");
      assert.equal(edge.stats.cut, 0, "the edge never cut the session");
      assert.equal(edge.stats.refused, 0);
      assert.equal(edge.stats.accepted, accepted, "no new RTSP session: ffmpeg never reconnected");
      assert.equal(rtmp.publishes.filter((p) => p.key === "keep").length, publishes);
      assert.equal(fake.commands("GenerateRtspStream").length, 1);
    } finally {
      fake.streamLifetimeS = 4;
      await helper.unload();
      await edge.stop();
    }
    assert.deepEqual(listProcesses("ffmpeg", "/keep"), [], "no ffmpeg left");
  });

  it("reconnects at once with the newest URL when the edge drops sessions on every extend", async () => {
    // The other behaviour reported for Google's edge: an open session does not outlive its token.
    const edge = await RtspEdge.start({
      authority: fake,
      tls: true,
      cutOnNewToken: true,
      checkIntervalMs: 250,
    });
    fake.setRtspEdgeBase(edge.baseUrl);
    // Long enough (extends every 7.5 s) for each new session to get published between cuts, even
    // when ffmpeg's probe of the input is slow on a loaded machine.
    fake.streamLifetimeS = 10;
    try {
      await helper.load(nodes, flow("cut"), credentials);
      const urls = collect<StreamMsg>("urls");
      await rtmp.waitForPublish("cut", 20_000);
      await waitFor(() => edge.stats.cut >= 1, 20_000, "the edge cut the session after the first extend");
      const cut = edge.history.find((e) => e.event === "cut") as RtspEdgeEvent;
      // The first drop after a healthy run reconnects with no delay; any later retry would wait the
      // restreamer's backoff, at least RETRY_MIN_MS. The new session reaches the edge well before:
      // "at once" is ffmpeg exiting on the closed socket, a new one starting and connecting.
      const reconnect = await waitFor(
        () => edge.history.find((e) => e.event === "accepted" && e.at >= cut.at),
        RETRY_MIN_MS * 4,
        "a new session after the cut",
      );
      assert.ok(
        reconnect.at - cut.at < RETRY_MIN_MS,
        `reconnected ${reconnect.at - cut.at} ms after the cut: not at once (a retry waits >= ${RETRY_MIN_MS} ms)`,
      );
      // With the newest URL: its token was the current one (none refused), and it is published again.
      assert.equal(edge.stats.refused, 0, "no reconnect with a stale token");
      await rtmp.waitForPublish("cut", 15_000, cut.at);
      // Later drops too reconnect with the newest URL (after the backoff of a repeated failure).
      await waitFor(
        () => urls.filter((m) => m.stream?.event === "extended").length >= 3,
        45_000,
        "three extends",
      );
      await waitFor(() => edge.stats.cut >= 2, 10_000, "the edge cut sessions");
      const second = edge.history.filter((e) => e.event === "cut")[1] as RtspEdgeEvent;
      await rtmp.waitForPublish("cut", 15_000, second.at);
      assert.equal(edge.stats.refused, 0, "no reconnect with a stale token");
      assert.ok(edge.stats.accepted >= 3);
    } finally {
      fake.streamLifetimeS = 4;
      await helper.unload();
      await edge.stop();
    }
  });
});
