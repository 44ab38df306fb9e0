/**
 * The camera event reader behind nest-events (design section 3): pulls the subscription, turns its
 * messages into events, one per event session and type (a doorbell press is one event, not one per
 * thread update), in the order of their timestamps, drops what was already seen (Pub/Sub delivers
 * at least once), never replays a backlog found at start as new, filters by camera and type, and
 * acknowledges what it handled. Failures wait the one retry policy's delays (retry.ts) and are
 * reported with what to do; time comes from the injected clock.
 */
import { EventEmitter } from "node:events";
import { Backoff } from "../backoff";
import { sleep, systemClock, type Clock } from "../clock";
import { ClosedError, GoogleError } from "../google/errors";
import { isRetryable, retryDelay } from "../google/retry";
import { errorMessage } from "../redact";
import type { EventImages } from "./event-images";
import { EVENT_TYPES, readEventMessage, type EventCandidate, type EventType, type NestEvent } from "./events";
import type { PullSource, ReceivedMessage } from "./pubsub-client";
import { CAMERA_EVENT_IMAGE, describeDevice, deviceId as shortDeviceId, type SdmDevice } from "./sdm-types";

/** What the reader knows of a camera. */
export interface CameraFacts {
  camera: string;
  eventImage: boolean;
}

/** The cameras of the account, listed now and then (`devices.list` allows about 5 a minute). */
export class DeviceDirectory {
  private cache?: { at: number; byName: Map<string, CameraFacts> };
  private listing?: Promise<void>;

  constructor(
    private readonly sdm: { devices(options?: { signal?: AbortSignal }): Promise<SdmDevice[]> },
    private readonly clock: Clock = systemClock,
    private readonly maxAgeMs = 10 * 60_000,
  ) {}

  /** Lists the devices (also what makes Device Access start publishing events). */
  refresh(signal?: AbortSignal): Promise<void> {
    this.listing ??= this.sdm
      .devices({ signal })
      .then((devices) => {
        const byName = new Map<string, CameraFacts>();
        for (const d of devices) {
          byName.set(d.name, {
            camera: describeDevice(d).displayName,
            eventImage: CAMERA_EVENT_IMAGE in d.traits,
          });
        }
        this.cache = { at: this.clock.now(), byName };
      })
      .finally(() => (this.listing = undefined));
    return this.listing;
  }

  /** The camera's facts; its id and no event images when it cannot be listed. */
  async facts(name: string, signal?: AbortSignal): Promise<CameraFacts> {
    const stale = !this.cache || this.clock.now() - this.cache.at > this.maxAgeMs;
    if (stale || !this.cache?.byName.has(name)) {
      // An unknown camera triggers one listing per maxAge at most (a new camera, shared since).
      if (stale || this.clock.now() - (this.cache?.at ?? 0) > 60_000)
        await this.refresh(signal).catch(() => {});
    }
    return this.cache?.byName.get(name) ?? { camera: shortDeviceId(name), eventImage: false };
  }
}

/**
 * What readers remembered, by key (a nest-events node's id), for the life of the process: a redeploy
 * replaces the reader, and the messages it had not acknowledged come again to the new one, which
 * must know them as sent.
 */
const memories = new Map<string, Map<string, number>>();

/** The process-wide memory for `key`. */
export function sharedMemory(key: string): Map<string, number> {
  let memory = memories.get(key);
  if (!memory) {
    memory = new Map();
    memories.set(key, memory);
  }
  return memory;
}

/** One event session of one type on one camera: what is sent once. */
function sessionKey(c: EventCandidate): string {
  return `${c.deviceName}|${c.eventSessionId}|${c.type}`;
}

export type ReaderState = "starting" | "listening" | "retrying" | "error" | "stopped";

export interface ReaderStatus {
  state: ReaderState;
  /** What went wrong (redacted), for "retrying" and "error". */
  error?: string;
  /** The wait before the next pull, for "retrying" and "error". */
  retryInMs?: number;
  lastEvent?: NestEvent;
}

/** One event to send: the event and, where the camera has event images, its JPEG. */
export interface EventOutput {
  event: NestEvent;
  image?: Buffer;
}

export interface EventReaderOptions {
  source: PullSource;
  clock?: Clock;
  random?: () => number;
  /** Camera names and which cameras have event images; without it, names are ids and no images. */
  directory?: Pick<DeviceDirectory, "facts" | "refresh">;
  /** Event images; without it, none are fetched. */
  images?: Pick<EventImages, "fetch">;
  /** Short device id (or full name) of the one camera to report; empty: every camera. */
  deviceId?: string;
  /** Types to report. Default all. */
  types?: Iterable<EventType>;
  /** Events older than this when they arrive are not news (a redelivery, a backlog). Default 2 minutes. */
  maxAgeMs?: number;
  /** Events from more than this before the reader started are a backlog, not news. Default 30 s. */
  backlogMs?: number;
  /** How long sessions and messages are remembered for dropping duplicates. Default 1 hour. */
  memoryMs?: number;
  /** Where they are remembered (`sharedMemory(key)` survives a redeploy). Default: this reader's own. */
  memory?: Map<string, number>;
  /** Per pull. Default 100. */
  maxMessages?: number;
  /** The wait after a pull that brought nothing. Default 1 s. */
  idleMs?: number;
}

/**
 * Events: 'event' (EventOutput, after its image was fetched), 'status' (ReaderStatus on every change),
 * 'warning' (text, redacted: an ack or an image that failed; the events still went out).
 */
export class EventReader extends EventEmitter {
  readonly source: PullSource;
  private readonly clock: Clock;
  private readonly directory?: Pick<DeviceDirectory, "facts" | "refresh">;
  private readonly images?: Pick<EventImages, "fetch">;
  private readonly deviceFilter?: string;
  private readonly types: Set<EventType>;
  private readonly maxAgeMs: number;
  private readonly backlogMs: number;
  private readonly memoryMs: number;
  private readonly maxMessages: number;
  private readonly idleMs: number;
  private readonly transientBackoff: Backoff;
  private readonly errorBackoff: Backoff;
  /** Session keys (device|session|type) and message ids already handled, with when. */
  private readonly seen: Map<string, number>;
  private abort?: AbortController;
  private loop?: Promise<void>;
  private startedAt = 0;
  private current: ReaderStatus = { state: "stopped" };
  private last?: NestEvent;

  constructor(options: EventReaderOptions) {
    super();
    this.source = options.source;
    this.clock = options.clock ?? systemClock;
    this.directory = options.directory;
    this.images = options.images;
    const dev = (options.deviceId ?? "").trim();
    this.deviceFilter = dev ? shortDeviceId(dev) : undefined;
    this.types = new Set(options.types ?? EVENT_TYPES);
    this.maxAgeMs = options.maxAgeMs ?? 120_000;
    this.backlogMs = options.backlogMs ?? 30_000;
    this.memoryMs = options.memoryMs ?? 3_600_000;
    this.seen = options.memory ?? new Map();
    this.maxMessages = options.maxMessages ?? 100;
    this.idleMs = options.idleMs ?? 1_000;
    const random = options.random ?? Math.random;
    this.transientBackoff = new Backoff({ initialMs: 1_000, maxMs: 60_000, random });
    // What only the user can fix (a missing subscription, permission or scope) is asked again seldom.
    this.errorBackoff = new Backoff({ initialMs: 30_000, maxMs: 600_000, random });
  }

  get status(): ReaderStatus {
    return this.current;
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  /** Starts pulling (again); does nothing while running. */
  start(): void {
    if (this.loop) return;
    const abort = new AbortController();
    this.abort = abort;
    this.startedAt = this.clock.now();
    this.transientBackoff.reset();
    this.errorBackoff.reset();
    this.setStatus({ state: "starting" });
    this.loop = this.run(abort.signal).finally(() => {
      if (this.abort === abort) {
        this.abort = undefined;
        this.loop = undefined;
      }
    });
  }

  /** Stops pulling: the pull in flight is abandoned (its messages come again, and are dropped as seen). */
  async stop(): Promise<void> {
    const loop = this.loop;
    this.abort?.abort(new ClosedError("The event reader"));
    this.abort = undefined;
    this.loop = undefined;
    await loop;
    this.setStatus({ state: "stopped" });
  }

  private async run(signal: AbortSignal): Promise<void> {
    // Device Access publishes only after one devices.list; the names are wanted anyway.
    await this.directory?.refresh(signal).catch(() => {});
    let timeouts = 0;
    while (!signal.aborted) {
      let received: ReceivedMessage[];
      try {
        received = await this.source.pull(this.maxMessages, signal);
      } catch (err) {
        if (signal.aborted) return;
        // Pub/Sub may hold a pull open while it has nothing: one timeout after an answer is an empty pull.
        if (err instanceof GoogleError && err.code === "TIMEOUT" && ++timeouts === 1) continue;
        if (err instanceof ClosedError) {
          this.setStatus({ state: "error", error: errorMessage(err) });
          return;
        }
        const retryable = isRetryable(err);
        const delayMs = retryDelay(retryable ? this.transientBackoff : this.errorBackoff, err);
        this.setStatus({
          state: retryable ? "retrying" : "error",
          error: errorMessage(err),
          retryInMs: delayMs,
        });
        if (!(await this.wait(delayMs, signal))) return;
        continue;
      }
      timeouts = 0;
      this.transientBackoff.reset();
      this.errorBackoff.reset();
      if (this.current.state !== "listening") this.setStatus({ state: "listening" });
      if (received.length === 0) {
        if (!(await this.wait(this.idleMs, signal))) return;
        continue;
      }
      await this.handle(received, signal);
    }
  }

  /** Decides about a batch, sends what is new in timestamp order, then acknowledges the whole batch. */
  private async handle(received: ReceivedMessage[], signal: AbortSignal): Promise<void> {
    const now = this.clock.now();
    this.forget(now);
    const candidates: EventCandidate[] = [];
    for (const r of received) {
      const key = `msg|${r.message.messageId}`;
      if (r.message.messageId && this.seen.has(key)) continue;
      candidates.push(...readEventMessage(r.message.data, r.message.messageId));
    }
    candidates.sort((a, b) => a.at - b.at || a.messageId.localeCompare(b.messageId));
    const fresh: EventCandidate[] = [];
    for (const c of candidates) {
      const key = sessionKey(c);
      if (this.seen.has(key)) continue;
      this.seen.set(key, now);
      if (now - c.at > this.maxAgeMs || c.at < this.startedAt - this.backlogMs) continue;
      if (this.deviceFilter && c.deviceId !== this.deviceFilter) continue;
      if (!this.types.has(c.type)) continue;
      fresh.push(c);
    }
    for (const r of received) {
      if (!r.message.messageId) continue;
      // Re-inserted, so the memory stays in time order and is pruned from its front.
      this.seen.delete(`msg|${r.message.messageId}`);
      this.seen.set(`msg|${r.message.messageId}`, now);
    }
    let sent = 0;
    for (const c of fresh) {
      if (signal.aborted) break;
      const out = await this.output(c, signal);
      // Stopped while its image was fetched: nothing goes out after a stop.
      if (signal.aborted) break;
      this.last = out.event;
      this.emit("event", out);
      this.setStatus({ state: "listening", lastEvent: out.event });
      sent++;
    }
    if (sent < fresh.length) {
      // Stopped before these went out: unacknowledged, they come again, and must then be news.
      for (const c of fresh.slice(sent)) {
        this.seen.delete(sessionKey(c));
        this.seen.delete(`msg|${c.messageId}`);
      }
      return;
    }
    try {
      await this.source.acknowledge(
        received.map((r) => r.ackId),
        signal,
      );
    } catch (err) {
      if (!signal.aborted) {
        this.emit(
          "warning",
          `Could not acknowledge camera events (they will come again, and be dropped as seen): ${errorMessage(err)}`,
        );
      }
    }
  }

  private async output(c: EventCandidate, signal: AbortSignal): Promise<EventOutput> {
    const facts = (await this.directory?.facts(c.deviceName, signal).catch(() => undefined)) ?? {
      camera: c.deviceId,
      eventImage: false,
    };
    const event: NestEvent = {
      type: c.type,
      deviceId: c.deviceId,
      camera: facts.camera,
      timestamp: new Date(c.at).toISOString(),
      eventId: c.eventId,
      eventSessionId: c.eventSessionId,
      ...(c.threadState ? { threadState: c.threadState } : {}),
      ...(c.previewUrl ? { previewUrl: c.previewUrl } : {}),
    };
    if (!this.images || !facts.eventImage || c.type === "clip") return { event };
    try {
      const { url, image } = await this.images.fetch(c, signal);
      event.imageUrl = url;
      return { event, image };
    } catch (err) {
      if (signal.aborted) return { event };
      event.imageError = errorMessage(err);
      this.emit("warning", `The image of the ${c.type} event on ${facts.camera}: ${event.imageError}`);
      return { event };
    }
  }

  private forget(now: number): void {
    for (const [key, at] of this.seen) {
      if (now - at <= this.memoryMs) break;
      this.seen.delete(key);
    }
  }

  /** Sleeps on the clock; false when stopped meanwhile. */
  private async wait(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await sleep(this.clock, ms, signal);
      return true;
    } catch {
      return false;
    }
  }

  private setStatus(status: ReaderStatus): void {
    this.current = { ...status, lastEvent: status.lastEvent ?? this.last };
    this.emit("status", this.current);
  }
}
