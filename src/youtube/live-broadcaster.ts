/**
 * Keeps one camera on YouTube Live for one youtube-live node (design section 3): one reusable
 * liveStream found again after a redeploy or a restart, a broadcast made and bound on the first URL
 * of a camera session, taken live once YouTube reads the stream active, watched while live,
 * replaced when YouTube ends it or after `rotateHours`, and completed when the camera stops.
 */
import { EventEmitter } from "node:events";
import { sleep, systemClock, type Clock } from "../clock";
import { GoogleError } from "../google/errors";
import { errorMessage } from "../redact";
import { QuotaExhaustedError, type QuotaLedger } from "./quota-ledger";
import type {
  IngestionType,
  Latency,
  LifeCycleStatus,
  LiveApi,
  LiveBroadcast,
  LiveStream,
  NewBroadcast,
  Privacy,
} from "./live-api";
import type { LiveInput } from "./live-input";
import { TransitionError, YouTubeNotFoundError } from "./youtube-errors";

export type Ingest = "rtmps" | "rtmp" | "hls";
export const INGESTS: readonly Ingest[] = ["rtmps", "rtmp", "hls"];

export interface BroadcastSettings {
  /** `{camera}` and `{date}` are filled in; at most 100 characters reach YouTube. */
  title: string;
  description: string;
  privacy: Privacy;
  latency: Latency;
  ingest: Ingest;
  /** A new broadcast after this many hours live (YouTube archives at most 12 h); 0 = never. */
  rotateHours: number;
  captions: boolean;
  madeForKids: boolean;
  /** Health and lifecycle checks while live. */
  pollSeconds: number;
}

/** nest-restream's `msg.target` for this node's stream. */
export interface LiveTarget {
  target: "youtube-rtmps" | "youtube-rtmp" | "youtube-hls";
  url: string;
  streamKey: string;
}

/** Output 2's payload (design section 3). */
export interface BroadcastStatus {
  state: LifeCycleStatus | "error";
  broadcastId: string | null;
  streamId: string | null;
  watchUrl: string | null;
  title: string | null;
  /** The stream's `healthStatus.status` (good, ok, bad, noData) when known. */
  health: string | null;
  issues: string[];
  quotaUsed: number;
  /** Why, when `state` is "error". */
  error?: string;
}

export interface LiveBroadcasterOptions {
  api: Pick<
    LiveApi,
    | "insertStream"
    | "listStreams"
    | "insertBroadcast"
    | "getBroadcast"
    | "bind"
    | "transition"
    | "deleteBroadcast"
    | "activeBroadcasts"
    | "upcomingBroadcasts"
  >;
  ledger: Pick<QuotaLedger, "stats">;
  /** The node's id: the mark by which its stream is found again. */
  nodeId: string;
  /** The node's name, for the stream's title in YouTube Studio. */
  name?: string;
  settings: BroadcastSettings;
  clock?: Clock;
  /** Default: this process's (tests pass a fresh one to play a restarted Node-RED). */
  memory?: BroadcasterMemory;
}

/** While waiting for the stream to read active: often at first, then sparingly (a list costs 1 unit). */
const ACTIVE_POLL_MS = [5_000, 5_000, 5_000, 10_000, 10_000, 15_000, 30_000];
/** How soon a failed check is tried again. */
const RETRY_MS = 30_000;
/** How soon a transition YouTube refused for no reason the node can fix is tried again (50 units a try). */
const REFUSED_RETRY_MS = 5 * 60_000;
/** How long a close waits for a YouTube step in flight: well inside Node-RED's 15 s close timeout. */
export const CLOSE_WAIT_MS = 10_000;
/** YouTube does not archive a stream longer than 12 hours. */
export const MAX_ROTATE_HOURS = 12;
const DEFAULT_ROTATE_HOURS = 11;
const IN_PROGRESS: readonly (LifeCycleStatus | undefined)[] = [
  "live",
  "liveStarting",
  "testing",
  "testStarting",
];

/**
 * The settings YouTube can honour, and what was changed to get there: `rotateHours` within (0, 12]
 * (0 = never; more than 12 h would not be archived), and ultra-low latency without captions (YouTube
 * refuses closed captions at ultra-low latency: the broadcast falls back to low latency).
 */
export function normalizeSettings(settings: BroadcastSettings): {
  settings: BroadcastSettings;
  warnings: string[];
} {
  const warnings: string[] = [];
  let rotateHours = settings.rotateHours;
  if (!Number.isFinite(rotateHours) || rotateHours < 0) {
    warnings.push(
      `rotateHours ${String(rotateHours)} is not a number of hours from 0 (never) to ${MAX_ROTATE_HOURS}: ` +
        `using ${DEFAULT_ROTATE_HOURS}`,
    );
    rotateHours = DEFAULT_ROTATE_HOURS;
  } else if (rotateHours > MAX_ROTATE_HOURS) {
    warnings.push(
      `rotateHours ${rotateHours} is more than ${MAX_ROTATE_HOURS}: YouTube does not archive a stream longer ` +
        `than 12 hours, so a new broadcast starts every ${MAX_ROTATE_HOURS} h`,
    );
    rotateHours = MAX_ROTATE_HOURS;
  }
  let latency = settings.latency;
  if (latency === "ultraLow" && settings.captions) {
    warnings.push(
      'YouTube does not allow captions at ultra-low latency: the broadcasts use "low" latency, which keeps captions',
    );
    latency = "low";
  }
  return { settings: { ...settings, rotateHours, latency }, warnings };
}

/**
 * What outlives a node in this process, by node id: the stream it found or made (a redeploy costs no
 * call at all) and the broadcast it took live (the node redeployed in its place goes on with it).
 */
export interface BroadcasterMemory {
  streams: Map<string, LiveStream>;
  live: Map<string, { id: string; liveSince: number }>;
}

const processMemory: BroadcasterMemory = { streams: new Map(), live: new Map() };

export class LiveBroadcaster extends EventEmitter {
  private readonly api: LiveBroadcasterOptions["api"];
  private readonly ledger: LiveBroadcasterOptions["ledger"];
  private readonly nodeId: string;
  private readonly name: string;
  private readonly settings: BroadcastSettings;
  private readonly clock: Clock;
  private readonly memory: BroadcasterMemory;
  /** What normalizeSettings changed in the settings given (the node logs them). */
  readonly warnings: string[];
  private stream?: LiveStream;
  private broadcast?: LiveBroadcast;
  /**
   * The next broadcast, made (and bound) before the current one is completed: a rotation or a
   * replacement that fails halfway goes on with it on the next try, so there is never more than one.
   */
  private spare?: LiveBroadcast;
  /** An insert whose answer was lost and whose broadcast was not listed yet: looked for before the next. */
  private lostInsert?: { title: string; startAt: number };
  /** The stream was made again once in this camera session (it went missing). */
  private streamRemade = false;
  /** What output 2 last showed: a status goes out only when it changes. */
  private shown?: string;
  private camera = "camera";
  private titleOverride?: string;
  private liveSince?: number;
  private health: string | null = null;
  private issues: string[] = [];
  /** A camera session is running: a broadcast that ends is replaced. */
  private following = false;
  /** Each loop run gets its own controller: a stop or a new broadcast aborts the old one. */
  private loop?: AbortController;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: LiveBroadcasterOptions) {
    super();
    this.api = options.api;
    this.ledger = options.ledger;
    this.nodeId = options.nodeId;
    this.name = options.name || "youtube-live";
    const normalized = normalizeSettings(options.settings);
    this.settings = normalized.settings;
    this.warnings = normalized.warnings;
    this.clock = options.clock ?? systemClock;
    this.memory = options.memory ?? processMemory;
  }

  /** The destination for nest-restream, once the stream is known. */
  get target(): LiveTarget | undefined {
    return this.stream ? targetFor(this.stream, this.settings.ingest) : undefined;
  }

  /** The caption ingestion URL, when the broadcast takes HTTP POST captions. */
  get captionsUrl(): string | undefined {
    return this.settings.captions ? this.stream?.contentDetails?.closedCaptionsIngestionUrl : undefined;
  }

  /** Whether a broadcast is under way (made, going live or live). */
  get active(): boolean {
    const s = this.broadcast?.status?.lifeCycleStatus;
    return !!this.broadcast && s !== "complete" && s !== "revoked";
  }

  /**
   * A camera session's first URL: makes (or adopts) a broadcast bound to the node's stream and
   * starts taking it live. Resolves with the destination once YouTube has the broadcast; rejects
   * (and reports on 'status') when YouTube refused.
   */
  begin(camera: string, title?: string): Promise<LiveTarget> {
    return this.inOrder(() => this.start(camera, title));
  }

  /** begin's work, for callers already in the queue. */
  private async start(camera: string, title?: string): Promise<LiveTarget> {
    this.camera = camera;
    this.titleOverride = title;
    this.following = true;
    try {
      const { stream, made } = await this.ensureStream();
      // A stream made just now has no broadcast bound to it: nothing to look for.
      if (!this.active) await this.newBroadcast(stream, !made);
      this.startLoop();
      return targetFor(this.stream ?? stream, this.settings.ingest);
    } catch (err) {
      this.following = false;
      this.report(err);
      throw err;
    }
  }

  /**
   * What a message from nest-stream means here (design section 3): the first URL of a session, or
   * any URL while no broadcast is under way, makes one; other URLs pass with the destination; a stop
   * passes (null: nothing to add) and the broadcast is completed after it.
   */
  async follow(input: LiveInput): Promise<LiveTarget | null> {
    // Messages leave in the order they came: one that waits for YouTube is never overtaken.
    if (input.action === "end") {
      const before = this.queue;
      void this.end().catch(() => undefined);
      await before;
      return null;
    }
    if (input.event === "started") this.streamRemade = false;
    return this.inOrder(async () => {
      const target = this.target;
      if (input.event !== "started" && this.following && this.active && target) return target;
      return this.start(input.camera, input.title);
    });
  }

  /** The camera stopped: the broadcast is completed (its recording becomes the archive). */
  end(): Promise<void> {
    return this.inOrder(async () => {
      this.following = false;
      this.loop?.abort();
      const b = this.broadcast;
      if (!b || !this.active) return;
      try {
        await this.finish(b);
      } catch (err) {
        this.report(err);
        throw err;
      }
    });
  }

  /**
   * Stops polling (redeploy); the broadcast stays as it is, and a new node adopts it. Resolves once a
   * YouTube step still in flight has finished (so the new node finds what it made), or after
   * `waitMs`, whichever is first.
   */
  async close(waitMs = CLOSE_WAIT_MS): Promise<void> {
    this.closed = true;
    this.following = false;
    this.loop?.abort();
    // A step still in flight must not report to a closed node.
    this.removeAllListeners();
    const timeout = new AbortController();
    await Promise.race([this.queue, sleep(this.clock, waitMs, timeout.signal).catch(() => undefined)]);
    timeout.abort();
  }

  status(): BroadcastStatus {
    const b = this.broadcast;
    return {
      state: b?.status?.lifeCycleStatus ?? "created",
      broadcastId: b?.id ?? null,
      streamId: this.stream?.id ?? null,
      watchUrl: b ? `https://www.youtube.com/watch?v=${b.id}` : null,
      title: b?.snippet?.title ?? null,
      health: this.health,
      issues: this.issues,
      quotaUsed: this.ledger.stats().used,
    };
  }

  private inOrder<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Output 2: only a change of state, broadcast, stream, health or issues goes out (not every poll). */
  private emitStatus(): void {
    const s = this.status();
    const key = JSON.stringify([s.state, s.broadcastId, s.streamId, s.title, s.health, s.issues]);
    if (key === this.shown) return;
    this.shown = key;
    this.emit("status", s);
  }

  /** An error always goes out; the next status after it goes out too, even if unchanged. */
  private report(err: unknown): void {
    this.shown = undefined;
    this.emit("status", { ...this.status(), state: "error", error: errorMessage(err) });
  }

  // ------------------------------------------------------------------ the stream

  /**
   * The node's reusable stream: known in this process, found by its mark among the channel's streams
   * (every page), or made once. `made`: it is new (so no broadcast can be bound to it yet).
   */
  private async ensureStream(): Promise<{ stream: LiveStream; made: boolean }> {
    const type: IngestionType = this.settings.ingest === "hls" ? "hls" : "rtmp";
    const known = this.memory.streams.get(this.nodeId);
    if (known && known.cdn?.ingestionType === type) return { stream: (this.stream = known), made: false };
    const mark = streamMark(this.nodeId, type);
    const ours = (s: LiveStream) => !!s.snippet?.description?.includes(mark) && hasIngestion(s);
    const mine = await this.api.listStreams({ mine: true }, ours);
    let stream = mine.find(ours);
    const made = !stream;
    stream ??= await this.api.insertStream(
      `nest-restream: ${this.name}`.slice(0, 128),
      `Made by node-red-contrib-nest-restream for a youtube-live node; reused by every broadcast it makes. ${mark}`,
      type,
    );
    if (!hasIngestion(stream)) throw new Error("YouTube made the stream without ingestion details (no key).");
    this.memory.streams.set(this.nodeId, stream);
    return { stream: (this.stream = stream), made };
  }

  /**
   * The node's stream is gone from the channel (deleted in YouTube Studio): it is made again, once a
   * camera session, and the broadcast moves to it; the new destination goes out on 'target' (a new
   * key means a new ffmpeg).
   */
  private async replaceStream(gone: LiveStream): Promise<void> {
    this.memory.streams.delete(this.nodeId);
    if (this.streamRemade) {
      this.stream = undefined;
      this.following = false;
      throw new Error(
        `The YouTube stream of this node (${gone.id}) is gone again (deleted in YouTube Studio?): not making ` +
          "another one; the next camera start makes it again.",
      );
    }
    this.emit("warning", `YouTube stream ${gone.id} is gone (deleted in YouTube Studio?): making it again`);
    // Found again by its mark, or made (a failure leaves the gone one in place: the next check tries again).
    const { stream } = await this.ensureStream();
    this.streamRemade = true;
    // The new destination first: ffmpeg moves to the new key even if YouTube refuses what follows
    // (the loop then takes the broadcast live once YouTube reads the new stream active).
    this.emit("target", targetFor(stream, this.settings.ingest));
    const b = this.broadcast;
    const state = b?.status?.lifeCycleStatus;
    if (b && (state === "created" || state === "ready")) {
      // Not live yet: the same broadcast, bound to the new stream.
      try {
        this.broadcast = await this.api.bind(b.id, stream.id);
      } catch (err) {
        if (!(err instanceof YouTubeNotFoundError)) throw err;
        await this.newBroadcast(stream, false);
      }
    } else {
      // Live on a stream that no longer exists: that broadcast is over; a new one on the new stream.
      if (b && this.active) await this.finish(b).catch(() => undefined);
      await this.newBroadcast(stream, false);
    }
    this.emitStatus();
  }

  // ------------------------------------------------------------------ broadcasts

  /**
   * A broadcast bound to the stream becomes the current one: one a previous node left (when `look`),
   * the spare an earlier try made, or a new one.
   */
  private async newBroadcast(stream: LiveStream, look = true): Promise<void> {
    if (!this.spare && look && (await this.adopt(stream))) return;
    if (this.spare) {
      this.broadcast = await this.prepareNext(stream);
      this.spare = undefined;
    } else {
      const broadcast = await this.insertBroadcast();
      try {
        this.broadcast = await this.bindTo(broadcast, stream);
      } catch (err) {
        // An unbound broadcast can never go live: remove it, so the next try starts clean.
        await this.api.deleteBroadcast(broadcast.id).catch(() => undefined);
        throw err;
      }
    }
    this.liveSince = undefined;
    this.emitStatus();
  }

  /**
   * Binds a broadcast to the node's stream. A stream known in this process but gone from YouTube
   * (deleted in YouTube Studio) is found again by its mark or made again, once, and bound instead.
   */
  private async bindTo(broadcast: LiveBroadcast, stream: LiveStream): Promise<LiveBroadcast> {
    try {
      return await this.api.bind(broadcast.id, stream.id);
    } catch (err) {
      if (!(err instanceof YouTubeNotFoundError) || err.kind !== "stream" || this.streamRemade) throw err;
      this.streamRemade = true;
      this.memory.streams.delete(this.nodeId);
      this.stream = undefined;
      this.emit(
        "warning",
        `YouTube stream ${stream.id} is gone (deleted in YouTube Studio?): making it again`,
      );
      const again = await this.ensureStream();
      return this.api.bind(broadcast.id, again.stream.id);
    }
  }

  /**
   * The spare broadcast, made once and bound to the stream: a try that failed halfway (made but not
   * bound, or bound but the old one not completed) is finished by the next one, never doubled. With
   * no spare in this process (a redeploy or a restart in between), one of the channel's upcoming
   * broadcasts already bound to the stream is taken (1 unit) before a new one is made.
   */
  private async prepareNext(stream: LiveStream, look = false): Promise<LiveBroadcast> {
    if (!this.spare && look) {
      const upcoming = await this.api.upcomingBroadcasts();
      this.spare = upcoming.find(
        (u) => u.contentDetails?.boundStreamId === stream.id && u.id !== this.broadcast?.id,
      );
    }
    this.spare ??= await this.insertBroadcast();
    if (this.spare.contentDetails?.boundStreamId !== stream.id) {
      try {
        this.spare = await this.api.bind(this.spare.id, stream.id);
      } catch (err) {
        // Deleted meanwhile: the next try makes another.
        if (err instanceof YouTubeNotFoundError && err.kind === "broadcast") this.spare = undefined;
        throw err;
      }
    }
    return this.spare;
  }

  /**
   * The broadcast a previous node of this id made on this stream may still be there (a redeploy, or
   * Node-RED restarted after a crash): live, it goes on, so viewers see a stall, not a new broadcast,
   * and two broadcasts never compete for the stream; not live yet ("created"/"ready"), it is the one
   * taken live. Remembered in this process; after a restart, found among the channel's active
   * broadcasts, then its upcoming ones (1 unit a page each), by the stream it is bound to.
   */
  private async adopt(stream: LiveStream): Promise<boolean> {
    const previous = this.memory.live.get(this.nodeId);
    const onStream = (a: LiveBroadcast) => a.contentDetails?.boundStreamId === stream.id;
    const b = previous
      ? await this.api.getBroadcast(previous.id)
      : ((await this.api.activeBroadcasts()).find(onStream) ??
        (await this.api.upcomingBroadcasts()).find(onStream));
    const s = b?.status?.lifeCycleStatus;
    if (!b || b.contentDetails?.boundStreamId !== stream.id || s === "complete" || s === "revoked") {
      this.memory.live.delete(this.nodeId);
      return false;
    }
    this.broadcast = b;
    if (s === "created" || s === "ready") {
      this.liveSince = undefined;
      this.emitStatus();
      return true;
    }
    const startedAt = Date.parse(b.snippet?.actualStartTime ?? "");
    this.liveSince = previous?.liveSince ?? (Number.isNaN(startedAt) ? this.clock.now() : startedAt);
    this.memory.live.set(this.nodeId, { id: b.id, liveSince: this.liveSince });
    this.emitStatus();
    return true;
  }

  /**
   * Ends a broadcast by what YouTube says it is now (read first, 1 unit, unless `known` was just
   * read): a live or testing one is completed (its recording becomes the archive); a created or
   * ready one is deleted, since YouTube refuses to complete it and it would linger as "upcoming".
   * Already complete, or gone, is what was asked; a refusal because it moved meanwhile
   * (invalidTransition, liveBroadcastDeletionNotAllowed) is read again and acted on.
   */
  private async finish(b: LiveBroadcast, known?: LiveBroadcast): Promise<void> {
    let current = known ?? (await this.api.getBroadcast(b.id));
    for (let attempt = 1; current; attempt++) {
      const state = current.status?.lifeCycleStatus;
      if (state === "complete" || state === "revoked") break;
      try {
        if (IN_PROGRESS.includes(state)) current = await this.api.transition(b.id, "complete");
        else {
          await this.api.deleteBroadcast(b.id);
          current = undefined;
        }
        break;
      } catch (err) {
        if (err instanceof YouTubeNotFoundError && err.kind === "broadcast") {
          current = undefined;
          break;
        }
        if (!(err instanceof TransitionError)) throw err;
        // Already complete (YouTube ended it, or an answer got lost): that is what was asked.
        if (err.reason === "redundantTransition") break;
        if (attempt >= 3) throw err;
        current = await this.api.getBroadcast(b.id);
      }
    }
    this.broadcast = { ...b, ...current, status: { ...(current ?? b).status, lifeCycleStatus: "complete" } };
    if (this.memory.live.get(this.nodeId)?.id === b.id) this.memory.live.delete(this.nodeId);
    this.liveSince = undefined;
    this.emitStatus();
  }

  /**
   * A new broadcast with the node's settings, starting now. When the answer is lost (no answer, a
   * timeout, a 5xx), YouTube may have made it all the same: it is looked for among the upcoming
   * broadcasts (1 unit) by its title and start time, unbound, and taken, so no orphan is left in
   * YouTube Studio. Not listed yet: the next try looks again before it makes another.
   */
  private async insertBroadcast(): Promise<LiveBroadcast> {
    const earlier = this.lostInsert;
    if (earlier) {
      const made = await this.findMade(earlier);
      this.lostInsert = undefined;
      if (made) return made;
    }
    // Whole seconds: the start time is compared with what YouTube lists, whatever precision it keeps.
    const startAt = Math.floor(this.clock.now() / 1000) * 1000;
    const wanted: NewBroadcast = {
      title: this.title(),
      description: this.settings.description,
      privacy: this.settings.privacy,
      latency: this.settings.latency,
      captions: this.settings.captions,
      madeForKids: this.settings.madeForKids,
      scheduledStartTime: new Date(startAt).toISOString(),
    };
    try {
      return await this.api.insertBroadcast(wanted);
    } catch (err) {
      if (!(err instanceof GoogleError) || !err.transient || (err.httpStatus !== 0 && err.httpStatus < 500))
        throw err;
      const made = await this.findMade({ title: wanted.title, startAt });
      if (!made) {
        this.lostInsert = { title: wanted.title, startAt };
        throw err;
      }
      return made;
    }
  }

  /** An unbound, not yet started broadcast of this title and start time among the upcoming ones. */
  private async findMade(lost: { title: string; startAt: number }): Promise<LiveBroadcast | undefined> {
    const made = await this.api
      .upcomingBroadcasts()
      .then((upcoming) =>
        upcoming.find(
          (b) =>
            b.snippet?.title === lost.title &&
            Date.parse(b.snippet?.scheduledStartTime ?? "") === lost.startAt &&
            !b.contentDetails?.boundStreamId &&
            b.status?.lifeCycleStatus === "created",
        ),
      )
      .catch(() => undefined);
    if (made)
      this.emit("warning", `YouTube made broadcast ${made.id} although its answer was lost: using it`);
    return made;
  }

  private title(): string {
    const date = localDate(this.clock.now());
    const template = this.titleOverride || this.settings.title || "{camera} live";
    return template
      .replace(/\{camera\}/g, this.camera)
      .replace(/\{date\}/g, date)
      .slice(0, 100);
  }

  // ------------------------------------------------------------------ going live, staying live

  private startLoop(): void {
    this.loop?.abort();
    const controller = new AbortController();
    this.loop = controller;
    void this.run(controller.signal).catch(() => undefined);
  }

  /** Takes the broadcast live, then watches it until the camera stops or the node closes. */
  private async run(signal: AbortSignal): Promise<void> {
    let waits = 0;
    while (!signal.aborted && !this.closed) {
      let delay: number;
      try {
        delay = await this.inOrder(() => this.step(waits));
      } catch (err) {
        if (signal.aborted) return;
        this.report(err);
        this.emit("warning", errorMessage(err));
        delay =
          err instanceof QuotaExhaustedError ? Math.max(RETRY_MS, err.resetsAt - this.clock.now()) : RETRY_MS;
      }
      waits++;
      await sleep(this.clock, delay, signal).catch(() => undefined);
    }
  }

  /** One look at YouTube, and what to do about it; returns how long to wait before the next. */
  private async step(waits: number): Promise<number> {
    const stream = this.stream;
    const b = this.broadcast;
    if (!stream || !b || !this.following || this.closed) return RETRY_MS;
    const state = b.status?.lifeCycleStatus;

    if (state === "live" || state === "liveStarting") {
      const [fresh, streamStatus] = await Promise.all([this.api.getBroadcast(b.id), this.readHealth(stream)]);
      if (streamStatus === "missing") {
        this.broadcast = fresh ?? b;
        await this.replaceStream(stream);
        return 0;
      }
      const now = fresh?.status?.lifeCycleStatus;
      if (!fresh || now === "complete" || now === "revoked") {
        // YouTube ended it (or it was deleted in YouTube Studio) while the camera still streams: a new
        // one on the same stream, same ffmpeg.
        this.emit(
          "warning",
          `YouTube ${fresh ? "ended" : "no longer has"} broadcast ${b.id}; starting a new one on the same stream`,
        );
        this.broadcast = fresh ?? { ...b, status: { ...b.status, lifeCycleStatus: "complete" } };
        this.emitStatus();
        await this.newBroadcast(stream);
        return 0;
      }
      this.broadcast = fresh;
      if (now === "live" && this.liveSince === undefined) this.liveSince = this.clock.now();
      this.emitStatus();
      if (this.dueForRotation()) {
        await this.rotate(stream, fresh);
        return 0;
      }
      return now === "live" ? this.settings.pollSeconds * 1000 : 2_000;
    }

    // Not live yet: wait for YouTube to read the stream active, then take it live.
    const status = await this.readHealth(stream);
    if (status === "missing") {
      await this.replaceStream(stream);
      return 0;
    }
    this.emitStatus();
    if (status !== "active") return ACTIVE_POLL_MS[Math.min(waits, ACTIVE_POLL_MS.length - 1)];
    try {
      this.broadcast = await this.api.transition(b.id, "live");
    } catch (err) {
      if (err instanceof YouTubeNotFoundError && err.kind === "broadcast") {
        // Deleted in YouTube Studio before it went live: a new one on the same stream.
        this.emit(
          "warning",
          `YouTube no longer has broadcast ${b.id}; starting a new one on the same stream`,
        );
        this.broadcast = { ...b, status: { ...b.status, lifeCycleStatus: "complete" } };
        await this.newBroadcast(stream, false);
        return 0;
      }
      if (!(err instanceof TransitionError)) throw err;
      // Each refused try costs a transition (50 units): wait longer and longer, as while waiting for video.
      const wait = ACTIVE_POLL_MS[Math.min(waits, ACTIVE_POLL_MS.length - 1)];
      if (err.reason === "errorStreamInactive") return wait;
      // Redundant (already live) or invalid (ended meanwhile): read where it is and go on from there.
      const fresh = await this.api.getBroadcast(b.id);
      this.broadcast = fresh ?? { ...b, status: { ...b.status, lifeCycleStatus: "complete" } };
      const now = this.broadcast.status?.lifeCycleStatus;
      if (now === "complete" || now === "revoked") await this.newBroadcast(stream);
      this.emitStatus();
      if (now === "live" || now === "liveStarting" || now === "complete" || now === "revoked") return 0;
      // "Already there" while it reads otherwise: YouTube is catching up; look again soon.
      if (err.reason === "redundantTransition") return wait;
      // Refused for another reason (say, another app's broadcast live on this stream): say so, try later.
      this.report(err);
      return REFUSED_RETRY_MS;
    }
    this.memory.live.set(this.nodeId, { id: this.broadcast.id, liveSince: this.clock.now() });
    this.emitStatus();
    return 2_000;
  }

  /**
   * Reads the stream's status and health (1 unit); returns its `streamStatus`, or "missing" when
   * YouTube no longer has it (an empty `items`: deleted in YouTube Studio).
   */
  private async readHealth(stream: LiveStream): Promise<string | undefined> {
    const [fresh] = await this.api.listStreams({ ids: [stream.id] });
    if (!fresh) return "missing";
    const status = fresh.status;
    this.health = status?.healthStatus?.status ?? null;
    this.issues = (status?.healthStatus?.configurationIssues ?? [])
      .map((i) => i.type || i.reason || "")
      .filter((t) => t);
    return status?.streamStatus;
  }

  private dueForRotation(): boolean {
    const hours = this.settings.rotateHours;
    return (
      hours > 0 && this.liveSince !== undefined && this.clock.now() - this.liveSince >= hours * 3_600_000
    );
  }

  /**
   * A new broadcast takes over on the same stream: made and bound first (the spare, reused by a
   * retry), then the old one completed, then the new one taken live (never two live at once).
   */
  private async rotate(stream: LiveStream, old: LiveBroadcast): Promise<void> {
    if (!this.spare) {
      this.emit(
        "warning",
        `broadcast ${old.id} has been live ${this.settings.rotateHours} h: a new one takes over`,
      );
    }
    const next = await this.prepareNext(stream, true);
    await this.finish(old, old);
    this.broadcast = next;
    this.spare = undefined;
    this.liveSince = undefined;
    this.emitStatus();
  }
}

function streamMark(nodeId: string, type: IngestionType): string {
  return `[nest-restream:${nodeId}:${type}]`;
}

function hasIngestion(s: LiveStream): boolean {
  return !!s.cdn?.ingestionInfo?.streamName;
}

function targetFor(stream: LiveStream, ingest: Ingest): LiveTarget {
  const info = stream.cdn?.ingestionInfo ?? {};
  const streamKey = info.streamName ?? "";
  switch (ingest) {
    case "rtmps":
      return { target: "youtube-rtmps", url: info.rtmpsIngestionAddress ?? "", streamKey };
    case "rtmp":
      return { target: "youtube-rtmp", url: info.ingestionAddress ?? "", streamKey };
    case "hls":
      return { target: "youtube-hls", url: info.ingestionAddress ?? "", streamKey };
  }
}

/** YYYY-MM-DD in the machine's time zone (what `{date}` means to the person who wrote the title). */
export function localDate(at: number): string {
  const d = new Date(at);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
