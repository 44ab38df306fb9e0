/**
 * The WebRTC benchmark (`node dist/bench/webrtc-bench.js`): what the in-process WebRTC bridge costs
 * Node-RED per WebRTC-only camera, and how fast it starts and recovers.
 *
 * The cameras are fake WebRTC cameras (werift peers) in a child process of its own, so their
 * encryption and ffmpeg do not count against the bridge; SDM answers come from an in-process fake
 * (no HTTP, no command budget). Each camera is a CameraStream with protocol "auto" on a
 * WebRTC-only device (what nest-stream runs), served by one shared local RTSP server on an
 * ephemeral port. Three fake cameras:
 * - "ffmpeg" (the small load): real H.264 + Opus made by ffmpeg, 640x360 ~300 kb/s (a keyframe every
 *   2 s; it cannot answer keyframe requests), for CPU and memory;
 * - "hd" (the realistic load, what a wired Nest camera sends at 1080p): 1920x1080 20 fps H.264 at
 *   ~2 Mb/s + Opus, 250–300 RTP packets/s, a clip encoded once and looped by ffmpeg with stream copy;
 * - "synthetic": tiny H.264-shaped packets that answer keyframe requests at once, as a Nest camera
 *   does, for the latencies (which otherwise mostly measure where the ffmpeg camera's GOP is).
 *
 * Measured:
 * - for each load, with 1, 3 and 6 cameras read by one ffmpeg each, and with 1 camera read by 3:
 *   CPU of this Node process (process.cpuUsage, the bridge side only: the cameras' werift and ffmpeg
 *   are in the child process) over a fixed window, minus an idle baseline of the same process over
 *   the same length, per camera and per 1,000 RTP packets received; the RTP packet rate;
 * - memory: V8 heap + external after a full GC with the cameras live, minus the same with none, per
 *   camera (and the process's RSS, which moves by whole allocator arenas, as context);
 * - start latency: start() to the WebRTC session being connected, to the 'url' "started" event,
 *   and to the first video RTP packet and first keyframe at a local RTSP reader that connects on it;
 * - recovery after the camera drops the peer connection: the drop to the new session's first RTP
 *   at the bridge, and to video at the reader again (video resumes at a keyframe).
 * Prints a Markdown table, stops everything it started, exits 0 (1 if a step failed).
 */
import { fork, type ChildProcess } from "node:child_process";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as inspector from "node:inspector";
import * as path from "node:path";
import * as net from "node:net";
import v8 from "node:v8";
import vm from "node:vm";
import {
  CAMERA_LIVE_STREAM,
  INFO_TRAIT,
  type SdmCommandName,
  type SdmCommands,
  type SdmDevice,
} from "../src/nest/sdm-types";
import { CameraStream, type CameraUrlEvent } from "../src/stream/camera-stream";
import type { SdmCommandRunner } from "../src/stream/stream-keeper";
import { rtpPayload, startsKeyframe } from "../src/webrtc/h264";
import { RtspServerPool } from "../src/webrtc/rtsp-server-pool";
import { LocalRtspServer } from "../src/webrtc/rtsp-server";
import type { WebRtcBridge } from "../src/webrtc/webrtc-bridge";
import type { WebRtcRtpEvent } from "../src/webrtc/webrtc-session";
import { createFakeWebRtcCamera, type FakeWebRtcCamera } from "../test/fixtures/fake-webrtc-camera";
import { delay, stopChild } from "../test/fixtures/ports";
import { waitFor } from "../test/support/wait";
import { ffmpegReader, readerPids, readers } from "./ffmpeg-readers";
import { measureStack, srtpMicroseconds, type Answerer, type StackRun } from "./webrtc-stacks";
import { listProcessDetails } from "../test/fixtures/probe";

/** Camera counts measured, each camera read by one ffmpeg (BENCH_CAMERAS="1,3,6"). */
const CAMERA_COUNTS = (process.env.BENCH_CAMERAS ?? "1,3,6").split(",").map(Number).filter(Boolean);
/** Readers of the one camera in the several-readers run (0 = skip). */
const MULTI_READERS = Number(process.env.BENCH_READERS ?? 3);
/** Loads measured (BENCH_LOADS="hd,small"). */
const LOADS = (process.env.BENCH_LOADS ?? "small,hd").split(",") as LoadName[];
const WINDOW_S = Number(process.env.BENCH_WINDOW_S) || 15;
/** Compare bare receive-only werift and node-datachannel peers at the realistic load (BENCH_STACKS=0 skips). */
const STACKS = process.env.BENCH_STACKS !== "0";
const WARMUP_MS = 3000;
const START_TRIALS = 3;
const DROP_TRIALS = 3;
const VIDEO = { width: 640, height: 360, fps: 15, gop: 30 };
const HD = { width: 1920, height: 1080, fps: 20, gop: 40, videoBitrate: "2M", loopSeconds: 6 };

type LoadName = "small" | "hd";
const LOAD_TEXT: Record<LoadName, string> = {
  small: `${VIDEO.width}x${VIDEO.height} ${VIDEO.fps} fps ~300 kb/s`,
  hd: `${HD.width}x${HD.height} ${HD.fps} fps ~2 Mb/s`,
};
/** Device id prefix that makes the bench's SDM answer with that load's camera. */
const LOAD_PREFIX: Record<LoadName, string> = { small: "cam-", hd: "hd-" };

// ---- the camera, in a child process ---------------------------------------------------------------

type CameraKind = "ffmpeg" | "hd" | "synthetic";
type CameraCall =
  | { op: "answer"; kind: CameraKind; offerSdp: string }
  | { op: "drop"; mediaSessionId: string }
  | { op: "udp"; port: number; rate: number; seconds: number }
  | { op: "sink" }
  | { op: "stop" };
type CameraRequest = CameraCall & { id: number };
type CameraReply = { id: number; ok: true; result?: unknown } | { id: number; ok: false; error: string };

async function cameraChild(): Promise<void> {
  const cameras: Record<CameraKind, FakeWebRtcCamera> = {
    ffmpeg: createFakeWebRtcCamera(VIDEO),
    hd: createFakeWebRtcCamera(HD),
    synthetic: createFakeWebRtcCamera({ ...VIDEO, media: "synthetic" }),
  };
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await Promise.all(Object.values(cameras).map((c) => c.stop().catch(() => undefined)));
  };
  process.on("disconnect", () => void stop().then(() => process.exit(0)));
  process.on("message", (raw) => {
    const req = raw as CameraRequest;
    const reply = (r: CameraReply) => process.send?.(r);
    const run = async (): Promise<unknown> => {
      switch (req.op) {
        case "answer":
          return cameras[req.kind].answer(req.offerSdp);
        case "drop":
          // Session ids are unique: the camera that does not have it ignores it.
          return Promise.all(Object.values(cameras).map((c) => c.dropPeer(req.mediaSessionId, "close")));
        case "udp":
          return sendUdp(req.port, req.rate, req.seconds);
        case "sink":
          return openSink();
        case "stop":
          return stop();
      }
    };
    run().then(
      (result) => reply({ id: req.id, ok: true, result }),
      (err: unknown) =>
        reply({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  process.send?.({ id: 0, ok: true });
}

/** Sends `rate` 1200-byte datagrams a second to 127.0.0.1:`port` for `seconds`, paced every 5 ms. */
async function sendUdp(port: number, rate: number, seconds: number): Promise<void> {
  const socket = dgram.createSocket("udp4");
  const packet = Buffer.alloc(1200);
  const t0 = Date.now();
  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - t0) * rate) / 1000);
    for (; sent < due; sent++) socket.send(packet, port, "127.0.0.1");
  }, 5);
  await delay(seconds * 1000);
  clearInterval(timer);
  socket.close();
}

/** A TCP server in the camera process that reads and discards everything (a reader that costs us nothing). */
async function openSink(): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on("data", () => undefined);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // One reader, once: no other connection is taken, and the server goes with the camera process.
  server.once("connection", () => server.close());
  server.unref();
  return (server.address() as net.AddressInfo).port;
}

/**
 * CPU of this process (minus idle, % of one core) while the camera sends `rate` bare 1200-byte UDP
 * datagrams a second to a socket of ours, each handed to `onDatagram`.
 */
async function udpWindow(
  camera: CameraProcess,
  rate: number,
  idlePerS: number,
  onDatagram: (datagram: Buffer) => void,
): Promise<number> {
  const socket = dgram.createSocket("udp4");
  socket.on("message", onDatagram);
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const sending = camera.call({ op: "udp", port: socket.address().port, rate, seconds: WINDOW_S + 2 });
  await delay(1000);
  const from = process.cpuUsage();
  const at = performance.now();
  await delay((WINDOW_S - 1) * 1000);
  const used = process.cpuUsage(from);
  const wall = (performance.now() - at) / 1000;
  await sending;
  socket.close();
  return (100 * ((used.user + used.system) / 1e6 - idlePerS * wall)) / wall;
}

/**
 * The floor under any in-process bridge: this process receiving bare UDP datagrams at `rate` and
 * doing nothing with them (Node's own cost per datagram on this machine), minus idle.
 */
function udpFloor(camera: CameraProcess, rate: number, idlePerS: number): Promise<number> {
  return udpWindow(camera, rate, idlePerS, () => undefined);
}

/**
 * The floor under any bridge that serves a reader: the same datagrams written, framed as RTSP
 * interleaved data, to one TCP reader every 20 ms in one write (what the local RTSP server does).
 * No decryption, no parsing: the least a relay can do.
 */
async function relayFloor(camera: CameraProcess, rate: number, idlePerS: number): Promise<number> {
  const sinkPort = await camera.call<number>({ op: "sink" });
  const reader = net.connect(sinkPort, "127.0.0.1");
  await new Promise<void>((resolve, reject) => reader.once("connect", resolve).once("error", reject));
  let pending: Buffer[] = [];
  const flush = setInterval(() => {
    if (pending.length === 0) return;
    reader.write(Buffer.concat(pending));
    pending = [];
  }, 20);
  try {
    return await udpWindow(camera, rate, idlePerS, (datagram) => {
      const header = Buffer.allocUnsafe(4);
      header[0] = 0x24;
      header[1] = 0;
      header.writeUInt16BE(datagram.length, 2);
      pending.push(header, datagram);
    });
  } finally {
    clearInterval(flush);
    reader.destroy();
  }
}

class CameraProcess {
  private seq = 0;
  private readonly waiting = new Map<number, (r: CameraReply) => void>();
  private constructor(readonly child: ChildProcess) {
    child.on("message", (r: CameraReply) => {
      this.waiting.get(r.id)?.(r);
      this.waiting.delete(r.id);
    });
  }

  static async start(): Promise<CameraProcess> {
    const child = fork(__filename, ["--camera-child"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (code) => reject(new Error(`the camera process exited (${code})`)));
    });
    return new CameraProcess(child);
  }

  call<T>(req: CameraCall): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, (r) => (r.ok ? resolve(r.result as T) : reject(new Error(r.error))));
      this.child.send({ ...req, id });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    await Promise.race([this.call({ op: "stop" }), delay(5000)]).catch(() => undefined);
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * SDM for the bench: WebRTC-only devices; GenerateWebRtcStream is answered by the camera process,
 * by the "synthetic" camera for device ids starting with "syn-", the "hd" one for "hd-", else by the
 * "ffmpeg" one.
 */
function benchSdm(camera: CameraProcess): SdmCommandRunner {
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
            audioCodecs: ["OPUS"],
            supportedProtocols: ["WEB_RTC"],
          },
        },
      };
    },
    async execute<C extends SdmCommandName>(
      id: string,
      command: C,
      params: SdmCommands[C]["params"],
    ): Promise<SdmCommands[C]["results"]> {
      const expiresAt = new Date(Date.now() + 5 * 60_000).toISOString();
      switch (command) {
        case "GenerateWebRtcStream": {
          const { offerSdp } = params as SdmCommands["GenerateWebRtcStream"]["params"];
          const kind: CameraKind = id.startsWith("syn-")
            ? "synthetic"
            : id.startsWith("hd-")
              ? "hd"
              : "ffmpeg";
          const a = await camera.call<{ answerSdp: string; mediaSessionId: string }>({
            op: "answer",
            kind,
            offerSdp,
          });
          return { ...a, expiresAt } as SdmCommands[C]["results"];
        }
        case "ExtendWebRtcStream": {
          const { mediaSessionId } = params as SdmCommands["ExtendWebRtcStream"]["params"];
          return { mediaSessionId, expiresAt } as SdmCommands[C]["results"];
        }
        case "StopWebRtcStream": {
          const { mediaSessionId } = params as SdmCommands["StopWebRtcStream"]["params"];
          await camera.call({ op: "drop", mediaSessionId });
          return {} as SdmCommands[C]["results"];
        }
        default:
          throw new Error(`${command}: not a WebRTC command`);
      }
    },
  };
}

// ---- a minimal RTSP reader (interleaved TCP), to time packets -------------------------------------

interface Response {
  status: number;
  headers: Map<string, string>;
  body: string;
}

class MiniReader {
  videoPackets = 0;
  audioPackets = 0;
  /** Arrival times (ms, performance.now()) of the first video packet, first keyframe. */
  firstVideoAt = 0;
  firstKeyframeAt = 0;
  /** Called for each packet (kind, arrival time, keyframe). */
  onPacket?: (kind: "video" | "audio", at: number, keyframe: boolean) => void;
  private buf: Buffer = Buffer.alloc(0);
  private cseq = 0;
  private session?: string;
  private pending?: (r: Response) => void;

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("error", () => undefined);
  }

  static async open(url: string): Promise<MiniReader> {
    const u = new URL(url);
    const socket = net.connect(Number(u.port), u.hostname);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const r = new MiniReader(socket);
    const d = await r.request("DESCRIBE", url, { Accept: "application/sdp" });
    if (d.status !== 200) throw new Error(`DESCRIBE ${d.status}`);
    for (const [track, channel] of [
      ["trackID=0", 0],
      ["trackID=1", 2],
    ] as const) {
      const s = await r.request("SETUP", `${url}/${track}`, {
        Transport: `RTP/AVP/TCP;unicast;interleaved=${channel}-${channel + 1}`,
      });
      if (s.status !== 200) throw new Error(`SETUP ${track}: ${s.status}`);
      r.session ??= s.headers.get("session")?.split(";")[0];
    }
    const p = await r.request("PLAY", url, { Range: "npt=now-" });
    if (p.status !== 200) throw new Error(`PLAY ${p.status}`);
    return r;
  }

  close(): void {
    this.socket.destroy();
  }

  private request(method: string, uri: string, headers: Record<string, string>): Promise<Response> {
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${++this.cseq}`];
    if (this.session) lines.push(`Session: ${this.session}`);
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    return new Promise((resolve) => {
      this.pending = resolve;
      this.socket.write(lines.join("\r\n") + "\r\n\r\n");
    });
  }

  private onData(chunk: Buffer): void {
    const at = performance.now();
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.buf.length === 0) return;
      if (this.buf[0] === 0x24) {
        if (this.buf.length < 4) return;
        const n = this.buf.readUInt16BE(2);
        if (this.buf.length < 4 + n) return;
        const channel = this.buf[1];
        const packet = this.buf.subarray(4, 4 + n);
        this.buf = this.buf.subarray(4 + n);
        if (channel === 0) {
          this.videoPackets++;
          const key = startsKeyframe(rtpPayload(packet));
          if (!this.firstVideoAt) this.firstVideoAt = at;
          if (key && !this.firstKeyframeAt) this.firstKeyframeAt = at;
          this.onPacket?.("video", at, key);
        } else if (channel === 2) {
          this.audioPackets++;
          this.onPacket?.("audio", at, false);
        }
        continue;
      }
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString("latin1").split("\r\n");
      const headers = new Map<string, string>();
      for (const line of head.slice(1)) {
        const i = line.indexOf(":");
        if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
      }
      const length = Number(headers.get("content-length") ?? 0);
      if (this.buf.length < end + 4 + length) return;
      const body = this.buf.subarray(end + 4, end + 4 + length).toString("utf8");
      this.buf = this.buf.subarray(end + 4 + length);
      const status = Number(/^RTSP\/1\.0 (\d+)/.exec(head[0] ?? "")?.[1] ?? 0);
      const done = this.pending;
      this.pending = undefined;
      done?.({ status, headers, body });
    }
  }
}

// ---- helpers ------------------------------------------------------------------------------------

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

function memory(): { rss: number; heap: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const streams = new Set<CameraStream>();
const minis = new Set<MiniReader>();

/** A CameraStream as nest-stream makes it (protocol auto, on the bench's server pool). */
function cameraStream(sdm: SdmCommandRunner, pool: RtspServerPool, id: string): CameraStream {
  const s = new CameraStream({ sdm, deviceId: id, protocol: "auto", webrtc: { port: 0, servers: pool } });
  s.on("warning", (w) => console.error(`warning: ${w}`));
  streams.add(s);
  return s;
}

function started(s: CameraStream, timeoutMs = 20_000): Promise<CameraUrlEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within ${timeoutMs} ms`)), timeoutMs);
    const on = (ev: CameraUrlEvent) => {
      if (ev.event !== "started") return;
      clearTimeout(timer);
      s.off("url", on);
      resolve(ev);
    };
    s.on("url", on);
  });
}

interface Run {
  load: LoadName;
  cameras: number;
  readers: number;
  /** Node CPU per camera, % of one core. */
  pct: number;
  /** RTP packets/s per camera. */
  rate: number;
  /** Node CPU per 1,000 RTP packets received, ms. */
  perThousand: number;
  /** Heap + external per camera, bytes. */
  heap: number;
  rss: number;
}

/**
 * With BENCH_PROFILE=<dir>: a V8 CPU profile of this process over each measuring window only
 * (<dir>/webrtc-<load>-<cameras>x<readers>.cpuprofile, for Chrome DevTools or `--cpu-prof` tools).
 */
async function startProfile(): Promise<((name: string) => Promise<void>) | undefined> {
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return undefined;
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
    );
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 500 });
  await post("Profiler.start");
  return async (name) => {
    const { profile } = (await post("Profiler.stop")) as { profile: unknown };
    session.disconnect();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `webrtc-${name}.cpuprofile`), JSON.stringify(profile));
  };
}

const s2 = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

// ---- the benchmark ------------------------------------------------------------------------------

async function main(): Promise<number> {
  const t0 = Date.now();
  const log = (text: string): void => console.error(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${text}`);
  log(`starting the fake WebRTC cameras (${LOADS.map((l) => LOAD_TEXT[l]).join("; ")}) in a child process`);
  const camera = await CameraProcess.start();
  const sdm = benchSdm(camera);
  // BENCH_FLUSH_MS: the local server's write gathering (LocalRtspServerOptions.flushMs), to compare.
  const flushMs = process.env.BENCH_FLUSH_MS === undefined ? undefined : Number(process.env.BENCH_FLUSH_MS);
  const pool = new RtspServerPool((o) => new LocalRtspServer({ ...o, flushMs }));
  let ok = false;
  try {
    // ---- warm-up (the camera's ffmpeg, werift's first peer, JIT), then start latency ------------
    const trial = async (id: string) => {
      const s = cameraStream(sdm, pool, id);
      let liveAt = 0;
      s.on("state", (st) => {
        if (st.state === "live" && !liveAt) liveAt = performance.now();
      });
      const at = performance.now();
      s.start();
      const ev = await started(s);
      const urlAt = performance.now();
      const reader = await MiniReader.open(ev.url ?? "");
      minis.add(reader);
      await waitFor(() => reader.firstKeyframeAt > 0, 15_000, "a keyframe at the reader");
      reader.close();
      minis.delete(reader);
      await s.stop();
      streams.delete(s);
      return {
        live: liveAt - at,
        url: urlAt - at,
        video: reader.firstVideoAt - at,
        keyframe: reader.firstKeyframeAt - at,
      };
    };
    type Start = Awaited<ReturnType<typeof trial>>;
    await trial("syn-warmup");
    const starts: Start[] = [];
    for (let i = 0; i < START_TRIALS; i++) starts.push(await trial(`syn-start-${i}`));
    const fmtStart = (x: Start) => [x.live, x.url, x.video, x.keyframe].map(Math.round).join("/");
    log(`start (live/url/video/keyframe): ${starts.map(fmtStart).join(", ")} ms`);

    // ---- idle baseline: this process with no camera ----------------------------------------------
    await delay(1000);
    const memIdle = memory();
    const idleFrom = process.cpuUsage();
    const idleAt = performance.now();
    await delay(WINDOW_S * 1000);
    const idle = process.cpuUsage(idleFrom);
    const idleS = (idle.user + idle.system) / 1e6;
    const idleWall = (performance.now() - idleAt) / 1000;
    log(`idle baseline: ${idleS.toFixed(3)} s CPU in ${idleWall.toFixed(1)} s`);

    // ---- CPU and memory, for each load and reader layout ----------------------------------------
    const idlePerS = idleS / idleWall;
    const runs: Run[] = [];
    let runNo = 0;
    const layouts: { cameras: number; readers: number }[] = [
      ...CAMERA_COUNTS.map((cameras) => ({ cameras, readers: 1 })),
      ...(MULTI_READERS > 1 ? [{ cameras: 1, readers: MULTI_READERS }] : []),
    ];
    for (const load of LOADS) {
      for (const { cameras, readers: perCamera } of layouts) {
        const live: CameraStream[] = [];
        let packets = 0;
        for (let i = 0; i < cameras; i++) {
          const s = cameraStream(sdm, pool, `${LOAD_PREFIX[load]}${runNo}-${i}`);
          const ev = started(s);
          s.start();
          const url = (await ev).url ?? "";
          for (let r = 0; r < perCamera; r++) ffmpegReader(url);
          (s.driver as WebRtcBridge).webrtc?.on("rtp", () => packets++);
          live.push(s);
        }
        runNo++;
        await waitFor(
          () =>
            live.every(
              (s) => ((s.driver as WebRtcBridge).rtspServer.readerCount(s.shortDeviceId) ?? 0) >= perCamera,
            ),
          15_000,
          "the readers on every camera",
        );
        await delay(WARMUP_MS);
        const pids = [...readers].map((r) => r.pid);
        const packetsFrom = packets;
        const profile = await startProfile();
        const busyFrom = process.cpuUsage();
        const busyAt = performance.now();
        log(`measuring CPU for ${WINDOW_S} s: ${load}, ${cameras} camera(s), ${perCamera} reader(s) each`);
        await delay(WINDOW_S * 1000);
        const busy = process.cpuUsage(busyFrom);
        const busyWall = (performance.now() - busyAt) / 1000;
        await profile?.(`${load}-${cameras}x${perCamera}`);
        const received = packets - packetsFrom;
        const memLive = memory();
        if (readers.size !== cameras * perCamera || [...readers].some((r, i) => r.pid !== pids[i])) {
          throw new Error("a reader ended during the measuring window");
        }
        const busyS = (busy.user + busy.system) / 1e6;
        const bridgeS = busyS - idlePerS * busyWall;
        const run: Run = {
          load,
          cameras,
          readers: perCamera,
          pct: (100 * bridgeS) / busyWall / cameras,
          rate: received / busyWall / cameras,
          perThousand: (1e6 * bridgeS) / Math.max(1, received),
          heap: (memLive.heap - memIdle.heap) / cameras,
          rss: memLive.rss,
        };
        runs.push(run);
        log(
          `busy: ${busyS.toFixed(3)} s CPU (${(busy.system / 1e6).toFixed(3)} s system) in ${busyWall.toFixed(1)} s; ${run.pct.toFixed(2)} % per camera; ` +
            `${run.rate.toFixed(0)} RTP packets/s per camera; ${run.perThousand.toFixed(1)} ms per 1,000 packets; ` +
            `${mib(run.heap)} per camera`,
        );
        await Promise.all(live.map((s) => s.stop()));
        for (const s of live) streams.delete(s);
        await Promise.all([...readers].map((r) => stopChild(r, "SIGTERM", 3000)));
      }
    }

    // ---- the floor: bare UDP at the loads' packet rates ------------------------------------------
    const floors: { rate: number; pct: number }[] = [];
    for (const rate of [90, 300]) {
      log(`measuring CPU for ${WINDOW_S - 1} s: bare UDP at ${rate} datagrams/s`);
      floors.push({ rate, pct: await udpFloor(camera, rate, idlePerS) });
    }
    log(`measuring CPU for ${WINDOW_S - 1} s: bare UDP at 300 datagrams/s relayed to one TCP reader`);
    const relay = await relayFloor(camera, 300, idlePerS);

    // ---- receive-only stacks at the realistic load: werift against node-datachannel ------------
    const stacks: StackRun[] = [];
    const stackErrors = new Set<string>();
    if (STACKS) {
      const answer: Answerer = async (offerSdp) =>
        (await camera.call<{ answerSdp: string }>({ op: "answer", kind: "hd", offerSdp })).answerSdp;
      for (let round = 0; round < 3; round++) {
        for (const name of ["werift", "node-datachannel"] as const) {
          log(
            `measuring CPU for ${WINDOW_S} s: a bare ${name} peer receiving the 1080p-like camera (own process)`,
          );
          try {
            stacks.push(await measureStack(name, answer, WINDOW_S, WARMUP_MS));
          } catch (err) {
            // node-datachannel has no build for every platform: say so and go on.
            stackErrors.add(`${name}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }
    }
    const srtpUs = srtpMicroseconds();

    // ---- recovery after a dropped peer (a camera that answers keyframe requests, a local reader) --
    const target = cameraStream(sdm, pool, "syn-drop");
    const targetUrl = started(target);
    target.start();
    const url = (await targetUrl).url ?? "";
    const bridge = target.driver as WebRtcBridge;
    const reader = await MiniReader.open(url);
    minis.add(reader);
    const recoveries: { rtp: number; video: number }[] = [];
    for (let i = 0; i < DROP_TRIALS; i++) {
      await waitFor(() => reader.videoPackets > 0, 10_000, "video at the reader");
      await delay(1500);
      const session = bridge.webrtc;
      if (!session?.mediaSessionId) throw new Error("no live WebRTC session");
      const generation = session.generation;
      let newRtpAt = 0;
      let videoAt = 0;
      const onRtp = (ev: WebRtcRtpEvent) => {
        if (ev.generation > generation && !newRtpAt) newRtpAt = performance.now();
      };
      session.on("rtp", onRtp);
      reader.onPacket = (kind, at) => {
        if (kind === "video" && newRtpAt && !videoAt) videoAt = at;
      };
      const dropAt = performance.now();
      await camera.call({ op: "drop", mediaSessionId: session.mediaSessionId });
      await waitFor(() => videoAt > 0, 20_000, "video again after the drop");
      session.off("rtp", onRtp);
      reader.onPacket = undefined;
      recoveries.push({ rtp: newRtpAt - dropAt, video: videoAt - dropAt });
    }
    log(`recovery: ${recoveries.map((r) => `${Math.round(r.rtp)}/${Math.round(r.video)}`).join(", ")} ms`);
    reader.close();
    minis.delete(reader);

    // ---- the table ------------------------------------------------------------------------------
    const med = (k: keyof Start) => median(starts.map((s) => s[k]));
    const range = (values: number[]) => `${s2(Math.min(...values))}–${s2(Math.max(...values))}`;
    const rows: string[][] = [["Measure (WebRTC bridge, per camera)", "Value"]];
    const cpuRows: string[][] = [
      [
        "Load",
        "Cameras × readers",
        "RTP packets/s per camera",
        "Node CPU per camera (% of one core)",
        "Node CPU per 1,000 packets",
        "Node memory per camera (heap + external)",
        "Process RSS",
      ],
      ...runs.map((r) => [
        LOAD_TEXT[r.load],
        `${r.cameras} × ${r.readers}`,
        r.rate.toFixed(0),
        `${r.pct.toFixed(2)} %`,
        `${r.perThousand.toFixed(1)} ms`,
        mib(r.heap),
        mib(r.rss),
      ]),
    ];
    rows.push(
      [
        `Start: start() to the WebRTC session connected (median of ${START_TRIALS}; min–max)`,
        `${s2(med("live"))} (${range(starts.map((s) => s.live))})`,
      ],
      [
        `Start: start() to 'url' "started" (SPS/PPS known; median of ${START_TRIALS})`,
        `${s2(med("url"))} (${range(starts.map((s) => s.url))})`,
      ],
      [
        `Start: start() to the first video RTP at a local reader (median of ${START_TRIALS})`,
        `${s2(med("video"))} (${range(starts.map((s) => s.video))})`,
      ],
      [
        `Start: start() to the first keyframe at the reader (median of ${START_TRIALS})`,
        `${s2(med("keyframe"))} (${range(starts.map((s) => s.keyframe))})`,
      ],
      [
        `Recovery after a dropped peer: drop to the new session's first RTP (median of ${DROP_TRIALS})`,
        `${s2(median(recoveries.map((r) => r.rtp)))} (${range(recoveries.map((r) => r.rtp))})`,
      ],
      [
        `Recovery after a dropped peer: drop to video at the reader again, same connection (median of ${DROP_TRIALS})`,
        `${s2(median(recoveries.map((r) => r.video)))} (${range(recoveries.map((r) => r.video))})`,
      ],
    );
    const table = (t: string[][]) => {
      for (const [i, row] of t.entries()) {
        console.log(`| ${row.join(" | ")} |`);
        if (i === 0) console.log(`|${row.map(() => " --- ").join("|")}|`);
      }
    };
    console.log(
      `\nWebRTC bridge benchmark, node ${process.version}, over loopback. CPU and memory: fake cameras ` +
        `(H.264 with a keyframe every 2 s + Opus 32 kb/s, made in a child process) each read by ffmpeg ` +
        `(-c copy) over the local RTSP server; Node CPU of the bridge's process only (process.cpuUsage ` +
        `minus an idle baseline, ${idleS.toFixed(3)} s in ${idleWall.toFixed(0)} s), ${WINDOW_S} s windows; ` +
        `memory after a full GC, minus idle (RSS ${mib(memIdle.rss)} idle).\n`,
    );
    table(cpuRows);
    console.log(
      `\nThe floor under any in-process bridge, Node receiving bare UDP datagrams (1200 bytes, paced ` +
        `every 5 ms) and doing nothing with them: ` +
        floors.map((f) => `${f.pct.toFixed(2)} % of one core at ${f.rate}/s`).join(", ") +
        `; and the same 300/s written to one TCP reader as RTSP interleaved data every 20 ms (no ` +
        `decryption, no parsing: the least a bridge serving a reader does): ${relay.toFixed(2)} %.`,
    );
    for (const e of stackErrors) console.log(`\nThe stack comparison could not run ${e}`);
    if (stacks.length) {
      console.log(
        `\nThe WebRTC stack alone, receiving the 1080p-like camera and counting its packets (no bridge, no ` +
          `reader; each peer in a fresh process of its own, CPU minus that process's idle; three rounds, ` +
          `alternating; \`BENCH_STACKS=0\` skips this):\n`,
      );
      table([
        ["Receive-only peer", "RTP packets/s", "Node CPU (% of one core)", "Node CPU per 1,000 packets"],
        ...stacks.map((r) =>
          r.rate < 1
            ? [r.name, "0 (connected, but no RTP reached JavaScript)", "", ""]
            : [r.name, r.rate.toFixed(0), `${r.pct.toFixed(2)} %`, `${r.perThousand.toFixed(0)} ms`],
        ),
      ]);
    }
    console.log(
      `\nSRTP decryption alone (AES-128-CM + HMAC-SHA1 of a 1,200-byte packet in Node's crypto): ` +
        `${srtpUs.toFixed(1)} µs a packet, ${((srtpUs * 300) / 1e4).toFixed(2)} % of one core at 300/s.`,
    );
    console.log(
      `\nLatencies: a fake camera that answers keyframe requests at once (as Nest cameras do), SDM ` +
        `answered in-process (Google adds its own round trips).\n`,
    );
    table(rows);
    ok = true;
  } finally {
    for (const m of minis) m.close();
    await Promise.all([...streams].map((s) => s.stop()));
    await Promise.all([...readers].map((r) => stopChild(r, "SIGTERM", 3000)));
    const cameraPid = camera.child.pid;
    const cameraFfmpeg = new Set(
      listProcessDetails("ffmpeg")
        .filter((p) => p.ppid === cameraPid)
        .map((p) => p.pid),
    );
    await camera.stop();
    const orphans = listProcessDetails("ffmpeg").filter(
      (p) => cameraFfmpeg.has(p.pid) || readerPids.has(p.pid),
    );
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

if (process.argv.includes("--camera-child")) {
  void cameraChild();
} else {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
