/**
 * nest-restream end to end: the built node in the Node-RED test helper runs the real ffmpeg from a
 * real RTSP camera source (GStreamer; some tests through a token-checking RTSP edge that can drop
 * the session the way Google does) into a real RTMP ingest (nginx-rtmp standing in for YouTube).
 * What reaches the ingest is checked with ffprobe on the RTMP play URL; ffmpeg processes are found
 * in /proc by their command line.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { freePort, tempDir } from "../fixtures/ports";
import { ffmpegPath, listProcessDetails, listProcesses, probeStreams } from "../fixtures/probe";
import { RtmpServer } from "../fixtures/rtmp-server";
import { RtspEdge, type RtspStreamAuthority } from "../fixtures/rtsp-edge";
import { RtspSource } from "../fixtures/rtsp-source";
import { builtNode, helper, startServer, stopServer } from "../support/node-red";
import type { RestreamMsg } from "../support/messages";
import { assertNoSecrets } from "../support/secrets";
import { waitFor } from "../support/wait";

const restreamNode = builtNode("nest-restream");

type OutMsg = RestreamMsg;
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

/** Accepts any token of a stream while it is alive; `alive = false` + edge.check() drops sessions. */
class Authority implements RtspStreamAuthority {
  alive = true;
  readonly upstream = new Map<string, string>();
  authorize(streamId: string): { upstreamUrl: string } | null {
    const upstreamUrl = this.upstream.get(streamId);
    return this.alive && upstreamUrl ? { upstreamUrl } : null;
  }
  isAlive(streamId: string): boolean {
    return this.alive && this.upstream.has(streamId);
  }
}

describe("nest-restream end to end (real ffmpeg, RTSP source, nginx-rtmp)", function () {
  this.timeout(60_000);
  let src: RtspSource;
  let rtmp: RtmpServer;
  let edge: RtspEdge;
  const authority = new Authority();
  /** Secrets of the current test that must never show in status, messages or logs. */
  let secretsOfTest: string[] = [];

  before(async () => {
    const started = await Promise.allSettled([
      RtspSource.start(),
      RtmpServer.start(),
      RtspEdge.start({ authority, tls: false, checkIntervalMs: 60_000 }),
    ]);
    const [a, b, c] = started;
    if (a.status === "fulfilled") src = a.value;
    if (b.status === "fulfilled") rtmp = b.value;
    if (c.status === "fulfilled") edge = c.value;
    for (const r of started) if (r.status === "rejected") throw r.reason;
    authority.upstream.set("cam-aac", src.url("/cam-aac"));
    await startServer();
  });

  after(async () => {
    await stopServer();
    await Promise.all([edge?.stop(), src?.stop(), rtmp?.stop()]);
  });

  afterEach(async function () {
    // The spies go with unload: read what this test's node said first, check it after cleaning up
    // (a failure here names the test in mocha's "after each" hook report).
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
    await helper.unload();
    loaded = false;
    for (const fn of cleanups.splice(0)) await fn();
    authority.alive = true;
    await waitFor(() => ffmpegs().length === 0, 5000, "no ffmpeg left after the node closed");
    if (this.currentTest?.state === "passed") assertNoSecrets(texts, secrets);
  });

  let loaded = false;
  /** Run after the node is unloaded (e.g. stop a source of the test's own). */
  const cleanups: (() => Promise<void>)[] = [];
  const node = () => helper.getNode("rs") as TestNode;

  async function load(config: object, credentials: object = {}): Promise<OutMsg[]> {
    await helper.load(
      restreamNode,
      [
        { id: "rs", type: "nest-restream", name: "e2e", wires: [["out"]], ...config },
        { id: "out", type: "helper" },
      ],
      { rs: credentials },
    );
    loaded = true;
    const msgs: OutMsg[] = [];
    (helper.getNode("out") as TestNode).on("input", ((m: OutMsg) => msgs.push(m)) as (arg: never) => void);
    return msgs;
  }

  /** ffmpeg processes publishing to this test's RTMP server (optionally: to one key). */
  function ffmpegs(key?: string): number[] {
    return listProcesses("ffmpeg", `:${rtmp.rtmpPort}/${rtmp.app}/${key ?? ""}`);
  }

  /** The command line of the one ffmpeg for `key`. */
  async function argvOf(key: string): Promise<string[]> {
    const pid = await onePid(key);
    return listProcessDetails("ffmpeg", `:${rtmp.rtmpPort}/${rtmp.app}/${key}`).find((p) => p.pid === pid)
      ?.argv as string[];
  }

  /** The audio codec option of the one ffmpeg for `key`, e.g. "-c:a copy": what its plan does. */
  async function audioArgs(key: string): Promise<string> {
    const argv = await argvOf(key);
    const i = argv.indexOf("-c:a");
    return i >= 0 ? argv.slice(i, i + 2).join(" ") : "";
  }

  /**
   * The camera's `mount` of the source behind the edge, as a stream of its own for this test: its
   * URL (a token the test treats as a secret) and the most RTSP sessions ever open on it at once,
   * counted by the edge as it accepts each one (the one-process rule: never more than one reader).
   */
  function throughEdge(name: string, mount: string): { url: string; most: () => number } {
    const streamId = `one-${name}`;
    const token = `tok${name}Q7`;
    secretsOfTest.push(token);
    authority.upstream.set(streamId, src.url(mount));
    return { url: edge.url(streamId, token), most: () => edge.peakOf(streamId) };
  }

  async function onePid(key: string): Promise<number> {
    return waitFor(
      () => {
        const pids = ffmpegs(key);
        return pids.length === 1 ? (pids[0] as number) : 0;
      },
      5000,
      `one ffmpeg for ${key}`,
    );
  }

  /** Index of the first message at or after `from` whose state is `state`. */
  function waitState(msgs: OutMsg[], state: string, from = 0, timeoutMs = 20_000): Promise<number> {
    return waitFor(
      () => {
        const i = msgs.findIndex((m, j) => j >= from && m.payload.state === state);
        return i >= 0 ? i + 1 : 0; // +1: index 0 is falsy
      },
      timeoutMs,
      `state "${state}" (states so far: ${msgs.map((m) => m.payload.state).join(", ")})`,
    ).then((i) => i - 1);
  }

  async function expectH264Aac(key: string): Promise<void> {
    // The publish may still be settling after a replan or reconnect: try again until both show.
    let last = "";
    await waitFor(
      async () => {
        try {
          const p = await probeStreams(rtmp.keyUrl(key), 8000);
          last = JSON.stringify([p.video, p.audio]);
          return p.video.join() === "h264" && p.audio.join() === "aac";
        } catch (err) {
          last = String(err);
          return false;
        }
      },
      20_000,
      `H.264 and AAC at the ingest (last probe: ${last})`,
    );
  }

  function key(name: string): string {
    const k = `${name}-Zk8vQ3xW`;
    secretsOfTest.push(k);
    return k;
  }

  describe("publishes H.264 and AAC", () => {
    it("from an AAC source (custom target, key in the URL); the output message has the contract's fields", async () => {
      const k = key("aac");
      const msgs = await load({ target: "custom", url: rtmp.keyUrl(k) });
      const camera = throughEdge("aac", "/cam-aac");
      node().receive({ payload: camera.url });
      await waitState(msgs, "live");
      await rtmp.waitForPublish(k, 15_000);
      await expectH264Aac(k);
      // Audio "auto": the first run copies whatever audio there is, which for AAC is right: one
      // ffmpeg, one publish, no replan.
      assert.equal(await audioArgs(k), "-c:a copy");
      assert.equal(camera.most(), 1, "never more than one RTSP session on the camera's URL");
      assert.equal(rtmp.publishes.filter((p) => p.key === k).length, 1, "the start published once");
      assert.equal(msgs.filter((m) => m.payload.state === "starting").length, 1, "one run");
      const live = msgs.find((m) => m.payload.state === "live");
      assert.ok(live);
      assert.deepEqual(Object.keys(live.payload).sort(), [
        "bitrateKbps",
        "fps",
        "frames",
        "lastError",
        "restarts",
        "speed",
        "state",
        "uptimeS",
        "url",
      ]);
      assert.equal(live.payload.url, camera.url.replace(/auth=[^&]+/, "auth=***"), "the URL, redacted");
      assert.equal(live.payload.restarts, 0);
      assert.equal(live.topic, "e2e");
      // Stats while live: frames advance at about the source's 15 fps.
      const stats = await waitFor(
        () => msgs.find((m) => m.payload.state === "live" && (m.payload.frames ?? 0) > 30),
        15_000,
        "stats",
      );
      assert.ok((stats?.payload.fps ?? 0) > 5, JSON.stringify(stats?.payload));
      assert.ok(
        node().status.args.some((a) =>
          /^live \d+ fps, \d+ kb\/s/.test((a[0] as { text?: string }).text ?? ""),
        ),
      );
    });

    it("from a source without audio (silent AAC added; youtube-rtmp target, key as credential)", async () => {
      const k = key("noaudio");
      const msgs = await load({ target: "youtube-rtmp", url: rtmp.url }, { streamKey: k });
      const camera = throughEdge("noaudio", "/cam-noaudio");
      node().receive({ payload: camera.url });
      const live = await waitState(msgs, "live");
      await rtmp.waitForPublish(k, 15_000);
      await expectH264Aac(k);
      assert.equal(msgs[live]?.payload.restarts, 0, "adding silence is a plan change, not a failure");
      assert.equal(await audioArgs(k), "-c:a aac");
      assert.ok(
        (await argvOf(k)).some((a) => a.startsWith("anullsrc")),
        "silence as a second input",
      );
      assert.equal(camera.most(), 1, "never more than one RTSP session on the camera's URL");
    });

    it("from an Opus source (re-encoded to AAC)", async () => {
      const k = key("opus");
      const msgs = await load({ target: "custom", url: rtmp.keyUrl(k) });
      const camera = throughEdge("opus", "/cam-opus");
      node().receive({ payload: camera.url });
      const live = await waitState(msgs, "live");
      await rtmp.waitForPublish(k, 15_000);
      await expectH264Aac(k);
      assert.equal(await audioArgs(k), "-c:a aac");
      // The first run copies the audio: FLV refuses Opus at the header, and the listing has
      // already asked for the replan, so the next run re-encodes at once; not a failure.
      assert.equal(msgs[live]?.payload.restarts, 0, "the replan is not a restart");
      assert.ok(!msgs.some((m) => m.payload.state === "retrying"), "no failure reported");
      assert.equal(msgs.filter((m) => m.payload.state === "starting").length, 2, "one replan");
      // The replan's second ffmpeg opened its session only once the first one's was closed.
      assert.equal(edge.acceptedOf("one-opus"), 2, "one session per run");
      assert.equal(camera.most(), 1, "never more than one RTSP session on the camera's URL");
    });
  });

  describe("recovers", () => {
    it("when ffmpeg is killed with SIGKILL: a new ffmpeg publishes again", async () => {
      const k = key("sigkill");
      const msgs = await load({ target: "youtube-rtmp", url: rtmp.url }, { streamKey: k });
      node().receive({ payload: src.url("/cam-aac") });
      await waitState(msgs, "live");
      await rtmp.waitForPublish(k, 15_000);
      const pid = await onePid(k);
      const killedAt = Date.now();
      process.kill(pid, "SIGKILL");
      const retrying = await waitState(msgs, "retrying");
      assert.match(msgs[retrying]?.payload.lastError ?? "", /SIGKILL/);
      await waitState(msgs, "live", retrying);
      await rtmp.waitForPublish(k, 15_000, killedAt);
      const again = await onePid(k);
      assert.notEqual(again, pid);
      assert.equal(msgs[msgs.length - 1]?.payload.restarts, 1);
      await expectH264Aac(k);
    });

    it("when the input is cut (the edge drops the RTSP session): published again", async () => {
      const k = key("cut");
      const msgs = await load({ target: "custom", url: rtmp.keyUrl(k) });
      node().receive({ payload: edge.url("cam-aac", "tokCutA1") });
      secretsOfTest.push("tokCutA1");
      await waitState(msgs, "live");
      await rtmp.waitForPublish(k, 15_000);
      const pid = await onePid(k);
      authority.alive = false;
      const cutAt = Date.now();
      edge.check();
      authority.alive = true;
      await rtmp.waitForPublish(k, 15_000, cutAt);
      const from = msgs.findIndex((m) => m.payload.state === "retrying");
      assert.ok(from > 0, "the cut was reported as retrying");
      await waitState(msgs, "live", from);
      assert.notEqual(await onePid(k), pid);
      assert.equal(edge.sessions, 1);
    });

    it("when the RTSP source stops and comes back on the same port: published again", async () => {
      const own = await RtspSource.start({ mounts: [{ path: "/cam", audio: "aac" }] });
      cleanups.push(() => own.stop());
      const k = key("srcrestart");
      const msgs = await load({ target: "custom", url: rtmp.keyUrl(k) });
      node().receive({ payload: own.url("/cam") });
      await waitState(msgs, "live");
      await rtmp.waitForPublish(k, 15_000);
      await own.stop();
      const retrying = await waitState(msgs, "retrying");
      const back = await RtspSource.start({ port: own.port, mounts: [{ path: "/cam", audio: "aac" }] });
      cleanups.push(() => back.stop());
      // ffmpeg's retries back off (1 s, 2 s, …) while the source was away: one of them gets it.
      await rtmp.waitForPublish(k, 20_000, Date.now());
      await waitState(msgs, "live", retrying);
      assert.ok((msgs[msgs.length - 1]?.payload.restarts ?? 0) >= 1);
    });

    it("when the RTMP server restarts: published again", async () => {
      const k = key("rtmprestart");
      const msgs = await load({ target: "youtube-rtmp", url: rtmp.url }, { streamKey: k });
      node().receive({ payload: src.url("/cam-aac") });
      await waitState(msgs, "live");
      await rtmp.waitForPublish(k, 15_000);
      const restartedAt = Date.now();
      await rtmp.restart();
      const retrying = await waitState(msgs, "retrying");
      await rtmp.waitForPublish(k, 20_000, restartedAt);
      await waitState(msgs, "live", retrying);
      await expectH264Aac(k);
      // What ffmpeg said about the lost server shows redacted (checked in afterEach), not hidden.
      assert.ok(
        msgs.some((m) => m.payload.lastError),
        "lastError explains the restart",
      );
    });
  });

  it('msg.stream.event "extended" with a new URL keeps the running ffmpeg; the next reconnect uses the new URL', async () => {
    const k = key("extended");
    secretsOfTest.push("tokExtOld7", "tokExtNew8");
    const msgs = await load({ target: "custom", url: rtmp.keyUrl(k) });
    node().receive({ payload: edge.url("cam-aac", "tokExtOld7"), stream: { event: "started" } });
    // "live" is the first and only ffmpeg: audio "auto" copies the camera's AAC from the start.
    await waitState(msgs, "live");
    const published = await rtmp.waitForPublish(k, 15_000);
    const pid = await onePid(k);
    const publishes = rtmp.publishes.filter((p) => p.key === k).length;
    assert.equal(publishes, 1, "the start published once");
    const framesBefore = msgs[msgs.length - 1]?.payload.frames ?? 0;
    node().receive({ payload: edge.url("cam-aac", "tokExtNew8"), stream: { event: "extended" } });
    // Stats keep coming from the same ffmpeg and the same publish.
    await waitFor(
      () => {
        const last = msgs[msgs.length - 1]?.payload;
        return last?.state === "live" && (last.frames ?? 0) > framesBefore + 30;
      },
      15_000,
      "frames to advance after the extend",
    );
    assert.deepEqual(ffmpegs(k), [pid]);
    assert.equal(rtmp.publishes.filter((p) => p.key === k).length, publishes, "no new publish");
    assert.equal(published.doneAt, undefined, "the publish went on");
    const firstLive = msgs.findIndex((m) => m.payload.state === "live");
    assert.deepEqual(
      msgs.slice(firstLive).filter((m) => m.payload.state !== "live"),
      [],
      "no state change after the extend",
    );
    assert.match(msgs[msgs.length - 1]?.payload.url ?? "", /auth=\*\*\*/);
    assert.deepEqual(
      edge.openSessions().map((s) => s.token),
      ["tokExtOld7"],
    );
    // A reconnect (ffmpeg killed) opens the new URL.
    const killedAt = Date.now();
    process.kill(pid, "SIGKILL");
    await rtmp.waitForPublish(k, 15_000, killedAt);
    await waitFor(() => edge.openSessions().length === 1, 5000, "one session");
    assert.deepEqual(
      edge.openSessions().map((s) => s.token),
      ["tokExtNew8"],
    );
  });

  it('"snapshot": a JPEG of the running stream that decodes, from the one camera session; files on output 2', async () => {
    const k = key("snapshot");
    secretsOfTest.push("tokSnap5");
    const rec = tempDir("nest-restream-snap-rec-");
    await helper.load(
      restreamNode,
      [
        {
          id: "rs",
          type: "nest-restream",
          target: "custom",
          url: rtmp.keyUrl(k),
          extraOutputs: `${rec}/`,
          segmentSeconds: 2,
          snapshotSeconds: 1,
          wires: [["out"], ["files"], ["pics"]],
        },
        { id: "out", type: "helper" },
        { id: "files", type: "helper" },
        { id: "pics", type: "helper" },
      ],
      {},
    );
    loaded = true;
    const collect = <T>(id: string): T[] => {
      const got: T[] = [];
      (helper.getNode(id) as TestNode).on("input", ((m: T) => got.push(m)) as (arg: never) => void);
      return got;
    };
    const msgs = collect<OutMsg>("out");
    const files = collect<{ payload: string; file: { bytes: number } }>("files");
    const pics = collect<{ payload: Buffer; snapshot: { width: number; height: number } }>("pics");
    const sessionsBefore = edge.stats.accepted;
    node().receive({ payload: edge.url("cam-aac", "tokSnap5"), stream: { event: "started" } });
    await waitState(msgs, "live");
    await rtmp.waitForPublish(k, 15_000);
    await waitFor(() => files.length >= 1, 15_000, "a finished recording on output 2");
    node().receive({ payload: "snapshot" });
    const pic = await waitFor(() => pics[0], 10_000, "a snapshot");
    // Decoded by ffmpeg: a real picture of the camera's size.
    const jpeg = path.join(rec, "..", `snap-${Date.now()}.jpg`);
    fs.writeFileSync(jpeg, pic.payload);
    const probed = await probeStreams(jpeg, 8000, ["-count_frames"]);
    assert.deepEqual(probed.video, ["mjpeg"]);
    const stream = probed.streams.find((st) => st.codec_type === "video");
    assert.deepEqual([stream?.width, stream?.height], [pic.snapshot.width, pic.snapshot.height]);
    const decoded = spawnSync(ffmpegPath(), ["-v", "error", "-i", jpeg, "-f", "null", "-"], {
      encoding: "utf8",
    });
    assert.equal(decoded.status, 0, decoded.stderr);
    assert.equal(decoded.stderr, "", "decodes without an error");
    assert.equal(edge.stats.accepted - sessionsBefore, 1, "one camera session for all: no second connection");
    assert.equal(edge.openSessions().length, 1);
    for (const f of files) assert.equal(fs.statSync(f.payload).size, f.file.bytes, "complete when announced");
  });

  it("twenty redeploys with a running restream leave no ffmpeg behind", async function () {
    this.timeout(150_000);
    const k = key("redeploy");
    for (let i = 0; i < 20; i++) {
      const msgs = await load({ target: "custom", url: rtmp.keyUrl(k) });
      node().receive({ payload: src.url(i % 2 ? "/cam-aac" : "/cam-noaudio") });
      // Every other cycle closes an ffmpeg that is still connecting, the others a live one.
      if (i % 2) await waitState(msgs, "live");
      else await onePid(k);
      const closing = Date.now();
      await helper.unload();
      loaded = false;
      assert.ok(Date.now() - closing < 15_000, "closed within Node-RED's close timeout");
      assert.deepEqual(ffmpegs(), [], `cycle ${i}: an ffmpeg survived the redeploy`);
    }
  });

  it("a tee with broken additional outputs keeps publishing the main one", async () => {
    const k = key("tee");
    const closed = await freePort();
    const msgs = await load({
      target: "custom",
      url: rtmp.keyUrl(k),
      extraOutputs: `rtmp://127.0.0.1:${closed}/x\n/nonexistent-dir-e2e/rec.mkv`,
    });
    node().receive({ payload: src.url("/cam-aac") });
    await waitState(msgs, "live");
    await rtmp.waitForPublish(k, 15_000);
    const pid = await onePid(k);
    await expectH264Aac(k);
    await waitFor(() => (msgs[msgs.length - 1]?.payload.frames ?? 0) > 60, 15_000, "frames to advance");
    assert.deepEqual(ffmpegs(k), [pid], "the same ffmpeg runs on");
    assert.ok(!msgs.some((m) => m.payload.state === "retrying"), "no restart for a broken additional output");
  });

  it("bad input is rejected with done(err) saying what is accepted; the running ffmpeg keeps its pid", async () => {
    const k = key("badinput");
    const msgs = await load({ target: "custom", url: rtmp.keyUrl(k) });
    node().receive({ payload: src.url("/cam-aac") });
    await waitState(msgs, "live");
    await rtmp.waitForPublish(k, 15_000);
    const pid = await onePid(k);
    const publishes = rtmp.publishes.filter((p) => p.key === k).length;
    const bad = [
      { payload: 42 },
      { payload: "go" },
      { payload: { url: "x" } },
      { payload: src.url("/cam-opus"), stream: { event: "bogus" } },
      { payload: "start", target: "rtmp://nowhere" },
    ];
    for (const msg of bad) node().receive(msg);
    await waitFor(() => node().error.args.length >= bad.length, 5000, "an error per bad message");
    for (const [err] of node().error.args) {
      const text = err instanceof Error ? err.message : String(err);
      assert.match(text, /nest-restream accepts msg\.payload as an rtsp\(s\):\/\//);
      assert.match(text, /"start", "stop", "snapshot", null or false/);
      assert.match(text, /left as it is/);
    }
    assert.deepEqual(ffmpegs(k), [pid]);
    assert.equal(rtmp.publishes.filter((p) => p.key === k).length, publishes, "no new publish");
    assert.equal(msgs[msgs.length - 1]?.payload.state, "live");
  });

  it("the stream key never shows in status, messages or logs, through start, failure, retry and stop", async () => {
    const k = key("secret");
    rtmp.rejectKey(k); // the ingest refuses at first: ffmpeg's errors name the URL with the key
    try {
      const msgs = await load({ target: "youtube-rtmp", url: rtmp.url }, { streamKey: k });
      node().receive({ payload: src.url("/cam-aac") });
      const retrying = await waitState(msgs, "retrying");
      rtmp.allowKey(k);
      // The next run (first plan or the listed one: both copy the AAC) publishes and goes live.
      await waitState(msgs, "live", retrying);
      await rtmp.waitForPublish(k, 20_000);
      node().receive({ payload: "stop" });
      await waitState(msgs, "stopped");
      assert.ok(
        msgs.some((m) => m.payload.lastError),
        "the refusal was reported",
      );
      const texts = [
        ...msgs,
        ...node().status.args.flat(),
        ...node().debug.args.flat(),
        ...node().error.args.flat(),
      ].map((t) => JSON.stringify(t));
      assert.ok(
        texts.some((t) => t.includes("/live2/***")),
        "the key is masked where the URL shows",
      );
      assertNoSecrets(texts, [k]);
    } finally {
      rtmp.allowKey(k);
    }
  });
});
