/**
 * Runs and supervises one ffmpeg that pushes a camera stream to its destination(s).
 *
 * The rules (design sections 3 and 7):
 * - exactly one ffmpeg per Restreamer: a new one is only spawned after the previous one exited;
 * - any exit that was not asked for (exit status 0 included: ffmpeg exits 0 when its input ends)
 *   is a failure: the first reconnects at once with the newest URL, later ones back off
 *   exponentially with jitter; the backoff resets after `healthyAfterMs` live;
 * - a watchdog restarts a process whose progress (frames, output time) stalls;
 * - stop: `q` on stdin, then SIGTERM, then SIGKILL, well inside Node-RED's 15 s close timeout;
 * - nothing that leaves this object (events, snapshots, errors, logs) carries a stream key or a
 *   stream token: everything goes through src/redact.ts.
 * A Node-RED adapter only maps messages to play/updateUrl/stop/setTarget and snapshots to output.
 */
import { spawn as nodeSpawn, type SpawnOptions } from "node:child_process";
import { EventEmitter } from "node:events";
import type { Readable, Writable } from "node:stream";
import { Backoff } from "../backoff";
import { systemClock, type Clock, type Timer } from "../clock";
import { redact, secrets } from "../redact";
import {
  audioPlan,
  buildArgs,
  type AudioMode,
  type AudioPlan,
  type InputAudio,
  type VideoMode,
} from "./args";
import {
  ProgressParser,
  StderrParser,
  type InputLayout,
  type ProgressSample,
  type StreamInfo,
} from "./progress";
import { describeDestination, resolveOutputs, type Destination, type TargetConfig } from "./targets";

export type RestreamState = "starting" | "live" | "retrying" | "stopped" | "failed";

/** What nest-restream sends as `msg.payload` (design section 3), plus a few extras. */
export interface RestreamSnapshot {
  state: RestreamState;
  /** The input URL, redacted; null before the first play(). */
  url: string | null;
  fps: number | null;
  bitrateKbps: number | null;
  frames: number | null;
  speed: number | null;
  /** Seconds the current ffmpeg has been live; 0 when not live. */
  uptimeS: number;
  /** Restarts after failures or stalls since play() started from stopped. */
  restarts: number;
  /** Why the last run failed, with the last stderr lines; redacted. */
  lastError: string | null;
  pid: number | null;
  /** The main destination, redacted. */
  target: string | null;
  /** How audio is handled by the current run. */
  audio: AudioPlan | null;
  /** What the input carries, once ffmpeg has listed it. */
  input: { video: string | null; audio: string | null } | null;
}

/** The nest-restream output message's payload (design section 3): the snapshot without internals. */
export type RestreamPayload = Pick<
  RestreamSnapshot,
  "state" | "url" | "fps" | "bitrateKbps" | "frames" | "speed" | "uptimeS" | "restarts" | "lastError"
>;

export function restreamPayload(s: RestreamSnapshot): RestreamPayload {
  const { state, url, fps, bitrateKbps, frames, speed, uptimeS, restarts, lastError } = s;
  return { state, url, fps, bitrateKbps, frames, speed, uptimeS, restarts, lastError };
}

/** The part of a ChildProcess the Restreamer uses (a test double implements just this). */
export interface FfmpegProcess {
  readonly pid?: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  kill(signal?: NodeJS.Signals | number): boolean;
  on(event: "exit", listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: "error", listener: (err: Error) => void): this;
}

export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => FfmpegProcess;

export interface RestreamerOptions {
  /** The main destination. Validated at play(); an invalid one puts the restreamer in "failed". */
  target: TargetConfig;
  /** Further destinations fed from the same input through the tee muxer. */
  outputs?: readonly TargetConfig[];
  audio?: AudioMode;
  video?: VideoMode;
  /** Path to ffmpeg; else the FFMPEG_PATH environment variable; else "ffmpeg" on PATH. */
  ffmpegPath?: string;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  spawn?: SpawnFn;
  random?: () => number;
  /** Restart when progress has not advanced for this long (default 20 s). */
  stallTimeoutMs?: number;
  /** 'stats' events while live (default every 5 s). */
  statsIntervalMs?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  /** Live this long resets the backoff (default 30 s). */
  healthyAfterMs?: number;
  /** After `q`, wait this long before SIGTERM (default 2 s). */
  stopTimeoutMs?: number;
  /** After SIGTERM, wait this long before SIGKILL (default 4 s). */
  killTimeoutMs?: number;
  /** RTSP socket timeout in µs (default 10 s). */
  timeoutUs?: number;
  /** Extra input options before `-i` (tests: `-re` for a file input). */
  inputArgs?: readonly string[];
  /** stderr lines kept for error reports (default 20). */
  stderrLines?: number;
}

export interface RestreamerEvents {
  state: [RestreamSnapshot];
  stats: [RestreamSnapshot];
  log: [string];
}

type StopReason = "stop" | "switch" | "replan" | "stall";

interface Run {
  proc: FfmpegProcess;
  url: string;
  key: string;
  plan: AudioPlan;
  startedAt: number;
  liveSince: number | null;
  lastAdvanceAt: number;
  sample: ProgressSample | null;
  maxFrames: number;
  maxOutTimeUs: number;
  stopReason?: StopReason;
  stallMessage?: string;
  timers: Timer[];
  stderr: string[];
  gone: boolean;
  /** The process has exited; its end is handled once its stderr is read (see onExit). */
  exited: boolean;
  stderrDone: boolean;
  /** Set by onLayout once ffmpeg has listed this run's input. */
  listed: boolean;
  /** Called when stderr ends (a deferred exit waits for the stream listing). */
  afterStderr?: () => void;
  whenGone: Promise<void>;
  markGone: () => void;
}

/** After SIGKILL, give up waiting for an exit event after this long. */
const KILL_GRACE_MS = 2000;
/** At most this many immediate restarts to fix the audio plan per play(). */
const MAX_REPLANS = 2;
/** How long an exit waits for the rest of stderr (the stream listing) before it is handled. */
const STDERR_DRAIN_MS = 1000;

export function ffmpegMissingMessage(path: string): string {
  return (
    `ffmpeg was not found (tried "${path}"). Install it: on Debian, Ubuntu or Raspberry Pi OS ` +
    '"sudo apt install ffmpeg"; in the Home Assistant Node-RED add-on, add "ffmpeg" to the add-on\'s ' +
    "system_packages option and restart the add-on; or set the node's ffmpeg path (or the FFMPEG_PATH " +
    "environment variable) to the ffmpeg program."
  );
}

/** The ffmpeg to run: the option, else FFMPEG_PATH, else "ffmpeg" on PATH. */
export function resolveFfmpegPath(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  return option?.trim() || env.FFMPEG_PATH?.trim() || "ffmpeg";
}

/** Stream session of a URL: the URL without its query (the token changes on every extend). */
function sessionKey(url: string): string {
  return url.replace(/[?#].*$/, "");
}

function tokenOf(url: string | null): string | null {
  if (!url) return null;
  const m = /[?&]auth=([^&#\s]+)/i.exec(url);
  return m?.[1] ?? null;
}

function describeStream(s: StreamInfo | null): string | null {
  if (!s) return null;
  const parts = [s.codec];
  if (s.width && s.height) parts.push(`${s.width}x${s.height}`);
  if (s.fps) parts.push(`${s.fps} fps`);
  if (s.sampleRate) parts.push(`${s.sampleRate} Hz`);
  return parts.join(" ");
}

export class Restreamer extends EventEmitter<RestreamerEvents> {
  private readonly clock: Clock;
  private readonly spawnFn: SpawnFn;
  private readonly backoff: Backoff;
  private readonly ffmpegPath: string;
  private readonly stallTimeoutMs: number;
  private readonly statsIntervalMs: number;
  private readonly healthyAfterMs: number;
  private readonly stopTimeoutMs: number;
  private readonly killTimeoutMs: number;
  private readonly stderrLines: number;

  private targetConfig: TargetConfig;
  private outputConfigs: readonly TargetConfig[];
  private destinations: Destination[] | null = null;

  private currentState: RestreamState = "stopped";
  private url: string | null = null;
  private wanted = false;
  private run: Run | null = null;
  private failures = 0;
  private restartCount = 0;
  private replans = 0;
  private lastErrorText: string | null = null;
  private layout: { key: string; layout: InputLayout } | null = null;
  /** What the source says it sends, for a first run before any listing (a WebRTC camera: Opus). */
  private audioHint: InputAudio = undefined;
  private readonly tokens = new Set<string>();

  private retryTimer: Timer | undefined;
  private watchdogTimer: Timer | undefined;
  private healthyTimer: Timer | undefined;
  private statsTimer: Timer | undefined;

  constructor(private readonly options: RestreamerOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.spawnFn = options.spawn ?? ((command, args, opts) => nodeSpawn(command, args, opts));
    this.backoff = new Backoff({
      initialMs: options.backoff?.initialMs ?? 1000,
      maxMs: options.backoff?.maxMs ?? 60_000,
      random: options.random,
    });
    this.ffmpegPath = resolveFfmpegPath(options.ffmpegPath, options.env);
    this.stallTimeoutMs = options.stallTimeoutMs ?? 20_000;
    this.statsIntervalMs = options.statsIntervalMs ?? 5000;
    this.healthyAfterMs = options.healthyAfterMs ?? 30_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 2000;
    this.killTimeoutMs = options.killTimeoutMs ?? 4000;
    this.stderrLines = options.stderrLines ?? 20;
    this.targetConfig = options.target;
    this.outputConfigs = options.outputs ?? [];
    secrets.add(options.target.streamKey?.trim());
    for (const o of this.outputConfigs) secrets.add(o.streamKey?.trim());
  }

  get state(): RestreamState {
    return this.currentState;
  }

  /** The running ffmpeg's process id, if one runs. */
  get pid(): number | null {
    return this.run?.proc.pid ?? null;
  }

  /** The URL the next (re)connect uses, redacted. */
  get currentUrl(): string | null {
    return this.url ? redact(this.url) : null;
  }

  /** Whether a URL is known, so that start() can replay it. */
  get hasUrl(): boolean {
    return this.url !== null;
  }

  /** The last stderr lines of the current or last run, redacted. */
  stderrTail(): string[] {
    return [...(this.run?.stderr ?? this.lastStderr)];
  }
  private lastStderr: string[] = [];

  /**
   * Starts the restream, or switches to `url`: a running ffmpeg is stopped and, once it has
   * exited, a new one starts on the new URL. The same URL while running changes nothing.
   */
  play(url: string, inputAudio?: InputAudio): void {
    if (typeof url !== "string" || !url.trim()) throw new TypeError("play() needs the input URL");
    url = url.trim();
    if (inputAudio !== undefined) this.audioHint = inputAudio;
    const fromIdle = !this.wanted || this.currentState === "stopped" || this.currentState === "failed";
    this.setUrl(url);
    this.wanted = true;
    if (fromIdle) {
      this.failures = 0;
      this.restartCount = 0;
      this.replans = 0;
      this.backoff.reset();
    }
    const run = this.run;
    if (run) {
      if (run.stopReason === undefined && run.url === url) return;
      this.requestStop(run, "switch");
      return;
    }
    this.clearRetry();
    this.launch();
  }

  /** Starts again with the newest URL (the "start" command). Throws if no URL was ever given. */
  start(): void {
    if (!this.url) throw new Error("no stream URL yet: send the camera's RTSP URL first");
    if (this.run && this.run.stopReason === undefined) return;
    this.play(this.url);
  }

  /**
   * Keeps `url` for the next reconnect only; the running ffmpeg is left alone (nest-stream's
   * "extended" event: a new token for new connections, the open session goes on).
   */
  updateUrl(url: string): void {
    if (typeof url !== "string" || !url.trim()) throw new TypeError("updateUrl() needs a URL");
    this.setUrl(url.trim());
  }

  /**
   * Sets the destination (msg.target from youtube-live). A running ffmpeg is replaced when the
   * destination changed. Throws TargetError (leaving everything as it was) if it is invalid.
   */
  setTarget(target: TargetConfig, outputs: readonly TargetConfig[] = this.outputConfigs): void {
    const next = resolveOutputs(target, outputs);
    const changed = JSON.stringify(next) !== JSON.stringify(this.destinations);
    this.targetConfig = target;
    this.outputConfigs = outputs;
    this.destinations = next;
    if (changed && this.run && this.run.stopReason === undefined) this.requestStop(this.run, "switch");
  }

  /** Stops the restream; resolves once no ffmpeg of this Restreamer runs any more. */
  stop(): Promise<void> {
    this.wanted = false;
    this.clearRetry();
    const run = this.run;
    if (!run) {
      if (this.currentState !== "stopped") this.setState("stopped");
      return Promise.resolve();
    }
    if (run.stopReason !== "stop") this.requestStop(run, "stop");
    return run.whenGone;
  }

  snapshot(): RestreamSnapshot {
    const run = this.run;
    const s = run?.sample ?? null;
    const layout = this.url && this.layout?.key === sessionKey(this.url) ? this.layout.layout : null;
    let target: string | null = null;
    try {
      target = describeDestination(
        (this.destinations ?? resolveOutputs(this.targetConfig, []))[0] as Destination,
      );
    } catch {
      target = null;
    }
    return {
      state: this.currentState,
      url: this.url ? redact(this.url) : null,
      fps: s?.fps ?? null,
      bitrateKbps: s?.bitrateKbps ?? null,
      frames: s?.frames ?? null,
      speed: s?.speed ?? null,
      uptimeS:
        run?.liveSince != null && this.currentState === "live"
          ? Math.floor((this.clock.now() - run.liveSince) / 1000)
          : 0,
      restarts: this.restartCount,
      lastError: this.lastErrorText,
      pid: run?.proc.pid ?? null,
      target,
      audio: run?.plan ?? null,
      input: layout ? { video: describeStream(layout.video), audio: describeStream(layout.audio) } : null,
    };
  }

  // ---------------------------------------------------------------------------------------------

  private setUrl(url: string): void {
    this.url = url;
    // Register the stream token of the newest URL and of the running one; forget older ones.
    const keep = new Set([tokenOf(url), tokenOf(this.run?.url ?? null)].filter((t): t is string => !!t));
    for (const t of this.tokens) {
      if (!keep.has(t)) {
        secrets.delete(t);
        this.tokens.delete(t);
      }
    }
    for (const t of keep) {
      secrets.add(t);
      this.tokens.add(t);
    }
  }

  private setState(state: RestreamState): void {
    this.currentState = state;
    this.emit("state", this.snapshot());
  }

  private log(text: string): void {
    this.emit("log", redact(text));
  }

  private fail(message: string): void {
    this.wanted = false;
    this.lastErrorText = redact(message);
    this.log(`failed: ${message}`);
    this.setState("failed");
  }

  private launch(): void {
    if (this.run) throw new Error("internal: an ffmpeg is still running"); // the one-process rule
    const url = this.url;
    if (!url || !this.wanted) return;

    let args: string[];
    let plan: AudioPlan;
    const key = sessionKey(url);
    try {
      this.destinations ??= resolveOutputs(this.targetConfig, this.outputConfigs);
      // A new session of the same camera nearly always has the same tracks: start from the last
      // listing (onLayout checks the guess and replans at once if the input turns out different).
      const known = this.layout?.layout;
      const inputAudio: InputAudio =
        known === undefined ? this.audioHint : known.audio ? { codec: known.audio.codec } : null;
      plan = audioPlan(this.options.audio ?? "auto", inputAudio, this.destinations);
      args = buildArgs({
        inputUrl: url,
        outputs: this.destinations,
        audio: this.options.audio,
        video: this.options.video,
        inputAudio,
        inputFps: known?.video?.fps,
        timeoutUs: this.options.timeoutUs,
        inputArgs: this.options.inputArgs,
      });
    } catch (err) {
      this.fail((err as Error).message);
      return;
    }

    let proc: FfmpegProcess;
    try {
      proc = this.spawnFn(this.ffmpegPath, args, { stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
    } catch (err) {
      this.spawnFailed(err as NodeJS.ErrnoException);
      return;
    }

    let markGone!: () => void;
    const whenGone = new Promise<void>((resolve) => (markGone = resolve));
    const now = this.clock.now();
    const run: Run = {
      proc,
      url,
      key,
      plan,
      startedAt: now,
      liveSince: null,
      lastAdvanceAt: now,
      sample: null,
      maxFrames: 0,
      maxOutTimeUs: 0,
      timers: [],
      stderr: [],
      gone: false,
      exited: false,
      stderrDone: !proc.stderr,
      listed: false,
      whenGone,
      markGone,
    };
    this.run = run;

    const progress = new ProgressParser((sample) => this.onSample(run, sample));
    const stderr = new StderrParser(
      (line) => this.onStderr(run, line),
      (layout) => this.onLayout(run, layout),
    );
    proc.stdout?.on("data", (chunk: Buffer) => progress.push(chunk));
    proc.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    proc.stdout?.on("error", () => {});
    proc.stderr?.on("error", () => {});
    const stderrDone = () => {
      run.stderrDone = true;
      run.afterStderr?.();
    };
    proc.stderr?.on("end", stderrDone);
    proc.stderr?.on("close", stderrDone);
    proc.stdin?.on("error", () => {}); // EPIPE when writing "q" to an ffmpeg that just died
    proc.on("exit", (code, signal) => this.onExit(run, code, signal));
    proc.on("error", (err: NodeJS.ErrnoException) => {
      // Only a failed spawn ends the run; a failed kill() leaves the process running.
      if (proc.pid === undefined || err.syscall?.startsWith("spawn")) this.onExit(run, null, null, err);
      else this.log(`ffmpeg process error: ${err.message}`);
    });

    this.log(`starting ffmpeg (audio: ${plan}): ${this.ffmpegPath} ${args.map(quoteArg).join(" ")}`);
    this.armWatchdog(run);
    this.setState("starting");
  }

  private spawnFailed(err: NodeJS.ErrnoException): void {
    if (err.code === "ENOENT") this.fail(ffmpegMissingMessage(this.ffmpegPath));
    else if (err.code === "EACCES")
      this.fail(`ffmpeg at "${this.ffmpegPath}" cannot be run (permission denied)`);
    else this.failure(`ffmpeg could not be started: ${err.message}`, []);
  }

  private onStderr(run: Run, line: string): void {
    const text = redact(line);
    if (text.trim()) {
      run.stderr.push(text);
      if (run.stderr.length > this.stderrLines) run.stderr.shift();
    }
    if (run === this.run) this.emit("log", text);
  }

  private onLayout(run: Run, layout: InputLayout): void {
    run.listed = true;
    this.layout = { key: run.key, layout };
    this.log(
      `input: video ${describeStream(layout.video) ?? "none"}, audio ${describeStream(layout.audio) ?? "none"}`,
    );
    if (run !== this.run || run.stopReason !== undefined) return;
    if ((this.options.audio ?? "auto") !== "auto") return;
    // The plan this input needs, against what the running ffmpeg does ("probe" copies the audio
    // there is, and publishes none when there is none). A mismatch costs one immediate restart,
    // never a second connection at the same time: the first run has exited before the next one
    // starts. For Opus to FLV the probe run fails at the header by itself; whether its exit or this
    // listing comes first, the next run starts at once with "encode" (see onExit).
    const needed = audioPlan(
      "auto",
      layout.audio ? { codec: layout.audio.codec } : null,
      this.destinations ?? undefined,
    );
    const running = run.plan === "probe" ? (layout.audio ? "copy" : "none") : run.plan;
    if (needed === running) {
      run.plan = running; // later snapshots say what the probe run turned out to do
      return;
    }
    if (this.replans < MAX_REPLANS) {
      this.replans++;
      this.log(
        needed === "silence"
          ? "the input has no audio: restarting at once with a silent audio track"
          : needed === "copy"
            ? `the input's audio is ${layout.audio?.codec}: restarting at once to copy it`
            : `the input's audio is ${layout.audio?.codec}: restarting at once to re-encode it to AAC`,
      );
      this.requestStop(run, "replan");
    }
  }

  private onSample(run: Run, sample: ProgressSample): void {
    if (run !== this.run) return;
    run.sample = sample;
    const frames = sample.frames ?? 0;
    const out = sample.outTimeUs ?? 0;
    if (frames > run.maxFrames || out > run.maxOutTimeUs) {
      run.maxFrames = Math.max(run.maxFrames, frames);
      run.maxOutTimeUs = Math.max(run.maxOutTimeUs, out);
      run.lastAdvanceAt = this.clock.now();
      if (this.currentState === "starting" && run.stopReason === undefined) this.goLive(run);
    }
  }

  private goLive(run: Run): void {
    run.liveSince = this.clock.now();
    this.clock.clearTimeout(this.healthyTimer);
    this.healthyTimer = this.clock.setTimeout(() => {
      if (run !== this.run) return;
      if (this.failures > 0) this.log(`live for ${Math.round(this.healthyAfterMs / 1000)} s: backoff reset`);
      this.failures = 0;
      this.backoff.reset();
    }, this.healthyAfterMs);
    this.armStats(run);
    this.setState("live");
  }

  private armStats(run: Run): void {
    this.clock.clearTimeout(this.statsTimer);
    this.statsTimer = this.clock.setTimeout(() => {
      if (run !== this.run || this.currentState !== "live") return;
      this.emit("stats", this.snapshot());
      this.armStats(run);
    }, this.statsIntervalMs);
  }

  private armWatchdog(run: Run): void {
    this.clock.clearTimeout(this.watchdogTimer);
    const due = run.lastAdvanceAt + this.stallTimeoutMs - this.clock.now();
    this.watchdogTimer = this.clock.setTimeout(
      () => {
        if (run !== this.run || run.stopReason !== undefined) return;
        const idle = this.clock.now() - run.lastAdvanceAt;
        if (idle < this.stallTimeoutMs) {
          this.armWatchdog(run);
          return;
        }
        const s = Math.round(idle / 1000);
        run.stallMessage =
          run.liveSince === null
            ? `ffmpeg made no progress for ${s} s after starting (the input did not deliver frames)`
            : `ffmpeg's progress stalled for ${s} s`;
        this.log(`${run.stallMessage}: restarting it`);
        this.requestStop(run, "stall");
      },
      Math.max(0, due),
    );
  }

  /** Asks a run to end: `q` (SIGTERM at once for a stall), then SIGTERM, then SIGKILL. */
  private requestStop(run: Run, reason: StopReason): void {
    const escalating = run.stopReason !== undefined;
    run.stopReason = reason;
    if (escalating || run.gone || run.exited) return;
    const kill = (signal: NodeJS.Signals) => {
      if (run.gone) return;
      this.log(`sending ${signal} to ffmpeg (pid ${run.proc.pid ?? "?"})`);
      try {
        run.proc.kill(signal);
      } catch {
        /* already gone */
      }
    };
    const later = (ms: number, fn: () => void) => run.timers.push(this.clock.setTimeout(fn, ms));
    const afterTerm = () =>
      later(this.killTimeoutMs, () => {
        kill("SIGKILL");
        later(KILL_GRACE_MS, () => {
          this.log(`ffmpeg (pid ${run.proc.pid ?? "?"}) did not report its exit after SIGKILL; moving on`);
          this.onExit(run, null, "SIGKILL");
        });
      });
    if (reason === "stall") {
      kill("SIGTERM");
      afterTerm();
      return;
    }
    try {
      run.proc.stdin?.write("q");
    } catch {
      /* stdin closed: the timers below take over */
    }
    later(this.stopTimeoutMs, () => {
      kill("SIGTERM");
      afterTerm();
    });
  }

  private onExit(
    run: Run,
    code: number | null,
    signal: NodeJS.Signals | null,
    err?: NodeJS.ErrnoException,
  ): void {
    if (run.gone) return;
    // A first run that exits by itself before its stream listing was read (Node may report the
    // exit before the last stderr data): read stderr to its end first, so that the listing can
    // still turn this exit into an audio replan (Opus refused by FLV) instead of a failure.
    if (
      !err &&
      !run.exited &&
      !run.stderrDone &&
      !run.listed &&
      run.plan === "probe" &&
      run.stopReason === undefined
    ) {
      run.exited = true;
      const resume = () => {
        run.afterStderr = undefined;
        this.onExit(run, code, signal, err);
      };
      run.afterStderr = resume;
      run.timers.push(this.clock.setTimeout(resume, STDERR_DRAIN_MS));
      return;
    }
    run.exited = true;
    run.gone = true;
    for (const t of run.timers) this.clock.clearTimeout(t);
    run.timers = [];
    if (this.run === run) {
      this.run = null;
      this.lastStderr = run.stderr;
      this.clock.clearTimeout(this.watchdogTimer);
      this.clock.clearTimeout(this.healthyTimer);
      this.clock.clearTimeout(this.statsTimer);
    }
    run.markGone();
    this.setUrl(this.url ?? run.url); // the old run's token is no longer in use
    const how = err ? `error ${err.code ?? err.message}` : signal ? `signal ${signal}` : `status ${code}`;
    this.log(`ffmpeg (pid ${run.proc.pid ?? "?"}) exited with ${how}`);

    if (err && (err.code === "ENOENT" || err.code === "EACCES")) {
      if (!this.wanted) this.setState("stopped");
      else this.spawnFailed(err);
      return;
    }
    if (!this.wanted) {
      this.setState("stopped");
      return;
    }
    if (run.stopReason !== undefined && run.stopReason !== "stall") {
      this.launch(); // asked for (switch, audio replan, or a stop overtaken by play): no backoff
      return;
    }
    let message: string;
    if (run.stallMessage) message = run.stallMessage;
    else if (err) message = `ffmpeg failed: ${err.message}`;
    else if (signal) message = `ffmpeg was killed by ${signal}`;
    else if (code === 0)
      message = "ffmpeg exited (status 0) although no stop was asked: the input or output ended";
    else message = `ffmpeg exited with status ${code}`;
    this.failure(message, run.stderr);
  }

  /** An unasked end: reconnect at once the first time, then with growing backoff. */
  private failure(message: string, stderr: string[]): void {
    this.failures++;
    this.restartCount++;
    const tail = stderr.slice(-10);
    this.lastErrorText = redact(tail.length > 0 ? `${message}\n${tail.join("\n")}` : message);
    const delay = this.failures === 1 ? 0 : this.backoff.next();
    this.log(`${message}; reconnecting ${delay === 0 ? "now" : `in ${(delay / 1000).toFixed(1)} s`}`);
    this.setState("retrying");
    if (!this.wanted || this.currentState !== "retrying") return; // a listener stopped or replayed
    if (delay === 0) {
      this.launch();
      return;
    }
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.wanted && !this.run) this.launch();
    }, delay);
  }

  private clearRetry(): void {
    this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}
