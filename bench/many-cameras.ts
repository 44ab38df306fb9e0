/**
 * Many cameras on one account (`npm run bench`): a real Node-RED (child process) with N RTSP cameras
 * (nest-stream into nest-restream, real ffmpeg copying into nginx-rtmp) on one nest-account, against
 * the fake Google's project-wide 10 commands a minute, behind the RTSPS edge (test/support/many-cameras).
 *
 * Measured:
 * - Node-RED's own CPU (on-CPU time from /proc/<pid>/schedstat, else user + sys ticks) over a window once every camera publishes,
 *   and its resident memory, with N cameras and with none (the account alone): the difference over N
 *   is the cost of one camera in Node-RED (its ffmpeg is a process of its own, not counted);
 * - a full redeploy through the admin API: how long the darkest camera was dark (deploy to its new
 *   publish) and the commands Google saw meanwhile;
 * - commands per camera-hour for N cameras: the simulated hour of test/support/camera-capacity.ts
 *   (5-minute streams; an hour of real time is not a benchmark).
 * Prints a Markdown table on stdout, progress on stderr. BENCH_CAMERAS (default 8) and
 * BENCH_WINDOW_S (default 30) change the count and the window.
 */
import { delay } from "../test/fixtures/ports";
import { simulateCameras } from "../test/support/camera-capacity";
import { ManyCameras, type ProcessSample } from "../test/support/many-cameras";

const CAMERAS = Number(process.env.BENCH_CAMERAS) || 8;
const WINDOW_S = Number(process.env.BENCH_WINDOW_S) || 30;
const WARMUP_MS = 10_000;

interface Load {
  /** Node-RED's CPU over the window, percent of one core. */
  cpuPercent: number;
  rssMiB: number;
}

async function measure(m: ManyCameras): Promise<Load> {
  await delay(WARMUP_MS);
  const a: ProcessSample = m.sample();
  const t0 = Date.now();
  await delay(WINDOW_S * 1000);
  const b = m.sample();
  const seconds = (Date.now() - t0) / 1000;
  return { cpuPercent: ((b.cpuS - a.cpuS) / seconds) * 100, rssMiB: b.rssMiB };
}

async function run(cameras: number, redeploy: boolean) {
  // Google's 5-minute streams: what a camera costs in steady state.
  const m = await ManyCameras.start({ cameras, streamLifetimeS: 300, fromDir: __dirname });
  try {
    await m.startNodeRed(120_000);
    console.error(`many-cameras: ${cameras} camera(s) publishing; measuring ${WINDOW_S} s`);
    const load = await measure(m);
    const r = redeploy ? await m.redeploy(180_000) : undefined;
    return { load, redeploy: r };
  } finally {
    await m.stop();
  }
}

async function main(): Promise<void> {
  const idle = await run(0, false);
  const busy = await run(CAMERAS, true);
  const sim = await simulateCameras(CAMERAS, { durationMs: 3_600_000 });
  const perCameraCpu = (busy.load.cpuPercent - idle.load.cpuPercent) / CAMERAS;
  const perCameraRss = (busy.load.rssMiB - idle.load.rssMiB) / CAMERAS;
  const r = busy.redeploy!;
  const darkest = Math.max(...Object.values(r.darkMs)) / 1000;
  console.log(
    `\n### Many cameras on one account (real Node-RED, ${CAMERAS} RTSP cameras, ${WINDOW_S} s window)\n`,
  );
  console.log(
    "| cameras | Node-RED CPU (% of a core) | per camera | Node-RED memory (MiB) | per camera | commands per camera-hour | full redeploy: darkest camera (s) | commands during it (generate/stop/429) |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
  console.log(`| 0 | ${idle.load.cpuPercent.toFixed(1)} | | ${idle.load.rssMiB.toFixed(0)} | | | | |`);
  console.log(
    `| ${CAMERAS} | ${busy.load.cpuPercent.toFixed(1)} | ${perCameraCpu.toFixed(2)} | ${busy.load.rssMiB.toFixed(0)} | ` +
      `${perCameraRss.toFixed(1)} | ${sim.commandsPerCameraHour.toFixed(2)} | ${darkest.toFixed(1)} | ` +
      `${r.commands.generate}/${r.commands.stop}/${r.commands.refused429} |`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
