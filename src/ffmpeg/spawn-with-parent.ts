/**
 * Spawns a child process that dies with Node-RED: on Linux through util-linux `setpriv
 * --pdeathsig KILL`, so the kernel kills ffmpeg when Node-RED ends in any way (SIGKILL and an
 * out-of-memory kill included), and no ffmpeg keeps publishing or holding a camera session.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const SETPRIV_PATHS = ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv", "/sbin/setpriv"];
let setprivChecked: string | null | undefined;

/** setpriv if it is there and takes --pdeathsig (util-linux ≥ 2.33), else null. Checked once. */
export function pdeathsigHelper(): string | null {
  if (setprivChecked !== undefined) return setprivChecked;
  setprivChecked = null;
  if (process.platform !== "linux") return null;
  for (const file of SETPRIV_PATHS) {
    if (!fs.existsSync(file)) continue;
    try {
      execFileSync(file, ["--pdeathsig", "KILL", "--", process.execPath, "-e", ""], {
        stdio: "ignore",
        timeout: 5000,
      });
      setprivChecked = file;
    } catch {
      // too old, or not allowed here: fall back to a plain spawn
    }
    break;
  }
  return setprivChecked;
}

function errnoError(code: "ENOENT" | "EACCES", command: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`spawn ${command} ${code}`);
  err.code = code;
  err.syscall = "spawn " + command;
  err.path = command;
  return err;
}

/**
 * The program `command` names, found as execvp would (a name without a slash on PATH). Throws
 * spawn's own ENOENT or EACCES error, so callers see the same error as without the helper.
 */
export function resolveCommand(command: string, env: NodeJS.ProcessEnv = process.env): string {
  const executable = (file: string): boolean => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes("/")) {
    if (!fs.existsSync(command)) throw errnoError("ENOENT", command);
    if (!executable(command)) throw errnoError("EACCES", command);
    return command;
  }
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    const file = path.join(dir || ".", command);
    if (executable(file)) return file;
  }
  throw errnoError("ENOENT", command);
}

/**
 * Whether a killed Node-RED may leave its ffmpeg behind: Linux without setpriv (util-linux), for a
 * one-time warning the adapter words from its catalog.
 */
export function childMayOutliveParent(): boolean {
  return process.platform === "linux" && !pdeathsigHelper();
}

/** child_process.spawn, with the child killed by the kernel when this process dies. */
export function spawnWithParent(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): ChildProcess {
  const helper = pdeathsigHelper();
  if (!helper) return spawn(command, [...args], options);
  const file = resolveCommand(command, options.env ?? process.env);
  return spawn(helper, ["--pdeathsig", "KILL", "--", file, ...args], options);
}
