import assert from "node:assert/strict";
import {
  Restreamer,
  resolveFfmpegPath,
  type RestreamerOptions,
  type RestreamSnapshot,
} from "../../src/ffmpeg/restreamer";
import { SILENCE_SOURCE } from "../../src/ffmpeg/args";
import { refusalText, wordedAs } from "../support/catalog";
import { FakeClock, flush } from "../support/fake-clock";
import { FakeSpawner, type FakeFfmpeg } from "../support/fake-ffmpeg";

const KEY = "zq9x-4kd2-77ab-secret-key";
const TOKEN1 = "g.0.tokenNumberOne";
const TOKEN2 = "g.0.tokenNumberTwo";
const BASE = "rtsps://stream-ue1-delta.dropcam.com:443/sdm_live_stream/CiUAsession";
const URL1 = `${BASE}?auth=${TOKEN1}`;
const URL2 = `${BASE}?auth=${TOKEN2}`;
const OTHER = "rtsps://stream-ue1-delta.dropcam.com:443/sdm_live_stream/CiUAother?auth=g.0.tokenNumberThree";

function setup(options: Partial<RestreamerOptions> = {}) {
  const clock = new FakeClock();
  const spawner = new FakeSpawner();
  const r = new Restreamer({
    target: { target: "youtube-rtmps", streamKey: KEY },
    clock,
    spawn: spawner.spawn,
    random: () => 0, // no jitter: delays are exactly initial * 2^n
    ffmpegPath: "/usr/bin/ffmpeg",
    // Supervision tests keep the audio plan fixed; the audio tests below pass "auto".
    audio: "copy",
    // lastError in the words users read: the node's catalog.
    errorText: (err: unknown) => refusalText("nest-restream", err),
    ...options,
  });
  const states: RestreamSnapshot[] = [];
  const stats: RestreamSnapshot[] = [];
  const logs: string[] = [];
  r.on("state", (s) => states.push(s));
  r.on("stats", (s) => stats.push(s));
  r.on("log", (l) => logs.push(l));
  return { clock, spawner, r, states, stats, logs, stateNames: () => states.map((s) => s.state) };
}

/** Lets the fake process get live: its stream listing plus one progress block. */
async function goLive(p: FakeFfmpeg, audio: string | null = "aac (LC)"): Promise<void> {
  p.listing(audio);
  p.progress();
  await flush();
}

function argAfter(p: FakeFfmpeg, flag: string): string | undefined {
  const i = p.args.indexOf(flag);
  return i < 0 ? undefined : p.args[i + 1];
}

describe("Restreamer", () => {
  it("spawns ffmpeg with an argument array and piped stdio, goes live on progress, sends stats", async () => {
    const { r, spawner, clock, stateNames, stats } = setup();
    r.play(URL1);
    assert.equal(spawner.processes.length, 1);
    const p = spawner.last;
    assert.equal(p.command, "/usr/bin/ffmpeg");
    assert.ok(Array.isArray(p.args));
    assert.equal(p.inputUrl, URL1);
    assert.deepEqual(p.options.stdio, ["pipe", "pipe", "pipe"]);
    assert.equal(p.options.shell, undefined);
    assert.equal(r.state, "starting");
    assert.equal(r.pid, p.pid);

    await goLive(p);
    assert.equal(r.state, "live");
    assert.deepEqual(stateNames(), ["starting", "live"]);
    const snap = r.snapshot();
    assert.equal(snap.frames, 15);
    assert.equal(snap.fps, 15);
    assert.equal(snap.bitrateKbps, 2048);
    assert.equal(snap.speed, 1);
    assert.equal(snap.restarts, 0);
    assert.deepEqual(snap.input, { video: "h264 1920x1080 15 fps", audio: "aac 48000 Hz" });

    for (let i = 0; i < 12; i++) {
      p.progress();
      await clock.advance(1000);
    }
    assert.equal(stats.length, 2, "a stats snapshot every 5 s while live");
    assert.equal(stats[1]?.uptimeS, 10);
    assert.equal(stats[1]?.state, "live");
  });

  it("treats an unasked exit with status 0 as a failure and reconnects at once", async () => {
    const { r, spawner, stateNames } = setup();
    r.play(URL1);
    const p = spawner.last;
    await goLive(p);
    p.stderrLine("[rtsp @ 0x55d] method TEARDOWN failed: 454 Session Not Found");
    await flush();
    p.exit(0);
    await flush();
    assert.equal(spawner.processes.length, 2, "restarted without waiting");
    assert.deepEqual(stateNames(), ["starting", "live", "retrying", "starting"]);
    const snap = r.snapshot();
    assert.equal(snap.restarts, 1);
    assert.match(snap.lastError ?? "", /status 0/);
    assert.match(snap.lastError ?? "", /454 Session Not Found/, "the last stderr lines come with the error");
  });

  it("leads lastError with the stderr line that says why, then what happened and the tail", async () => {
    const { r, spawner } = setup();
    r.play(URL1);
    const p = spawner.last;
    p.stderrLine(
      "[tcp @ 0x5636d049bcc0] Connection to tcp://127.0.0.1:1?tcp_nodelay=0 failed: Connection refused",
    );
    p.stderrLine("rtmp://127.0.0.1:1/live2/k: Connection refused");
    p.stderrLine("Conversion failed!");
    await flush();
    p.exit(1);
    await flush();
    const lines = (r.snapshot().lastError ?? "").split("\n");
    assert.equal(lines[0], "rtmp://127.0.0.1:1/live2/***: Connection refused (ffmpeg exited with status 1)");
    assert.equal(lines[lines.length - 1], "Conversion failed!");
  });

  it("a TEARDOWN refused at exit is not the reason", async () => {
    const { r, spawner } = setup();
    r.play(URL1);
    const p = spawner.last;
    await goLive(p);
    p.stderrLine("[rtsp @ 0x55d] method TEARDOWN failed: 454 Session Not Found");
    await flush();
    p.exit(0);
    await flush();
    assert.match(r.snapshot().lastError ?? "", /^ffmpeg exited \(status 0\)/);
  });

  it("backs off exponentially after the first immediate reconnect", async () => {
    const { r, spawner, clock } = setup({ backoff: { initialMs: 1000, maxMs: 8000 } });
    r.play(URL1);
    spawner.last.exit(1); // failure 1: at once
    await flush();
    assert.equal(spawner.processes.length, 2);
    const expected = [1000, 2000, 4000, 8000, 8000];
    for (const delay of expected) {
      spawner.last.exit(1);
      await flush();
      const before: number = spawner.processes.length;
      assert.equal(r.state, "retrying");
      await clock.advance(delay - 1);
      assert.equal(spawner.processes.length, before, `not before ${delay} ms`);
      await clock.advance(1);
      assert.equal(spawner.processes.length, before + 1, `at ${delay} ms`);
    }
    assert.equal(r.snapshot().restarts, 6);
  });

  it("resets the backoff after a healthy while live", async () => {
    const { r, spawner, clock } = setup({ healthyAfterMs: 30_000 });
    r.play(URL1);
    spawner.last.exit(1);
    await flush();
    spawner.last.exit(1);
    await flush();
    await clock.advance(1000); // second failure waited 1 s
    assert.equal(spawner.processes.length, 3);

    // Live for only 10 s: the next failure still backs off (2 s).
    const p3 = spawner.last;
    await goLive(p3);
    for (let i = 0; i < 10; i++) {
      p3.progress();
      await clock.advance(1000);
    }
    p3.exit(1);
    await flush();
    assert.equal(spawner.processes.length, 3);
    await clock.advance(2000);
    assert.equal(spawner.processes.length, 4);

    // Live for 30 s: healthy, so the next failure reconnects at once again.
    const p4 = spawner.last;
    await goLive(p4);
    for (let i = 0; i < 31; i++) {
      p4.progress();
      await clock.advance(1000);
    }
    p4.exit(0);
    await flush();
    assert.equal(spawner.processes.length, 5);
  });

  it("restarts a process whose progress stalls (SIGTERM, then SIGKILL if needed)", async () => {
    const { r, spawner, clock } = setup({ stallTimeoutMs: 20_000, killTimeoutMs: 4000 });
    r.play(URL1);
    const p = spawner.last;
    await goLive(p);
    p.obeys.SIGTERM = false; // hung in network I/O
    for (let i = 0; i < 5; i++) {
      p.progress(0); // blocks keep coming, frames do not move
      await clock.advance(1000);
    }
    await clock.advance(14_999);
    assert.deepEqual(p.signals, []);
    await clock.advance(1);
    assert.deepEqual(p.signals, ["SIGTERM"]);
    assert.equal(p.stdinText, "", "a stalled ffmpeg is not asked with q");
    assert.equal(spawner.processes.length, 1, "no new ffmpeg while the old one lives");
    await clock.advance(4000);
    assert.deepEqual(p.signals, ["SIGTERM", "SIGKILL"]);
    await flush();
    assert.equal(spawner.processes.length, 2);
    assert.match(r.snapshot().lastError ?? "", /stalled for 20 s/);
    assert.equal(spawner.maxAlive, 1);
  });

  it("restarts a process that never delivers a frame", async () => {
    const { r, spawner, clock } = setup({ stallTimeoutMs: 20_000 });
    r.play(URL1);
    await clock.advance(20_000);
    assert.deepEqual(spawner.processes[0]?.signals, ["SIGTERM"]);
    await flush();
    assert.equal(spawner.processes.length, 2);
    assert.match(r.snapshot().lastError ?? "", /no progress/);
  });

  it("updateUrl leaves the running ffmpeg alone; the next reconnect uses the new URL", async () => {
    const { r, spawner, clock } = setup();
    r.play(URL1);
    const p = spawner.last;
    await goLive(p);
    r.updateUrl(URL2);
    await clock.advance(10_000);
    p.progress();
    await flush();
    assert.deepEqual(p.signals, []);
    assert.equal(p.stdinText, "");
    assert.equal(spawner.processes.length, 1);
    assert.equal(r.state, "live");
    p.exit(1);
    await flush();
    assert.equal(spawner.last.inputUrl, URL2);
  });

  it("updateUrl during a backoff wait is picked up by the pending reconnect", async () => {
    const { r, spawner, clock } = setup();
    r.play(URL1);
    spawner.last.exit(1);
    await flush();
    spawner.last.exit(1);
    await flush();
    r.updateUrl(URL2);
    await clock.advance(1000);
    assert.equal(spawner.last.inputUrl, URL2);
  });

  it("play(newUrl) replaces the running ffmpeg only after it has exited", async () => {
    const { r, spawner, stateNames } = setup();
    r.play(URL1);
    const old = spawner.last;
    await goLive(old);
    old.obeys.q = false;
    r.play(OTHER);
    await flush();
    assert.equal(old.stdinText, "q");
    assert.equal(spawner.processes.length, 1, "the new one waits for the old one");
    old.exit(255);
    await flush();
    assert.equal(spawner.processes.length, 2);
    assert.equal(spawner.last.inputUrl, OTHER);
    assert.equal(r.snapshot().restarts, 0, "a switch is not a failure");
    assert.equal(spawner.maxAlive, 1);
    assert.deepEqual(stateNames(), ["starting", "live", "starting"]);
  });

  it("play() with the URL already playing changes nothing", async () => {
    const { r, spawner } = setup();
    r.play(URL1);
    await goLive(spawner.last);
    r.play(URL1);
    r.start();
    assert.equal(spawner.processes.length, 1);
    assert.equal(spawner.last.stdinText, "");
  });

  it("stop() sends q, then SIGTERM after 2 s, then SIGKILL after 4 s more, and resolves on exit", async () => {
    const { r, spawner, clock } = setup();
    r.play(URL1);
    const p = spawner.last;
    await goLive(p);
    p.obeys = { q: false, SIGTERM: false, SIGKILL: false };
    let stopped = false;
    const done = r.stop().then(() => (stopped = true));
    await flush();
    assert.equal(p.stdinText, "q");
    assert.deepEqual(p.signals, []);
    await clock.advance(2000);
    assert.deepEqual(p.signals, ["SIGTERM"]);
    await clock.advance(3999);
    assert.deepEqual(p.signals, ["SIGTERM"]);
    await clock.advance(1);
    assert.deepEqual(p.signals, ["SIGTERM", "SIGKILL"]);
    assert.equal(stopped, false, "not resolved while the process lives");
    p.exit(null, "SIGKILL");
    await done;
    assert.equal(r.state, "stopped");
    assert.equal(r.pid, null);
    await clock.advance(120_000);
    assert.equal(spawner.processes.length, 1, "no restart after a stop");
  });

  it("stop() resolves at once when ffmpeg quits on q", async () => {
    const { r, spawner, stateNames } = setup();
    r.play(URL1);
    await goLive(spawner.last);
    await r.stop();
    assert.deepEqual(spawner.last.signals, []);
    assert.deepEqual(stateNames(), ["starting", "live", "stopped"]);
    await r.stop(); // idempotent
  });

  it("stop() during a backoff wait cancels the reconnect", async () => {
    const { r, spawner, clock } = setup();
    r.play(URL1);
    spawner.last.exit(1);
    await flush();
    spawner.last.exit(1);
    await flush();
    await r.stop();
    assert.equal(r.state, "stopped");
    await clock.advance(120_000);
    assert.equal(spawner.processes.length, 2);
    assert.equal(clock.timers, 0, "no timer left behind");
  });

  it("a missing ffmpeg fails clearly and is not retried", async () => {
    const { r, spawner, clock } = setup({ ffmpegPath: "/opt/nope/ffmpeg" });
    spawner.failNext = "ENOENT";
    r.play(URL1);
    await flush();
    assert.equal(r.state, "failed");
    const err = r.snapshot().lastError ?? "";
    assert.match(err, /ffmpeg was not found \(tried "\/opt\/nope\/ffmpeg"\)/);
    assert.match(err, /apt install ffmpeg/);
    assert.match(err, /system_packages/);
    assert.match(err, /FFMPEG_PATH/);
    assert.equal(clock.timers, 0, "no retry waiting");
    await clock.advance(120_000);
    assert.equal(spawner.processes.length, 1);
    // A later play() tries again.
    r.play(URL1);
    assert.equal(spawner.processes.length, 2);
    assert.equal(r.state, "starting");
  });

  it("an invalid target puts the restreamer in failed without spawning, worded by the node", () => {
    const { r, spawner } = setup({ target: { target: "youtube-rtmps" } });
    r.play(URL1);
    assert.equal(r.state, "failed");
    assert.match(r.snapshot().lastError ?? "", /youtube-rtmps needs a stream key/);
    assert.equal(spawner.processes.length, 0);
  });

  it("setTarget replaces the running ffmpeg when the destination changes", async () => {
    const { r, spawner } = setup();
    r.play(URL1);
    await goLive(spawner.last);
    r.setTarget({ target: "youtube-rtmps", streamKey: KEY }); // the same destination: nothing to do
    await flush();
    assert.equal(spawner.processes.length, 1);
    r.setTarget({ target: "youtube-rtmp", streamKey: "second-key-9876" });
    await flush();
    assert.equal(spawner.processes.length, 2);
    assert.match(
      spawner.last.args[spawner.last.args.length - 1] as string,
      /^rtmp:\/\/a\.rtmp\.youtube\.com\/live2\//,
    );
    assert.ok(!JSON.stringify(r.snapshot()).includes("second-key-9876"));
    assert.throws(() => r.setTarget({ target: "custom" }), wordedAs("nest-restream", /needs a url/));
    assert.equal(spawner.processes.length, 2);
  });

  it("learns the input's audio from ffmpeg's own listing: no audio → one immediate silent restart", async () => {
    const { r, spawner, clock } = setup({ audio: "auto" });
    r.play(URL1);
    const probe = spawner.last;
    assert.equal(argAfter(probe, "-c:a"), "copy", "the first run copies whatever audio there is");
    assert.ok(probe.args.includes("0:a:0?"));
    assert.equal(r.snapshot().audio, "probe");
    probe.listing(null);
    await flush();
    assert.equal(probe.stdinText, "q", "the probe run is replaced at once");
    await flush();
    assert.equal(spawner.processes.length, 2);
    const silent = spawner.last;
    assert.ok(silent.args.includes(SILENCE_SOURCE));
    assert.ok(silent.args.includes("1:a:0"));
    assert.equal(r.snapshot().restarts, 0);
    assert.equal(r.snapshot().audio, "silence");
    silent.listing(null);
    silent.progress();
    await flush();
    assert.equal(r.state, "live");
    assert.equal(spawner.processes.length, 2, "the silent run is kept");

    // Same session, new token: a reconnect adds silence from the start.
    r.updateUrl(URL2);
    silent.exit(1);
    await flush();
    assert.equal(spawner.processes.length, 3);
    assert.ok(spawner.last.args.includes(SILENCE_SOURCE));
    await clock.advance(1);

    // A new session of the camera starts from what the last listing showed (silence)...
    r.play(OTHER);
    await flush();
    assert.equal(spawner.processes.length, 4);
    assert.ok(spawner.last.args.includes(SILENCE_SOURCE));
    // ...and if the microphone was switched on meanwhile, one immediate restart takes its audio.
    spawner.last.listing("aac (LC)");
    await flush();
    await flush();
    assert.equal(spawner.processes.length, 5);
    assert.equal(argAfter(spawner.last, "-c:a"), "copy");
    assert.equal(spawner.maxAlive, 1);
  });

  it("AAC input: the first run copies the audio and is kept (no replan)", async () => {
    const { r, spawner, clock, logs } = setup({ audio: "auto" });
    r.play(URL1);
    const first = spawner.last;
    assert.equal(argAfter(first, "-c:a"), "copy", "the first run copies whatever audio there is");
    assert.ok(first.args.includes("0:a:0?"));
    assert.ok(!first.args.includes(SILENCE_SOURCE));
    await goLive(first, "aac (LC)");
    await flush();
    assert.equal(first.stdinText, "", "not stopped");
    assert.equal(r.state, "live");
    assert.equal(spawner.processes.length, 1, "one ffmpeg for the whole start");
    assert.equal(r.snapshot().restarts, 0);
    assert.ok(!logs.some((l) => /restarting at once/.test(l)));
    // A reconnect copies from the start, now knowing the layout.
    first.exit(1);
    await flush();
    await clock.advance(1);
    assert.equal(spawner.processes.length, 2);
    assert.equal(argAfter(spawner.last, "-c:a"), "copy");
    assert.equal(r.snapshot().audio, "copy");
  });

  it("a source that says it sends Opus (a WebRTC camera) is encoded from the first run", async () => {
    const { r, spawner } = setup({ audio: "auto" });
    r.play(URL1, { codec: "opus" });
    assert.equal(argAfter(spawner.last, "-c:a"), "aac");
    await goLive(spawner.last, "opus");
    assert.equal(spawner.processes.length, 1, "no replan");
    assert.equal(r.snapshot().audio, "encode");
  });

  it("Opus input to FLV: the listing replans to AAC at once; the run's own exit adds nothing", async () => {
    const { r, spawner, clock } = setup({ audio: "auto" });
    r.play(URL1);
    const first = spawner.last;
    first.obeys.q = false; // ffmpeg fails at the FLV header by itself
    first.listing("opus");
    await flush();
    assert.equal(first.stdinText, "q", "the replan is requested from the listing");
    assert.equal(spawner.processes.length, 1, "never two ffmpeg at once");
    first.stderrLine("[flv @ 0x1] Audio codec opus not compatible with flv");
    first.exit(1);
    await flush();
    assert.equal(spawner.processes.length, 2, "the encoding run starts at once");
    assert.equal(argAfter(spawner.last, "-c:a"), "aac");
    assert.equal(argAfter(spawner.last, "-ar"), "48000");
    const snap = r.snapshot();
    assert.equal(snap.restarts, 0, "a replan is not a failure");
    assert.equal(snap.lastError, null);
    assert.equal(snap.audio, "encode");
    assert.deepEqual(r.snapshot().input, { video: "h264 1920x1080 15 fps", audio: "opus 48000 Hz" });
    await goLive(spawner.last, "opus");
    await clock.advance(5000);
    assert.equal(spawner.processes.length, 2, "the encoding run is kept: no second restart");
    assert.equal(r.state, "live");
    // A reconnect re-encodes from the start.
    spawner.last.exit(1);
    await flush();
    assert.equal(spawner.processes.length, 3);
    assert.equal(argAfter(spawner.last, "-c:a"), "aac");
    assert.equal(spawner.maxAlive, 1);
  });

  it("Opus input to FLV: an exit reported before the listing was read still replans at once", async () => {
    const { r, spawner, stateNames } = setup({ audio: "auto" });
    r.play(URL1);
    const first = spawner.last;
    // Node may report the exit before the last stderr data: emit it, then the listing, then EOF.
    first.exited = true;
    first.emit("exit", 1, null);
    await flush();
    assert.equal(spawner.processes.length, 1, "waits for the rest of stderr");
    first.listing("opus");
    first.stderrLine("[flv @ 0x1] Audio codec opus not compatible with flv");
    first.stderr.end();
    await flush();
    assert.equal(spawner.processes.length, 2, "then starts at once");
    assert.equal(argAfter(spawner.last, "-c:a"), "aac");
    assert.equal(r.snapshot().restarts, 0);
    assert.equal(r.snapshot().audio, "encode");
    assert.ok(!stateNames().includes("retrying"));
    assert.equal(first.stdinText, "", "nothing written to a process that is gone");
  });

  it("a first run that fails before any listing is a failure as usual", async () => {
    const { r, spawner } = setup({ audio: "auto" });
    r.play(URL1);
    spawner.last.stderrLine("[rtsp @ 0x1] method DESCRIBE failed: 404 Not Found");
    spawner.last.exit(1);
    await flush();
    assert.equal(spawner.processes.length, 2, "reconnects at once");
    assert.equal(r.snapshot().restarts, 1);
    assert.match(r.snapshot().lastError ?? "", /404 Not Found/);
    assert.equal(argAfter(spawner.last, "-c:a"), "copy", "still unknown: the probe plan again");
  });

  it("Opus input to a Matroska recording: the copied Opus track is kept", async () => {
    const { r, spawner } = setup({ audio: "auto", target: { target: "custom", url: "/tmp/rec/cam.mkv" } });
    r.play(URL1);
    await goLive(spawner.last, "opus");
    await flush();
    assert.equal(spawner.processes.length, 1, "no replan: Matroska carries Opus");
    assert.equal(argAfter(spawner.last, "-c:a"), "copy");
    spawner.last.exit(1);
    await flush();
    assert.equal(argAfter(spawner.last, "-c:a"), "copy", "a reconnect copies too");
    assert.equal(r.snapshot().audio, "copy");
  });

  it("never shows the stream key or the stream token", async () => {
    const { r, spawner, states, stats, logs, clock } = setup();
    r.play(URL1);
    const p = spawner.last;
    p.stderrLine(`[rtsp @ 0x1] could not open '${URL1}'`);
    p.stderrLine(`Output #0, flv, to 'rtmps://a.rtmps.youtube.com:443/live2/${KEY}':`);
    p.stderrLine(`[tls @ 0x1] error for key ${KEY} and token ${TOKEN1}`);
    p.progress();
    await flush();
    for (let i = 0; i < 6; i++) {
      p.progress();
      await clock.advance(1000);
    }
    r.updateUrl(URL2);
    p.exit(1);
    await flush();
    const all = JSON.stringify({ states, stats, logs, snap: r.snapshot(), tail: r.stderrTail() });
    assert.ok(logs.length > 3);
    for (const secret of [KEY, TOKEN1, TOKEN2]) assert.ok(!all.includes(secret), `${secret} leaked`);
    assert.match(r.snapshot().url ?? "", /auth=\*\*\*/);
    assert.match(r.snapshot().lastError ?? "", /\*\*\*/);
  });

  it("never runs two ffmpeg at once, whatever the sequence of calls", async () => {
    const { r, spawner, clock } = setup();
    r.play(URL1);
    spawner.last.obeys.q = false;
    r.play(OTHER);
    r.play(URL2);
    r.updateUrl(URL1);
    await clock.advance(2500); // SIGTERM after 2 s
    assert.equal(spawner.processes.length, 2);
    assert.equal(spawner.last.inputUrl, URL1);
    spawner.last.exit(0);
    await flush();
    const stopping = r.stop();
    r.play(URL2);
    await stopping;
    await flush();
    spawner.last.exit(1);
    await clock.advance(60_000);
    await r.stop();
    assert.equal(spawner.maxAlive, 1);
    assert.equal(spawner.alive.length, 0);
  });

  it("finds ffmpeg: option, then FFMPEG_PATH, then PATH", () => {
    assert.equal(resolveFfmpegPath("/x/ffmpeg", { FFMPEG_PATH: "/y/ffmpeg" }), "/x/ffmpeg");
    assert.equal(resolveFfmpegPath("", { FFMPEG_PATH: "/y/ffmpeg" }), "/y/ffmpeg");
    assert.equal(resolveFfmpegPath(undefined, {}), "ffmpeg");
    const { r, spawner } = setup({ ffmpegPath: undefined, env: { FFMPEG_PATH: "/env/ffmpeg" } });
    r.play(URL1);
    assert.equal(spawner.last.command, "/env/ffmpeg");
  });

  it("start() replays the last URL and needs one", async () => {
    const { r, spawner } = setup();
    assert.throws(() => r.start(), wordedAs("nest-restream", /no stream URL/));
    r.updateUrl(URL1);
    r.start();
    assert.equal(spawner.last.inputUrl, URL1);
    await r.stop();
  });
});
