/**
 * WebRTC-only cameras end to end: a fake WebRTC camera (werift peer sending real H.264 + Opus made
 * by ffmpeg) answers the fake Google's GenerateWebRtcStream; nest-stream (auto protocol) serves it
 * as a local rtsp:// URL through the in-process bridge; nest-restream's real ffmpeg reads that URL
 * (audio "auto": Opus → AAC) into a real RTMP server (nginx-rtmp). Sessions live seconds here, so
 * extends, refused extends (battery doorbell) and renewals happen during the test.
 */
import assert from "node:assert/strict";
import { FakeGoogle } from "../fixtures/fake-google";
import { createFakeWebRtcCamera, type FakeWebRtcCamera } from "../fixtures/fake-webrtc-camera";
import { listProcesses, probeStreams } from "../fixtures/probe";
import { RtmpServer } from "../fixtures/rtmp-server";
import { builtNode, collect, helper, startServer, stopServer } from "../support/node-red";
import { waitFor } from "../support/wait";
import type { RestreamMsg, StreamMsg } from "../support/messages";
import { ACCOUNT_CREDENTIALS, cameraToRestreamFlow } from "../support/flows";

const nodes = [builtNode("nest-account"), builtNode("nest-stream"), builtNode("nest-restream")];

describe("WebRTC-only cameras end to end (fake WebRTC camera → nest-stream → nest-restream → RTMP)", function () {
  this.timeout(120_000);
  let camera: FakeWebRtcCamera;
  let fake: FakeGoogle;
  let rtmp: RtmpServer;

  before(async () => {
    camera = createFakeWebRtcCamera({ width: 320, height: 180, fps: 15, gop: 30 });
    rtmp = await RtmpServer.start();
    fake = await FakeGoogle.start({ webrtcAnswerer: camera.answerer });
    fake.addDevice({ id: "bell-e2e", customName: "Front bell", batteryDoorbell: true });
    await startServer(fake.env());
  });
  after(async () => {
    await stopServer();
    await Promise.all([fake?.stop(), rtmp?.stop(), camera?.stop()]);
  });
  afterEach(async () => {
    await helper.unload();
    fake.resetRateLimits();
    fake.clearCalls();
  });

  const credentials = ACCOUNT_CREDENTIALS;
  // rtspPort "0": any free port, the test never competes for 8554.
  const flow = (key: string, deviceId: string) =>
    cameraToRestreamFlow(`${rtmp.url}/${key}`, { deviceId, protocol: "auto", rtspPort: "0" });
  const ok = (command: string, deviceId: string) =>
    fake.commands(command).filter((c) => c.deviceId === deviceId && c.status === 200).length;
  const refused = (command: string, deviceId: string) =>
    fake.commands(command).filter((c) => c.deviceId === deviceId && c.status >= 400).length;
  /** Frames the restream reports now (its progress messages come every few seconds). */
  const frames = (states: RestreamMsg[]) =>
    states.filter((m) => m.payload.state === "live").at(-1)?.payload.frames ?? 0;
  /** Waits until the restream has reported `more` new frames beyond what it reported when called. */
  const moreFrames = async (states: RestreamMsg[], more: number, what: string) => {
    const from = frames(states);
    await waitFor(() => frames(states) >= from + more, 20_000, what);
  };

  it("publishes H.264 + AAC and keeps one ffmpeg publishing across five WebRTC extends", async () => {
    fake.webrtcLifetimeS = 6; // extended every 4.5 s (a quarter of the lifetime before expiry)
    await helper.load(nodes, flow("webrtc-keep", "cam-webrtc"), credentials);
    const urls = collect<StreamMsg>("urls");
    const states = collect<RestreamMsg>("states");
    await rtmp.waitForPublish("webrtc-keep", 30_000);
    const pids = listProcesses("ffmpeg", "/webrtc-keep");
    assert.equal(pids.length, 1, "one ffmpeg publishes");

    await waitFor(() => ok("ExtendWebRtcStream", "cam-webrtc") >= 5, 45_000, "five WebRTC extends");
    await moreFrames(states, 30, "frames after five extends");
    assert.ok(rtmp.isPublishing("webrtc-keep"), "still publishing after five extends");
    assert.deepEqual(listProcesses("ffmpeg", "/webrtc-keep"), pids, "the same ffmpeg throughout");
    assert.equal(rtmp.publishes.filter((p) => p.key === "webrtc-keep").length, 1, "published once");
    assert.equal(ok("GenerateWebRtcStream", "cam-webrtc"), 1, "one WebRTC session");
    assert.equal(fake.commands("GenerateRtspStream").length, 0);
    assert.equal(refused("ExtendWebRtcStream", "cam-webrtc"), 0);
    // The URL went out once: WebRTC extends do not change the local URL.
    assert.deepEqual(
      urls.map((m) => m.stream?.event),
      ["started"],
    );
    assert.equal(urls[0].stream?.protocol, "WEB_RTC");
    assert.match(String(urls[0].payload), /^rtsp:\/\/127\.0\.0\.1:\d+\/cam-webrtc$/);

    // What YouTube would get: H.264 video and AAC audio (Opus turned into AAC by audio "auto").
    const probe = await probeStreams(rtmp.keyUrl("webrtc-keep"), 20_000);
    assert.deepEqual(probe.video, ["h264"]);
    assert.deepEqual(probe.audio, ["aac"]);

    await helper.unload();
    assert.equal(ok("StopWebRtcStream", "cam-webrtc"), 1, "stopped at Google on redeploy");
    await waitFor(() => listProcesses("ffmpeg", "/webrtc-keep").length === 0, 10_000, "no ffmpeg left");
  });

  it("battery doorbell: each refused extend brings a new WebRTC session; the restream keeps publishing", async () => {
    fake.webrtcLifetimeS = 6;
    await helper.load(nodes, flow("webrtc-bell", "bell-e2e"), credentials);
    const urls = collect<StreamMsg>("urls");
    const states = collect<RestreamMsg>("states");
    await rtmp.waitForPublish("webrtc-bell", 30_000);
    const pids = listProcesses("ffmpeg", "/webrtc-bell");
    assert.equal(pids.length, 1);

    // Two renewals: the doorbell refuses to extend (FAILED_PRECONDITION), a new session replaces it.
    await waitFor(
      () => refused("ExtendWebRtcStream", "bell-e2e") >= 2 && ok("GenerateWebRtcStream", "bell-e2e") >= 3,
      45_000,
      "two renewals after refused extends",
    );
    await waitFor(() => ok("StopWebRtcStream", "bell-e2e") >= 2, 10_000, "the replaced sessions stopped");
    await moreFrames(states, 30, "frames after the renewals");
    assert.ok(rtmp.isPublishing("webrtc-bell"));
    assert.deepEqual(
      listProcesses("ffmpeg", "/webrtc-bell"),
      pids,
      "the same ffmpeg: readers kept their connection",
    );
    assert.equal(rtmp.publishes.filter((p) => p.key === "webrtc-bell").length, 1);
    assert.deepEqual(
      urls.map((m) => m.stream?.event),
      ["started"],
    );
    assert.ok(
      states.every((m) => m.payload.restarts === 0),
      "ffmpeg never restarted",
    );
  });

  it("a dropped peer connection: a new session behind the same URL, and publishing goes on", async () => {
    fake.webrtcLifetimeS = 300; // no extends in this test
    await helper.load(nodes, flow("webrtc-drop", "cam-webrtc"), credentials);
    const urls = collect<StreamMsg>("urls");
    const states = collect<RestreamMsg>("states");
    await rtmp.waitForPublish("webrtc-drop", 30_000);
    await moreFrames(states, 15, "frames before the drop");
    const pids = listProcesses("ffmpeg", "/webrtc-drop");
    assert.equal(pids.length, 1);

    await camera.dropPeer(); // the camera closes its peer (the client sees its data channel close)
    await waitFor(() => ok("GenerateWebRtcStream", "cam-webrtc") >= 2, 20_000, "a new session");
    await moreFrames(states, 30, "frames after the dropped peer");
    assert.ok(rtmp.isPublishing("webrtc-drop"));
    assert.deepEqual(listProcesses("ffmpeg", "/webrtc-drop"), pids, "the same ffmpeg");
    assert.equal(rtmp.publishes.filter((p) => p.key === "webrtc-drop").length, 1);
    assert.deepEqual(
      urls.map((m) => m.stream?.event),
      ["started"],
    );
  });
});
