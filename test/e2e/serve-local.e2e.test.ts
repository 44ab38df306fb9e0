/**
 * nest-stream `serve: "local"` end to end: the fake Google hands out short streams (6 s) behind the
 * token-checking RTSPS edge in front of a real RTSP camera source (H.264 + AAC); nest-stream keeps
 * ONE upstream session and serves it at a local rtsp:// URL, where two real readers play at once
 * (ffmpeg, and GStreamer's rtspsrc) across several extends. With an edge that cuts every
 * connection whose token an extend replaced, the readers (and a restream publishing to RTMP) stay
 * connected while the node reconnects upstream with the newest URL.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FakeGoogle } from "../fixtures/fake-google";
import { listProcesses } from "../fixtures/probe";
import { RtmpServer } from "../fixtures/rtmp-server";
import { RtspEdge, selfSignedCert } from "../fixtures/rtsp-edge";
import { RtspSource } from "../fixtures/rtsp-source";
import { ACCOUNT_CREDENTIALS, accountNode } from "../support/flows";
import type { StreamMsg } from "../support/messages";
import { builtNode, collect, helper, startServer, stopServer } from "../support/node-red";
import { waitFor } from "../support/wait";

const nodes = [builtNode("nest-account"), builtNode("nest-stream"), builtNode("nest-restream")];

/** A long-running reader process; `video` / `audio` count what it received. */
abstract class Reader {
  child!: ChildProcess;
  /** The first and the last 10,000 characters of what it wrote. */
  head = "";
  log = "";
  video = 0;
  audio = 0;
  exited = false;

  protected run(cmd: string, args: string[], onLine: (line: string) => void): void {
    this.child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const reader = () => {
      let rest = "";
      return (d: Buffer) => {
        const lines = (rest + d.toString()).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) onLine(line);
        if (this.head.length < 10_000) this.head += d.toString().slice(0, 10_000 - this.head.length);
        this.log = (this.log + d.toString()).slice(-10_000);
      };
    };
    this.child.stdout?.on("data", reader());
    this.child.stderr?.on("data", reader());
    this.child.once("exit", () => (this.exited = true));
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill("SIGTERM");
    await waitFor(() => this.exited, 5000, "a reader to exit").catch(() => this.child.kill("SIGKILL"));
  }
}

/** ffmpeg stream-copying both tracks to the null muxer, with progress on stdout. */
class FfmpegReader extends Reader {
  constructor(url: string) {
    super();
    this.run(
      process.env.FFMPEG_PATH ?? "ffmpeg",
      [
        ...["-hide_banner", "-nostdin", "-loglevel", "info"],
        ...["-rtsp_transport", "tcp", "-timeout", "10000000", "-i", url],
        ...["-map", "0", "-c", "copy", "-f", "null", "-"],
        ...["-progress", "pipe:1", "-stats_period", "0.25"],
      ],
      (line) => {
        const m = /^frame=(\d+)$/.exec(line);
        if (m) this.video = Number(m[1]);
        if (/Stream #0:\d+: Audio: aac/.test(line)) this.audio = 1;
      },
    );
  }
}

/** GStreamer: rtspsrc over TCP, H.264 and AAC depayloaded and parsed into fakesinks that report each buffer. */
class GstReader extends Reader {
  constructor(url: string) {
    super();
    this.run(
      "gst-launch-1.0",
      [
        "-v",
        "rtspsrc",
        `location=${url}`,
        "protocols=tcp",
        "latency=0",
        "name=s",
        ...["s.", "!", "application/x-rtp,media=video", "!", "rtph264depay", "!", "h264parse"],
        ...["!", "fakesink", "name=v", "silent=false", "sync=false"],
        ...["s.", "!", "application/x-rtp,media=audio", "!", "rtpmp4gdepay", "!", "aacparse"],
        ...["!", "fakesink", "name=a", "silent=false", "sync=false"],
      ],
      (line) => {
        if (/GstFakeSink:v: last-message = chain/.test(line)) this.video++;
        else if (/GstFakeSink:a: last-message = chain/.test(line)) this.audio++;
      },
    );
  }
}

describe("nest-stream serve local end to end (fake Google, RTSPS edge, ffmpeg and GStreamer readers)", function () {
  this.timeout(60_000);
  let fake: FakeGoogle;
  let source: RtspSource;
  let rtmp: RtmpServer;
  let caDir: string;
  const readers: Reader[] = [];

  before(async () => {
    source = await RtspSource.start({ mounts: [{ path: "/cam-aac", audio: "aac" }] });
    rtmp = await RtmpServer.start();
    fake = await FakeGoogle.start({ streamLifetimeS: 6, mediaUrl: source.url("/cam-aac") });
    caDir = fs.mkdtempSync(path.join(os.tmpdir(), "serve-local-ca-"));
    const caFile = path.join(caDir, "ca.pem");
    fs.writeFileSync(caFile, (await selfSignedCert()).cert);
    await startServer({ ...fake.env(), NEST_RESTREAM_RTSPS_CA_FILE: caFile });
  });
  after(async () => {
    await stopServer();
    await Promise.all([fake?.stop(), source?.stop(), rtmp?.stop()]);
    fs.rmSync(caDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const r of readers.splice(0)) await r.stop();
    await helper.unload();
    fake.resetRateLimits();
  });

  const flow = (restreamUrl?: string) => [
    accountNode(),
    {
      id: "cam",
      type: "nest-stream",
      account: "acc",
      deviceId: "cam-front",
      startOnDeploy: true,
      serve: "local",
      rtspPort: "0",
      wires: [restreamUrl ? ["urls", "rs"] : ["urls"]],
    },
    { id: "urls", type: "helper" },
    ...(restreamUrl
      ? [{ id: "rs", type: "nest-restream", target: "custom", url: restreamUrl, audio: "auto", wires: [[]] }]
      : []),
  ];

  /** Starts both readers on the local URL and waits until each has video and audio. */
  async function twoReaders(url: string): Promise<[Reader, Reader]> {
    const pair: [Reader, Reader] = [new FfmpegReader(url), new GstReader(url)];
    readers.push(...pair);
    for (const r of pair) {
      await waitFor(
        () => (r.video > 10 && r.audio > 0) || r.exited,
        20_000,
        `${r.constructor.name} media`,
      ).catch((err: Error) => {
        throw new Error(`${err.message} (video ${r.video}, audio ${r.audio}):\n${r.head}\n…\n${r.log}`);
      });
      assert.equal(r.exited, false, r.log);
    }
    const ff = pair[0].head;
    assert.match(ff, /Stream #0:0: Video: h264 .*640x360/, ff);
    assert.match(ff, /Stream #0:1: Audio: aac .*48000 Hz, mono/, ff);
    return pair;
  }

  const extendsOf = (urls: StreamMsg[]) => urls.filter((m) => m.stream?.event === "extended").length;

  it("one upstream session serves ffmpeg and GStreamer at once across three extends", async () => {
    const edge = await RtspEdge.start({ authority: fake, tls: true });
    fake.setRtspEdgeBase(edge.baseUrl);
    try {
      await helper.load(nodes, flow(), ACCOUNT_CREDENTIALS);
      const urls = collect<StreamMsg>("urls");
      const started = await waitFor(() => urls.find((m) => m.stream?.event === "started"), 15_000, "started");
      const url = started.payload ?? "";
      assert.match(url, /^rtsp:\/\/127\.0\.0\.1:\d+\/cam-front$/);
      const pair = await twoReaders(url);
      const before = extendsOf(urls);
      await waitFor(() => extendsOf(urls) >= before + 3, 25_000, "three extends");
      const mark = pair.map((r) => [r.video, r.audio]);
      await waitFor(
        () => pair.every((r, i) => r.video > mark[i][0] + 15 && r.audio >= mark[i][1]),
        10_000,
        "frames after the extends",
      );
      assert.ok(pair[1].audio > mark[1][1], "GStreamer still gets AAC");
      for (const r of pair) assert.equal(r.exited, false, r.log);
      assert.equal(edge.stats.accepted, 1, "exactly one upstream session at the edge");
      assert.equal(edge.stats.cut, 0);
      assert.equal(edge.stats.refused, 0);
      assert.equal(edge.stats.peakPerStream, 1);
      assert.equal(fake.commands("GenerateRtspStream").length, 1);
      for (const m of urls) {
        assert.ok(m.payload === null || m.payload === url, `the URL never changes: ${m.payload}`);
        assert.doesNotMatch(JSON.stringify(m), /auth=/);
      }
    } finally {
      await helper.unload();
      await edge.stop();
    }
  });

  it("an edge that cuts on every extend: readers and a restream stay connected while the upstream reconnects", async () => {
    const edge = await RtspEdge.start({
      authority: fake,
      tls: true,
      cutOnNewToken: true,
      checkIntervalMs: 250,
    });
    fake.setRtspEdgeBase(edge.baseUrl);
    try {
      await helper.load(nodes, flow(`${rtmp.url}/local`), ACCOUNT_CREDENTIALS);
      const urls = collect<StreamMsg>("urls");
      const started = await waitFor(() => urls.find((m) => m.stream?.event === "started"), 15_000, "started");
      const pair = await twoReaders(started.payload ?? "");
      await rtmp.waitForPublish("local", 20_000);
      const pids = listProcesses("ffmpeg", "/local");
      assert.equal(pids.length, 1, "one restream ffmpeg");
      const publishes = rtmp.publishes.filter((p) => p.key === "local").length;

      const cuts = edge.stats.cut;
      await waitFor(() => edge.stats.cut >= cuts + 3, 25_000, "three cuts");
      const mark = pair.map((r) => r.video);
      await waitFor(() => pair.every((r, i) => r.video > mark[i] + 15), 10_000, "frames after the cuts");
      for (const r of pair) assert.equal(r.exited, false, r.log);
      assert.equal(edge.stats.refused, 0, "every reconnect used the newest token");
      assert.equal(edge.stats.peakPerStream, 1, "never two upstream sessions at once");
      assert.equal(edge.stats.accepted, edge.stats.cut + 1, "one new upstream session per cut");
      assert.ok(rtmp.isPublishing("local"), "the restream still publishes");
      assert.equal(
        rtmp.publishes.filter((p) => p.key === "local").length,
        publishes,
        "no reconnect at the ingest",
      );
      assert.deepEqual(listProcesses("ffmpeg", "/local"), pids, "the same restream ffmpeg throughout");
      assert.deepEqual(
        [...new Set(urls.map((m) => m.stream?.event))],
        ["started", "extended"],
        "readers are never told to reconnect",
      );
    } finally {
      await helper.unload();
      await edge.stop();
    }
  });
  it("with an RTSP user and password: the message's URL plays in ffmpeg, GStreamer and a restream; without them 401", async () => {
    const edge = await RtspEdge.start({ authority: fake, tls: true });
    fake.setRtspEdgeBase(edge.baseUrl);
    const password = "Front:door@2026/x";
    try {
      await helper.load(nodes, flow(`${rtmp.url}/authed`), {
        ...ACCOUNT_CREDENTIALS,
        cam: { rtspUser: "frigate", rtspPassword: password },
      });
      const urls = collect<StreamMsg>("urls");
      const started = await waitFor(() => urls.find((m) => m.stream?.event === "started"), 15_000, "started");
      const url = started.payload ?? "";
      assert.match(url, /^rtsp:\/\/frigate:Front%3Adoor%402026%2Fx@127\.0\.0\.1:\d+\/cam-front$/);
      await twoReaders(url);
      // The restream (its own ffmpeg) reads the same URL, password and all.
      await rtmp.waitForPublish("authed", 20_000);
      // Without the password, or with a wrong one, a reader is turned away.
      const plain = url.replace(/\/\/[^@]+@/, "//");
      for (const bad of [plain, url.replace("Front%3Adoor", "Back%3Adoor")]) {
        const r = new FfmpegReader(bad);
        readers.push(r);
        await waitFor(() => r.exited, 15_000, "the refused reader to give up");
        assert.match(r.log, /401 Unauthorized/, r.log);
        assert.equal(r.video, 0);
      }
      assert.equal(edge.stats.accepted, 1, "still one upstream session");
      const logs = (helper.log().args as unknown[][]).map((a) => JSON.stringify(a[0]));
      for (const l of logs) assert.ok(!l.includes(password) && !l.includes("Front%3Adoor%402026"), l);
    } finally {
      await helper.unload();
      await edge.stop();
    }
  });
});
