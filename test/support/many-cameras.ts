/**
 * Many RTSP cameras on one account, in a real Node-RED (a child process, test/fixtures/node-red-child):
 * the fake Google (project-wide limit of 10 commands a minute, short stream lifetimes) with N cameras
 * behind the token-checking RTSPS edge, one shared GStreamer source as their media, nginx-rtmp as the
 * ingest; per camera a nest-stream (started on deploy) wired to a nest-restream (real ffmpeg, copy) that
 * publishes to `rtmp://…/cam-<i>`. Full redeploys through Node-RED's admin API, and Node-RED's own CPU
 * and memory from /proc. Used by test/e2e/many-cameras.e2e.test.ts and bench/many-cameras.ts.
 */
import fs from "node:fs";
import { FakeGoogle } from "../fixtures/fake-google";
import { FAKE_CREDENTIALS } from "../fixtures/fake-google/defaults";
import {
  nodeRedReady,
  nodeRedUserDir,
  repositoryRoot,
  startNodeRed,
  type NodeRedChild,
} from "../fixtures/node-red-child";
import { stopChild } from "../fixtures/ports";
import { RtmpServer } from "../fixtures/rtmp-server";
import { RtspEdge } from "../fixtures/rtsp-edge";
import { RtspSource } from "../fixtures/rtsp-source";
import { waitFor } from "./wait";

export interface ManyCamerasOptions {
  cameras: number;
  /** Stream lifetime at the fake Google (s). */
  streamLifetimeS: number;
  /** The repository root (for the package Node-RED loads). */
  fromDir: string;
}

export interface Redeploy {
  /** Date.now() when the admin API answered the deploy. */
  at: number;
  /** Per camera key: ms from the deploy to its new publish at the ingest. */
  darkMs: Record<string, number>;
  /** executeCommand calls the fake Google saw from the deploy until every camera published again. */
  commands: { generate: number; stop: number; extend: number; refused429: number };
}

export interface ProcessSample {
  /** CPU seconds so far (on-CPU time from schedstat, else user + system ticks). */
  cpuS: number;
  /** Resident memory (MiB). */
  rssMiB: number;
}

/** CPU time and resident memory of a process, from /proc (Linux). */
export function sampleProcess(pid: number): ProcessSample {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces, in parentheses).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  let cpuS = (Number(fields[11]) + Number(fields[12])) / 100;
  try {
    // On-CPU time in nanoseconds, where the kernel has schedstat: finer than the 10 ms ticks.
    const ns = Number(fs.readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]);
    // (0 where the kernel keeps no schedstats.)
    if (ns > 0) cpuS = ns / 1e9;
  } catch {
    // ticks then
  }
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuS, rssMiB: rssKiB / 1024 };
}

export class ManyCameras {
  readonly keys: string[];
  red?: NodeRedChild;
  private dir?: string;

  private constructor(
    readonly options: ManyCamerasOptions,
    readonly fake: FakeGoogle,
    readonly source: RtspSource,
    readonly edge: RtspEdge,
    readonly rtmp: RtmpServer,
  ) {
    this.keys = Array.from({ length: options.cameras }, (_, i) => `cam-${i + 1}`);
  }

  static async start(options: ManyCamerasOptions): Promise<ManyCameras> {
    const ids = Array.from({ length: options.cameras }, (_, i) => `cam-${i + 1}`);
    // One small shared encoder for every camera: the machine's cores are for Node-RED and ffmpeg.
    const [source, rtmp] = await Promise.all([
      RtspSource.start({
        mounts: [{ path: "/cam", audio: "aac", width: 320, height: 180, bitrateKbps: 200, shared: true }],
      }),
      RtmpServer.start(),
    ]);
    const fake = await FakeGoogle.start({
      streamLifetimeS: options.streamLifetimeS,
      mediaUrl: source.url("/cam"),
      devices: ids.map((id, i) => ({ id, customName: `Camera ${i + 1}` })),
    });
    const edge = await RtspEdge.start({ authority: fake, tls: true });
    fake.setRtspEdgeBase(edge.baseUrl);
    return new ManyCameras(options, fake, source, edge, rtmp);
  }

  /** The flow: one account, and per camera a nest-stream into a nest-restream. */
  flows(): object[] {
    const nodes: object[] = [
      { id: "t1", type: "tab", label: "cameras" },
      { id: "acc", type: "nest-account", projectId: this.fake.sdm.projectId },
    ];
    this.keys.forEach((key, i) => {
      nodes.push(
        {
          id: `s${i + 1}`,
          type: "nest-stream",
          z: "t1",
          account: "acc",
          deviceId: key,
          startOnDeploy: true,
          wires: [[`r${i + 1}`]],
        },
        {
          id: `r${i + 1}`,
          type: "nest-restream",
          z: "t1",
          target: "custom",
          url: this.rtmp.keyUrl(key),
          audio: "copy",
          wires: [[], [], []],
        },
      );
    });
    return nodes;
  }

  /** Starts Node-RED with the flows; resolves once every camera publishes at the ingest. */
  async startNodeRed(timeoutMs = 60_000): Promise<void> {
    const root = repositoryRoot(this.options.fromDir);
    this.dir = nodeRedUserDir(root, this.flows(), { acc: FAKE_CREDENTIALS });
    const since = Date.now();
    this.red = await startNodeRed(this.dir, this.fake.env());
    await nodeRedReady(this.red, timeoutMs);
    await Promise.all(this.keys.map((k) => this.rtmp.waitForPublish(k, timeoutMs, since)));
  }

  /** Node-RED's own process (not its ffmpegs). */
  sample(): ProcessSample {
    const pid = this.red?.child.pid;
    if (!pid) throw new Error("Node-RED is not running");
    return sampleProcess(pid);
  }

  /**
   * A full deploy of the same flows through the admin API (what the editor's "Full" deploy sends);
   * resolves once every camera publishes again, with how long each was dark and what Google saw.
   */
  async redeploy(timeoutMs = 120_000): Promise<Redeploy> {
    const red = this.red;
    if (!red) throw new Error("Node-RED is not running");
    const base = `http://127.0.0.1:${red.port}`;
    const got = await fetch(`${base}/flows`, { headers: { "Node-RED-API-Version": "v2" } });
    const { flows } = (await got.json()) as { flows: object[] };
    const callsBefore = this.fake.calls.length;
    const res = await fetch(`${base}/flows`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "Node-RED-API-Version": "v2",
        "Node-RED-Deployment-Type": "full",
      },
      body: JSON.stringify({ flows }),
    });
    if (!res.ok) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
    const at = Date.now();
    const darkMs: Record<string, number> = {};
    await Promise.all(
      this.keys.map(async (k) => {
        const published = await this.rtmp.waitForPublish(k, timeoutMs, at);
        darkMs[k] = published.at - at;
      }),
    );
    const calls = this.fake.calls.slice(callsBefore);
    const count = (name: string) => calls.filter((c) => c.command === name).length;
    return {
      at,
      darkMs,
      commands: {
        generate: count("GenerateRtspStream"),
        stop: count("StopRtspStream"),
        extend: count("ExtendRtspStream"),
        refused429: calls.filter((c) => c.status === 429).length,
      },
    };
  }

  /** Every camera publishing at the ingest right now. */
  allPublishing(): boolean {
    return this.keys.every((k) => this.rtmp.isPublishing(k));
  }

  /** Waits until no camera publishes any more (after Node-RED stopped). */
  async waitAllDone(timeoutMs = 15_000): Promise<void> {
    await waitFor(() => this.keys.every((k) => !this.rtmp.isPublishing(k)), timeoutMs, "every publish ended");
  }

  async stopNodeRed(): Promise<void> {
    const red = this.red;
    this.red = undefined;
    if (red) await stopChild(red.child, "SIGTERM", 15_000);
  }

  async stop(): Promise<void> {
    await this.stopNodeRed();
    await Promise.all([this.edge.stop(), this.fake.stop(), this.source.stop(), this.rtmp.stop()]);
  }
}
