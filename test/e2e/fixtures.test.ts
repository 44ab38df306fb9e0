/**
 * End-to-end checks of the media fixtures themselves, with real ffmpeg: the GStreamer RTSP
 * source (the camera), the token-checking RTSPS edge (Google's stream host) and nginx-rtmp
 * (YouTube's ingest). If a dependency is missing these fail, saying to run `npm run test:setup`.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { ffmpegPath, listProcesses, probeStreams } from "../fixtures/probe";
import { delay } from "../fixtures/ports";
import { RtmpServer } from "../fixtures/rtmp-server";
import { RtspEdge, type RtspStreamAuthority } from "../fixtures/rtsp-edge";
import { RtspSource, rtspRequest } from "../fixtures/rtsp-source";

interface Ffmpeg {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  log(): string;
  stop(): Promise<void>;
}

const running = new Set<Ffmpeg>();

function ffmpeg(args: string[]): Ffmpeg {
  const child = spawn(ffmpegPath(), ["-hide_banner", "-nostats", "-loglevel", "info", ...args], {
    stdio: ["pipe", "ignore", "pipe"],
  });
  let log = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (log = (log + d).slice(-8000)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ff: Ffmpeg = {
    child,
    exited,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin?.write("q");
        const t = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(t);
      }
    },
  };
  running.add(ff);
  void exited.then(() => running.delete(ff));
  return ff;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  ]);
}

/** A tiny authority: stream id → the token it accepts, its upstream, and whether it is alive. */
class TestAuthority implements RtspStreamAuthority {
  readonly streams = new Map<string, { token: string; upstreamUrl: string; alive: boolean }>();
  add(id: string, token: string, upstreamUrl: string): void {
    this.streams.set(id, { token, upstreamUrl, alive: true });
  }
  authorize(streamId: string, token: string): { upstreamUrl: string } | null {
    const s = this.streams.get(streamId);
    return s && s.alive && s.token === token ? { upstreamUrl: s.upstreamUrl } : null;
  }
  isAlive(streamId: string): boolean {
    return this.streams.get(streamId)?.alive ?? false;
  }
}

describe("e2e: media fixtures (RTSP source, RTSPS edge, nginx-rtmp)", function () {
  this.timeout(30000);
  let src: RtspSource;
  let edge: RtspEdge;
  let rtmp: RtmpServer;
  const authority = new TestAuthority();

  before(async function () {
    // Start all three; if one fails, stop the others and fail with its message (which says to
    // run `npm run test:setup` when a dependency is missing).
    const [a, b, c] = await Promise.allSettled([
      RtspSource.start(),
      RtmpServer.start(),
      RtspEdge.start({ authority, tls: true, checkIntervalMs: 200 }),
    ]);
    if (a.status === "fulfilled") src = a.value;
    if (b.status === "fulfilled") rtmp = b.value;
    if (c.status === "fulfilled") edge = c.value;
    for (const r of [a, b, c]) if (r.status === "rejected") throw r.reason;
  });

  after(async function () {
    await Promise.all([...running].map((f) => f.stop()));
    await Promise.all([edge?.stop(), src?.stop(), rtmp?.stop()]);
  });

  it("the RTSP source serves H.264 with AAC, with Opus and without audio", async function () {
    const [aac, opus, none] = await Promise.all([
      probeStreams(src.url("/cam-aac"), 15000),
      probeStreams(src.url("/cam-opus"), 15000),
      probeStreams(src.url("/cam-noaudio"), 15000),
    ]);
    assert.deepEqual([aac.video, aac.audio], [["h264"], ["aac"]]);
    assert.deepEqual([opus.video, opus.audio], [["h264"], ["opus"]]);
    assert.deepEqual([none.video, none.audio], [["h264"], []]);
    const v = aac.streams.find((s) => s.codec_type === "video");
    assert.equal(v?.width, 640);
    assert.equal(v?.height, 360);
    assert.equal(v?.r_frame_rate, "15/1");
  });

  it("(a) ffmpeg reads through the RTSPS edge with a good token and publishes H.264 + AAC to nginx-rtmp", async function () {
    authority.add("cam-a", "token-a", src.url("/cam-aac"));
    const accepted = edge.stats.accepted;
    const key = "key-a";
    const ff = ffmpeg([
      "-rtsp_transport",
      "tcp",
      "-timeout",
      "5000000",
      "-i",
      edge.url("cam-a", "token-a"),
      "-c",
      "copy",
      "-f",
      "flv",
      rtmp.keyUrl(key),
    ]);
    await within(
      Promise.race([
        rtmp.waitForPublish(key, 15000),
        ff.exited.then(() => Promise.reject(new Error(ff.log()))),
      ]),
      16000,
      "publish",
    );
    assert.equal(edge.stats.accepted, accepted + 1);
    assert.equal(edge.sessions, 1);
    assert.equal(edge.openSessions()[0].streamId, "cam-a");
    const probe = await probeStreams(rtmp.keyUrl(key), 10000);
    assert.deepEqual(probe.video, ["h264"]);
    assert.deepEqual(probe.audio, ["aac"]);
    assert.ok(edge.stats.bytesToClients > 10000, `only ${edge.stats.bytesToClients} bytes reached ffmpeg`);
    await ff.stop();
    await rtmp.waitForPublishDone(key, 5000);
    for (let i = 0; i < 40 && edge.sessions > 0; i++) await delay(50);
    assert.equal(edge.sessions, 0);
  });

  it("(b) a bad token gets 401 (CSeq echoed) and ffmpeg fails", async function () {
    authority.add("cam-b", "token-b", src.url("/cam-aac"));
    const refused = edge.stats.refused;
    const raw = await rtspRequest({ url: edge.url("cam-b", "wrong"), method: "OPTIONS" });
    assert.equal(raw.status, 401);
    assert.equal(raw.headers.cseq, "1");
    const ff = ffmpeg([
      "-rtsp_transport",
      "tcp",
      "-i",
      edge.url("cam-b", "wrong"),
      "-t",
      "2",
      "-f",
      "null",
      "-",
    ]);
    const code = await within(ff.exited, 10000, "ffmpeg exit");
    assert.notEqual(code, 0);
    assert.match(ff.log(), /401/);
    const unknown = await rtspRequest({ url: edge.url("nope", "token-b"), method: "DESCRIBE" });
    assert.equal(unknown.status, 401);
    assert.equal(edge.stats.refused, refused + 3);
    assert.equal(edge.sessions, 0);
  });

  it("(c) the edge cuts the session when the stream is no longer alive, and ffmpeg stops reading", async function () {
    authority.add("cam-c", "token-c", src.url("/cam-aac"));
    const cut = edge.stats.cut;
    const key = "key-c";
    const ff = ffmpeg([
      "-rtsp_transport",
      "tcp",
      "-timeout",
      "5000000",
      "-i",
      edge.url("cam-c", "token-c"),
      "-c",
      "copy",
      "-f",
      "flv",
      rtmp.keyUrl(key),
    ]);
    await within(
      Promise.race([
        rtmp.waitForPublish(key, 15000),
        ff.exited.then(() => Promise.reject(new Error(ff.log()))),
      ]),
      16000,
      "publish",
    );
    await delay(1000); // a little media flows
    assert.equal(edge.sessions, 1);
    const killedAt = Date.now();
    const s = authority.streams.get("cam-c");
    assert.ok(s);
    s.alive = false;
    await within(ff.exited, 8000, "ffmpeg to stop after the cut");
    assert.equal(edge.stats.cut, cut + 1);
    assert.equal(edge.sessions, 0);
    await rtmp.waitForPublishDone(key, 5000);
    assert.ok(Date.now() - killedAt < 8000);
    // The same token is now refused too.
    const again = await rtspRequest({ url: edge.url("cam-c", "token-c"), method: "OPTIONS" });
    assert.equal(again.status, 401);
  });

  it("(d) nginx-rtmp restarts on the same port and takes a new publish", async function () {
    const key = "key-d";
    const port = rtmp.rtmpPort;
    const publish = (): Ffmpeg =>
      ffmpeg([
        "-rtsp_transport",
        "tcp",
        "-i",
        src.url("/cam-aac"),
        "-c",
        "copy",
        "-f",
        "flv",
        rtmp.keyUrl(key),
      ]);
    const first = publish();
    await rtmp.waitForPublish(key, 15000);
    const oldPid = rtmp.pid;
    const restartedAt = Date.now();
    await rtmp.restart();
    assert.equal(rtmp.rtmpPort, port);
    assert.notEqual(rtmp.pid, oldPid);
    assert.equal(rtmp.isPublishing(key), false);
    // The publisher loses its server; it ends (with an error) rather than hanging.
    await within(first.exited, 10000, "the first publisher to notice the restart");
    const second = publish();
    const ev = await rtmp.waitForPublish(key, 15000, restartedAt);
    assert.ok(ev.at >= restartedAt);
    const probe = await probeStreams(rtmp.keyUrl(key), 10000);
    assert.deepEqual([probe.video, probe.audio], [["h264"], ["aac"]]);
    await second.stop();
    assert.equal(rtmp.publishes.filter((p) => p.key === key).length, 2);
  });

  it("on_publish can refuse a key", async function () {
    const key = "key-refused";
    rtmp.rejectKey(key);
    const ff = ffmpeg([
      "-rtsp_transport",
      "tcp",
      "-i",
      src.url("/cam-noaudio"),
      "-c",
      "copy",
      "-f",
      "flv",
      rtmp.keyUrl(key),
    ]);
    const code = await within(ff.exited, 10000, "refused publisher to exit");
    assert.notEqual(code, 0);
    assert.equal(rtmp.isPublishing(key), false);
    assert.ok(rtmp.rejected.some((r) => r.key === key));
  });

  it("plain rtsp:// edge: one session per stream, and cutOnNewToken cuts a session whose token was replaced", async function () {
    const plain = await RtspEdge.start({
      authority,
      tls: false,
      checkIntervalMs: 200,
      cutOnNewToken: true,
      singleSession: true,
    });
    try {
      assert.match(plain.baseUrl, /^rtsp:\/\/127\.0\.0\.1:\d+$/);
      authority.add("cam-e", "token-e1", src.url("/cam-noaudio"));
      const ff = ffmpeg([
        "-rtsp_transport",
        "tcp",
        "-i",
        plain.url("cam-e", "token-e1"),
        "-c",
        "copy",
        "-f",
        "null",
        "-",
      ]);
      for (let i = 0; i < 100 && plain.stats.bytesToClients < 20000; i++) await delay(100);
      assert.ok(plain.stats.bytesToClients >= 20000, `no media through the plain edge:\n${ff.log()}`);
      assert.equal(plain.sessions, 1);
      // One client at a time: a second session on the same stream is turned away.
      const second = await rtspRequest({ url: plain.url("cam-e", "token-e1"), method: "DESCRIBE" });
      assert.equal(second.status, 503);
      assert.equal(plain.stats.busy, 1);
      assert.equal(plain.stats.peakPerStream, 1);
      const s = authority.streams.get("cam-e");
      assert.ok(s);
      s.token = "token-e2"; // an extend rotated the token; the stream stays alive
      await within(ff.exited, 8000, "ffmpeg to stop after the token changed");
      assert.equal(plain.stats.cut, 1);
      assert.equal(edge.stats.cut, 1, "the TLS edge (no cutOnNewToken) is not affected");
    } finally {
      await plain.stop();
    }
  });

  it("leaves no ffmpeg of its own behind", async function () {
    await Promise.all([...running].map((f) => f.stop()));
    const ours = [
      ...listProcesses("ffmpeg", `:${rtmp.rtmpPort}/`),
      ...listProcesses("ffmpeg", `:${edge.port}/`),
    ];
    assert.deepEqual(ours, []);
  });
});
