/**
 * Node-RED itself killed with SIGKILL while it restreams (real Node-RED process, real ffmpeg, the
 * GStreamer RTSP source, nginx-rtmp): no ffmpeg outlives it, so the camera's session and the stream
 * key are free, and the restarted Node-RED publishes again with one ffmpeg, never two. (An ffmpeg
 * whose pipes break may die of it by chance; the recorder of a local clip shows it does not have to.)
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {
  nodeRedReady,
  nodeRedUserDir,
  repositoryRoot,
  startNodeRed,
  type NodeRedChild,
} from "../fixtures/node-red-child";
import { LeftoverProcess } from "../../src/ffmpeg/leftover-process";
import { killOnExit, stopChild, tempDir } from "../fixtures/ports";
import { ffmpegPath, listProcesses } from "../fixtures/probe";
import { RtmpServer } from "../fixtures/rtmp-server";
import { RtspSource } from "../fixtures/rtsp-source";
import { waitFor } from "../support/wait";

describe("Node-RED killed with SIGKILL while restreaming (real Node-RED process)", function () {
  this.timeout(120_000);
  let src: RtspSource;
  let rtmp: RtmpServer;
  /** Every Node-RED this file started: a failed test must not leave one publishing for the next. */
  const reds: NodeRedChild[] = [];
  const root = repositoryRoot(__dirname);
  /** Node-RED on `dir`, once its editor answers. */
  async function startRed(dir: string): Promise<NodeRedChild> {
    const red = await startNodeRed(dir, {});
    reds.push(red);
    await nodeRedReady(red, 60_000);
    return red;
  }
  /** SIGKILL: no close handler runs. */
  async function killRed(r: NodeRedChild): Promise<void> {
    const gone = new Promise((resolve) => r.child.once("exit", resolve));
    r.child.kill("SIGKILL");
    await gone;
  }
  const stopRed = (r: NodeRedChild | undefined) =>
    r ? stopChild(r.child, "SIGTERM", 15_000) : Promise.resolve();
  const KEY = "killed-red";
  let recordings: string;
  let clip: string;
  let realtimeFfmpeg: string;

  before(async () => {
    [src, rtmp] = await Promise.all([RtspSource.start(), RtmpServer.start()]);
    const dir = tempDir("nest-restream-killed-");
    recordings = path.join(dir, "rec");
    fs.mkdirSync(recordings);
    clip = path.join(dir, "clip.mkv");
    const made = spawnSync(ffmpegPath(), [
      ...["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15"],
      ...["-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p", clip],
    ]);
    assert.equal(made.status, 0, String(made.stderr));
    realtimeFfmpeg = path.join(dir, "ffmpeg-realtime");
    fs.writeFileSync(realtimeFfmpeg, `#!/bin/sh\nexec '${ffmpegPath()}' -re -stream_loop -1 "$@"\n`, {
      mode: 0o755,
    });
  });

  afterEach(async () => {
    await Promise.all(reds.splice(0).map(stopRed));
  });

  after(async () => {
    await Promise.all([src?.stop(), rtmp?.stop()]);
  });

  const flows = () => [
    { id: "t1", type: "tab", label: "restream" },
    {
      id: "go",
      type: "inject",
      z: "t1",
      once: true,
      onceDelay: 0.1,
      repeat: "",
      topic: "",
      payload: src.url("/cam-aac"),
      payloadType: "str",
      props: [{ p: "payload" }],
      wires: [["rs"]],
    },
    {
      id: "rs",
      type: "nest-restream",
      z: "t1",
      target: "custom",
      url: rtmp.keyUrl(KEY),
      wires: [[], [], []],
    },
    // A recording of a local clip played in real time, endlessly: an ffmpeg that nothing but the
    // kernel ends when Node-RED dies (it ignores its broken pipes and its standard input's end).
    {
      id: "clip",
      type: "inject",
      z: "t1",
      once: true,
      onceDelay: 0.1,
      repeat: "",
      topic: "",
      payload: clip,
      payloadType: "str",
      props: [{ p: "payload" }],
      wires: [["rec"]],
    },
    {
      id: "rec",
      type: "nest-restream",
      z: "t1",
      target: "custom",
      url: `${recordings}/`,
      ffmpegPath: realtimeFfmpeg,
      // The clip comes by message: a file input, allowed from this directory.
      messageDir: path.dirname(clip),
      messageFileInputs: true,
      wires: [[], ["announced"], []],
    },
    // Output 2 into the log, where the test reads it.
    {
      id: "announced",
      type: "function",
      z: "t1",
      func: "node.warn('recording ' + (msg.file.interrupted ? 'interrupted ' : 'complete ') + msg.payload + ' ' + msg.file.bytes); return null;",
      outputs: 1,
      wires: [[]],
    },
  ];
  const ffmpegs = () => listProcesses("ffmpeg", `/${KEY}`);
  const recorders = () => listProcesses("ffmpeg", recordings);

  it("leaves no ffmpeg behind, and the restarted Node-RED publishes again with one and announces the interrupted recording once", async () => {
    const dir = nodeRedUserDir(root, flows());
    const firstRed = await startRed(dir);
    await rtmp.waitForPublish(KEY, 30_000);
    const first = ffmpegs();
    assert.equal(first.length, 1, "one ffmpeg publishes");
    await waitFor(() => recorders().length === 1, 10_000, "one ffmpeg records");
    // The note names the file being written, and the file has some of the recording.
    const note = path.join(dir, "nest-restream", "rec.ffmpeg.json");
    const noted = () => {
      try {
        const files = (JSON.parse(fs.readFileSync(note, "utf8")) as { recordings?: { path: string }[] })
          .recordings;
        return files?.[0]?.path;
      } catch {
        return undefined;
      }
    };
    // The recorder's first run may restart (its clip has no audio track): wait until one file has been
    // the one being written for a second, with data in it.
    const seen = new Map<string, number>();
    await waitFor(
      () => {
        const file = noted();
        if (!file) return false;
        if (!seen.has(file)) seen.set(file, Date.now());
        return Date.now() - (seen.get(file) ?? 0) > 1000 && fs.statSync(file).size > 0;
      },
      20_000,
      "a recording being written, with data",
    );

    await killRed(firstRed);
    const killedAt = Date.now();
    const writing = noted();
    assert.ok(writing, "the note still names the file being written");
    await waitFor(() => ffmpegs().length === 0, 5000, "the publishing ffmpeg gone after Node-RED's death");
    await waitFor(() => recorders().length === 0, 5000, "the recording ffmpeg gone after Node-RED's death");
    await waitFor(() => !rtmp.isPublishing(KEY), 5000, "the publish ended at the ingest");

    const secondRed = await startRed(dir);
    const interrupted = () => [...secondRed.output().matchAll(/recording interrupted (\S+) (\d+)/g)];
    await waitFor(() => interrupted().length > 0, 15_000, "the interrupted recording announced");
    assert.equal(interrupted()[0][1], writing, "the file the killed Node-RED was writing");
    assert.equal(Number(interrupted()[0][2]), fs.statSync(writing).size);
    await rtmp.waitForPublish(KEY, 30_000, killedAt);
    const second = ffmpegs();
    assert.equal(second.length, 1, "one ffmpeg again, never two");
    assert.notDeepEqual(second, first, "a new ffmpeg");
    assert.equal(
      rtmp.publishes.filter((p) => p.key === KEY && p.doneAt === undefined).length,
      1,
      "one publisher at the ingest",
    );

    await stopRed(secondRed);
    await waitFor(() => ffmpegs().length + recorders().length === 0, 5000, "no ffmpeg after a normal stop");
    assert.equal(interrupted().length, 1, "announced once");
    assert.match(secondRed.output(), /recording complete \S+ \d+/, "its own recording, complete on stop");
  });

  it("a starting node ends an ffmpeg of its own that an earlier Node-RED left running", async () => {
    // What a Node-RED without setpriv leaves after a crash: its ffmpeg still publishing, and the note.
    const userDir = nodeRedUserDir(root, flows());
    const orphan = spawn(
      ffmpegPath(),
      [
        ...["-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", src.url("/cam-aac")],
        ...["-c", "copy", "-f", "flv", rtmp.keyUrl(KEY)],
      ],
      { stdio: "ignore" },
    );
    killOnExit(orphan);
    await rtmp.waitForPublish(KEY, 20_000);
    new LeftoverProcess(path.join(userDir, "nest-restream", "rs.ffmpeg.json")).remember(orphan.pid);
    const startedAt = Date.now();

    const started = await startRed(userDir);
    await waitFor(() => orphan.signalCode === "SIGKILL", 10_000, "the leftover ffmpeg ended");
    await rtmp.waitForPublish(KEY, 30_000, startedAt);
    assert.equal(ffmpegs().length, 1, "only the node's own ffmpeg");
    assert.match(started.output(), /ended ffmpeg \(pid \d+\) left running by an earlier Node-RED/);
    await stopRed(started);
  });
});
