/**
 * nest-restream's message contract, with the real ffmpeg but no media servers: the input is a
 * short clip generated with lavfi into a temp dir and the output is a recording directory. The
 * node's ffmpeg path points at a wrapper that runs the real ffmpeg with `-re -stream_loop -1`
 * in front of the node's own arguments, so the clip plays in real time, endlessly, like a camera.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../fixtures/ports";
import { RtmpServer } from "../fixtures/rtmp-server";
import { ffmpegPath, listProcessDetails } from "../fixtures/probe";
import {
  builtNode,
  collect,
  doneNodes,
  handledNodes,
  helper,
  nodeRedMajor,
  startServer,
  stopServer,
} from "../support/node-red";
import type { RestreamPayload } from "../../src/ffmpeg/restreamer";
import type { RestreamMsg } from "../support/messages";
import { assertNoSecrets } from "../support/secrets";
import { waitFor } from "../support/wait";

const restreamNode = builtNode("nest-restream");

type Payload = RestreamPayload;
type OutMsg = RestreamMsg;
interface Status {
  fill?: string;
  shape?: string;
  text?: string;
}
interface TestNode {
  receive(msg: object): void;
  on(event: string, fn: (arg: never) => void): void;
  status: { args: Status[][] };
  error: { args: unknown[][] };
  warn: { args: unknown[][] };
  debug: { args: unknown[][] };
}

const CONTRACT_FIELDS = [
  "bitrateKbps",
  "fps",
  "frames",
  "lastError",
  "restarts",
  "speed",
  "state",
  "uptimeS",
  "url",
];

describe(`nest-restream node (Node-RED ${nodeRedMajor})`, function () {
  this.timeout(30_000);
  let dir: string;
  let clip: string;
  let realtimeFfmpeg: string;
  let outCount = 0;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nest-restream-node-"));
    clip = path.join(dir, "clip.mp4");
    const made = spawnSync(
      ffmpegPath(),
      [
        ...["-hide_banner", "-loglevel", "error", "-y"],
        ...["-f", "lavfi", "-i", "testsrc=size=320x240:rate=15"],
        ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"],
        ...["-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p"],
        ...["-c:a", "aac", clip],
      ],
      { encoding: "utf8" },
    );
    assert.equal(made.status, 0, made.stderr);
    realtimeFfmpeg = path.join(dir, "ffmpeg-realtime");
    fs.writeFileSync(realtimeFfmpeg, `#!/bin/sh\nexec '${ffmpegPath()}' -re -stream_loop -1 "$@"\n`, {
      mode: 0o755,
    });
    await startServer();
  });

  after(async () => {
    await stopServer();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await helper.unload();
    await waitFor(() => ffmpegs().length === 0, 5000, "no ffmpeg left after the node closed");
  });

  /** A fresh recording directory (created) as a custom target URL, ending in "/". */
  function outDir(): string {
    const d = path.join(dir, `out-${++outCount}`);
    fs.mkdirSync(d);
    return `${d}/`;
  }

  /** This suite's ffmpeg processes (their command line names the temp dir). */
  function ffmpegs(): { pid: number; argv: string[] }[] {
    return listProcessDetails("ffmpeg", dir);
  }

  const node = () => helper.getNode("rs") as TestNode;
  const statuses = () => node().status.args.map((a) => a[0] as Status);
  const lastStatus = () => statuses()[statuses().length - 1];
  const errors = () => node().error.args.map(([e]) => (e instanceof Error ? e.message : String(e)));

  async function load(config: object, credentials: object = {}): Promise<OutMsg[]> {
    await helper.load(
      [restreamNode, ...doneNodes()],
      [
        {
          id: "rs",
          type: "nest-restream",
          name: "porch",
          ffmpegPath: realtimeFfmpeg,
          // The clip and the output directories are files from messages: allowed inside the temp dir.
          messageDir: dir,
          messageFileInputs: true,
          wires: [["out"]],
          ...config,
        },
        { id: "out", type: "helper" },
        ...handledNodes("rs"),
      ],
      { rs: credentials },
    );
    const msgs: OutMsg[] = [];
    (helper.getNode("out") as TestNode).on("input", ((m: OutMsg) => msgs.push(m)) as (arg: never) => void);
    handled = collect<object>("rs-handled");
    return msgs;
  }

  /** Messages the node has finished with (done() without an error), in order: an ordering barrier. */
  let handled: object[] = [];

  /** Index of the first message at or after `from` in `state`. */
  async function waitState(msgs: OutMsg[], state: string, from = 0, timeoutMs = 15_000): Promise<number> {
    const i = await waitFor(
      () => msgs.findIndex((m, j) => j >= from && m.payload.state === state) + 1,
      timeoutMs,
      `state "${state}" (so far: ${msgs.map((m) => m.payload.state).join(", ")})`,
    );
    return i - 1;
  }

  it("reports its state in msg.payload (the contract's fields) and in its status", async () => {
    const out = outDir();
    const msgs = await load({ target: "custom", url: out });
    assert.deepEqual(statuses()[0], { fill: "grey", shape: "ring", text: "stopped" });

    node().receive({ payload: clip });
    const starting = await waitState(msgs, "starting");
    assert.deepEqual(msgs[starting]?.payload, {
      state: "starting",
      url: clip,
      fps: null,
      bitrateKbps: null,
      frames: null,
      speed: null,
      uptimeS: 0,
      restarts: 0,
      lastError: null,
    });
    assert.equal(msgs[starting]?.topic, "porch");
    assert.ok(statuses().some((s) => s.fill === "yellow" && s.shape === "ring" && s.text === "starting"));

    const live = await waitState(msgs, "live");
    const p = msgs[live]?.payload as Payload;
    assert.deepEqual(Object.keys(p).sort(), CONTRACT_FIELDS);
    assert.equal(p.url, clip);
    // The first progress block may not have every figure yet (bitrate N/A): number or null.
    for (const field of ["fps", "bitrateKbps", "frames", "speed"] as const) {
      assert.ok(p[field] === null || typeof p[field] === "number", `${field}: ${JSON.stringify(p)}`);
    }
    assert.ok((p.frames ?? 0) > 0, "live means frames are flowing");
    assert.equal(p.restarts, 0);
    assert.equal(p.lastError, null);
    await waitFor(() => lastStatus()?.fill === "green", 5000, "green status");
    assert.equal(lastStatus()?.shape, "dot");
    assert.match(lastStatus()?.text ?? "", /^live (\d+|\?) fps, (\d+|\?) kb\/s/);

    // Every few seconds while live: a stats message, uptime counting.
    const stats = await waitFor(
      () => msgs.slice(live + 1).find((m) => m.payload.uptimeS >= 4),
      9000,
      "stats",
    );
    assert.equal(stats?.payload.state, "live");
    assert.ok((stats?.payload.frames ?? 0) > (p.frames ?? 0), "frames advance");
    assert.deepEqual(Object.keys(stats?.payload ?? {}).sort(), CONTRACT_FIELDS);
    // Recordings go through ffmpeg's segment muxer, whose output size (so bitrate) ffmpeg reports as N/A.
    for (const field of ["fps", "frames", "speed"] as const) {
      assert.equal(typeof stats?.payload[field], "number", `${field}: ${JSON.stringify(stats?.payload)}`);
    }
    assert.match(lastStatus()?.text ?? "", /^live \d+ fps, (\d+|\?) kb\/s, 0:0\d$/);
    assert.equal(ffmpegs().length, 1);
    assert.ok(
      fs.readdirSync(out).some((f) => /\.mkv$/.test(f)),
      "a recording is written",
    );
  });

  it('"stop", null and false stop; "start" replays the last URL', async () => {
    const out = outDir();
    const msgs = await load({ target: "custom", url: out });
    let from = 0;
    node().receive({ payload: clip });
    for (const stop of ["stop", null, false]) {
      from = await waitState(msgs, "live", from);
      const pid = ffmpegs()[0]?.pid;
      assert.ok(pid, "an ffmpeg runs");
      node().receive({ payload: stop });
      from = await waitState(msgs, "stopped", from);
      assert.deepEqual(msgs[from]?.payload.state, "stopped");
      assert.equal(msgs[from]?.payload.url, clip, "the URL is kept for start");
      assert.deepEqual(lastStatus(), { fill: "grey", shape: "ring", text: "stopped" });
      assert.deepEqual(ffmpegs(), [], `ffmpeg ended on ${JSON.stringify(stop)}`);
      node().receive({ payload: "start" });
      from = await waitState(msgs, "starting", from);
      const again = await waitFor(() => ffmpegs()[0], 5000, "a new ffmpeg");
      assert.notEqual(again.pid, pid);
      assert.ok(again.argv.includes(clip), again.argv.join(" "));
    }
    await waitState(msgs, "live", from);
    assert.deepEqual(errors(), []);
  });

  it('nest-stream\'s "restarted" never starts a restream stopped on purpose; "start" then uses its URL', async () => {
    const msgs = await load({ target: "custom", url: outDir() });
    node().receive({ payload: clip, stream: { event: "started" } });
    let from = await waitState(msgs, "live");
    node().receive({ payload: "stop" });
    from = await waitState(msgs, "stopped", from);
    // Another session: another file (a file input from a message must exist inside messageDir).
    const other = path.join(dir, "clip-session-2.mp4");
    fs.copyFileSync(clip, other);
    const done = handled.length;
    node().receive({ payload: other, stream: { event: "restarted" } });
    // The node has handled it (done()): whatever it started or reported for it, it has by now.
    await waitFor(() => handled.length > done, 5000, "the message handled");
    assert.deepEqual(ffmpegs(), [], "still stopped");
    assert.equal(msgs.length, from + 1, "no new state");
    node().receive({ payload: "start" });
    await waitState(msgs, "starting", from);
    const proc = await waitFor(() => ffmpegs()[0], 5000, "an ffmpeg");
    assert.ok(proc.argv.includes(other), "the URL of the new session");
  });

  it('"start" before any URL is rejected with done(err); nothing runs', async () => {
    const msgs = await load({ target: "custom", url: outDir() });
    node().receive({ payload: "start" });
    await waitFor(() => errors().length === 1, 5000, "an error");
    assert.match(errors()[0] ?? "", /no stream URL yet/);
    assert.deepEqual(msgs, []);
    assert.deepEqual(ffmpegs(), []);
  });

  it("bad input is rejected with done(err) listing what is accepted", async () => {
    const msgs = await load({ target: "custom", url: outDir() });
    const bad = [{ payload: 7 }, { payload: "play" }, { payload: clip, stream: {} }, { target: [] }];
    for (const msg of bad) node().receive(msg);
    await waitFor(() => errors().length === bad.length, 5000, "an error per message");
    for (const e of errors()) {
      assert.match(e, /^nest-restream accepts msg\.payload as an rtsp\(s\):\/\//);
      assert.match(
        e,
        /"start", "stop", "snapshot", null or false, and msg\.target = \{ target, url, streamKey \}/,
      );
    }
    assert.deepEqual(msgs, []);
  });

  it("msg.target sets the destination: a running restream moves to it", async () => {
    const first = outDir();
    const second = outDir();
    const msgs = await load({ target: "custom", url: first });
    node().receive({ payload: clip });
    const live = await waitState(msgs, "live");
    const old = ffmpegs()[0];
    assert.ok(old?.argv.some((a) => a.startsWith(first)));
    node().receive({ target: { url: second } });
    const moved = await waitFor(
      () => ffmpegs().find((p) => p.pid !== old.pid && p.argv.some((a) => a.startsWith(second))),
      8000,
      "an ffmpeg writing to the new destination",
    );
    await waitState(msgs, "live", live + 1);
    await waitFor(() => fs.readdirSync(second).length > 0, 5000, "a recording in the new directory");
    assert.deepEqual(
      ffmpegs().map((p) => p.pid),
      [moved?.pid],
    );
    assert.ok(!msgs.slice(live + 1).some((m) => m.payload.state === "retrying"), "a switch is not a failure");
    assert.deepEqual(errors(), []);
  });

  it("msg.target gives a YouTube target its server and key; the key never shows", async () => {
    const streamKey = "abcd-efgh-ijkl-mnop-qrst";
    const closed = await freePort();
    const msgs = await load({ target: "youtube-rtmp" });
    assert.equal(lastStatus()?.fill, "red");
    assert.match(lastStatus()?.text ?? "", /needs a stream key/);
    // The target in the dialog's words, not its value.
    assert.doesNotMatch(lastStatus()?.text ?? "", /youtube-rtmp/);
    node().receive({ payload: clip, target: { url: `rtmp://127.0.0.1:${closed}/live2`, streamKey } });
    const proc = await waitFor(() => ffmpegs()[0], 5000, "ffmpeg");
    assert.ok(proc.argv.includes(`rtmp://127.0.0.1:${closed}/live2/${streamKey}`), proc.argv.join(" "));
    // Nothing listens there: ffmpeg fails and the node retries, saying why without the key.
    const retrying = await waitState(msgs, "retrying");
    assert.match(msgs[retrying]?.payload.lastError ?? "", /ffmpeg exited with status/);
    assert.ok(statuses().some((s) => /^retrying \(1\)/.test(s.text ?? "")));
    assertNoSecrets(
      [...msgs, ...statuses(), ...errors(), ...node().debug.args.flat(), ...helper.log().args.flat()],
      [streamKey],
    );
  });

  it("a missing ffmpeg fails with how to install one", async () => {
    const msgs = await load({
      target: "custom",
      url: outDir(),
      ffmpegPath: path.join(dir, "no-such-ffmpeg"),
    });
    node().receive({ payload: clip });
    const failed = await waitState(msgs, "failed");
    const p = msgs[failed]?.payload as Payload;
    assert.deepEqual(Object.keys(p).sort(), CONTRACT_FIELDS);
    assert.match(p.lastError ?? "", /ffmpeg was not found/);
    assert.match(p.lastError ?? "", /apt install ffmpeg/);
    assert.match(p.lastError ?? "", /Home Assistant.*system_packages/);
    assert.equal(lastStatus()?.fill, "red");
    assert.match(lastStatus()?.text ?? "", /^failed: ffmpeg was not found/);
    await waitFor(() => errors().some((e) => /apt install ffmpeg/.test(e)), 5000, "a node error");
    // It stays failed (no retry loop) until told again: it went straight to failed, no "retrying" on the
    // way (a retry after a backoff: the Restreamer unit test, whose fake clock shows no timer left).
    assert.deepEqual(
      msgs.map((m) => m.payload.state).filter((st) => st !== "starting"),
      ["failed"],
    );
  });

  it("an ingest that refuses the stream key: the reason in the status and lastError, warned once", async () => {
    const key = "refused-key-1234";
    const rtmp = await RtmpServer.start({ rejectKeys: [key] });
    try {
      const msgs = await load({ target: "youtube-rtmp", url: rtmp.url }, { streamKey: key });
      node().receive({ payload: clip });
      // The first failure reconnects at once, the second after a backoff: two reports of one reason.
      const first = await waitState(msgs, "retrying");
      await waitState(msgs, "retrying", first + 1, 20_000);
      const p = msgs[first]?.payload as Payload;
      assert.match(
        p.lastError ?? "",
        /^rtmp:\/\/127\.0\.0\.1:\d+\/live2\/\*\*\*: Input\/output error \(ffmpeg exited with status \d+\)\n/,
      );
      const status = statuses().find((s) => /^retrying/.test(s.text ?? ""));
      assert.match(status?.text ?? "", /^retrying \(1\): Input\/output error — rtmp:\/\/127\.0\.0\.1:\d+$/);
      const warnings = node().warn.args.map(([w]) => String(w));
      // Once, in full: the line ffmpeg printed (key masked) and what happened.
      assert.equal(warnings.filter((w) => /Input\/output error/.test(w)).length, 1, warnings.join("\n"));
      assert.match(
        warnings.find((w) => /Input\/output error/.test(w)) ?? "",
        /^rtmp:\/\/127\.0\.0\.1:\d+\/live2\/\*\*\*: Input\/output error \(ffmpeg exited with status \d+\)$/,
      );
      assertNoSecrets([...msgs, statuses(), warnings], [key]);
    } finally {
      await helper.unload();
      await rtmp.stop();
    }
  });

  it('output 2 announces each finished recording; output 3 answers "snapshot" with a JPEG', async () => {
    const out = outDir();
    await helper.load(
      [restreamNode],
      [
        {
          id: "rs",
          type: "nest-restream",
          ffmpegPath: realtimeFfmpeg,
          target: "custom",
          url: out,
          segmentSeconds: 1,
          snapshotSeconds: 1,
          messageDir: dir,
          messageFileInputs: true,
          wires: [["out"], ["files"], ["pics"]],
        },
        { id: "out", type: "helper" },
        { id: "files", type: "helper" },
        { id: "pics", type: "helper" },
      ],
      {},
    );
    const collect = <T>(id: string): T[] => {
      const got: T[] = [];
      (helper.getNode(id) as TestNode).on("input", ((m: T) => got.push(m)) as (arg: never) => void);
      return got;
    };
    interface FileMsg {
      payload: string;
      file: { path: string; bytes: number; startedAt: string; endedAt: string };
    }
    interface PicMsg {
      payload: Buffer;
      snapshot: { takenAt: string; width: number; height: number };
      topic: string;
      asked?: string;
    }
    const states = collect<OutMsg>("out");
    const files = collect<FileMsg>("files");
    const pics = collect<PicMsg>("pics");
    // Sizes as announced: a file still being written would grow after its announcement.
    const announced = new Map<string, number>();
    (helper.getNode("files") as TestNode).on("input", ((m: FileMsg) => {
      announced.set(m.payload, fs.statSync(m.payload).size);
    }) as (arg: never) => void);

    node().receive({ payload: clip });
    await waitState(states, "live");
    await waitFor(() => files.length >= 2, 15_000, "two finished recordings");
    for (const f of files) {
      assert.equal(f.payload, f.file.path);
      assert.ok(path.isAbsolute(f.payload) && f.payload.startsWith(out), f.payload);
      assert.equal(f.file.bytes, announced.get(f.payload), "the size when it was announced");
      assert.ok(f.file.bytes > 0);
      assert.ok(Date.parse(f.file.startedAt) < Date.parse(f.file.endedAt), JSON.stringify(f.file));
    }
    assert.equal(new Set(files.map((f) => f.payload)).size, files.length, "each file once");
    const writing = fs.readdirSync(out).map((f) => path.join(out, f));
    assert.ok(
      writing.some((f) => !announced.has(f)),
      "the file being written is not announced",
    );

    node().receive({ payload: "snapshot", asked: "porch" });
    const pic = await waitFor(() => pics[0], 5000, "a snapshot on output 3");
    assert.ok(Buffer.isBuffer(pic.payload));
    assert.equal(pic.payload.readUInt16BE(0), 0xffd8, "a JPEG (SOI)");
    assert.equal(pic.payload.readUInt16BE(pic.payload.length - 2), 0xffd9, "a whole JPEG (EOI)");
    assert.deepEqual([pic.snapshot.width, pic.snapshot.height], [320, 240]);
    assert.ok(Math.abs(Date.parse(pic.snapshot.takenAt) - Date.now()) < 5000, pic.snapshot.takenAt);
    assert.equal(pic.asked, "porch", "the request's fields travel with the picture");
    assert.equal(states.filter((m) => Buffer.isBuffer(m.payload)).length, 0, "no picture on output 1");

    // Stopping completes the file being written: every file on disk is announced, once.
    node().receive({ payload: "stop" });
    await waitState(states, "stopped");
    await waitFor(
      () => fs.readdirSync(out).every((f) => announced.has(path.join(out, f))),
      5000,
      "all announced",
    );
    assert.equal(new Set(files.map((f) => f.payload)).size, files.length, "each file once");
    for (const f of files) assert.equal(fs.statSync(f.payload).size, f.file.bytes, f.payload);
  });

  it('"snapshot" with snapshots off is refused with why, and the restream keeps running', async () => {
    const msgs = await load({ target: "custom", url: outDir() });
    node().receive({ payload: clip });
    await waitState(msgs, "live");
    const pid = ffmpegs()[0]?.pid;
    node().receive({ payload: "snapshot" });
    await waitFor(() => errors().length === 1, 5000, "an error");
    assert.match(
      errors()[0] ?? "",
      /snapshots are off: set the node's snapshot interval \(snapshotSeconds\)/,
    );
    assert.deepEqual(
      ffmpegs().map((p) => p.pid),
      [pid],
      "the same ffmpeg",
    );
    assert.equal(msgs[msgs.length - 1]?.payload.state, "live");
  });

  it("a message naming another server gets no stored key; file paths from messages stay in messageDir", async () => {
    const streamKey = "stored-key-7777-8888";
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "nest-restream-elsewhere-"));
    try {
      const first = outDir();
      const msgs = await load({ target: "custom", url: first }, { streamKey });
      node().receive({ payload: clip });
      await waitState(msgs, "live");
      const pid = ffmpegs()[0]?.pid;
      node().receive({ target: { url: "rtmp://127.0.0.1:1/live" } });
      node().receive({ target: { url: `${elsewhere}/` } });
      node().receive({ target: { url: `${first}../` } });
      await waitFor(() => errors().length === 3, 5000, "an error per message");
      // The checks of paths take a moment: the errors come in any order.
      for (const expected of [
        /another server \(127\.0\.0\.1\).*msg\.target\.streamKey/,
        /must lie inside the node's messageDir/,
        /may not contain "\.\."/,
      ]) {
        assert.ok(
          errors().some((e) => expected.test(e)),
          `${expected}: ${errors().join(" / ")}`,
        );
      }
      assert.deepEqual(fs.readdirSync(elsewhere), []);
      assert.deepEqual(
        ffmpegs().map((p) => p.pid),
        [pid],
        "the running stream keeps running",
      );
      assert.ok(!ffmpegs()[0]?.argv.some((a) => a.includes(streamKey)));
      assertNoSecrets([...msgs, ...statuses(), ...errors(), ...helper.log().args.flat()], [streamKey]);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("a file input from a message is refused unless the node allows file inputs", async () => {
    const msgs = await load({ target: "custom", url: outDir(), messageFileInputs: false });
    node().receive({ payload: clip });
    await waitFor(() => errors().length === 1, 5000, "an error");
    assert.match(
      errors()[0] ?? "",
      /file path inputs are off in this node: inputs from messages are stream URLs/,
    );
    assert.deepEqual(msgs, []);
    assert.deepEqual(ffmpegs(), []);
  });

  it("extra outputs take their keys from the extraKeys credential; the deployed flow carries none", async () => {
    const extraKey = "extra-key-9999-0000";
    const closed = await freePort();
    const extraOutputs = `rtmp://127.0.0.1:${closed}/app`;
    await load({ target: "custom", url: outDir() });
    // A deploy from the editor: the dialog's credentials travel inside the node, as the editor sends them.
    const redNodes = helper._redNodes as {
      setFlows(flows: object[], credentials: null, type: string): Promise<unknown>;
      getFlows(): { flows: object[] };
      getCredentials(id: string): Record<string, string> | undefined;
    };
    await redNodes.setFlows(
      [
        {
          id: "rs",
          type: "nest-restream",
          name: "porch",
          ffmpegPath: realtimeFfmpeg,
          target: "custom",
          url: outDir(),
          messageDir: dir,
          messageFileInputs: true,
          extraOutputs,
          credentials: { extraKeys: extraKey },
          wires: [["out"]],
        },
        { id: "out", type: "helper" },
      ],
      null,
      "full",
    );
    // What is saved and exported as the flow has no key: it is a credential, kept apart (encrypted).
    assert.ok(!JSON.stringify(redNodes.getFlows().flows).includes(extraKey), "no key in the flow");
    assert.equal(redNodes.getCredentials("rs")?.extraKeys, extraKey, "kept as the node's credential");
    const out = await waitFor(() => helper.getNode("out") as TestNode | null, 5000, "the new flow");
    const msgs: OutMsg[] = [];
    out.on("input", ((m: OutMsg) => msgs.push(m)) as (arg: never) => void);
    node().receive({ payload: clip });
    const proc = await waitFor(() => ffmpegs()[0], 5000, "ffmpeg");
    assert.ok(
      proc.argv.some((a) => a.includes(`rtmp://127.0.0.1:${closed}/app/${extraKey}`)),
      "the key is appended to the extra rtmp output",
    );
    assert.ok(!node().warn.args.some((a) => /line \d/.test(String(a[0]))), "no key in the URL: no warning");
    await waitState(msgs, "live");
    assertNoSecrets(
      [...msgs, ...statuses(), ...errors(), ...node().debug.args.flat(), ...helper.log().args.flat()],
      [extraKey],
    );
  });

  it("an extra output URL that carries a key gets a warning that names the line, not the key", async () => {
    const inline = "inline-key-1234-5678";
    await load({
      target: "custom",
      url: outDir(),
      extraOutputs: `/tmp/x/\nrtmp://127.0.0.1:1/app/${inline}`,
    });
    const warned = node().warn.args.map((a) => String(a[0]));
    assert.ok(
      warned.some((w) => /line 2: .*move the key to "Extra keys"/.test(w)),
      warned.join("\n"),
    );
    assertNoSecrets(warned, [inline]);
  });
});
