/**
 * Remembers a node's running ffmpeg in a small file, so that a node starting after a crash of
 * Node-RED can end an ffmpeg of its own that survived it (where the kernel could not be asked to
 * end it: no setpriv). A process is identified by its pid and its start time (Linux /proc), so a
 * pid the system has given to another process since is never touched.
 */
import fs from "node:fs";
import path from "node:path";

interface Record {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot at which the process started. */
  startTicks: string;
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
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.writeFileSync(this.file, JSON.stringify({ pid, startTicks } satisfies Record));
    } catch {
      // nothing to clean up later then
    }
  }

  /** The process ended normally: nothing to clean up. */
  forget(): void {
    fs.rmSync(this.file, { force: true });
  }

  /**
   * Ends the remembered process if it still runs (SIGKILL: it belongs to a Node-RED that is gone).
   * Returns its pid when it ended one.
   */
  endLeftover(): number | null {
    let record: Record;
    try {
      record = JSON.parse(fs.readFileSync(this.file, "utf8")) as Record;
    } catch {
      return null;
    }
    this.forget();
    if (!Number.isInteger(record.pid) || record.pid <= 1) return null;
    if (processStartTicks(record.pid) !== record.startTicks) return null;
    try {
      this.kill(record.pid, "SIGKILL");
      return record.pid;
    } catch {
      return null;
    }
  }
}
