/**
 * File paths that come in messages (a recording destination in `msg.target.url`, an input file in
 * `msg.payload`) are kept inside the one directory the nest-restream node names (`messageDir`):
 * no `..`, no absolute path elsewhere, symbolic links resolved before the check, and a destination
 * never replaces a file that is there.
 */
import { lstat, readdir, realpath } from "node:fs/promises";
import path from "node:path";
import { RestreamRefusal } from "./refusal";

/**
 * Why a file path from a message is refused; `input…` codes are about an input file, `destination…`
 * ones about a file destination. `dir` is the node's messageDir, `got` the path given (both quoted).
 */
export const MESSAGE_PATH_CODES = [
  "inputRefused",
  "destinationRefused",
  "inputNotPath",
  "destinationNotPath",
  "inputDotDot",
  "destinationDotDot",
  "messageDirMissing",
  "inputOutside",
  "destinationOutside",
  "inputMissing",
  "destinationDirMissing",
  "destinationExists",
  "destinationSegments",
  "patternSeconds",
  "fileInputsOff",
] as const;
export type MessagePathCode = (typeof MESSAGE_PATH_CODES)[number];

export class MessagePathError extends RestreamRefusal<MessagePathCode> {
  constructor(code: MessagePathCode, params: Record<string, string> = {}) {
    super(code, params);
    this.name = "MessagePathError";
  }
}

/** Whether a destination or input is a file path (anything without a `scheme://`). */
export function isFilePath(value: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(value);
}

/**
 * The real directory a message's file path lies in, checked against the node's `messageDir`.
 * `kind` "destination": the path's directory must exist (a path ending in / is a directory itself);
 * "input": the file itself must exist. Returns the path with every link resolved.
 */
export async function pathInMessageDir(
  messageDir: string | undefined,
  given: string,
  kind: "destination" | "input",
): Promise<string> {
  const dir = messageDir?.trim();
  if (!dir) throw new MessagePathError(`${kind}Refused`);
  if (given.includes("\0")) throw new MessagePathError(`${kind}NotPath`);
  const quoted = { dir: JSON.stringify(dir), got: JSON.stringify(given) };
  if (given.split(/[\\/]/).includes("..")) throw new MessagePathError(`${kind}DotDot`, { dir: quoted.dir });
  let root: string;
  try {
    root = await realpath(dir);
  } catch {
    throw new MessagePathError("messageDirMissing", { dir: quoted.dir });
  }
  const absolute = path.isAbsolute(given) ? path.resolve(given) : path.resolve(root, given);
  const isDir = kind === "destination" && /[\\/]$/.test(given);
  const outside = () => new MessagePathError(`${kind}Outside`, quoted);
  const inside = (p: string) => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

  if (kind === "input") {
    let real: string;
    try {
      real = await realpath(absolute);
    } catch {
      throw new MessagePathError("inputMissing", { got: quoted.got });
    }
    if (!inside(real)) throw outside();
    return real;
  }

  const parent = isDir ? absolute : path.dirname(absolute);
  let realParent: string;
  try {
    realParent = await realpath(parent);
  } catch {
    throw new MessagePathError("destinationDirMissing", { got: quoted.got });
  }
  if (!inside(realParent)) throw outside();
  if (isDir) return realParent + path.sep;
  const file = path.join(realParent, path.basename(absolute));
  if (await exists(file)) {
    throw new MessagePathError("destinationExists", { got: quoted.got });
  }
  if (/\.m3u8$/i.test(file)) {
    // The playlist's segments are written beside it as <name>0.ts, <name>1.ts, …
    const stem = path.basename(file).replace(/\.m3u8$/i, "");
    const taken = (await readdir(realParent)).find((f) => f.startsWith(stem) && /\.(ts|m4s|mp4)$/i.test(f));
    if (taken) {
      throw new MessagePathError("destinationSegments", { taken: JSON.stringify(taken) });
    }
  }
  return file;
}

/**
 * A message's recording pattern must name files down to the second (%S, %s or %T, or no strftime
 * field at all, which gets -%Y%m%d-%H%M%S), so that no segment lands on an existing file.
 */
export function checkMessagePattern(pattern: string): void {
  if (/\.m3u8$/i.test(pattern)) return; // checked as a file: must not exist
  if (/%[YmdHMSjsFT]/.test(pattern) && !/%[SsT]/.test(pattern)) {
    throw new MessagePathError("patternSeconds");
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch {
    return false;
  }
}
