/**
 * The `serve: "local"` benchmark (`node dist/bench/serve-local-bench.js`): what serving an RTSP
 * camera through this process costs, against the direct path (a reader on Google's rtsps:// URL),
 * in the same run.
 *
 * The camera is the project's GStreamer RTSP source (H.264 + AAC, its own process) behind the
 * RTSPS edge fixture, which runs in a child process of its own (its TLS and proxying do not count
 * against this process); SDM is answered in-process (no HTTP, no command budget). Each phase runs
 * one CameraStream as nest-stream makes it, over a window of WINDOW_S seconds after a warm-up:
 * - idle: no camera (the baseline subtracted from the others);
 * - direct: `serve: "direct"`, one ffmpeg reading Google's (the edge's) rtsps:// URL, the way
 *   nest-restream reads it today (`-c copy -f null`);
 * - local, 1 reader and 3 readers: `serve: "local"`, the readers on the local rtsp:// URL.
 * Measured: this Node process's CPU (process.cpuUsage, minus idle), the readers' CPU (/proc), the
 * RTP packets the upstream carried, and memory (V8 heap + external after GC, minus idle). Prints a
 * Markdown table and the ratios, stops everything it started, exits 0 (1 if a step failed).
 */
import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import v8 from "node:v8";
import vm from "node:vm";
import {
  CAMERA_LIVE_STREAM,
  INFO_TRAIT,
  type SdmCommandName,
  type SdmCommands,
  type SdmDevice,
} from "../src/nest/sdm-types";
import type { RtspRelay } from "../src/rtsp/rtsp-relay";
import { CameraStream, type CameraUrlEvent, type ServeChoice } from "../src/stream/camera-stream";
import type { SdmCommandRunner } from "../src/stream/stream-keeper";
import { RtspServerPool } from "../src/webrtc/rtsp-server-pool";
import { delay, stopChild } from "../test/fixtures/ports";
import { ffmpegReader, readerPids, readers } from "./ffmpeg-readers";
import { listProcessDetails } from "../test/fixtures/probe";
import { RtspEdge, selfSignedCert } from "../test/fixtures/rtsp-edge";
import { RtspSource } from "../test/fixtures/rtsp-source";

const WINDOW_S = Number(process.env.BENCH_WINDOW_S) || 15;
const WARMUP_MS = 3000;
const VIDEO = {
  width: Number(process.env.BENCH_WIDTH) || 1280,
  height: Number(process.env.BENCH_HEIGHT) || 720,
  fps: 15,
  bitrateKbps: Number(process.env.BENCH_KBPS) || 1500,
};
const CLK_TCK = 100;

// ---- the edge, in a child process ------------------------------------------------------------------

async function edgeChild(upstreamUrl: string): Promise<void> {
  const edge = await RtspEdge.start({
    tls: true,
    authority: { authorize: () => ({ upstreamUrl }), isAlive: () => true },
  });
  const { cert } = await selfSignedCert();
  process.send?.({ baseUrl: edge.baseUrl, cert: cert.toString("utf8") });
  process.on("disconnect", () => void edge.stop().then(() => process.exit(0)));
}

async function startEdge(
  upstreamUrl: string,
): Promise<{ child: ChildProcess; baseUrl: string; cert: string }> {
  const child = fork(__filename, ["--edge-child", upstreamUrl], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const info = await new Promise<{ baseUrl: string; cert: string }>((resolve, reject) => {
    child.once("message", (m) => resolve(m as { baseUrl: string; cert: string }));
    child.once("exit", () => reject(new Error("the edge process ended")));
  });
  return { child, ...info };
}

// ---- SDM, in-process ---------------------------------------------------------------------------------

function benchSdm(edgeBase: string): SdmCommandRunner {
  let n = 0;
  const token = () => `bench-token-${++n}-${Math.random().toString(36).slice(2)}`;
  const expiresAt = () => new Date(Date.now() + 5 * 60_000).toISOString();
  return {
    async device(id: string): Promise<SdmDevice> {
      return {
        name: `enterprises/bench/devices/${id}`,
        type: "sdm.devices.types.CAMERA",
        traits: {
          [INFO_TRAIT]: { customName: `Bench ${id}` },
          [CAMERA_LIVE_STREAM]: {
            maxVideoResolution: { width: VIDEO.width, height: VIDEO.height },
            videoCodecs: ["H264"],
            audioCodecs: ["AAC"],
            supportedProtocols: ["RTSP"],
          },
        },
      };
    },
    async execute<C extends SdmCommandName>(
      id: string,
      command: C,
      _params: SdmCommands[C]["params"],
    ): Promise<SdmCommands[C]["results"]> {
      const streamToken = token();
      switch (command) {
        case "GenerateRtspStream":
          return {
            streamUrls: { rtspUrl: `${edgeBase}/sdm_live_stream/${id}?auth=${streamToken}` },
            streamToken,
            streamExtensionToken: token(),
            expiresAt: expiresAt(),
          } as SdmCommands[C]["results"];
        case "ExtendRtspStream":
          return {
            streamToken,
            streamExtensionToken: token(),
            expiresAt: expiresAt(),
          } as SdmCommands[C]["results"];
        case "StopRtspStream":
          return {} as SdmCommands[C]["results"];
        default:
          throw new Error(`${command}: not an RTSP command`);
      }
    },
  };
}

// ---- helpers ------------------------------------------------------------------------------------

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

function heap(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** CPU seconds a process has used (user + system), from /proc. */
function processCpuS(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

function totalCpuS(pids: (number | undefined)[]): number {
  let sum = 0;
  for (const pid of pids) sum += processCpuS(pid);
  return sum;
}

function started(s: CameraStream, timeoutMs = 20_000): Promise<CameraUrlEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within ${timeoutMs} ms`)), timeoutMs);
    s.on("url", (ev) => {
      if (ev.event !== "started") return;
      clearTimeout(timer);
      resolve(ev);
    });
  });
}

interface Phase {
  name: string;
  nodeCpuS: number;
  readersCpuS: number;
  wallS: number;
  packetsPerS: number;
  heapBytes: number;
}

const pct = (cpuS: number, wallS: number) => `${((100 * cpuS) / wallS).toFixed(2)} %`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

// ---- the benchmark ------------------------------------------------------------------------------

async function main(): Promise<number> {
  const t0 = Date.now();
  const log = (text: string): void => console.error(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${text}`);
  log(
    `starting the RTSP source (${VIDEO.width}x${VIDEO.height} ${VIDEO.fps} fps ${VIDEO.bitrateKbps} kb/s + AAC)`,
  );
  const source = await RtspSource.start({
    mounts: [
      {
        path: "/cam",
        audio: "aac",
        width: VIDEO.width,
        height: VIDEO.height,
        fps: VIDEO.fps,
        bitrateKbps: VIDEO.bitrateKbps,
      },
    ],
  });
  const edge = await startEdge(source.url("/cam"));
  const sdm = benchSdm(edge.baseUrl);
  const pool = new RtspServerPool();
  const streams = new Set<CameraStream>();
  let ok = false;
  try {
    const phase = async (
      name: string,
      serve: ServeChoice | undefined,
      readerCount: number,
    ): Promise<Phase> => {
      let stream: CameraStream | undefined;
      let relay: RtspRelay | undefined;
      const packets = () => relay?.packets ?? 0;
      if (serve) {
        stream = new CameraStream({
          sdm,
          deviceId: `cam-${serve}-${readerCount}`,
          serve,
          webrtc: { port: 0, servers: pool },
          local: { client: { ca: edge.cert } },
        });
        streams.add(stream);
        stream.on("warning", (w) => console.error(`warning: ${w}`));
        const ev = started(stream);
        stream.start();
        const url = (await ev).url ?? "";
        for (let i = 0; i < readerCount; i++) ffmpegReader(url);
        relay = serve === "local" ? (stream.driver as RtspRelay) : undefined;
      }
      await delay(WARMUP_MS);
      const pids = [...readers].map((r) => r.pid);
      const readersFrom = totalCpuS(pids);
      const packetsFrom = packets();
      const from = process.cpuUsage();
      const at = performance.now();
      log(`${name}: measuring for ${WINDOW_S} s`);
      await delay(WINDOW_S * 1000);
      const used = process.cpuUsage(from);
      const wallS = (performance.now() - at) / 1000;
      const readersCpuS = totalCpuS(pids) - readersFrom;
      const heapBytes = heap();
      if (readers.size !== readerCount || [...readers].some((r, i) => r.pid !== pids[i]))
        throw new Error(`${name}: a reader ended during the window`);
      const result: Phase = {
        name,
        nodeCpuS: (used.user + used.system) / 1e6,
        readersCpuS,
        wallS,
        packetsPerS: (packets() - packetsFrom) / wallS,
        heapBytes,
      };
      if (stream) {
        await stream.stop();
        streams.delete(stream);
      }
      await Promise.all([...readers].map((r) => stopChild(r, "SIGTERM", 3000)));
      await delay(500);
      return result;
    };

    // Warm-up of the source, the edge, TLS and the JIT: a short local run, not measured.
    const warm = new CameraStream({
      sdm,
      deviceId: "warmup",
      serve: "local",
      webrtc: { port: 0, servers: pool },
      local: { client: { ca: edge.cert } },
    });
    streams.add(warm);
    const warmUrl = started(warm);
    warm.start();
    const reader = ffmpegReader((await warmUrl).url ?? "");
    await delay(3000);
    await stopChild(reader, "SIGTERM", 3000);
    await warm.stop();
    streams.delete(warm);

    await delay(2000);
    const idle = await phase("idle", undefined, 0);
    const direct = await phase("direct, 1 reader", "direct", 1);
    const local1 = await phase("local, 1 reader", "local", 1);
    const local3 = await phase("local, 3 readers", "local", 3);

    const net = (p: Phase) => p.nodeCpuS - idle.nodeCpuS * (p.wallS / idle.wallS);
    const rows: string[][] = [
      ["Measure (one camera)", "direct, 1 reader", "local, 1 reader", "local, 3 readers"],
      [
        `Node CPU (process.cpuUsage over ${WINDOW_S} s, minus idle; % of one core)`,
        ...[direct, local1, local3].map((p) => pct(net(p), p.wallS)),
      ],
      [
        "Readers' ffmpeg CPU (sum, /proc)",
        ...[direct, local1, local3].map((p) => pct(p.readersCpuS, p.wallS)),
      ],
      ["Node + readers", ...[direct, local1, local3].map((p) => pct(net(p) + p.readersCpuS, p.wallS))],
      [
        "Upstream RTP packets/s (through Node)",
        "0 (ffmpeg reads Google)",
        ...[local1, local3].map((p) => p.packetsPerS.toFixed(0)),
      ],
      [
        "Node memory (V8 heap + external after GC, minus idle)",
        ...[direct, local1, local3].map((p) => mib(p.heapBytes - idle.heapBytes)),
      ],
    ];
    console.log(
      `\nserve: "local" benchmark, node ${process.version}, over loopback: one RTSP camera (GStreamer, ` +
        `${VIDEO.width}x${VIDEO.height} H.264 ${VIDEO.bitrateKbps} kb/s ${VIDEO.fps} fps + AAC) behind an RTSPS ` +
        `edge in another process; SDM in-process; ${WINDOW_S} s windows; idle Node: ${pct(idle.nodeCpuS, idle.wallS)}.\n`,
    );
    for (const [i, row] of rows.entries()) {
      console.log(`| ${row.join(" | ")} |`);
      if (i === 0) console.log(`|${row.map(() => " --- ").join("|")}|`);
    }
    const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : "n/a");
    const directNode = Math.max(net(direct), 0);
    console.log(
      `\nRatios (per camera, same run):\n` +
        `- Node CPU, local 1 reader ÷ direct: ${ratio(net(local1), directNode)} ` +
        `(${pct(net(local1), local1.wallS)} vs ${pct(directNode, direct.wallS)}; direct Node only keeps the SDM stream)\n` +
        `- Node CPU, local 1 reader ÷ the direct path's ffmpeg reader: ${ratio(net(local1), direct.readersCpuS)}\n` +
        `- Node + readers, local 1 reader ÷ direct: ${ratio(net(local1) + local1.readersCpuS, directNode + direct.readersCpuS)}\n` +
        `- Node CPU, local 3 readers ÷ local 1 reader: ${ratio(net(local3), net(local1))}`,
    );
    ok = true;
  } finally {
    await Promise.all([...streams].map((s) => s.stop()));
    await Promise.all([...readers].map((r) => stopChild(r, "SIGTERM", 3000)));
    edge.child.disconnect();
    await new Promise((r) => setTimeout(r, 500));
    if (edge.child.exitCode === null) edge.child.kill("SIGKILL");
    await source.stop();
    const orphans = listProcessDetails("ffmpeg").filter((p) => readerPids.has(p.pid));
    if (orphans.length > 0) {
      console.error(`left-over ffmpeg: ${orphans.map((p) => p.pid).join(", ")}`);
      for (const p of orphans) process.kill(p.pid, "SIGKILL");
      ok = false;
    }
    if (pool.size > 0) {
      console.error("a local RTSP server was left listening");
      ok = false;
    }
    log("done");
  }
  return ok ? 0 : 1;
}

const edgeArg = process.argv.indexOf("--edge-child");
if (edgeArg >= 0) {
  void edgeChild(process.argv[edgeArg + 1] ?? "");
} else {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
