/**
 * The Restreamer with the real ffmpeg: a generated test clip (looped in real time) as the input
 * and recordings on disk as the output. RTSP/RTMP end to end tests live in test/e2e.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildArgs } from "../../src/ffmpeg/args";
import { Restreamer, resolveFfmpegPath, type RestreamSnapshot } from "../../src/ffmpeg/restreamer";
import { resolveOutputs } from "../../src/ffmpeg/targets";

const FFMPEG = resolveFfmpegPath();

function haveFfmpeg(): boolean {
  return spawnSync(FFMPEG, ["-version"], { stdio: "ignore" }).status === 0;
}

function makeClip(file: string, withAudio: boolean, audioCodec = "aac"): void {
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    "testsrc=size=320x240:rate=15",
  ];
  if (withAudio) args.push("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000");
  args.push("-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p");
  if (withAudio) args.push("-c:a", audioCodec);
  args.push(file);
  const r = spawnSync(FFMPEG, args, { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function waitFor(
  r: Restreamer,
  pred: (s: RestreamSnapshot) => boolean,
  ms: number,
): Promise<RestreamSnapshot> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      r.off("state", check);
      r.off("stats", check);
      reject(new Error(`timed out; last: ${JSON.stringify(r.snapshot())}`));
    }, ms);
    const check = (s: RestreamSnapshot) => {
      if (!pred(s)) return;
      clearTimeout(timer);
      r.off("state", check);
      r.off("stats", check);
      resolve(s);
    };
    r.on("state", check);
    r.on("stats", check);
  });
}

describe("Restreamer with the real ffmpeg", function () {
  this.timeout(30_000);
  let dir: string;
  let restreamer: Restreamer | undefined;

  before(function () {
    if (!haveFfmpeg()) throw new Error(`${FFMPEG} does not run: install ffmpeg (npm run test:setup)`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "restreamer-real-"));
    makeClip(path.join(dir, "with-audio.mp4"), true);
    makeClip(path.join(dir, "no-audio.mp4"), false);
    makeClip(path.join(dir, "with-opus.mkv"), true, "libopus");
  });

  afterEach(async () => {
    await restreamer?.stop();
    restreamer = undefined;
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("goes live on real progress, records, and stop() leaves no process", async () => {
    const out = path.join(dir, "rec-a");
    fs.mkdirSync(out);
    restreamer = new Restreamer({
      target: { target: "custom", url: `${out}/` },
      inputArgs: ["-re", "-stream_loop", "-1"],
      statsIntervalMs: 500,
    });
    const logs: string[] = [];
    restreamer.on("log", (l) => logs.push(l));
    restreamer.play(path.join(dir, "with-audio.mp4"));
    const firstPid = restreamer.pid;
    assert.ok(firstPid && alive(firstPid));
    assert.equal(restreamer.snapshot().audio, "probe");
    // The first run copies the audio there is: for AAC it is the right one and is kept.
    const live = await waitFor(restreamer, (s) => s.state === "live", 15_000);
    const pid = live.pid;
    assert.equal(pid, firstPid, "no replan for an AAC input");
    assert.ok(pid && alive(pid));
    const stats = await waitFor(restreamer, (s) => s.state === "live" && (s.frames ?? 0) >= 20, 15_000);
    assert.ok((stats.fps ?? 0) > 0, JSON.stringify(stats));
    assert.ok((stats.speed ?? 0) > 0.5, JSON.stringify(stats));
    assert.deepEqual(stats.input, { video: "h264 320x240 15 fps", audio: "aac 48000 Hz" });
    assert.equal(stats.audio, "copy");

    await restreamer.stop();
    assert.equal(restreamer.state, "stopped");
    assert.equal(restreamer.pid, null);
    assert.equal(alive(pid), false, "ffmpeg is gone after stop()");
    assert.ok(
      logs.some((l) => l.includes("[q] command received")),
      "ffmpeg quit on q",
    );
    const files = fs.readdirSync(out);
    assert.ok(files.length >= 1 && files.length <= 2, files.join());
    for (const f of files) assert.match(f, /^cam-\d{8}-\d{6}\.mkv$/);
    const last = files.sort().at(-1) as string;
    const probe = spawnSync(FFMPEG, ["-v", "error", "-i", path.join(out, last), "-f", "null", "-"]);
    assert.equal(probe.status, 0, "the recording plays");
  });

  it("adds a silent track after learning from ffmpeg's listing that the input has no audio", async () => {
    const out = path.join(dir, "rec-b");
    fs.mkdirSync(out);
    restreamer = new Restreamer({
      target: { target: "custom", url: `${out}/` },
      inputArgs: ["-re", "-stream_loop", "-1"],
    });
    const pids: number[] = [];
    restreamer.on("state", (s) => {
      if (s.state === "starting" && s.pid) pids.push(s.pid);
    });
    restreamer.play(path.join(dir, "no-audio.mp4"));
    const live = await waitFor(restreamer, (s) => s.state === "live" && s.audio === "silence", 15_000);
    assert.equal(pids.length, 2, "one immediate restart with the silent track");
    assert.equal(live.restarts, 0);
    assert.deepEqual(live.input, { video: "h264 320x240 15 fps", audio: null });
    assert.equal(alive(pids[0] as number), false);
    await restreamer.stop();
    for (const pid of pids) assert.equal(alive(pid), false);
  });

  it("Opus to FLV: the first run (audio copied) fails at the header; the next one re-encodes at once", async () => {
    const out = path.join(dir, "rec-c");
    fs.mkdirSync(out);
    restreamer = new Restreamer({
      target: { target: "custom", url: `${out}/clip.flv` },
      inputArgs: ["-re", "-stream_loop", "-1"],
    });
    const starts: RestreamSnapshot[] = [];
    const logs: string[] = [];
    restreamer.on("log", (l) => logs.push(l));
    restreamer.on("state", (s) => {
      if (s.state === "starting") starts.push(s);
    });
    restreamer.play(path.join(dir, "with-opus.mkv"));
    const live = await waitFor(restreamer, (s) => s.state === "live", 15_000);
    assert.deepEqual(
      starts.map((s) => s.audio),
      ["probe", "encode"],
      "one immediate replan",
    );
    assert.equal(live.audio, "encode");
    assert.equal(live.restarts, 0, "not a failure");
    assert.equal(live.lastError, null);
    assert.deepEqual(live.input, { video: "h264 320x240 15 fps", audio: "opus 48000 Hz" });
    assert.ok(logs.some((l) => /restarting at once to re-encode it to AAC/.test(l)));
    await restreamer.stop();
    const files = fs.readdirSync(out);
    assert.ok(files.length >= 1, "the encoding run records");
    for (const pid of starts.map((s) => s.pid)) assert.equal(alive(pid as number), false);
  });

  it("writes every tee output, names with spaces and | included", () => {
    const a = path.join(dir, "tee dir|a [x]");
    const b = path.join(dir, "tee b");
    fs.mkdirSync(a);
    fs.mkdirSync(b);
    const outputs = resolveOutputs({ target: "custom", url: `${a}/` }, [
      { target: "custom", url: `${b}/clip.mp4` },
    ]);
    const args = buildArgs({
      inputUrl: path.join(dir, "no-audio.mp4"),
      outputs,
      inputAudio: null,
      inputArgs: ["-t", "2"],
    });
    const r = spawnSync(FFMPEG, args, { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(fs.readdirSync(a).join(), /^cam-\d{8}-\d{6}\.mkv$/);
    assert.match(fs.readdirSync(b).join(), /^clip-\d{8}-\d{6}\.mp4$/);
    for (const f of [
      path.join(a, fs.readdirSync(a)[0] as string),
      path.join(b, fs.readdirSync(b)[0] as string),
    ]) {
      const streams = spawnSync(
        "ffprobe",
        ["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", f],
        {
          encoding: "utf8",
        },
      );
      if (streams.status === 0) assert.deepEqual(streams.stdout.trim().split("\n"), ["h264", "aac"]);
    }
  });
});
