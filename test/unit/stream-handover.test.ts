/**
 * Handing live RTSP sessions over across a redeploy (issue 13, point 5): real NestAccounts (token
 * keeper, SDM client, the project's shared command window), real CameraStreams and StreamKeepers,
 * against the in-memory fake Google with its sandbox rate limits, on a fake clock. A "redeploy" is
 * what Node-RED does: every old node closes (parks), the old account shuts down, then new ones start.
 */
import assert from "node:assert/strict";
import { forgetCommandWindows } from "../../src/nest/command-budget";
import { openNestAccount, type NestAccount } from "../../src/nest/account";
import { CameraStream } from "../../src/stream/camera-stream";
import { StreamHandover } from "../../src/stream/stream-handover";
import type { CameraUrlEvent } from "../../src/stream/stream-state";
import { camera, FAKE, FakeGoogleTransport, SDM_URL, TOKEN_URL } from "../fixtures/fake-google/transport";
import { drive } from "../support/drive";
import { FakeClock } from "../support/fake-clock";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const CAMERAS = Array.from({ length: 8 }, (_, i) => `cam-${i + 1}`);

interface Deployment {
  account: NestAccount;
  streams: CameraStream[];
  urls: CameraUrlEvent[][];
}

function setup(options: { streamLifetimeS?: number; handover?: boolean } = {}) {
  forgetCommandWindows();
  const clock = new FakeClock();
  const fake = new FakeGoogleTransport({
    clock,
    devices: CAMERAS.map((id, i) => camera(id, `Room ${i + 1}`)),
    streamLifetimeS: options.streamLifetimeS ?? 300,
  });
  const registry = new StreamHandover({ clock });
  const useHandover = options.handover ?? true;

  const deploy = (refreshToken: string = FAKE.refreshToken, fingerprint?: string): Deployment => {
    const account = openNestAccount({
      projectId: FAKE.projectId,
      clientId: FAKE.clientId,
      clientSecret: FAKE.clientSecret,
      refreshToken,
      endpoints: { oauthTokenUrl: TOKEN_URL, sdmApiUrl: `${SDM_URL}/` },
      clock,
      http: fake,
      random: () => 0.5,
      shareProjectWindow: true,
    });
    const urls: CameraUrlEvent[][] = [];
    const streams = CAMERAS.map((deviceId, i) => {
      const stream = new CameraStream({
        sdm: account.sdm.singleTry,
        deviceId,
        clock,
        random: () => 0.5,
        handover: useHandover
          ? {
              registry,
              scope: account.sessionScope,
              fingerprint: fingerprint ?? account.credentialsFingerprint,
              hold: () => account.linger(),
            }
          : undefined,
      });
      urls[i] = [];
      stream.on("url", (ev) => urls[i].push(ev));
      return stream;
    });
    return { account, streams, urls };
  };

  /** Node-RED's full redeploy: every node closes (parking, or stopping when told), then the account. */
  const undeploy = async (d: Deployment, park = true) => {
    await drive(clock, Promise.all(d.streams.map((s) => (park ? s.park() : s.stop()))), 10 * MINUTE);
    await drive(clock, d.account.shutdown(), 10 * MINUTE);
  };

  /** Starts every stream and drives the clock until each has advertised a URL (or `maxMs`). */
  const startAll = async (d: Deployment, maxMs = 10 * MINUTE) => {
    for (const s of d.streams) s.start();
    const t0 = clock.now();
    while (d.streams.some((s) => !s.url) && clock.now() - t0 < maxMs) await clock.advance(SECOND);
    return clock.now() - t0;
  };

  const commands = (name?: string) =>
    fake.requests.filter((r) => r.route === "execute" && (!name || r.command === name)).length;
  const refused = () => fake.requests.filter((r) => r.route === "execute" && r.status === 429).length;
  const streamId = (url: string | null) => /\/sdm_live_stream\/([^?]+)/.exec(url ?? "")?.[1] ?? "";
  const alive = (url: string | null) => !!url && fake.google.sdm.isAlive(streamId(url));

  return { clock, fake, registry, deploy, undeploy, startAll, commands, refused, streamId, alive };
}

describe("stream handover across a redeploy (8 cameras, one project, 10 commands a minute)", function () {
  this.timeout(30_000);

  it("a full redeploy hands every session to its successor: no command, every camera live again at once", async () => {
    const t = setup();
    const first = t.deploy();
    await t.startAll(first);
    const before = first.streams.map((s) => t.streamId(s.url));
    const commandsBefore = t.commands();
    assert.equal(t.commands("GenerateRtspStream"), 8);

    await t.undeploy(first);
    assert.equal(t.registry.stats().parked, 8, "all eight parked");
    // The old account stays open for its parked sessions, although its node has closed.
    const second = t.deploy();
    const took = await t.startAll(second, MINUTE);
    assert.ok(took <= 2 * SECOND, `every camera advertised a URL within ${took} ms`);
    assert.deepEqual(
      second.streams.map((s) => t.streamId(s.url)),
      before,
      "the same streams, not new ones",
    );
    for (const s of second.streams) assert.ok(t.alive(s.url), "and alive at Google");
    for (const u of second.urls) assert.equal(u[0].event, "started", "readers of the new node connect");
    assert.equal(t.commands(), commandsBefore, "no StopRtspStream, no GenerateRtspStream");
    assert.deepEqual(t.registry.stats(), { parked: 0, adopted: 8, stopped: 0 });

    // The new keepers go on extending the handed-over streams with the newest tokens.
    await t.clock.run(12 * MINUTE);
    for (const s of second.streams) assert.ok(t.alive(s.url), "still alive after twelve minutes");
    assert.equal(t.commands("GenerateRtspStream"), 8, "never a new stream");
    assert.ok(t.commands("ExtendRtspStream") >= 8 * 3, `extends: ${t.commands("ExtendRtspStream")}`);
    assert.equal(t.refused(), 0, "no 429");
    assert.deepEqual([...t.fake.violations], []);
    await t.undeploy(second, false);
  });

  it("without the handover (the old behaviour) the same redeploy costs 16 commands and leaves cameras dark", async () => {
    const t = setup({ handover: false });
    const first = t.deploy();
    await t.startAll(first);
    // The budget's own generates are a minute old: a fresh window, the kindest case.
    await t.clock.run(MINUTE + 2 * SECOND);
    const commandsBefore = t.commands();
    await t.undeploy(first);
    const second = t.deploy();
    const took = await t.startAll(second, 5 * MINUTE);
    assert.equal(t.commands() - commandsBefore, 16, "eight stops and eight generates");
    assert.ok(took > 30 * SECOND, `the last camera was dark for ${took} ms`);
    assert.equal(t.refused(), 0, "the shared budget still keeps Google's limit");
    await t.undeploy(second, false);
  });

  it("a parked session is extended while it waits, and the successor gets the newest tokens", async () => {
    // 2-minute streams: extended 30 s before they end (eight cameras fit 10 commands a minute).
    const t = setup({ streamLifetimeS: 120 });
    const first = t.deploy();
    await t.startAll(first);
    await t.clock.run(80 * SECOND);
    await t.undeploy(first);
    const extendsBefore = t.commands("ExtendRtspStream");
    assert.equal(extendsBefore, 0);
    await t.clock.run(20 * SECOND);
    assert.ok(t.commands("ExtendRtspStream") > extendsBefore, "parked sessions were extended");
    const second = t.deploy();
    await t.startAll(second, MINUTE);
    for (const s of second.streams) assert.ok(t.alive(s.url), "alive with the adopted token");
    await t.clock.run(MINUTE);
    for (const s of second.streams) assert.ok(t.alive(s.url), "and extended on by the new keepers");
    assert.equal(t.commands("GenerateRtspStream"), 8);
    assert.equal(t.refused(), 0);
    assert.deepEqual([...t.fake.violations], []);
    await t.undeploy(second, false);
  });

  it("nobody adopts within the grace period: the session is stopped at Google, then the old account closes", async () => {
    const t = setup();
    const first = t.deploy();
    await t.startAll(first);
    const ids = first.streams.map((s) => t.streamId(s.url));
    // The eight generates have left the window: the eight stops fit in it.
    await t.clock.run(MINUTE + 2 * SECOND);
    await t.undeploy(first);
    await t.clock.advance(29 * SECOND);
    assert.equal(t.commands("StopRtspStream"), 0, "still waiting for a successor");
    await t.clock.run(30 * SECOND);
    assert.equal(t.commands("StopRtspStream"), 8, "stopped, each with its newest token");
    for (const id of ids) assert.equal(t.fake.google.sdm.isAlive(id), false);
    assert.deepEqual(t.registry.stats(), { parked: 0, adopted: 0, stopped: 8 });
    // The old account was closed when the last parked session was done with it.
    await assert.rejects(first.account.sdm.singleTry.execute("cam-1", "GenerateRtspStream", {}));
  });

  it("other credentials: no handover, the old session is stopped at once and a new one generated", async () => {
    const t = setup();
    // The fingerprint names the credentials: any change of client or refresh token changes it.
    const a = t.deploy();
    assert.equal(a.account.credentialsFingerprint, t.deploy().account.credentialsFingerprint);
    assert.notEqual(
      a.account.credentialsFingerprint,
      t.deploy(FAKE.refreshToken + "x").account.credentialsFingerprint,
    );
    assert.doesNotMatch(a.account.credentialsFingerprint, new RegExp(FAKE.refreshToken));

    const first = t.deploy();
    first.streams = first.streams.slice(0, 1);
    await t.startAll(first);
    const old = first.streams[0].url;
    await t.undeploy(first);
    // (Google's fake knows one refresh token only: the new account differs by its fingerprint.)
    const second = t.deploy(FAKE.refreshToken, "other-credentials");
    second.streams = second.streams.slice(0, 1);
    await t.startAll(second, 10 * SECOND);
    // The parked one is stopped at once (not after the grace period), then a new one generated.
    assert.equal(t.commands("StopRtspStream"), 1);
    assert.equal(t.alive(old), false);
    assert.equal(t.commands("GenerateRtspStream"), 2);
    assert.ok(t.alive(second.streams[0].url));
    assert.notEqual(t.streamId(second.streams[0].url), t.streamId(old));
    assert.deepEqual(t.registry.stats(), { parked: 0, adopted: 0, stopped: 1 });
    await t.undeploy(second, false);
    a.account.close();
  });

  it("stop() (a removed node, Node-RED shutting down) stops at once; stopAll() stops what is parked", async () => {
    const t = setup();
    const first = t.deploy();
    first.streams = first.streams.slice(0, 2);
    await t.startAll(first);
    await drive(t.clock, first.streams[0].stop());
    assert.equal(t.commands("StopRtspStream"), 1);
    await drive(t.clock, first.streams[1].park());
    assert.equal(t.commands("StopRtspStream"), 1);
    await drive(t.clock, t.registry.stopAll());
    assert.equal(t.commands("StopRtspStream"), 2);
    assert.deepEqual(t.registry.stats(), { parked: 0, adopted: 0, stopped: 1 });
    await t.undeploy(first, false);
  });
});
