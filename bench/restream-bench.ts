/**
 * The restream benchmark (`npm run bench`): nest-restream's supervised ffmpeg against a hand-run
 * `ffmpeg -rtsp_transport tcp -i <rtsp> -c copy -f flv <rtmp>` on the same local RTSP camera
 * source (GStreamer) into the same local RTMP ingest (nginx-rtmp), in the same run.
 *
 * Measured:
 * - ffmpeg CPU (user+sys from /proc/<pid>/stat; on-CPU time from /proc/<pid>/schedstat, which has
 *   nanosecond resolution) over one fixed window in which all ffmpegs run side by side, and
 *   peak memory (VmHWM from /proc/<pid>/status). The node's ffmpeg is measured twice: on a first
 *   start (audio "auto" does not know the input yet, so AAC is re-encoded) and after a
 *   reconnect (the input is known to carry AAC, so audio is copied). Two identical hand-runs run
 *   in the same window: their mean is the baseline, and their difference shows the noise floor
 *   (separate GStreamer pipelines, scheduling) that any ratio has to be read against;
 * - the CPU of this Node process (process.cpuUsage()) over the same window, per restream: what
 *   the Restreamer costs Node-RED (progress and stderr parsing, timers);
 * - start latency: Restreamer.play() to nginx's on_publish callback;
 * - republish after the input is cut (the RTSP connection dropped by an edge in front of the
 *   source, as Google drops a session): the cut to the next on_publish.
 * Prints a Markdown table (for the README) on stdout, progress on stderr; stops everything it
 * started; exits 0 (1 if a step failed). BENCH_WINDOW_S sets the window (default 60 s).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { Restreamer, type RestreamSnapshot } from "../src/ffmpeg/restreamer";
import { delay } from "../test/fixtures/ports";
import { ffmpegPath, listProcesses } from "../test/fixtures/probe";
import { RtmpServer } from "../test/fixtures/rtmp-server";
import { RtspEdge, type RtspStreamAuthority } from "../test/fixtures/rtsp-edge";
import { RtspSource } from "../test/fixtures/rtsp-source";

const WINDOW_S = Number(process.env.BENCH_WINDOW_S) || 60;
const WARMUP_MS = 3000;
const START_TRIALS = 3;
const CUT_TRIALS = 3;
const CLK_TCK = 100; // Linux USER_HZ

interface CpuSample {
  /** user + sys, seconds (clock-tick resolution). */
  statS: number;
  /** On-CPU time, seconds (ns resolution); NaN where schedstat is not available. */
  schedS: number;
}

function cpuOf(pid: number): CpuSample {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are at index 11 and 12.
  const statS = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  let schedS = Number.NaN;
  try {
    schedS = Number(fs.readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e9;
  } catch {
    // kernel without schedstats
  }
  return { statS, schedS };
}

function peakKiB(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function waitState(
  r: Restreamer,
  pred: (s: RestreamSnapshot) => boolean,
  timeoutMs: number,
  what: string,
): Promise<RestreamSnapshot> {
  const now = r.snapshot();
  if (pred(now)) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      r.off("state", check);
      reject(new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(r.snapshot())})`));
    }, timeoutMs);
    const check = (s: RestreamSnapshot): void => {
      if (!pred(s)) return;
      clearTimeout(timer);
      r.off("state", check);
      resolve(s);
    };
    r.on("state", check);
  });
}

/** One authority in front of the camera source: accepts any token while `alive`. */
class CutAuthority implements RtspStreamAuthority {
  alive = true;
  constructor(private readonly upstreamUrl: string) {}
  authorize(): { upstreamUrl: string } | null {
    return this.alive ? { upstreamUrl: this.upstreamUrl } : null;
  }
  isAlive(): boolean {
    return this.alive;
  }
}

const restreamers = new Set<Restreamer>();
const children = new Set<ChildProcess>();

function restreamer(rtmp: RtmpServer, key: string): Restreamer {
  // What nest-restream builds for target "custom" with the defaults audio "auto", video "copy".
  const r = new Restreamer({
    target: { target: "custom", url: rtmp.keyUrl(key) },
    audio: "auto",
    video: "copy",
  });
  restreamers.add(r);
  return r;
}

async function stopRestreamer(r: Restreamer): Promise<void> {
  await r.stop();
  restreamers.delete(r);
}

function handRun(rtspUrl: string, rtmpUrl: string): ChildProcess {
  const child = spawn(
    ffmpegPath(),
    ["-rtsp_transport", "tcp", "-i", rtspUrl, "-c", "copy", "-f", "flv", rtmpUrl],
    { stdio: ["pipe", "ignore", "ignore"] },
  );
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stdin?.end("q");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

const fmtS = (s: number): string => `${s.toFixed(3)} s`;
const pct = (s: number): string => `${((100 * s) / WINDOW_S).toFixed(2)} %`;
const ratio = (a: number, b: number): string => `${(a / b).toFixed(3)}×`;
const ms = (v: number): string => `${(v / 1000).toFixed(2)} s`;

async function main(): Promise<number> {
  const t0 = Date.now();
  const log = (text: string): void => console.error(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${text}`);
  log("starting the RTSP camera source, nginx-rtmp and an RTSP edge");
  const src = await RtspSource.start({ mounts: [{ path: "/cam-aac", audio: "aac" }] });
  const rtmp = await RtmpServer.start();
  const camera = src.url("/cam-aac");
  const authority = new CutAuthority(camera);
  const edge = await RtspEdge.start({ authority, tls: false, checkIntervalMs: 60_000 });
  let ok = false;
  try {
    // ---- start latency: play() to on_publish ---------------------------------------------------
    const starts: number[] = [];
    const lives: number[] = [];
    for (let i = 0; i < START_TRIALS; i++) {
      const key = `bench-start-${i}`;
      const r = restreamer(rtmp, key);
      const at = Date.now();
      r.play(camera);
      const ev = await rtmp.waitForPublish(key, 20_000);
      starts.push(ev.at - at);
      await waitState(r, (s) => s.state === "live", 15_000, "live");
      lives.push(Date.now() - at);
      await stopRestreamer(r);
      await rtmp.waitForPublishDone(key, 5000);
    }
    log(`start latency: ${starts.join(", ")} ms to publish; ${lives.join(", ")} ms to live`);

    // ---- CPU and memory: side by side over one window ------------------------------------------
    // "first": a first start (audio auto, AAC re-encoded while the input is unknown);
    // "known": after a reconnect (stop, play: the input is known to carry AAC, so it is copied).
    const known = restreamer(rtmp, "bench-known");
    known.play(camera);
    await waitState(known, (s) => s.state === "live", 15_000, "live (known)");
    await known.stop();
    known.play(camera);
    const first = restreamer(rtmp, "bench-first");
    first.play(camera);
    // Two identical hand-runs: their mean is the baseline, their difference the noise floor.
    const hand = handRun(camera, rtmp.keyUrl("bench-hand"));
    const hand2 = handRun(camera, rtmp.keyUrl("bench-hand2"));
    await Promise.all([
      waitState(first, (s) => s.state === "live", 15_000, "live (first)"),
      waitState(known, (s) => s.state === "live", 15_000, "live (known)"),
      rtmp.waitForPublish("bench-hand", 15_000),
      rtmp.waitForPublish("bench-hand2", 15_000),
    ]);
    const planFirst = first.snapshot().audio;
    const planKnown = known.snapshot().audio;
    await delay(WARMUP_MS);
    const pids = {
      first: first.pid as number,
      known: known.pid as number,
      hand: hand.pid as number,
      hand2: hand2.pid as number,
    };
    const sample = () => ({
      first: cpuOf(pids.first),
      known: cpuOf(pids.known),
      hand: cpuOf(pids.hand),
      hand2: cpuOf(pids.hand2),
    });
    const before = sample();
    const nodeBefore = process.cpuUsage();
    log(`measuring CPU for ${WINDOW_S} s (pids: ${JSON.stringify(pids)}; audio ${planFirst} / ${planKnown})`);
    await delay(WINDOW_S * 1000);
    const nodeUsage = process.cpuUsage(nodeBefore);
    const after = sample();
    const peak = { first: peakKiB(pids.first), known: peakKiB(pids.known), hand: peakKiB(pids.hand) };
    if (
      first.pid !== pids.first ||
      known.pid !== pids.known ||
      hand.exitCode !== null ||
      hand2.exitCode !== null
    ) {
      throw new Error("an ffmpeg restarted or ended during the measuring window");
    }
    const used = (k: keyof typeof pids) => ({
      statS: after[k].statS - before[k].statS,
      schedS: after[k].schedS - before[k].schedS,
    });
    const one = used("hand");
    const two = used("hand2");
    const cpu = {
      first: used("first"),
      known: used("known"),
      // The baseline: the mean of the two identical hand-runs.
      hand: { statS: (one.statS + two.statS) / 2, schedS: (one.schedS + two.schedS) / 2 },
      one,
      two,
    };
    const nodeCpuS = (nodeUsage.user + nodeUsage.system) / 1e6 / 2; // two restreams ran
    await Promise.all([stopRestreamer(first), stopRestreamer(known), stopChild(hand), stopChild(hand2)]);

    // ---- republish after the input is cut ------------------------------------------------------
    const republish: number[] = [];
    for (let i = 0; i < CUT_TRIALS; i++) {
      const key = `bench-cut-${i}`;
      const r = restreamer(rtmp, key);
      r.play(edge.url("bench", `tok${i}`));
      await waitState(r, (s) => s.state === "live", 15_000, "live before the cut");
      await delay(1000);
      const pid = r.pid;
      authority.alive = false;
      const cutAt = Date.now();
      edge.check(); // drops the session now
      authority.alive = true;
      const ev = await rtmp.waitForPublish(key, 20_000, cutAt);
      republish.push(ev.at - cutAt);
      if (r.pid === pid) throw new Error("the cut did not restart ffmpeg");
      await waitState(r, (s) => s.state === "live", 15_000, "live after the cut");
      await stopRestreamer(r);
    }
    log(`republish after a cut: ${republish.join(", ")} ms`);

    // ---- the table -----------------------------------------------------------------------------
    const r1 = cpu.known.schedS / cpu.hand.schedS;
    const rows: string[][] = [
      ["Measure", "nest-restream", "hand-run `ffmpeg -c copy` (mean of 2)", "Ratio", "Target"],
      [
        `ffmpeg CPU, user+sys over ${WINDOW_S} s (/proc/pid/stat), input known (audio copied)`,
        `${fmtS(cpu.known.statS)} (${pct(cpu.known.statS)})`,
        `${fmtS(cpu.hand.statS)} (${pct(cpu.hand.statS)})`,
        ratio(cpu.known.statS, cpu.hand.statS),
        "within 5 % (≤ 1.05×)",
      ],
      [
        `ffmpeg on-CPU time over ${WINDOW_S} s (/proc/pid/schedstat), input known (audio copied)`,
        `${fmtS(cpu.known.schedS)} (${pct(cpu.known.schedS)})`,
        `${fmtS(cpu.hand.schedS)} (${pct(cpu.hand.schedS)})`,
        ratio(cpu.known.schedS, cpu.hand.schedS),
        `within 5 % (≤ 1.05×): ${r1 <= 1.05 ? "met" : "not met"}`,
      ],
      [
        "Noise floor: the two identical hand-runs against each other (on-CPU time)",
        "–",
        `${fmtS(cpu.two.schedS)} vs ${fmtS(cpu.one.schedS)}`,
        ratio(cpu.two.schedS, cpu.one.schedS),
        "",
      ],
      [
        `ffmpeg CPU, user+sys over ${WINDOW_S} s, first start (audio ${planFirst}: AAC re-encoded)`,
        `${fmtS(cpu.first.statS)} (${pct(cpu.first.statS)})`,
        `${fmtS(cpu.hand.statS)} (${pct(cpu.hand.statS)})`,
        ratio(cpu.first.statS, cpu.hand.statS),
        "",
      ],
      [
        `ffmpeg on-CPU time over ${WINDOW_S} s, first start (audio ${planFirst})`,
        `${fmtS(cpu.first.schedS)} (${pct(cpu.first.schedS)})`,
        `${fmtS(cpu.hand.schedS)} (${pct(cpu.hand.schedS)})`,
        ratio(cpu.first.schedS, cpu.hand.schedS),
        "",
      ],
      [
        "ffmpeg peak memory (VmHWM), input known / first start",
        `${(peak.known / 1024).toFixed(1)} MiB / ${(peak.first / 1024).toFixed(1)} MiB`,
        `${(peak.hand / 1024).toFixed(1)} MiB`,
        `${ratio(peak.known, peak.hand)} / ${ratio(peak.first, peak.hand)}`,
        "",
      ],
      [
        `Node process CPU per restream over ${WINDOW_S} s (process.cpuUsage)`,
        `${fmtS(nodeCpuS)} (${pct(nodeCpuS)})`,
        "–",
        "",
        "",
      ],
      [
        `Start latency, play() to on_publish (median of ${START_TRIALS}; min–max)`,
        `${ms(median(starts))} (${ms(Math.min(...starts))}–${ms(Math.max(...starts))})`,
        "–",
        "",
        "",
      ],
      [`Start to "live" state (first progress), median of ${START_TRIALS}`, ms(median(lives)), "–", "", ""],
      [
        `Republish after the input is cut (median of ${CUT_TRIALS}; max)`,
        `${ms(median(republish))} (max ${ms(Math.max(...republish))})`,
        "–",
        "",
        `within 3 s: ${Math.max(...republish) <= 3000 ? "met" : "not met"}`,
      ],
    ];
    console.log(
      `\nRestream benchmark: ${src.mounts[0]?.width ?? 640}x${src.mounts[0]?.height ?? 360} H.264 ~600 kb/s ` +
        `15 fps + AAC 48 kHz over RTSP/TCP into nginx-rtmp, ${WINDOW_S} s window, ` +
        `node ${process.version}, ${fs.readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "cpu"}\n`,
    );
    for (const [i, row] of rows.entries()) {
      console.log(`| ${row.join(" | ")} |`);
      if (i === 0) console.log(`|${row.map(() => " --- ").join("|")}|`);
    }
    ok = true;
  } finally {
    await Promise.all([...restreamers].map((r) => r.stop()));
    await Promise.all([...children].map((c) => stopChild(c)));
    await edge.stop();
    await Promise.all([src.stop(), rtmp.stop()]);
    const left = listProcesses("ffmpeg", `:${rtmp.rtmpPort}/`);
    if (left.length > 0) {
      console.error(`left-over ffmpeg: ${left.join(", ")}`);
      for (const pid of left) process.kill(pid, "SIGKILL");
      ok = false;
    }
    log("done");
  }
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
