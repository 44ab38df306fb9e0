/**
 * Hands a camera's live RTSP session from a nest-stream node that closes for a redeploy to the node
 * that replaces it (issue 13, point 5). Framework-free; time comes from the injected clock.
 *
 * Why: a full redeploy of N cameras would otherwise cost N StopRtspStream and N GenerateRtspStream,
 * 2N commands against Google's 10 a minute per project: eight cameras left the last one dark for
 * over a minute. A parked session costs nothing: the successor adopts its URL and tokens and goes on
 * extending it.
 *
 * - `park(key, fingerprint, parked)`: the closing side leaves a live session here (keyed by the
 *   SDM endpoint, project and device; `fingerprint` names the account's credentials). Its keeper goes
 *   on extending it while parked. Nobody adopts it within `graceMs` (default 30 s): it is stopped at
 *   Google. A second park under the same key stops the first.
 * - `adopt(key, fingerprint)`: the starting side takes the session's newest tokens (the parked keeper
 *   ends without a stop). Different credentials (a rotated client or refresh token): no handover; the
 *   parked session is stopped and the caller generates a new one.
 * - `stopAll()`: Node-RED stops for good (shutdown, "stop flows"): every parked session is stopped now.
 */
import { systemClock, type Clock, type Timer } from "../clock";

/** A live RTSP session's newest tokens, as a StreamKeeper hands them over. */
export interface RtspSessionTokens {
  /** The URL as GenerateRtspStream returned it (auth= the first stream token). */
  readonly rtspUrl: string;
  readonly streamToken: string;
  readonly extensionToken: string;
  /** ISO, as Google said. */
  readonly expiresAt: string;
  /** Local time (ms, the process clock) the stream is taken to end. */
  readonly deadline: number;
  /** The lifetime the last generate or extend gave (ms): the adopter times its extends from it. */
  readonly lifetimeMs: number;
}

/** What the closing side leaves behind. */
export interface ParkedSession {
  /** Ends the parked keeper without a stop and gives its newest tokens; undefined when the session was lost meanwhile. */
  take(): Promise<RtspSessionTokens | undefined>;
  /** Stops the session at Google (best effort, bounded). */
  stop(): Promise<void>;
}

export interface StreamHandoverOptions {
  clock?: Clock;
  /** How long a parked session waits for its successor. Default 30 s. */
  graceMs?: number;
}

export interface HandoverStats {
  parked: number;
  /** Sessions adopted since creation. */
  adopted: number;
  /** Parked sessions stopped since creation (nobody came, other credentials, shutdown). */
  stopped: number;
}

interface Entry {
  readonly fingerprint: string;
  readonly parked: ParkedSession;
  readonly release?: () => void;
  timer?: Timer;
}

/** The default wait for a successor. */
export const HANDOVER_GRACE_MS = 30_000;

export class StreamHandover {
  readonly graceMs: number;
  private readonly clock: Clock;
  private readonly entries = new Map<string, Entry>();
  private adoptedCount = 0;
  private stoppedCount = 0;

  constructor(options: StreamHandoverOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.graceMs = Math.max(0, options.graceMs ?? HANDOVER_GRACE_MS);
  }

  /**
   * Leaves `parked` for a successor under `key` for up to `graceMs`. `release` runs once the session
   * has been adopted or stopped (the closing side lets go of its account then).
   */
  park(
    key: string,
    fingerprint: string,
    parked: ParkedSession,
    release?: () => void,
    graceMs?: number,
  ): void {
    const before = this.entries.get(key);
    if (before) void this.stopEntry(key, before);
    const entry: Entry = { fingerprint, parked, release };
    const wait = Math.max(0, Math.min(graceMs ?? this.graceMs, this.graceMs));
    entry.timer = this.clock.setTimeout(() => {
      entry.timer = undefined;
      void this.stopEntry(key, entry);
    }, wait);
    this.entries.set(key, entry);
  }

  /** True while a session is parked under `key`. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * The parked session of `key` for an account with credentials `fingerprint`, or undefined (none, or
   * lost meanwhile, or other credentials: then it is stopped).
   */
  async adopt(key: string, fingerprint: string): Promise<RtspSessionTokens | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.fingerprint !== fingerprint) {
      await this.stopEntry(key, entry);
      return undefined;
    }
    this.remove(key, entry);
    try {
      const tokens = await entry.parked.take();
      if (tokens) this.adoptedCount++;
      return tokens;
    } catch {
      return undefined;
    } finally {
      entry.release?.();
    }
  }

  /** Stops every parked session (Node-RED stops for good). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.entries].map(([key, entry]) => this.stopEntry(key, entry)));
  }

  stats(): HandoverStats {
    return { parked: this.entries.size, adopted: this.adoptedCount, stopped: this.stoppedCount };
  }

  private remove(key: string, entry: Entry): boolean {
    if (this.entries.get(key) !== entry) return false;
    this.entries.delete(key);
    this.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    return true;
  }

  private async stopEntry(key: string, entry: Entry): Promise<void> {
    if (!this.remove(key, entry)) return;
    this.stoppedCount++;
    try {
      await entry.parked.stop();
    } catch {
      // Best effort: the stream expires on its own within minutes.
    } finally {
      entry.release?.();
    }
  }
}

/** The process-wide handover: old and new nodes of a redeploy meet here. */
export const sharedStreamHandover = new StreamHandover();
