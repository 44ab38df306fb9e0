/**
 * Tells when a recording file is complete: ffmpeg's segment muxer logs "Opening '<file>' for
 * writing" as it starts each file, after it closed the one before; the last file is complete
 * once ffmpeg has exited. A file still being written is never announced.
 */
import fs from "node:fs";
import path from "node:path";
import type { Destination } from "./targets";

/** A finished recording, as nest-restream's output 2 carries it (`msg.file`). */
export interface RecordingFile {
  /** Absolute path. */
  path: string;
  bytes: number;
  /** ISO times: when ffmpeg opened the file, and when it moved on (or exited). */
  startedAt: string;
  endedAt: string;
}

export interface RecordingTrackerOptions {
  /** The size of a file, or null when it is not a regular file (tests inject it). */
  fileSize?: (file: string) => Promise<number | null>;
  /** Relative recording paths are relative to ffmpeg's working directory (Node-RED's). */
  cwd?: string;
  onComplete(file: RecordingFile): void;
  /** A file that was opened but is missing or empty when it closed: not announced. */
  onSkipped?(file: string, why: string): void;
  /** The files being written now (absolute paths), each time that changes: for the leftover note. */
  onOpen?(files: { path: string; startedAt: number }[]): void;
}

const OPENING = /Opening '(.+)' for writing$/;

/** A regular expression for the file names an strftime pattern (`cam-%Y%m%d-%H%M%S.mkv`) makes. */
export function patternMatcher(pattern: string): RegExp {
  const parts = pattern.split(/(%[A-Za-z%])/);
  const body = parts
    .map((p, i) => (i % 2 === 1 ? (p === "%%" ? "%" : ".+?") : p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`);
}

async function statSize(file: string): Promise<number | null> {
  try {
    const st = await fs.promises.stat(file);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

interface OpenFile {
  path: string;
  startedAt: number;
}

/** Follows the recordings of one ffmpeg run. */
export class RecordingTracker {
  private readonly matchers: RegExp[];
  private readonly open: (OpenFile | undefined)[];
  private readonly fileSize: (file: string) => Promise<number | null>;
  /** Completions are announced in the order the files closed. */
  private queue: Promise<void> = Promise.resolve();
  private ended = false;

  /** Only segment-muxer destinations are recordings (a local HLS playlist is not). */
  static forDestinations(
    destinations: readonly Destination[],
    options: RecordingTrackerOptions,
  ): RecordingTracker | null {
    const patterns = destinations
      .filter((d) => d.kind === "file" && d.format === "segment")
      .map((d) => d.url);
    return patterns.length > 0 ? new RecordingTracker(patterns, options) : null;
  }

  constructor(
    patterns: readonly string[],
    private readonly options: RecordingTrackerOptions,
  ) {
    this.matchers = patterns.map(patternMatcher);
    this.open = patterns.map(() => undefined);
    this.fileSize = options.fileSize ?? statSize;
  }

  /** One stderr line of ffmpeg, at `now` (ms). */
  line(text: string, now: number): void {
    if (this.ended) return;
    const opened = OPENING.exec(text.trim())?.[1];
    if (opened === undefined) return;
    const i = this.matchers.findIndex((m) => m.test(opened));
    if (i < 0) return;
    const previous = this.open[i];
    if (previous?.path === opened) return;
    this.open[i] = { path: opened, startedAt: now };
    if (previous) this.complete(previous, now);
    this.options.onOpen?.(
      this.open
        .filter((f): f is OpenFile => !!f)
        .map((f) => ({ path: this.absolute(f.path), startedAt: f.startedAt })),
    );
  }

  private absolute(file: string): string {
    return path.resolve(this.options.cwd ?? process.cwd(), file);
  }

  /** ffmpeg has exited: every open file is complete. Resolves once all are announced. */
  end(now: number): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      for (const f of this.open) if (f) this.complete(f, now);
      this.open.fill(undefined);
    }
    return this.queue;
  }

  private complete(file: OpenFile, endedAt: number): void {
    const absolute = this.absolute(file.path);
    this.queue = this.queue.then(async () => {
      const bytes = await this.fileSize(absolute);
      if (bytes === null) return this.options.onSkipped?.(absolute, "it is not there");
      if (bytes === 0) return this.options.onSkipped?.(absolute, "it is empty");
      this.options.onComplete({
        path: absolute,
        bytes,
        startedAt: new Date(file.startedAt).toISOString(),
        endedAt: new Date(endedAt).toISOString(),
      });
    });
    // A listener that throws must not hold up the files after this one.
    this.queue = this.queue.catch((err: unknown) =>
      this.options.onSkipped?.(absolute, err instanceof Error ? err.message : String(err)),
    );
  }
}

/** A recording an earlier Node-RED was writing when it died, as output 2 announces it. */
export interface InterruptedRecording extends RecordingFile {
  /** Always true: ffmpeg was killed, the file ends where it stopped (no index for some formats). */
  interrupted: true;
}

/**
 * Of the files an earlier ffmpeg was writing when its Node-RED died (LeftoverProcess), those worth
 * announcing: regular files that are not empty (ending when they were last written), in the order given.
 */
export async function interruptedRecordings(
  files: readonly { path: string; startedAt: number }[],
  onSkipped?: (file: string, why: string) => void,
): Promise<InterruptedRecording[]> {
  const out: InterruptedRecording[] = [];
  for (const f of files) {
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(f.path);
    } catch {
      onSkipped?.(f.path, "it is not there");
      continue;
    }
    if (!st.isFile()) {
      onSkipped?.(f.path, "it is not a file");
      continue;
    }
    if (st.size === 0) {
      onSkipped?.(f.path, "it is empty");
      continue;
    }
    out.push({
      path: f.path,
      bytes: st.size,
      startedAt: new Date(f.startedAt).toISOString(),
      endedAt: new Date(Math.max(f.startedAt, st.mtimeMs)).toISOString(),
      interrupted: true,
    });
  }
  return out;
}
