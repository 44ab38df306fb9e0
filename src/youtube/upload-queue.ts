/**
 * The youtube-upload node's queue (design section 3): files go up one at a time, in order, and the
 * queue is kept on disk as JSON (written to a temporary file and renamed over the old one, so a crash
 * leaves the old or the new list, never half of one) together with each upload's session URI as soon
 * as YouTube gave it. A redeploy, a restart or a SIGKILL of Node-RED opens the same file and the
 * upload goes on in the same session, from where the server says it is.
 */
import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { sleep, systemClock, type Clock } from "../clock";
import { ClosedError, InvalidArgumentError } from "../google/errors";
import { errorMessage, secrets } from "../redact";
import {
  uploadableSize,
  UploadFileError,
  type ResumableUpload,
  type UploadProgress,
  type UploadResult,
  type VideoMetadata,
} from "./resumable-upload";

export interface QueueEntry {
  id: string;
  /** Absolute path of the file. */
  file: string;
  meta: VideoMetadata;
  deleteAfterUpload: boolean;
  /** ISO time it was queued. */
  addedAt: string;
  /** The resumable session's URI once YouTube gave it (a secret: this file is the user's only). */
  session?: string;
}

export interface UploadDone {
  entry: QueueEntry;
  result: UploadResult;
  /** The file was deleted (deleteAfterUpload, after YouTube returned the video). */
  deleted: boolean;
}

export interface QueueStatus {
  /** Files waiting, the one going up included. */
  queued: number;
  current?: { file: string } & UploadProgress;
  /** A spent quota or upload limit: nothing goes out before this (epoch ms). */
  waitingUntil?: number;
  /** The last failure (redacted), while it is being retried. */
  retrying?: string;
  /** The last video done. */
  lastVideoId?: string;
}

export interface UploadQueueOptions {
  /** The JSON file the queue is kept in (its folder is created). */
  file: string;
  /** A ResumableUpload for the next file (the node's account, chunk size). */
  uploader: () => ResumableUpload;
  clock?: Clock;
  /** After a failure that is neither the file's nor the request's: try the file again after this. Default 5 min. */
  retryMs?: number;
}

interface QueueFile {
  version: 1;
  entries: QueueEntry[];
}

/** The queue file of a node: one per node id, under the Node-RED user directory. */
export function queueFileFor(userDir: string, nodeId: string): string {
  return path.join(
    userDir,
    "nest-restream",
    `youtube-upload-${nodeId.replace(/[^A-Za-z0-9_.-]/g, "_")}.json`,
  );
}

export class UploadQueue extends EventEmitter {
  private readonly options: UploadQueueOptions;
  private readonly clock: Clock;
  private entries: QueueEntry[] = [];
  private readonly stop = new AbortController();
  private worker: Promise<void> | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Adds run one after another: each checks its file first, and the queue keeps the order they came in. */
  private adding: Promise<unknown> = Promise.resolve();
  private wake: (() => void) | undefined;
  private state: QueueStatus = { queued: 0 };

  constructor(options: UploadQueueOptions) {
    super();
    this.options = options;
    this.clock = options.clock ?? systemClock;
  }

  /** Reads the queue kept on disk (an unreadable file is set aside and reported) and starts the work. */
  async open(): Promise<void> {
    this.entries = await this.load();
    for (const e of this.entries) secrets.add(e.session);
    this.setStatus({ queued: this.entries.length });
    this.worker = this.work();
  }

  /** Files waiting (the current one included), in order. */
  list(): readonly QueueEntry[] {
    return this.entries;
  }

  status(): QueueStatus {
    return { ...this.state, queued: this.entries.length };
  }

  /**
   * Queues a file. Throws UploadFileError (and queues nothing) for what is not a non-empty file. A
   * file already in the queue is not queued twice.
   */
  add(file: unknown, meta: VideoMetadata, deleteAfterUpload = false): Promise<QueueEntry> {
    const added = this.adding.then(() => this.addNow(file, meta, deleteAfterUpload));
    this.adding = added.catch(() => undefined);
    return added;
  }

  private async addNow(file: unknown, meta: VideoMetadata, deleteAfterUpload: boolean): Promise<QueueEntry> {
    if (this.stop.signal.aborted) throw new Error("The upload queue is closed.");
    await uploadableSize(file);
    const abs = path.resolve(file as string);
    const existing = this.entries.find((e) => e.file === abs);
    if (existing) return existing;
    const entry: QueueEntry = {
      id: randomBytes(6).toString("hex"),
      file: abs,
      meta,
      deleteAfterUpload,
      addedAt: new Date(this.clock.now()).toISOString(),
    };
    this.entries.push(entry);
    await this.persist();
    this.setStatus({});
    this.wake?.();
    return entry;
  }

  /** Stops the work: the upload in flight is abandoned where it is; its session stays on disk. */
  async close(): Promise<void> {
    this.stop.abort(new Error("The upload queue was closed."));
    this.wake?.();
    await this.worker?.catch(() => undefined);
    await this.writing.catch(() => undefined);
    for (const e of this.entries) secrets.delete(e.session);
  }

  private async work(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      const entry = this.entries[0];
      if (!entry) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      await this.uploadOne(entry, signal);
    }
  }

  private async uploadOne(entry: QueueEntry, signal: AbortSignal): Promise<void> {
    let up: ResumableUpload;
    try {
      up = this.options.uploader();
    } catch (err) {
      // No account (credentials missing): the file waits for a fixed one.
      await this.later(entry, err, signal);
      return;
    }
    up.on("progress", (p: UploadProgress) =>
      this.setStatus({ current: { file: entry.file, ...p }, waitingUntil: undefined, retrying: undefined }),
    );
    up.on("waiting", (w: { until: number; error: unknown }) =>
      this.setStatus({ waitingUntil: w.until, retrying: errorMessage(w.error) }),
    );
    up.on("retry", (r: { error: unknown }) => this.setStatus({ retrying: errorMessage(r.error) }));
    this.setStatus({
      current: { file: entry.file, sent: 0, total: 0, bytesPerSecond: 0 },
      retrying: undefined,
    });
    try {
      const result = await up.run(entry.file, entry.meta, {
        session: entry.session,
        signal,
        onSession: async (uri) => {
          if (entry.session && entry.session !== uri) secrets.delete(entry.session);
          entry.session = uri;
          if (uri) secrets.add(uri);
          await this.persist();
        },
      });
      this.remove(entry);
      await this.persist();
      let deleted = false;
      if (entry.deleteAfterUpload) {
        // Only now: YouTube returned the video resource.
        try {
          await fs.promises.unlink(entry.file);
          deleted = true;
        } catch (err) {
          this.emit("warning", `Could not delete ${entry.file} after its upload: ${errorMessage(err)}`);
        }
      }
      this.setStatus({
        current: undefined,
        retrying: undefined,
        waitingUntil: undefined,
        lastVideoId: result.videoId,
      });
      this.emit("done", { entry, result, deleted } satisfies UploadDone);
    } catch (err) {
      if (signal.aborted) {
        // Closed: keep what this run spent for the next one.
        return;
      }
      if (err instanceof UploadFileError || isRequestError(err)) {
        // The file or its metadata: it will never go up as it is. The queue goes on.
        this.remove(entry);
        await this.persist();
        this.setStatus({ current: undefined, retrying: undefined });
        this.emit("failed", entry, err);
        return;
      }
      // The account, the network, YouTube: the file stays first in the queue and is tried again later.
      await this.later(entry, err, signal);
    }
  }

  private async later(entry: QueueEntry, err: unknown, signal: AbortSignal): Promise<void> {
    this.setStatus({ current: undefined, retrying: errorMessage(err) });
    // An account closed under the upload is a redeploy on its way (this queue is closed next): no error.
    if (!(err instanceof ClosedError)) this.emit("failed", entry, err);
    await sleep(this.clock, this.options.retryMs ?? 300_000, signal).catch(() => undefined);
  }

  private remove(entry: QueueEntry): void {
    this.entries = this.entries.filter((e) => e !== entry);
    secrets.delete(entry.session);
  }

  private setStatus(change: Partial<QueueStatus>): void {
    this.state = { ...this.state, ...change, queued: this.entries.length };
    this.emit("status", this.status());
  }

  /** Writes the queue: temporary file, fsync, rename (atomic on one file system). Writes go one at a time. */
  private persist(): Promise<void> {
    const snapshot: QueueFile = { version: 1, entries: this.entries.map((e) => ({ ...e })) };
    const target = this.options.file;
    const run = async () => {
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      const tmp = `${target}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
      const handle = await fs.promises.open(tmp, "w", 0o600);
      try {
        await handle.writeFile(JSON.stringify(snapshot, null, 2));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.promises.rename(tmp, target);
    };
    const next = this.writing.then(run, run);
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async load(): Promise<QueueEntry[]> {
    const target = this.options.file;
    let text: string;
    try {
      text = await fs.promises.readFile(target, "utf8");
    } catch {
      return [];
    }
    try {
      const parsed = JSON.parse(text) as Partial<QueueFile>;
      if (!Array.isArray(parsed.entries)) throw new Error("no entries");
      return parsed.entries.filter(
        (e): e is QueueEntry =>
          !!e && typeof e.file === "string" && typeof e.meta === "object" && e.meta !== null,
      );
    } catch {
      const aside = `${target}.unreadable-${this.clock.now()}`;
      await fs.promises.rename(target, aside).catch(() => undefined);
      this.emit(
        "warning",
        `The upload queue ${target} could not be read; it was moved to ${aside} and the queue starts empty.`,
      );
      return [];
    }
  }
}

/** YouTube refused the request itself (400: the title, the metadata): trying again changes nothing. */
function isRequestError(err: unknown): boolean {
  return err instanceof InvalidArgumentError;
}
