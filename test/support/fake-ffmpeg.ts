/**
 * A stand-in for child_process.spawn of ffmpeg: each "process" is an EventEmitter with real
 * PassThrough stdio, records what was written to stdin and which signals it got, and exits only
 * when the test says so (or, by default, promptly on `q` / SIGTERM / SIGKILL if `obedient`).
 */
import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import type { SpawnOptions } from "node:child_process";
import type { FfmpegProcess, SpawnFn } from "../../src/ffmpeg/restreamer";

let nextPid = 40_000;

export class FakeFfmpeg extends EventEmitter implements FfmpegProcess {
  readonly pid: number | undefined;
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly signals: (NodeJS.Signals | number | undefined)[] = [];
  stdinText = "";
  exited = false;
  /** Which of q / SIGTERM / SIGKILL make this process exit at once. */
  obeys: { q: boolean; SIGTERM: boolean; SIGKILL: boolean } = { q: true, SIGTERM: true, SIGKILL: true };
  private frames = 0;
  private outUs = 0;

  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly options: SpawnOptions,
    pid: number | undefined = nextPid++,
  ) {
    super();
    this.pid = pid;
    this.stdin.on("data", (chunk: Buffer) => {
      this.stdinText += chunk.toString();
      if (chunk.toString().includes("q") && this.obeys.q) setImmediate(() => this.exit(255));
    });
  }

  /** The input URL (the argument after the first -i). */
  get inputUrl(): string {
    return this.args[this.args.indexOf("-i") + 1] as string;
  }

  kill(signal: NodeJS.Signals | number = "SIGTERM"): boolean {
    if (this.exited) return false;
    this.signals.push(signal);
    if ((signal === "SIGTERM" && this.obeys.SIGTERM) || (signal === "SIGKILL" && this.obeys.SIGKILL)) {
      setImmediate(() => this.exit(null, signal as NodeJS.Signals));
    }
    return true;
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.exited) return;
    this.exited = true;
    this.emit("exit", code, signal);
    this.stdout.end();
    this.stderr.end();
  }

  /** Writes one -progress block; by default advancing by `frames` frames at 15 fps. */
  progress(frames = 15, extra: Record<string, string> = {}): void {
    this.frames += frames;
    this.outUs += Math.round((frames / 15) * 1e6);
    const fields: Record<string, string> = {
      frame: String(this.frames),
      fps: "15.00",
      bitrate: "2048.0kbits/s",
      total_size: String(this.frames * 17000),
      out_time_us: String(this.outUs),
      out_time_ms: String(this.outUs),
      speed: "1.00x",
      progress: "continue",
      ...extra,
    };
    const progress = fields.progress;
    delete fields.progress;
    this.stdout.write(
      Object.entries(fields)
        .map(([k, v]) => `${k}=${v}\n`)
        .join("") + `progress=${progress}\n`,
    );
  }

  /** Writes ffmpeg's stream listing for input #0 on stderr. */
  listing(audio: string | null, url = "rtsps://cam.example/stream"): void {
    const lines = [
      `Input #0, rtsp, from '${url}':`,
      "  Metadata:",
      "    title           : SDM",
      "  Duration: N/A, start: 0.000000, bitrate: N/A",
      "  Stream #0:0: Video: h264 (Main), yuv420p(progressive), 1920x1080, 15 fps, 15 tbr, 90k tbn",
    ];
    if (audio) lines.push(`  Stream #0:1: Audio: ${audio}, 48000 Hz, stereo, fltp`);
    lines.push("Stream mapping:", "  Stream #0:0 -> #0:0 (copy)", "Press [q] to stop, [?] for help");
    this.stderr.write(lines.join("\n") + "\n");
  }

  stderrLine(line: string): void {
    this.stderr.write(line + "\n");
  }
}

/** A spawn function that hands out FakeFfmpeg processes and checks they never overlap. */
export class FakeSpawner {
  readonly processes: FakeFfmpeg[] = [];
  /** Highest number of processes alive at the same time. */
  maxAlive = 0;
  /** Makes the next spawn fail like a missing binary. */
  failNext: "ENOENT" | null = null;

  readonly spawn: SpawnFn = (command, args, options) => {
    if (this.failNext) {
      const code = this.failNext;
      this.failNext = null;
      const proc = new FakeFfmpeg(command, args, options, undefined);
      setImmediate(() => {
        const err = Object.assign(new Error(`spawn ${command} ${code}`), {
          code,
          errno: -2,
          syscall: `spawn ${command}`,
          path: command,
        });
        proc.exited = true;
        proc.emit("error", err);
      });
      this.processes.push(proc);
      return proc;
    }
    const proc = new FakeFfmpeg(command, args, options);
    this.processes.push(proc);
    this.maxAlive = Math.max(this.maxAlive, this.alive.length);
    return proc;
  };

  get alive(): FakeFfmpeg[] {
    return this.processes.filter((p) => !p.exited && p.pid !== undefined);
  }

  get last(): FakeFfmpeg {
    const p = this.processes[this.processes.length - 1];
    if (!p) throw new Error("no process spawned");
    return p;
  }
}
