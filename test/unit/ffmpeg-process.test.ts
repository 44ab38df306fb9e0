import assert from "node:assert/strict";
import {
  commandLine,
  FfmpegRun,
  KILL_GRACE_MS,
  resolveFfmpegPath,
  STDERR_DRAIN_MS,
  type FfmpegExit,
  type FfmpegRunOptions,
} from "../../src/ffmpeg/ffmpeg-process";
import type { InputLayout, ProgressSample } from "../../src/ffmpeg/progress";
import { secrets } from "../../src/redact";
import { FakeClock, flush } from "../support/fake-clock";
import { FakeSpawner } from "../support/fake-ffmpeg";

const ARGS = ["-hide_banner", "-i", "rtsps://cam.example/stream", "-f", "flv", "rtmp://ingest/live2/k"];

function setup(options: Partial<FfmpegRunOptions> = {}) {
  const clock = new FakeClock();
  const spawner = new FakeSpawner();
  const samples: ProgressSample[] = [];
  const lines: string[] = [];
  const layouts: InputLayout[] = [];
  const exits: FfmpegExit[] = [];
  const logs: string[] = [];
  const run = new FfmpegRun(spawner.spawn, "/usr/bin/ffmpeg", ARGS, {
    clock,
    stopTimeoutMs: 2000,
    killTimeoutMs: 4000,
    stderrLines: 3,
    onProgress: (s) => samples.push(s),
    onStderr: (l) => lines.push(l),
    onLayout: (l) => layouts.push(l),
    waitsForListing: () => false,
    onExit: (e) => exits.push(e),
    log: (l) => logs.push(l),
    ...options,
  });
  return { clock, spawner, run, p: spawner.last, samples, lines, layouts, exits, logs };
}

describe("FfmpegRun", () => {
  it("spawns the command with an argument array and piped stdio, no shell", () => {
    const { p, run } = setup();
    assert.equal(p.command, "/usr/bin/ffmpeg");
    assert.deepEqual(p.args, ARGS);
    assert.deepEqual(p.options.stdio, ["pipe", "pipe", "pipe"]);
    assert.equal(p.options.shell, undefined);
    assert.equal(run.pid, p.pid);
  });

  it("hands on progress blocks, stderr lines and the stream listing", async () => {
    const { p, samples, lines, layouts } = setup();
    p.progress();
    p.listing("aac (LC)");
    await flush();
    assert.equal(samples[0]?.frames, 15);
    assert.equal(layouts[0]?.audio?.codec, "aac");
    assert.ok(lines.some((l) => l.startsWith("Input #0, rtsp")));
  });

  it("keeps the last stderr lines, redacted", async () => {
    const { p, run } = setup();
    secrets.add("very-secret-key-1");
    for (const l of ["one", "", "two", "three", "four: very-secret-key-1"]) p.stderrLine(l);
    await flush();
    assert.deepEqual(run.stderr, ["two", "three", "four: ***"]);
    secrets.delete("very-secret-key-1");
  });

  it("stop: q, then SIGTERM after stopTimeoutMs, then SIGKILL after killTimeoutMs; exit reported once", async () => {
    const { p, run, clock, exits } = setup();
    p.obeys = { q: false, SIGTERM: false, SIGKILL: true };
    let gone = false;
    void run.whenGone.then(() => (gone = true));
    run.stop("stop");
    assert.equal(p.stdinText, "q");
    await clock.advance(1999);
    assert.deepEqual(p.signals, []);
    await clock.advance(1);
    assert.deepEqual(p.signals, ["SIGTERM"]);
    await clock.advance(3999);
    assert.deepEqual(p.signals, ["SIGTERM"]);
    run.stop("switch"); // a second request changes the reason, not the escalation
    await clock.advance(1);
    assert.deepEqual(p.signals, ["SIGTERM", "SIGKILL"]);
    await flush();
    assert.deepEqual(exits, [{ code: null, signal: "SIGKILL" }]);
    assert.equal(run.stopReason, "switch");
    assert.equal(gone, true);
    assert.equal(clock.timers, 0);
    assert.equal(p.stdinText, "q", "q once");
  });

  it("a stall is terminated at once, without q", async () => {
    const { p, run, clock } = setup();
    p.obeys.SIGTERM = false;
    run.stop("stall");
    assert.deepEqual(p.signals, ["SIGTERM"]);
    assert.equal(p.stdinText, "");
    await clock.advance(4000);
    assert.deepEqual(p.signals, ["SIGTERM", "SIGKILL"]);
  });

  it("moves on when no exit is reported after SIGKILL", async () => {
    const { p, run, clock, exits, logs } = setup();
    p.obeys = { q: false, SIGTERM: false, SIGKILL: false };
    run.stop("stop");
    await clock.advance(6000);
    assert.deepEqual(exits, []);
    await clock.advance(KILL_GRACE_MS);
    assert.deepEqual(exits, [{ code: null, signal: "SIGKILL" }]);
    assert.ok(logs.some((l) => /did not report its exit after SIGKILL/.test(l)));
    p.exit(null, "SIGKILL");
    await flush();
    assert.equal(exits.length, 1, "the late exit adds nothing");
  });

  it("an exit before the listing waits for the rest of stderr when asked to", async () => {
    const { p, exits, layouts } = setup({ waitsForListing: () => true });
    p.exited = true;
    p.emit("exit", 1, null);
    await flush();
    assert.deepEqual(exits, [], "held");
    p.listing("opus");
    p.stderr.end();
    await flush();
    assert.equal(layouts.length, 1, "the listing came first");
    assert.deepEqual(exits, [{ code: 1, signal: null }]);
  });

  it("a held exit is handled after STDERR_DRAIN_MS if stderr never ends", async () => {
    const { p, exits, clock } = setup({ waitsForListing: () => true });
    p.exited = true;
    p.emit("exit", 1, null);
    await clock.advance(STDERR_DRAIN_MS - 1);
    assert.deepEqual(exits, []);
    await clock.advance(1);
    assert.deepEqual(exits, [{ code: 1, signal: null }]);
  });

  it("a failed spawn ends the run with its error; a failed kill does not", async () => {
    const clock = new FakeClock();
    const spawner = new FakeSpawner();
    spawner.failNext = "ENOENT";
    const exits: FfmpegExit[] = [];
    const logs: string[] = [];
    const options: FfmpegRunOptions = {
      clock,
      stopTimeoutMs: 2000,
      killTimeoutMs: 4000,
      stderrLines: 20,
      onProgress: () => {},
      onStderr: () => {},
      onLayout: () => {},
      waitsForListing: () => true,
      onExit: (e) => exits.push(e),
      log: (l) => logs.push(l),
    };
    new FfmpegRun(spawner.spawn, "/opt/nope/ffmpeg", ARGS, options);
    await flush();
    assert.equal(exits[0]?.error?.code, "ENOENT");
    assert.ok(logs.some((l) => /exited with error ENOENT/.test(l)));

    new FfmpegRun(spawner.spawn, "/usr/bin/ffmpeg", ARGS, options);
    spawner.last.emit("error", Object.assign(new Error("kill EPERM"), { code: "EPERM", syscall: "kill" }));
    assert.equal(exits.length, 1);
    assert.ok(logs.includes("ffmpeg process error: kill EPERM"));
  });

  it("finds ffmpeg: option, then FFMPEG_PATH, then PATH", () => {
    assert.equal(resolveFfmpegPath(" /x/ffmpeg ", { FFMPEG_PATH: "/y/ffmpeg" }), "/x/ffmpeg");
    assert.equal(resolveFfmpegPath("", { FFMPEG_PATH: "/y/ffmpeg" }), "/y/ffmpeg");
    assert.equal(resolveFfmpegPath(undefined, {}), "ffmpeg");
  });

  it("writes a command line for the log quoted as a shell would need it", () => {
    assert.equal(
      commandLine("/usr/bin/ffmpeg", ["-i", "rtsp://cam/a b", "-f", "tee", "[f=flv]x|y", "it's"]),
      "/usr/bin/ffmpeg -i 'rtsp://cam/a b' -f tee '[f=flv]x|y' 'it'\\''s'",
    );
  });
});
