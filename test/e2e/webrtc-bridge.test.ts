/**
 * End to end: a fake WebRTC-only camera (werift peer sending real H.264 + Opus made by ffmpeg)
 * → WebRtcBridge (werift session + local RTSP server) → real ffmpeg reading the local RTSP URL.
 * Session lifetimes are shortened to seconds so renewals happen during the test.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import {
  WebRtcBridge,
  type WebRtcBridgeStateEvent,
  type WebRtcUrlEvent,
} from "../../src/webrtc/webrtc-bridge";
import { createFakeSdm, createFakeWebRtcCamera, type FakeWebRtcCamera } from "../fixtures/fake-webrtc-camera";
import { LocalRtspServer } from "../../src/webrtc/rtsp-server";
import { untilWithin } from "../support/wait";
import { whyText } from "../support/stream-reasons";

const until = untilWithin(20_000, 25);

/** A long-running ffmpeg reader: stream-copies the RTSP input to the null muxer and reports progress. */
class Reader {
  readonly child: ChildProcess;
  stderr = "";
  frames = 0;
  exited = false;
  exitCode: number | null = null;

  constructor(url: string, extra: string[] = []) {
    this.child = spawn(
      process.env.FFMPEG_PATH ?? "ffmpeg",
      [
        ...["-hide_banner", "-nostdin", "-loglevel", "info"],
        ...["-rtsp_transport", "tcp", "-timeout", "10000000", "-i", url],
        ...extra,
        ...["-map", "0", "-c", "copy", "-f", "null", "-"],
        ...["-progress", "pipe:1", "-stats_period", "0.25"],
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child.stdout?.on("data", (d: Buffer) => {
      for (const m of d.toString().matchAll(/^frame=(\d+)$/gm)) this.frames = Number(m[1]);
    });
    this.child.stderr?.on("data", (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-20_000)));
    this.child.once("exit", (code) => {
      this.exited = true;
      this.exitCode = code;
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill("SIGTERM");
    await until(() => this.exited, "ffmpeg to exit", 5_000).catch(() => this.child.kill("SIGKILL"));
  }
}

describe("WebRtcBridge end to end (fake WebRTC camera → bridge → ffmpeg)", function () {
  this.timeout(60_000);
  let camera: FakeWebRtcCamera;
  // One local server for the bridges, as CameraStream shares its pooled one.
  const server = new LocalRtspServer();
  const bridges: WebRtcBridge[] = [];
  const readers: Reader[] = [];

  before(async () => {
    camera = createFakeWebRtcCamera({ width: 320, height: 180, fps: 15, gop: 30 });
    await server.listen();
  });

  afterEach(async () => {
    for (const r of readers.splice(0)) await r.stop();
    for (const b of bridges.splice(0)) await b.stop();
  });

  after(async () => {
    await camera.stop();
    await server.close();
  });

  const startBridge = (
    opts: { lifetimeMs?: number; refuseExtend?: boolean; dropReadersOnRenew?: boolean } = {},
  ) => {
    const sdm = createFakeSdm(camera, { lifetimeMs: opts.lifetimeMs, refuseExtend: opts.refuseExtend });
    const bridge = new WebRtcBridge({
      server,
      sdm,
      deviceId: "enterprises/project-1/devices/doorbell-1",
      displayName: "Front door",
      dropReadersOnRenew: opts.dropReadersOnRenew,
      // Seconds-long sessions: extend 6 s before expiry (at most a quarter of the lifetime), notice a
      // silent peer after 3 s.
      session: { extendLeadMs: 6_000, mediaTimeoutMs: 3_000 },
    });
    bridges.push(bridge);
    const urls: WebRtcUrlEvent[] = [];
    const states: WebRtcBridgeStateEvent[] = [];
    bridge.on("url", (e: WebRtcUrlEvent) => urls.push(e));
    bridge.on("state", (e: WebRtcBridgeStateEvent) => states.push(e));
    bridge.start();
    return { bridge, sdm, urls, states };
  };

  const read = (url: string, extra: string[] = []) => {
    const r = new Reader(url, extra);
    readers.push(r);
    return r;
  };

  it("serves the camera's H.264 and Opus at a local rtsp:// URL that ffmpeg reads over TCP", async () => {
    const { bridge, urls, states } = startBridge();
    await until(() => urls.length > 0, "the URL");
    const started = urls[0];
    assert.equal(started.event, "started");
    assert.equal(started.protocol, "WEB_RTC");
    assert.equal(started.deviceId, "doorbell-1");
    assert.equal(started.camera, "Front door");
    assert.match(started.url ?? "", /^rtsp:\/\/127\.0\.0\.1:\d+\/doorbell-1$/);
    assert.equal(started.url, bridge.url);
    assert.ok(Date.parse(started.expiresAt ?? "") > Date.now());
    assert.deepEqual(states[0], { state: "starting", camera: "Front door" });
    assert.ok(states.some((s) => s.state === "live" && s.expiresAt === started.expiresAt));

    // The fake camera's encoder makes a keyframe every 2 s whatever is asked (a Nest camera answers
    // the keyframe request at once): 4 s of output hold at least 2 s of video.
    const r = read(started.url ?? "", ["-t", "4"]);
    await until(() => r.exited, "ffmpeg to finish 4 s", 30_000);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /Stream #0:0: Video: h264 \(Constrained Baseline\).*320x180/);
    assert.match(r.stderr, /Stream #0:1: Audio: opus, 48000 Hz, stereo/);
    assert.ok(r.frames >= 25, `frames: ${r.frames}\n${r.stderr}`);
    // The camera got a keyframe request when the reader started playing.
    assert.ok(camera.stats.pli >= 2 && camera.stats.fir >= 2, JSON.stringify(camera.stats));

    await bridge.stop();
    assert.deepEqual(urls.at(-1), {
      event: "stopped",
      url: null,
      expiresAt: null,
      deviceId: "doorbell-1",
      camera: "Front door",
      protocol: "WEB_RTC",
    });
    assert.equal(states.at(-1)?.state, "stopped");
  });

  it("keeps a running ffmpeg fed across renewals: refused extend (battery doorbell) and dropped peer", async () => {
    // 10 s sessions, extend a quarter of the lifetime before expiry: the refused extend comes about
    // 7.5 s after each start.
    const { bridge, sdm, urls, states } = startBridge({ lifetimeMs: 10_000, refuseExtend: true });
    await until(() => urls.length > 0, "the URL");
    const url = urls[0].url ?? "";
    const r = read(url);
    await until(() => r.frames > 15, "frames from the first session");

    // 1. The battery doorbell refuses to extend: a new WebRTC session replaces the first one.
    await until(() => (bridge.webrtc?.generation ?? 0) >= 2, "a renewal after the refused extend");
    assert.ok(sdm.count("ExtendWebRtcStream") >= 1);
    assert.ok(states.some((s) => s.state === "extending" && /refused to extend/.test(whyText(s.why))));
    await until(() => sdm.count("StopWebRtcStream") >= 1, "the old session stopped");
    let mark = r.frames;
    await until(() => r.frames > mark + 20, "frames after the renewal");

    // 2. The camera drops the peer: the bridge opens a new session again.
    const generation = bridge.webrtc?.generation ?? 0;
    await camera.dropPeer(bridge.webrtc?.mediaSessionId);
    await until(() => (bridge.webrtc?.generation ?? 0) > generation, "a renewal after the dropped peer");
    assert.ok(states.some((s) => s.state === "retrying" && /data channel|connection/.test(whyText(s.why))));
    mark = r.frames;
    await until(() => r.frames > mark + 20, "frames after the dropped peer");

    // The same ffmpeg read through it all: no reconnect, the URL never changed.
    assert.equal(r.exited, false, r.stderr);
    assert.deepEqual(
      urls.map((u) => u.event),
      ["started"],
    );
    assert.doesNotMatch(r.stderr, /Non-monotonous DTS|Invalid data found/);

    // A reader that connects now (after renewals) gets both tracks too.
    const late = read(url, ["-t", "4"]);
    await until(() => late.exited, "the late reader", 30_000);
    assert.equal(late.exitCode, 0, late.stderr);
    assert.match(late.stderr, /Video: h264/);
    assert.match(late.stderr, /Audio: opus/);
    assert.ok(late.frames >= 15, late.stderr);
  });

  it("with dropReadersOnRenew, readers are cut on a renewal and a reconnecting ffmpeg gets frames again", async () => {
    const { bridge, urls } = startBridge({ dropReadersOnRenew: true });
    await until(() => urls.length > 0, "the URL");
    const url = urls[0].url ?? "";
    const first = read(url);
    await until(() => first.frames > 15, "frames from the first session");

    await camera.dropPeer(bridge.webrtc?.mediaSessionId);
    await until(() => urls.some((u) => u.event === "restarted"), "the restarted event");
    const restarted = urls.find((u) => u.event === "restarted");
    assert.equal(restarted?.url, url, "the local URL stays the same");
    await until(() => first.exited, "the first reader to be cut");

    const second = read(url, ["-t", "4"]);
    await until(() => second.exited, "the reconnected reader", 30_000);
    assert.equal(second.exitCode, 0, second.stderr);
    assert.match(second.stderr, /Video: h264/);
    assert.match(second.stderr, /Audio: opus/);
    assert.ok(second.frames >= 15, second.stderr);
  });
});
