/**
 * WebRtcSession against a real werift peer (the fake camera, synthetic media: no ffmpeg) over
 * loopback, with SDM commands from an in-process fake and timers on a FakeClock: the network is
 * real, the 5-minute session lifetimes and keyframe timers are not waited for.
 */
import assert from "node:assert/strict";
import { Backoff } from "../../src/backoff";
import { NotFoundError, RateLimitedError, TransientGoogleError } from "../../src/google/errors";
import { ParameterSets, startsKeyframe, rtpPayload } from "../../src/webrtc/h264";
import { RtpContinuity } from "../../src/webrtc/rtp-continuity";
import {
  WebRtcSession,
  type WebRtcRtpEvent,
  type WebRtcSessionEvent,
  type WebRtcSessionOptions,
  type WebRtcStateEvent,
} from "../../src/webrtc/webrtc-session";
import {
  createFakeSdm,
  createFakeWebRtcCamera,
  type FakeSdm,
  type FakeWebRtcCamera,
} from "../fixtures/fake-webrtc-camera";
import { FakeClock } from "../support/fake-clock";
import { untilWithin } from "../support/wait";
import { delay } from "../fixtures/ports";
import { whyText } from "../support/stream-reasons";

const until = untilWithin(10_000, 10);

interface Harness {
  clock: FakeClock;
  camera: FakeWebRtcCamera;
  sdm: FakeSdm;
  session: WebRtcSession;
  states: WebRtcStateEvent[];
  sessions: WebRtcSessionEvent[];
  rtp: { video: number; audio: number; keyframes: number };
}

describe("WebRtcSession", function () {
  this.timeout(30_000);
  let h: Harness | undefined;

  const setup = async (
    opts: Partial<WebRtcSessionOptions> = {},
    media: "synthetic" | "none" = "synthetic",
    gop = 30,
  ): Promise<Harness> => {
    const clock = new FakeClock(Date.now());
    const camera = createFakeWebRtcCamera({ media, gop });
    const sdm = createFakeSdm(camera, { clock });
    const session = new WebRtcSession({
      sdm,
      deviceId: "enterprises/p/devices/doorbell",
      clock,
      mediaTimeoutMs: 0,
      backoff: new Backoff({ initialMs: 5_000, maxMs: 60_000, random: () => 0 }),
      ...opts,
    });
    const harness: Harness = {
      clock,
      camera,
      sdm,
      session,
      states: [],
      sessions: [],
      rtp: { video: 0, audio: 0, keyframes: 0 },
    };
    session.on("state", (e: WebRtcStateEvent) => harness.states.push(e));
    session.on("session", (e: WebRtcSessionEvent) => harness.sessions.push(e));
    session.on("rtp", (e: WebRtcRtpEvent) => {
      harness.rtp[e.kind]++;
      if (e.keyframe) harness.rtp.keyframes++;
    });
    h = harness;
    return harness;
  };

  const live = async (x: Harness, n: number) => {
    await until(() => x.sessions.filter((s) => s.event !== "extended").length >= n, `session ${n}`);
  };

  afterEach(async () => {
    if (h) {
      await h.session.stop();
      await h.camera.stop();
      h = undefined;
    }
  });

  it("offers receive-only audio, then video (H.264 packetization-mode 1), then a data channel, with candidates and no trickle", async () => {
    const x = await setup();
    x.session.start();
    assert.deepEqual(x.states[0], { state: "starting" });
    await live(x, 1);
    const offer = String(x.sdm.calls[0].params.offerSdp);
    const mlines = offer.split(/\r\n/).filter((l) => l.startsWith("m="));
    assert.deepEqual(
      mlines.map((l) => l.split(" ")[0]),
      ["m=audio", "m=video", "m=application"],
    );
    const sections = offer.split(/\r\nm=/);
    assert.match(sections[1], /a=recvonly/);
    assert.match(sections[1], /a=rtpmap:\d+ opus\/48000\/2/);
    assert.match(sections[2], /a=recvonly/);
    assert.match(sections[2], /a=rtpmap:\d+ H264\/90000/);
    assert.match(sections[2], /packetization-mode=1;profile-level-id=42e01f/);
    assert.match(sections[2], /profile-level-id=64001f/);
    assert.match(sections[2], /a=rtcp-fb:\d+ ccm fir/);
    assert.match(sections[3], /webrtc-datachannel/);
    // ICE gathering completed before the offer left: candidates are in it.
    assert.match(offer, /a=candidate:/);
    assert.match(offer, /a=end-of-candidates/);

    const s = x.sessions[0];
    assert.equal(s.event, "started");
    assert.equal(s.generation, 1);
    assert.equal(s.mediaSessionId, x.camera.peers[0]);
    assert.equal(s.expiresAt, new Date(x.clock.now() + 5 * 60_000).toISOString());
    assert.equal(s.media.video?.codec, "H264");
    assert.ok(s.media.video?.fir && s.media.video.pli);
    assert.equal(s.media.audio?.codec, "opus");
    assert.equal(x.session.media?.video?.payloadType, s.media.video?.payloadType);
    assert.deepEqual(x.states.at(-1), { state: "live", expiresAt: s.expiresAt });

    await until(() => x.rtp.video > 5 && x.rtp.audio > 5 && x.rtp.keyframes > 0, "RTP of both kinds");
    assert.equal(x.session.parameterSets.spropParameterSets, "Z0LgH9oCgL/lhA==,aM48gA==");
    assert.equal(x.session.parameterSets.profileLevelId, "42e01f");
  });

  it("extends a minute before expiresAt, re-armed from each answer", async () => {
    const x = await setup();
    x.session.start();
    await live(x, 1);
    const id = x.sessions[0].mediaSessionId;
    await x.clock.advance(4 * 60_000 - 1_000);
    assert.equal(x.sdm.count("ExtendWebRtcStream"), 0);
    await x.clock.advance(1_000);
    await until(() => x.sessions.length === 2, "extended");
    assert.deepEqual(x.sdm.calls.at(-1), { command: "ExtendWebRtcStream", params: { mediaSessionId: id } });
    assert.equal(x.sessions[1].event, "extended");
    assert.equal(x.sessions[1].expiresAt, new Date(x.clock.now() + 5 * 60_000).toISOString());
    assert.ok(x.states.some((s) => s.state === "extending"));
    assert.equal(x.states.at(-1)?.state, "live");
    // Re-armed from the new expiry: the next extend is 4 minutes after this one.
    await x.clock.advance(4 * 60_000 - 1_000);
    assert.equal(x.sdm.count("ExtendWebRtcStream"), 1);
    await x.clock.advance(1_000);
    await until(() => x.sdm.count("ExtendWebRtcStream") === 2, "second extend");
    assert.equal(x.sdm.count("GenerateWebRtcStream"), 1);
  });

  it("opens a new session when the camera refuses to extend (battery doorbell), then stops the old one", async () => {
    const x = await setup();
    x.sdm.refuseExtend = true;
    x.session.start();
    await live(x, 1);
    const first = x.sessions[0].mediaSessionId;
    await x.clock.advance(4 * 60_000);
    await live(x, 2);
    const second = x.sessions[1];
    assert.equal(second.event, "renewed");
    assert.equal(second.generation, 2);
    assert.notEqual(second.mediaSessionId, first);
    const refused = x.states.find((s) => s.state === "extending" && s.why);
    assert.match(whyText(refused?.why), /refused to extend.*FAILED_PRECONDITION|refused to extend/);
    await until(() => x.sdm.calls.some((c) => c.command === "StopWebRtcStream"), "stop of the old session");
    assert.deepEqual(
      x.sdm.calls.map((c) => c.command),
      ["GenerateWebRtcStream", "ExtendWebRtcStream", "GenerateWebRtcStream", "StopWebRtcStream"],
    );
    assert.deepEqual(x.sdm.calls[3].params, { mediaSessionId: first });
    await until(() => x.camera.peers.length === 1, "old camera peer closed");
    // Media keeps coming, from the new session.
    const before = x.rtp.video;
    await until(() => x.rtp.video > before + 3, "RTP from the new session");
    // The new session's extend is armed from its own expiry.
    assert.equal(x.session.expiresAt, second.expiresAt);
  });

  it("opens a new session when the camera drops the peer", async () => {
    const x = await setup();
    x.session.start();
    await live(x, 1);
    await x.camera.dropPeer();
    await live(x, 2);
    const retry = x.states.find((s) => s.state === "retrying");
    assert.match(whyText(retry?.why), /data channel|connection/);
    assert.equal(x.sessions[1].event, "renewed");
    assert.deepEqual(x.sdm.calls.map((c) => c.command).sort(), [
      "GenerateWebRtcStream",
      "GenerateWebRtcStream",
      "StopWebRtcStream",
    ]);
    const before = x.rtp.audio;
    await until(() => x.rtp.audio > before + 3, "RTP from the new session");
  });

  it("opens a new session when media stops flowing for mediaTimeoutMs", async () => {
    const x = await setup({ mediaTimeoutMs: 10_000 });
    x.session.start();
    await live(x, 1);
    // While media flows, time passing is no problem: 16 s in steps of 2 s, with RTP arriving in each.
    const packets = () => x.rtp.audio + x.rtp.video;
    for (let i = 0; i < 8; i++) {
      const before = packets();
      await until(() => packets() > before, "RTP since the last step");
      await x.clock.advance(2_000);
    }
    assert.deepEqual(
      x.states.filter((s) => s.state === "retrying"),
      [],
      "the media watchdog never fired",
    );
    assert.equal(x.sessions.length, 1);
    await x.camera.dropPeer(undefined, "silence");
    // Real RTP still on its way lands before the fake clock moves (nothing marks the last packet).
    await delay(100);
    for (let i = 0; i < 6 && x.sessions.length < 2; i++) {
      await x.clock.advance(2_000);
      await delay(20); // the new session's real I/O gets going
    }
    await live(x, 2);
    assert.match(whyText(x.states.find((s) => s.state === "retrying")?.why), /no media from the camera/);
  });

  it("requests keyframes (PLI and FIR) on demand and every 2 s until the first keyframe", async () => {
    const x = await setup({}, "none");
    x.session.start();
    await live(x, 1);
    // One request as soon as the session is live.
    await until(() => x.camera.stats.pli === 1 && x.camera.stats.fir === 1, "first PLI and FIR");
    assert.equal(x.session.requestKeyframe(), false, "throttled within 500 ms");
    await x.clock.advance(600);
    assert.equal(x.session.requestKeyframe(), true);
    await until(() => x.camera.stats.pli === 2 && x.camera.stats.fir === 2, "on-demand PLI and FIR");
    // No keyframe arrives (no media): the 2-second probe keeps asking.
    await x.clock.advance(2_000);
    await x.clock.advance(2_000);
    await until(() => x.camera.stats.pli === 4, "probe requests");
    assert.equal(x.session.keyframeRequests, 4);
  });

  it("after a keyframe, asks again only when none came for 10 s", async () => {
    // A keyframe on the first frame, then none for 1000 frames.
    const x = await setup({}, "synthetic", 1000);
    x.session.start();
    await live(x, 1);
    await until(() => x.rtp.keyframes > 0, "the first keyframe");
    const after = x.session.keyframeRequests;
    const keyframes = x.rtp.keyframes;
    await x.clock.advance(8_000);
    assert.equal(x.session.keyframeRequests, after);
    await x.clock.advance(2_000);
    assert.equal(x.session.keyframeRequests, after + 1);
    // The camera answers with a keyframe, which restarts the 10 s.
    await until(() => x.rtp.keyframes > keyframes, "the requested keyframe");
    await x.clock.advance(8_000);
    assert.equal(x.session.keyframeRequests, after + 1);
  });

  it("retries a failed GenerateWebRtcStream with backoff, honouring Retry-After", async () => {
    const x = await setup();
    x.sdm.generateErrors.push(new TransientGoogleError("Google is unavailable", 503));
    x.sdm.generateErrors.push(new RateLimitedError("Rate limited", 30_000));
    x.session.start();
    await until(() => x.states.some((s) => s.state === "retrying"), "retrying");
    assert.match(whyText(x.states.find((s) => s.state === "retrying")?.why), /unavailable.*5 s/);
    await x.clock.advance(5_000);
    await until(() => x.states.filter((s) => s.state === "retrying").length === 2, "second retry");
    assert.match(whyText(x.states.at(-1)?.why), /Rate limited.*30 s/);
    await x.clock.advance(29_000);
    assert.equal(x.sdm.count("GenerateWebRtcStream"), 2);
    await x.clock.advance(1_000);
    await live(x, 1);
    assert.equal(x.sdm.count("GenerateWebRtcStream"), 3);
  });

  it("stops retrying on errors another attempt will not fix", async () => {
    const x = await setup();
    x.sdm.generateErrors.push(new NotFoundError("Device not found."));
    x.session.start();
    await until(() => x.session.state === "error", "error");
    assert.deepEqual(x.states.at(-1), { state: "error", reason: "Device not found." });
    await x.clock.advance(10 * 60_000);
    assert.equal(x.sdm.count("GenerateWebRtcStream"), 1);
  });

  it("stop() sends StopWebRtcStream and closes the peer", async () => {
    const x = await setup();
    x.session.start();
    await live(x, 1);
    const id = x.sessions[0].mediaSessionId;
    await x.session.stop();
    assert.deepEqual(x.sdm.calls.at(-1), { command: "StopWebRtcStream", params: { mediaSessionId: id } });
    assert.equal(x.states.at(-1)?.state, "stopped");
    await until(() => x.camera.peers.length === 0, "camera peer closed");
    assert.throws(() => x.session.start(), /starts once/);
  });

  it("stops the media session Google made while stop() was waiting for the answer", async () => {
    const x = await setup();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const execute = x.sdm.execute.bind(x.sdm);
    let asked = false;
    x.sdm.execute = (async (deviceId: string, command: string, params: never) => {
      if (command === "GenerateWebRtcStream") {
        asked = true;
        await gate;
      }
      return execute(deviceId, command as "StopWebRtcStream", params);
    }) as typeof x.sdm.execute;
    x.session.start();
    await until(() => asked, "the offer");
    await x.session.stop();
    release();
    await until(() => x.sdm.count("StopWebRtcStream") === 1, "the late StopWebRtcStream");
    assert.equal(x.sdm.count("GenerateWebRtcStream"), 1);
    assert.equal(x.sessions.length, 0);
    await until(() => x.camera.peers.length === 0, "the camera peer closed");
  });

  it("the camera's peer goes away when the client closes, even if StopWebRtcStream does not reach it", async () => {
    const x = await setup();
    const execute = x.sdm.execute.bind(x.sdm);
    x.sdm.execute = (async (deviceId: string, command: string, params: never) => {
      if (command === "StopWebRtcStream") return {};
      return execute(deviceId, command as "GenerateWebRtcStream", params);
    }) as typeof x.sdm.execute;
    x.session.start();
    await live(x, 1);
    assert.equal(x.camera.peers.length, 1);
    await x.session.stop();
    await until(() => x.camera.peers.length === 0, "the camera peer closed by the data channel");
  });
});

describe("WebRTC bridge RTP helpers", () => {
  const packet = (ssrc: number, seq: number, ts: number, payload: number[], pt = 96) => {
    const b = Buffer.alloc(12 + payload.length);
    b[0] = 0x80;
    b[1] = 0x80 | pt;
    b.writeUInt16BE(seq, 2);
    b.writeUInt32BE(ts, 4);
    b.writeUInt32BE(ssrc, 8);
    Buffer.from(payload).copy(b, 12);
    return b;
  };

  it("finds keyframes and parameter sets in single NAL, STAP-A and FU-A payloads", () => {
    assert.equal(startsKeyframe(Buffer.from([0x65, 0x88])), true); // IDR
    assert.equal(startsKeyframe(Buffer.from([0x41, 0x9a])), false); // P slice
    assert.equal(startsKeyframe(Buffer.from([0x7c, 0x85, 0x00])), true); // FU-A start of IDR
    assert.equal(startsKeyframe(Buffer.from([0x7c, 0x05, 0x00])), false); // FU-A continuation
    const stap = Buffer.from([0x18, 0, 4, 0x67, 0x4d, 0x00, 0x1f, 0, 2, 0x68, 0xee]);
    assert.equal(startsKeyframe(stap), true);
    const ps = new ParameterSets();
    assert.equal(ps.observe(stap), true);
    assert.equal(ps.observe(stap), false);
    assert.equal(ps.spropParameterSets, "Z00AHw==,aO4=");
    assert.equal(ps.profileLevelId, "4d001f");
    // Header extension and CSRCs are skipped to find the payload.
    const withExt = Buffer.concat([
      Buffer.from([0x91, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]),
      Buffer.from([0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0, 0x65, 1]),
    ]);
    assert.deepEqual([...rtpPayload(withExt)], [0x65, 1]);
  });

  it("keeps one SSRC, continuous sequence numbers and timestamps across a source switch", () => {
    let now = 1_000;
    const c = new RtpContinuity(90000, 102, 0xabcdef01, () => now);
    const a1 = c.rewrite(packet(1, 65535, 4_000_000_000, [1]));
    assert.equal(a1.readUInt32BE(8), 0xabcdef01);
    assert.equal(a1[1], 0x80 | 102, "marker kept, payload type replaced");
    now += 66;
    const a2 = c.rewrite(packet(1, 0, 4_000_006_000, [2]));
    assert.equal(a2.readUInt16BE(2), 0);
    assert.equal(a2.readUInt32BE(4), 4_000_006_000);
    // A new source 1.5 s later, with its own random numbering.
    now += 1_500;
    assert.equal(c.isNewSource(packet(2, 0, 0, [])), true);
    const b1 = c.rewrite(packet(2, 31000, 123, [3]));
    assert.equal(b1.readUInt32BE(8), 0xabcdef01);
    assert.equal(b1.readUInt16BE(2), 1);
    assert.equal(b1.readUInt32BE(4), 4_000_006_000 + 135_000);
    now += 66;
    const b2 = c.rewrite(packet(2, 31001, 6123, [4]));
    assert.equal(b2.readUInt16BE(2), 2);
    assert.equal(b2.readUInt32BE(4), 4_000_006_000 + 141_000);
    assert.equal(c.switches, 1);
    assert.deepEqual([...b2.subarray(12)], [4]);
  });
});
