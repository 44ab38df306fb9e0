/**
 * Supervises the ffmpeg runs of one restream: starts, switches and stops them, restarts them with
 * backoff when they fail or stall, and reports its state as snapshots.
 *
 * The rules (design sections 3 and 7):
 * - exactly one ffmpeg per Restreamer: a new one is only spawned after the previous one exited;
 * - any exit that was not asked for (exit status 0 included: ffmpeg exits 0 when its input ends)
 *   is a failure: the first reconnects at once with the newest URL, later ones back off
 *   exponentially with jitter; the backoff resets after `healthyAfterMs` live;
 * - a watchdog (stall-watchdog.ts) restarts a process whose progress stalls;
 * - stop: `q` on stdin, then SIGTERM, then SIGKILL (ffmpeg-process.ts), well inside Node-RED's
 *   15 s close timeout;
 * - the audio plan and its one-time replans come from audio-plan.ts;
 * - nothing that leaves this object (events, snapshots, errors, logs) carries a stream key or a
 *   stream token: everything goes through src/redact.ts.
 */
import { EventEmitter } from "node:events";
import { Backoff } from "../backoff";
import { systemClock, type Clock, type Timer } from "../clock";
import { redact, secrets } from "../redact";
import { buildArgs, type VideoMode } from "./args";
import { AudioPlanner, type AudioMode, type AudioPlan, type InputAudio } from "./audio-plan";
import { failureReason } from "./failure-reason";
import {
  exitFailure,
  spawnFailure,
  stallFailure,
  unverifiedTls,
  type RestreamFailure,
} from "./restream-failure";
import {
  commandLine,
  FfmpegRun,
  resolveFfmpegPath,
  type FfmpegExit,
  type SpawnFn,
  type StopReason,
} from "./ffmpeg-process";
import { JpegSplitter, type JpegImage } from "./jpeg-stream";
import type { LeftoverProcess } from "./leftover-process";
import type { InputLayout, ProgressSample } from "./progress";
import { RecordingTracker, type RecordingFile } from "./recordings";
import { RestreamRefusal } from "./refusal";
import { describeStream, takeSnapshot, type RestreamSnapshot, type RestreamState } from "./restream-snapshot";
import { spawnWithParent } from "./spawn-with-parent";
import { StallWatchdog } from "./stall-watchdog";
import { sessionKey, StreamTokens } from "./stream-url";
import { resolveOutputs, TargetError, verifyingTls, type Destination, type TargetConfig } from "./targets";
import type { TlsTrust } from "./tls-trust";

// What the Restreamer's callers (tests, bench, the controller) use of its parts, from one place.
export { resolveFfmpegPath, type FfmpegProcess, type SpawnFn } from "./ffmpeg-process";
export {
  restreamPayload,
  type RestreamPayload,
  type RestreamSnapshot,
  type RestreamState,
} from "./restream-snapshot";

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
  /** When > 0, the running ffmpeg keeps a JPEG of the camera at most this many seconds old. */
  snapshotSeconds?: number;
  /** The certificates TLS destinations are verified against (tls-trust.ts); none: unverified. */
  tls?: TlsTrust;
  /** Where this restream notes its running ffmpeg, so that one left by a crashed Node-RED can be ended. */
  leftover?: LeftoverProcess;
  /**
   * The words of a refusal or failure (a `RestreamRefusal`: a refused destination, an ffmpeg that ended)
   * in `lastError` and in warnings: the node's catalog; default: the error's message.
   */
  errorText?: (err: unknown) => string;
}

/** The newest JPEG of the camera, and when it arrived. */
export interface Picture extends JpegImage {
  takenAt: number;
}

export interface RestreamerEvents {
  state: [RestreamSnapshot];
  stats: [RestreamSnapshot];
  log: [string];
  /** Worth the user's attention, once: a TLS destination whose certificate cannot be checked. */
  warning: [string];
  /** A recording file is complete (its segment rolled over, or ffmpeg exited). */
  recording: [RecordingFile];
}

/** One ffmpeg run and what the Restreamer knows of it. */
interface Run {
  ff: FfmpegRun;
  url: string;
  key: string;
  plan: AudioPlan;
  watchdog: StallWatchdog;
  liveSince: number | null;
  sample: ProgressSample | null;
  stall?: RestreamFailure;
  recordings: RecordingTracker | null;
  /** Resolves once the run's last recordings are announced. */
  recordingsEnded: Promise<void>;
}

export class Restreamer extends EventEmitter<RestreamerEvents> {
  private readonly clock: Clock;
  private readonly spawnFn: SpawnFn;
  private readonly backoff: Backoff;
  private readonly audio: AudioPlanner;
  private readonly ffmpegPath: string;
  private readonly stallTimeoutMs: number;
  private readonly statsIntervalMs: number;
  private readonly healthyAfterMs: number;

  private targetConfig: TargetConfig;
  private outputConfigs: readonly TargetConfig[];
  private destinations: Destination[] | null = null;

  private currentState: RestreamState = "stopped";
  private url: string | null = null;
  private wanted = false;
  private run: Run | null = null;
  private failures = 0;
  private restartCount = 0;
  private lastErrorText: string | null = null;
  private lastStderr: string[] = [];
  private picture: Picture | null = null;
  private readonly tokens = new StreamTokens();

  /** The warning about an unverified TLS destination was given (once per restreamer). */
  private warnedUnverified = false;
  private retryTimer: Timer | undefined;
  private healthyTimer: Timer | undefined;
  private statsTimer: Timer | undefined;

  constructor(private readonly options: RestreamerOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.spawnFn = options.spawn ?? spawnWithParent;
    this.backoff = new Backoff({
      initialMs: options.backoff?.initialMs ?? 1000,
      maxMs: options.backoff?.maxMs ?? 60_000,
      random: options.random,
    });
    this.audio = new AudioPlanner(options.audio ?? "auto");
    this.ffmpegPath = resolveFfmpegPath(options.ffmpegPath, options.env);
    this.stallTimeoutMs = options.stallTimeoutMs ?? 20_000;
    this.statsIntervalMs = options.statsIntervalMs ?? 5000;
    this.healthyAfterMs = options.healthyAfterMs ?? 30_000;
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
    return this.run?.ff.pid ?? null;
  }

  /** The URL the next (re)connect uses, redacted. */
  get currentUrl(): string | null {
    return this.url ? redact(this.url) : null;
  }

  /** Whether a URL is known, so that start() can replay it. */
  get hasUrl(): boolean {
    return this.url !== null;
  }

  /** The newest JPEG of the camera (snapshotSeconds > 0), from this run or an earlier one. */
  get latestPicture(): Picture | null {
    return this.picture;
  }

  /** The last stderr lines of the current or last run, redacted. */
  stderrTail(): string[] {
    return [...(this.run?.ff.stderr ?? this.lastStderr)];
  }

  /**
   * Starts the restream, or switches to `url`: a running ffmpeg is stopped and, once it has
   * exited, a new one starts on the new URL. The same URL while running changes nothing.
   */
  play(url: string, inputAudio?: InputAudio): void {
    if (typeof url !== "string" || !url.trim()) throw new TypeError("play() needs the input URL");
    url = url.trim();
    this.audio.setHint(inputAudio);
    const fromIdle = !this.wanted || this.currentState === "stopped" || this.currentState === "failed";
    this.setUrl(url);
    this.wanted = true;
    if (fromIdle) {
      this.failures = 0;
      this.restartCount = 0;
      this.audio.resetReplans();
      this.backoff.reset();
    }
    const run = this.run;
    if (run) {
      if (run.ff.stopReason === undefined && run.url === url) return;
      this.requestStop(run, "switch");
      return;
    }
    this.clearRetry();
    this.launch();
  }

  /** Starts again with the newest URL (the "start" command). Throws if no URL was ever given. */
  start(): void {
    if (!this.url) throw new RestreamRefusal("noUrlYet");
    if (this.run && this.run.ff.stopReason === undefined) return;
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
    const next = this.resolve(target, outputs);
    const changed = JSON.stringify(next) !== JSON.stringify(this.destinations);
    this.targetConfig = target;
    this.outputConfigs = outputs;
    this.destinations = next;
    if (changed && this.run && this.run.ff.stopReason === undefined) this.requestStop(this.run, "switch");
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
    if (run.ff.stopReason !== "stop") this.requestStop(run, "stop");
    return run.ff.whenGone.then(() => run.recordingsEnded);
  }

  snapshot(): RestreamSnapshot {
    const run = this.run;
    return takeSnapshot({
      state: this.currentState,
      now: this.clock.now(),
      url: this.url,
      run: run && { pid: run.ff.pid ?? null, plan: run.plan, sample: run.sample, liveSince: run.liveSince },
      restarts: this.restartCount,
      lastError: this.lastErrorText,
      destinations: this.destinations,
      target: this.targetConfig,
      layout: this.url ? this.audio.layoutOf(sessionKey(this.url)) : null,
    });
  }

  // ---------------------------------------------------------------------------------------------

  private setUrl(url: string): void {
    this.url = url;
    this.tokens.inUse(url, this.run?.url); // the newest URL's token and the running one's
  }

  private setState(state: RestreamState): void {
    this.currentState = state;
    this.emit("state", this.snapshot());
  }

  private log(text: string): void {
    this.emit("log", redact(text));
  }

  /** A refusal or failure in the caller's words (the node's catalog). */
  private text(err: unknown): string {
    return this.options.errorText?.(err) ?? (err as Error).message;
  }

  private fail(err: unknown): void {
    const message = this.text(err);
    this.wanted = false;
    this.lastErrorText = redact(message);
    this.log(`failed: ${message}`);
    this.setState("failed");
  }

  /** The destinations of a target, with the certificate check of those reached over TLS. */
  private resolve(target: TargetConfig, outputs: readonly TargetConfig[]): Destination[] {
    return verifyingTls(resolveOutputs(target, outputs), this.options.tls);
  }

  private launch(): void {
    if (this.run) throw new Error("internal: an ffmpeg is still running"); // the one-process rule
    const url = this.url;
    if (!url || !this.wanted) return;

    let args: string[];
    let plan: AudioPlan;
    try {
      const missing = this.options.tls?.missing;
      if (missing) throw new TargetError("caFileMissing", { file: missing });
      this.destinations ??= this.resolve(this.targetConfig, this.outputConfigs);
      const unchecked = (d: Destination) => d.kind === "rtmp" && d.tls && !d.verified;
      if (!this.warnedUnverified && !this.options.tls?.off && this.destinations.some(unchecked)) {
        this.warnedUnverified = true;
        this.emit("warning", this.text(unverifiedTls()));
      }
      const next = this.audio.next(this.destinations);
      plan = next.plan;
      args = buildArgs({
        inputUrl: url,
        outputs: this.destinations,
        audio: this.options.audio,
        video: this.options.video,
        inputAudio: next.inputAudio,
        inputFps: next.inputFps,
        timeoutUs: this.options.timeoutUs,
        inputArgs: this.options.inputArgs,
        snapshotSeconds: this.options.snapshotSeconds,
      });
    } catch (err) {
      this.fail(err);
      return;
    }

    const recordings = RecordingTracker.forDestinations(this.destinations, {
      onComplete: (file) => {
        this.log(`recording complete: ${file.path} (${file.bytes} bytes)`);
        this.emit("recording", file);
      },
      onSkipped: (file, why) => this.log(`recording ${file} not announced: ${why}`),
      // Should Node-RED die with it, the next start announces what this ffmpeg was writing.
      onOpen: (files) => {
        if (this.run?.recordings === recordings) this.options.leftover?.recording(files);
      },
    });
    const jpegs =
      (this.options.snapshotSeconds ?? 0) > 0
        ? new JpegSplitter((image) => (this.picture = { ...image, takenAt: this.clock.now() }))
        : null;
    let ff: FfmpegRun;
    try {
      ff = new FfmpegRun(this.spawnFn, this.ffmpegPath, args, {
        clock: this.clock,
        stopTimeoutMs: this.options.stopTimeoutMs ?? 2000,
        killTimeoutMs: this.options.killTimeoutMs ?? 4000,
        stderrLines: this.options.stderrLines ?? 20,
        onProgress: (sample) => this.onSample(run, sample),
        onStderr: (line) => {
          recordings?.line(line, this.clock.now());
          if (run === this.run) this.emit("log", line);
        },
        ...(jpegs ? { onFd3: (chunk: Buffer) => jpegs.push(chunk) } : {}),
        onLayout: (layout) => this.onLayout(run, layout),
        waitsForListing: () => run.plan === "probe",
        onExit: (exit) => this.onExit(run, exit),
        log: (text) => this.log(text),
      });
    } catch (err) {
      this.spawnFailed(err as NodeJS.ErrnoException);
      return;
    }
    const run: Run = {
      ff,
      url,
      key: sessionKey(url),
      plan,
      liveSince: null,
      sample: null,
      recordings,
      recordingsEnded: Promise.resolve(),
      watchdog: new StallWatchdog(this.clock, this.stallTimeoutMs, (idle) => this.onStall(run, idle)),
    };
    this.run = run;
    this.options.leftover?.remember(ff.pid);
    this.log(`starting ffmpeg (audio: ${plan}): ${commandLine(this.ffmpegPath, args)}`);
    this.setState("starting");
  }

  private spawnFailed(err: NodeJS.ErrnoException): void {
    const failure = spawnFailure(err, this.ffmpegPath);
    if (failure.code === "ffmpegNotStarted") this.failure(failure, []);
    else this.fail(failure);
  }

  private onLayout(run: Run, layout: InputLayout): void {
    this.audio.remember(run.key, layout);
    this.log(
      `input: video ${describeStream(layout.video) ?? "none"}, audio ${describeStream(layout.audio) ?? "none"}`,
    );
    if (run !== this.run || run.ff.stopReason !== undefined) return;
    const verdict = this.audio.check(layout, run.plan, this.destinations ?? undefined);
    if (!verdict) return;
    if ("keep" in verdict) {
      run.plan = verdict.keep; // later snapshots say what the probe run turned out to do
      return;
    }
    this.log(verdict.replan);
    this.requestStop(run, "replan");
  }

  private onSample(run: Run, sample: ProgressSample): void {
    if (run !== this.run) return;
    run.sample = sample;
    if (run.watchdog.observe(sample) && this.currentState === "starting" && run.ff.stopReason === undefined)
      this.goLive(run);
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

  private onStall(run: Run, idleMs: number): void {
    if (run !== this.run || run.ff.stopReason !== undefined) return;
    run.stall = stallFailure(idleMs, run.liveSince !== null);
    this.log(`${this.text(run.stall)}: restarting it`);
    this.requestStop(run, "stall");
  }

  private requestStop(run: Run, reason: StopReason): void {
    run.watchdog.stop();
    run.ff.stop(reason);
  }

  private onExit(run: Run, exit: FfmpegExit): void {
    run.watchdog.stop();
    if (run.recordings) run.recordingsEnded = run.recordings.end(this.clock.now());
    if (this.run === run) {
      this.run = null;
      this.options.leftover?.forget();
      this.lastStderr = run.ff.stderr;
      this.clock.clearTimeout(this.healthyTimer);
      this.clock.clearTimeout(this.statsTimer);
    }
    this.setUrl(this.url ?? run.url); // the old run's token is no longer in use
    const { error: err } = exit;

    if (err && (err.code === "ENOENT" || err.code === "EACCES")) {
      if (!this.wanted) this.setState("stopped");
      else this.spawnFailed(err);
      return;
    }
    if (!this.wanted) {
      this.setState("stopped");
      return;
    }
    const reason = run.ff.stopReason;
    if (reason !== undefined && reason !== "stall") {
      this.launch(); // asked for (switch, audio replan, or a stop overtaken by play): no backoff
      return;
    }
    this.failure(run.stall ?? exitFailure(exit), run.ff.stderr);
  }

  /** An unasked end: reconnect at once the first time, then with growing backoff. */
  private failure(err: RestreamFailure, stderr: string[]): void {
    const message = this.text(err);
    this.failures++;
    this.restartCount++;
    const tail = stderr.slice(-10);
    // The line that says why leads (the status shows the first line), then what happened, then the tail.
    const why = failureReason(stderr);
    const head = why ? `${why} (${message})` : message;
    this.lastErrorText = redact(tail.length > 0 ? `${head}\n${tail.join("\n")}` : head);
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
