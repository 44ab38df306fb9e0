/**
 * Every nest-restream target end to end: the built node in the Node-RED test helper runs the real
 * ffmpeg from the real RTSP camera source (GStreamer) into a real receiver on loopback, and what
 * arrives is checked with ffprobe (H.264 and AAC, frames counted):
 * - youtube-rtmps (the default): TLS in front of nginx-rtmp, the key as the stream name;
 * - youtube-hls: an HTTP PUT receiver (media playlist and segments);
 * - SRT: an ffmpeg SRT listener;
 * - RTSP publishing (ANNOUNCE/RECORD): an ffmpeg RTSP server in listen mode.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { HlsReceiver } from "../fixtures/hls-receiver";
import { FfmpegReceiver, TlsFront } from "../fixtures/ingest-receivers";
import { tempDir } from "../fixtures/ports";
import { listProcessDetails, listProcesses, probeStreams, type ProbeResult } from "../fixtures/probe";
import { RtmpServer } from "../fixtures/rtmp-server";
import { RtspSource } from "../fixtures/rtsp-source";
import type { RestreamMsg } from "../support/messages";
import { builtNode, helper, startServer, stopServer } from "../support/node-red";
import { assertNoSecrets } from "../support/secrets";
import { waitFor } from "../support/wait";

const restreamNode = builtNode("nest-restream");

interface Spy {
  args: unknown[][];
}
interface TestNode {
  receive(msg: object): void;
  on(event: string, fn: (arg: never) => void): void;
  status: Spy;
  error: Spy;
  send: Spy;
  debug: Spy;
  log: Spy;
  warn: Spy;
}

/** Frames of each codec that ffprobe decoded (-count_frames), e.g. { h264: 60, aac: 171 }. */
function framesByCodec(p: ProbeResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of p.streams) out[s.codec_name] = (out[s.codec_name] ?? 0) + Number(s.nb_read_frames ?? 0);
  return out;
}

/** Asserts one H.264 and one AAC stream, each with frames, and returns the frame counts. */
function assertH264AacWithFrames(p: ProbeResult, what: string): Record<string, number> {
  assert.deepEqual(p.video, ["h264"], `${what}: video ${JSON.stringify(p.video)}`);
  assert.deepEqual(p.audio, ["aac"], `${what}: audio ${JSON.stringify(p.audio)}`);
  const frames = framesByCodec(p);
  assert.ok((frames.h264 ?? 0) > 0, `${what}: no H.264 frames decoded (${JSON.stringify(frames)})`);
  assert.ok((frames.aac ?? 0) > 0, `${what}: no AAC frames decoded (${JSON.stringify(frames)})`);
  return frames;
}

describe("nest-restream targets end to end (real ffmpeg, RTSP source, real receivers)", function () {
  this.timeout(40_000);
  let src: RtspSource;
  let rtmp: RtmpServer;
  let loaded = false;
  let secretsOfTest: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const node = (): TestNode => helper.getNode("rs") as TestNode;

  before(async () => {
    const started = await Promise.allSettled([
      RtspSource.start({ mounts: [{ path: "/cam-aac", audio: "aac" }] }),
      RtmpServer.start(),
    ]);
    const [a, b] = started;
    if (a.status === "fulfilled") src = a.value;
    if (b.status === "fulfilled") rtmp = b.value;
    for (const r of started) if (r.status === "rejected") throw r.reason;
    await startServer();
  });

  after(async () => {
    await stopServer();
    await Promise.all([src?.stop(), rtmp?.stop()]);
  });

  afterEach(async function () {
    let texts: unknown[] = [];
    if (loaded) {
      const n = node();
      texts = [
        ...n.status.args.flat(),
        ...n.send.args.flat(),
        ...n.error.args.flat().map((e) => (e instanceof Error ? e.message : e)),
        ...n.debug.args.flat(),
        ...n.log.args.flat(),
        ...n.warn.args.flat(),
        ...helper.log().args.flat(),
      ];
    }
    const secrets = secretsOfTest;
    secretsOfTest = [];
    await unload();
    for (const fn of cleanups.splice(0)) await fn();
    await waitFor(() => ourFfmpegs().length === 0, 5000, "no restream ffmpeg left after the node closed");
    if (this.currentTest?.state === "passed") assertNoSecrets(texts, secrets);
  });

  async function unload(): Promise<void> {
    if (!loaded) return;
    await helper.unload();
    loaded = false;
  }

  /** The restream's ffmpeg processes (they read this test's RTSP source). */
  function ourFfmpegs(): number[] {
    return listProcesses("ffmpeg", src.url("/cam-aac"));
  }

  /** The command line of the one restream ffmpeg. */
  async function restreamArgv(): Promise<string[]> {
    await waitFor(() => ourFfmpegs().length === 1, 5000, "one restream ffmpeg");
    return listProcessDetails("ffmpeg", src.url("/cam-aac"))[0]?.argv ?? [];
  }

  async function start(config: object, credentials: object = {}): Promise<RestreamMsg[]> {
    await helper.load(
      restreamNode,
      [
        { id: "rs", type: "nest-restream", name: "targets", wires: [["out"]], ...config },
        { id: "out", type: "helper" },
      ],
      { rs: credentials },
    );
    loaded = true;
    const msgs: RestreamMsg[] = [];
    (helper.getNode("out") as TestNode).on("input", ((m: RestreamMsg) => msgs.push(m)) as (
      arg: never,
    ) => void);
    node().receive({ payload: src.url("/cam-aac") });
    return msgs;
  }

  async function waitLive(msgs: RestreamMsg[]): Promise<void> {
    await waitFor(
      () => msgs.some((m) => m.payload.state === "live"),
      20_000,
      `state "live" (states so far: ${msgs.map((m) => m.payload.state).join(", ")})`,
    );
  }

  function key(name: string): string {
    const k = `${name}-Qm7tR2pL`;
    secretsOfTest.push(k);
    return k;
  }

  it("youtube-rtmps (the default): through TLS into nginx-rtmp, the key as the stream name", async () => {
    const front = await TlsFront.start(rtmp.rtmpPort);
    cleanups.push(() => front.stop());
    const k = key("rtmps");
    // No `target`: the default is youtube-rtmps. The front's self-signed certificate is the CA file.
    const msgs = await start(
      { url: `rtmps://127.0.0.1:${front.port}/live2`, caFile: front.certFile },
      { streamKey: k },
    );
    const publish = await rtmp.waitForPublish(k, 20_000);
    await waitLive(msgs);
    assert.equal(publish.key, k, "the key arrived as the stream name");
    assert.ok(front.handshakes >= 1, "ffmpeg came in through TLS");
    const argv = await restreamArgv();
    assert.ok(
      argv.includes(`rtmps://127.0.0.1:${front.port}/live2/${k}`),
      "ffmpeg published to the rtmps:// URL with the key appended",
    );
    assert.ok(!argv.some((a) => a.startsWith(`rtmp://127.0.0.1:${rtmp.rtmpPort}`)), "not to plain RTMP");
    assert.equal(argv[argv.indexOf("-tls_verify") + 1], "1", "the certificate was verified");
    assert.equal(argv[argv.indexOf("-ca_file") + 1], front.certFile);
    // The stream plays: ffprobe reads 3 s of it from nginx and decodes frames of both codecs.
    const probe = await probeStreams(rtmp.keyUrl(k), 15_000, ["-count_frames", "-read_intervals", "%+3"]);
    assertH264AacWithFrames(probe, "RTMPS publish");
  });

  it("youtube-rtmps to a server whose certificate the system does not trust: refused, the key never sent", async () => {
    const front = await TlsFront.start(rtmp.rtmpPort);
    cleanups.push(() => front.stop());
    const k = key("untrusted");
    // No CA file: the system's certificates, which do not include the front's self-signed one.
    const msgs = await start({ url: `rtmps://127.0.0.1:${front.port}/live2` }, { streamKey: k });
    await waitFor(
      () => msgs.some((m) => /certificate failed verification/.test(String(m.payload.lastError ?? ""))),
      20_000,
      `a retry that says the certificate failed (so far: ${msgs.map((m) => m.payload.lastError).join(" | ")})`,
    );
    const status = node().status.args.map(([s]) => (s as { text?: string }).text ?? "");
    assert.ok(
      status.some((t) => /retrying \(\d+\): .*certificate failed verification/.test(t)),
      status.join("\n"),
    );
    assert.ok(!msgs.some((m) => m.payload.state === "live"));
    assert.equal(rtmp.publishes.filter((p) => p.key === k).length, 0, "nothing reached nginx with the key");
  });

  it("youtube-rtmps beside a recording (ffmpeg's tee): the certificate is checked there too", async () => {
    const front = await TlsFront.start(rtmp.rtmpPort);
    cleanups.push(() => front.stop());
    const dir = tempDir("targets-tee-");
    const k = key("tee");
    const msgs = await start(
      { url: `rtmps://127.0.0.1:${front.port}/live2`, caFile: front.certFile, extraOutputs: `${dir}/` },
      { streamKey: k },
    );
    await rtmp.waitForPublish(k, 20_000);
    await waitLive(msgs);
    const tee = (await restreamArgv()).find((a) => a.includes(`rtmps://127.0.0.1:${front.port}`)) ?? "";
    assert.match(tee, /tls_verify=1:ca_file=/, "the rtmps:// slave of the tee checks the certificate");
  });

  it("youtube-hls: media playlist and segments arrive by HTTP PUT; a segment is H.264 + AAC", async () => {
    const hls = await HlsReceiver.start({ keepData: true });
    cleanups.push(() => hls.stop());
    const k = key("hls");
    const msgs = await start({ target: "youtube-hls", url: hls.url }, { streamKey: k });
    await waitLive(msgs);
    // hls_time 2: two segments take about 4 s; the playlist follows each.
    await waitFor(
      () => hls.segments(k).length >= 2 && hls.uploads.some((u) => u.key === k && u.file === "out.m3u8"),
      20_000,
      `two segments and the playlist (so far: ${hls.uploads.map((u) => u.file).join(", ")})`,
    );
    assert.ok(
      hls.uploads.every((u) => u.key === k),
      "every upload carried the key as cid",
    );
    const playlists = hls.uploads.filter((u) => u.file === "out.m3u8");
    const playlist = playlists[playlists.length - 1]?.data?.toString("utf8") ?? "";
    assert.match(playlist, /^#EXTM3U/, "a playlist");
    assert.ok(!/#EXT-X-STREAM-INF/.test(playlist), "a media playlist, not a master playlist");
    assert.ok(!/#EXT-X-ENDLIST/.test(playlist), "no ENDLIST while live");
    // Each segment is listed by the address it was PUT to (…?cid=<key>&copy=0&file=out<n>.ts).
    const listed = playlist
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => new URL(l, hls.url).searchParams.get("file") ?? l);
    assert.ok(listed.length >= 1 && listed.every((f) => f.endsWith(".ts")), `segments listed: ${listed}`);
    const received = new Set(hls.segments(k).map((s) => s.file));
    for (const name of listed) assert.ok(received.has(name), `${name} is listed and was uploaded`);
    const segment = hls.segments(k)[0];
    assert.ok(segment?.data && segment.data.length > 0, "the first segment has a body");
    const file = path.join(tempDir("nest-restream-hls-seg-"), segment.file);
    fs.writeFileSync(file, segment.data);
    const probe = await probeStreams(file, 10_000, ["-count_frames"]);
    const frames = assertH264AacWithFrames(probe, "HLS segment");
    // A 2 s segment of the 15 fps source: about 30 frames.
    assert.ok((frames.h264 ?? 0) >= 15, `a segment holds about 2 s of video: ${JSON.stringify(frames)}`);
  });

  for (const kind of ["srt", "rtsp"] as const) {
    const what = kind === "srt" ? "SRT (caller) into an SRT listener" : "RTSP publishing (ANNOUNCE/RECORD)";
    it(`${what}: the receiver's file is H.264 + AAC with seconds of frames`, async () => {
      const receiver = await FfmpegReceiver.start(kind);
      cleanups.push(() => receiver.stop());
      const msgs = await start({ target: "custom", url: receiver.url });
      await waitLive(msgs);
      const argv = await restreamArgv();
      assert.ok(argv.includes(receiver.url), `ffmpeg publishes to ${receiver.url}`);
      // About 3 s of media; then the node stops ffmpeg and the receiver finishes its file.
      await waitFor(
        () => receiver.size() > 100_000 || !receiver.running,
        15_000,
        `media in the ${kind} receiver (${receiver.size()} bytes; ${receiver.log()})`,
      );
      assert.ok(receiver.running, `the ${kind} receiver still runs: ${receiver.log()}`);
      await unload();
      await receiver.finish();
      const probe = await probeStreams(receiver.file, 10_000, ["-count_frames"]);
      const frames = assertH264AacWithFrames(probe, `${kind} receiver`);
      assert.ok((frames.h264 ?? 0) >= 15, `at least a second of video: ${JSON.stringify(frames)}`);
    });
  }
});
