/**
 * Remembers a node's running ffmpeg in a small file, so that a node starting after a crash of
 * Node-RED can end an ffmpeg of its own that survived it (where the kernel could not be asked to
 * end it: no setpriv). A process is identified by its pid and its start time (Linux /proc), so a
 * pid the system has given to another process since is never touched.
 *
 * The note also names the recording files that ffmpeg is writing: a Node-RED killed with SIGKILL
 * never announced them, so the node that starts next announces them (once) as interrupted recordings.
 */
import fs from "node:fs";
import path from "node:path";

/** A recording file the remembered ffmpeg was writing. */
export interface OpenRecording {
  /** Absolute path. */
  path: string;
  /** When ffmpeg opened it (ms since the epoch). */
  startedAt: number;
}

interface Record {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot at which the process started. */
  startTicks: string;
  recordings?: OpenRecording[];
}

/** What an earlier Node-RED left: the ffmpeg it ended (if one still ran) and the files it was writing. */
export interface Leftover {
  pid: number | null;
  recordings: OpenRecording[];
}

function validRecordings(value: unknown): OpenRecording[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (r): r is OpenRecording =>
      !!r &&
      typeof r === "object" &&
      typeof (r as OpenRecording).path === "string" &&
      path.isAbsolute((r as OpenRecording).path) &&
      Number.isFinite((r as OpenRecording).startedAt),
  );
}

/** The start time of a running process, or null (gone, or no /proc). */
export function processStartTicks(pid: number, proc = "/proc"): string | null {
  try {
    const stat = fs.readFileSync(path.join(proc, String(pid), "stat"), "utf8");
    // The command name (field 2) is in parentheses and may contain spaces: count after its end.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = fields[0];
    if (state === "Z" || state === "X") return null; // a zombie is gone already
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

export class LeftoverProcess {
  private current?: Record;

  constructor(
    readonly file: string,
    private readonly kill: (pid: number, signal: NodeJS.Signals) => void = (pid, signal) =>
      process.kill(pid, signal),
  ) {}

  /** Notes the running process (best effort: a full disk must not stop a restream). */
  remember(pid: number | undefined): void {
    if (!pid) return;
    const startTicks = processStartTicks(pid);
    if (startTicks === null) return;
    this.current = { pid, startTicks };
    this.write();
  }

  /** The recording files the remembered process is writing now (replaces the last list). */
  recording(files: readonly OpenRecording[]): void {
    if (!this.current) return;
    this.current.recordings = files.map((f) => ({ path: f.path, startedAt: f.startedAt }));
    this.write();
  }

  /** The process ended normally: nothing to clean up. */
  forget(): void {
    this.current = undefined;
    fs.rmSync(this.file, { force: true });
  }

  private write(): void {
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.writeFileSync(this.file, JSON.stringify(this.current satisfies Record | undefined));
    } catch {
      // nothing to clean up later then
    }
  }

  /**
   * Ends the remembered process if it still runs (SIGKILL: it belongs to a Node-RED that is gone).
   * Returns its pid when it ended one.
   */
  endLeftover(): number | null {
    return this.takeLeftover().pid;
  }

  /**
   * endLeftover(), and the recording files the earlier ffmpeg was writing when its Node-RED died
   * (complete as far as they go now that it is gone). The note is removed: each is given once.
   */
  takeLeftover(): Leftover {
    let record: Record;
    try {
      record = JSON.parse(fs.readFileSync(this.file, "utf8")) as Record;
    } catch {
      return { pid: null, recordings: [] };
    }
    this.forget();
    if (!record || typeof record !== "object") return { pid: null, recordings: [] };
    const recordings = validRecordings(record.recordings);
    if (!Number.isInteger(record.pid) || record.pid <= 1) return { pid: null, recordings };
    if (processStartTicks(record.pid) !== record.startTicks) return { pid: null, recordings };
    try {
      this.kill(record.pid, "SIGKILL");
      return { pid: record.pid, recordings };
    } catch {
      return { pid: null, recordings };
    }
  }
}
