/**
 * Runs one ffmpeg process: spawns it without a shell, feeds its stdout and stderr to the parsers,
 * and ends it on request with `q` on stdin, then SIGTERM, then SIGKILL.
 */
import type { SpawnOptions } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import type { Clock, Timer } from "../clock";
import { redact } from "../redact";
import { ProgressParser, StderrParser, type InputLayout, type ProgressSample } from "./progress";

/** The part of a ChildProcess the Restreamer uses (a test double implements just this). */
export interface FfmpegProcess {
  readonly pid?: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** All pipes by file descriptor (the fourth, fd 3, carries snapshots when asked for). */
  readonly stdio?: readonly (Readable | Writable | null | undefined)[];
  kill(signal?: NodeJS.Signals | number): boolean;
  on(event: "exit", listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: "error", listener: (err: Error) => void): this;
}

export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => FfmpegProcess;

/** Why a run was asked to end: a stall is terminated at once, the others are asked with `q` first. */
export type StopReason = "stop" | "switch" | "replan" | "stall";

/** How a run ended: its exit status or signal, or the error that ended it (a failed spawn). */
export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: NodeJS.ErrnoException;
}

export interface FfmpegRunOptions {
  clock: Clock;
  /** After `q`, wait this long before SIGTERM. */
  stopTimeoutMs: number;
  /** After SIGTERM, wait this long before SIGKILL. */
  killTimeoutMs: number;
  /** stderr lines kept for error reports. */
  stderrLines: number;
  onProgress(sample: ProgressSample): void;
  /** Each stderr line, redacted. */
  onStderr(line: string): void;
  /** ffmpeg listed its input's streams. */
  onLayout(layout: InputLayout): void;
  /** When set, ffmpeg gets a fourth pipe (fd 3) and what it writes there comes here. */
  onFd3?(chunk: Buffer): void;
  /**
   * Whether an exit that comes before the stream listing waits for the rest of stderr (Node may
   * report the exit before the last stderr data), so that the listing can still be acted on.
   */
  waitsForListing(): boolean;
  /** Called once, when the process is gone. */
  onExit(exit: FfmpegExit): void;
  log(text: string): void;
}

/** After SIGKILL, give up waiting for an exit event after this long. */
export const KILL_GRACE_MS = 2000;
/** How long an exit waits for the rest of stderr (the stream listing) before it is handled. */
export const STDERR_DRAIN_MS = 1000;

/** The ffmpeg to run: the option, else FFMPEG_PATH, else "ffmpeg" on PATH. */
export function resolveFfmpegPath(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  return option?.trim() || env.FFMPEG_PATH?.trim() || "ffmpeg";
}

/** A command line as a shell would need it quoted (for the log only: nothing runs through a shell). */
export function commandLine(command: string, args: readonly string[]): string {
  return [command, ...args].map(quoteArg).join(" ");
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

/** One ffmpeg process from spawn to its exit. */
export class FfmpegRun {
  private readonly proc: FfmpegProcess;
  private reason: StopReason | undefined;
  /** Resolves once the process is gone. */
  readonly whenGone: Promise<void>;
  private markGone!: () => void;
  private timers: Timer[] = [];
  private readonly stderrTail: string[] = [];
  private gone = false;
  /** The process has exited; its end is handled once its stderr is read (see onExit). */
  private exited = false;
  private stderrDone: boolean;
  private listed = false;
  /** Called when stderr ends (a deferred exit waits for the stream listing). */
  private afterStderr: (() => void) | undefined;

  /** Spawns ffmpeg with an argument array and piped stdio; throws what spawn throws. */
  constructor(
    spawn: SpawnFn,
    command: string,
    args: readonly string[],
    private readonly options: FfmpegRunOptions,
  ) {
    const stdio = options.onFd3 ? ["pipe", "pipe", "pipe", "pipe"] : ["pipe", "pipe", "pipe"];
    const proc = spawn(command, args, { stdio: stdio as SpawnOptions["stdio"], windowsHide: true });
    this.proc = proc;
    this.whenGone = new Promise<void>((resolve) => (this.markGone = resolve));
    this.stderrDone = !proc.stderr;

    const progress = new ProgressParser((sample) => options.onProgress(sample));
    const stderr = new StderrParser(
      (line) => this.onStderr(line),
      (layout) => {
        this.listed = true;
        options.onLayout(layout);
      },
    );
    proc.stdout?.on("data", (chunk: Buffer) => progress.push(chunk));
    proc.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    const fd3 = options.onFd3 ? (proc.stdio?.[3] as Readable | null | undefined) : undefined;
    if (fd3 && options.onFd3) {
      fd3.on("data", options.onFd3);
      fd3.on("error", () => {});
    }
    proc.stdout?.on("error", () => {});
    proc.stderr?.on("error", () => {});
    const stderrDone = () => {
      this.stderrDone = true;
      this.afterStderr?.();
    };
    proc.stderr?.on("end", stderrDone);
    proc.stderr?.on("close", stderrDone);
    proc.stdin?.on("error", () => {}); // EPIPE when writing "q" to an ffmpeg that just died
    proc.on("exit", (code, signal) => this.onExit({ code, signal }));
    proc.on("error", (err: NodeJS.ErrnoException) => {
      // Only a failed spawn ends the run; a failed kill() leaves the process running.
      if (proc.pid === undefined || err.syscall?.startsWith("spawn"))
        this.onExit({ code: null, signal: null, error: err });
      else options.log(`ffmpeg process error: ${err.message}`);
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Set once an end was asked for; a later request only changes the reason. */
  get stopReason(): StopReason | undefined {
    return this.reason;
  }

  /** The last stderr lines, redacted. */
  get stderr(): string[] {
    return this.stderrTail;
  }

  /** Asks the process to end: `q` (SIGTERM at once for a stall), then SIGTERM, then SIGKILL. */
  stop(reason: StopReason): void {
    const escalating = this.reason !== undefined;
    this.reason = reason;
    if (escalating || this.gone || this.exited) return;
    if (reason === "stall") {
      this.kill("SIGTERM");
      this.killAfterTerm();
      return;
    }
    try {
      this.proc.stdin?.write("q");
    } catch {
      /* stdin closed: the timers below take over */
    }
    this.later(this.options.stopTimeoutMs, () => {
      this.kill("SIGTERM");
      this.killAfterTerm();
    });
  }

  private kill(signal: NodeJS.Signals): void {
    if (this.gone) return;
    this.options.log(`sending ${signal} to ffmpeg (pid ${this.proc.pid ?? "?"})`);
    try {
      this.proc.kill(signal);
    } catch {
      /* already gone */
    }
  }

  private killAfterTerm(): void {
    this.later(this.options.killTimeoutMs, () => {
      this.kill("SIGKILL");
      this.later(KILL_GRACE_MS, () => {
        this.options.log(
          `ffmpeg (pid ${this.proc.pid ?? "?"}) did not report its exit after SIGKILL; moving on`,
        );
        this.onExit({ code: null, signal: "SIGKILL" });
      });
    });
  }

  private later(ms: number, fn: () => void): void {
    this.timers.push(this.options.clock.setTimeout(fn, ms));
  }

  private onStderr(line: string): void {
    const text = redact(line);
    if (text.trim()) {
      this.stderrTail.push(text);
      if (this.stderrTail.length > this.options.stderrLines) this.stderrTail.shift();
    }
    this.options.onStderr(text);
  }

  private onExit(exit: FfmpegExit): void {
    if (this.gone) return;
    // An exit by itself before the stream listing was read: read stderr to its end first, so that
    // the listing can still turn this exit into an audio replan (Opus refused by FLV).
    if (
      !exit.error &&
      !this.exited &&
      !this.stderrDone &&
      !this.listed &&
      this.reason === undefined &&
      this.options.waitsForListing()
    ) {
      this.exited = true;
      const resume = () => {
        this.afterStderr = undefined;
        this.onExit(exit);
      };
      this.afterStderr = resume;
      this.later(STDERR_DRAIN_MS, resume);
      return;
    }
    this.exited = true;
    this.gone = true;
    for (const t of this.timers) this.options.clock.clearTimeout(t);
    this.timers = [];
    this.markGone();
    const { code, signal, error } = exit;
    const how = error
      ? `error ${error.code ?? error.message}`
      : signal
        ? `signal ${signal}`
        : `status ${code}`;
    this.options.log(`ffmpeg (pid ${this.proc.pid ?? "?"}) exited with ${how}`);
    this.options.onExit(exit);
  }
}
