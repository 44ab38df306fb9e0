/**
 * File paths that come in messages (a recording destination in `msg.target.url`, an input file in
 * `msg.payload`) are kept inside the one directory the nest-restream node names (`messageDir`):
 * no `..`, no absolute path elsewhere, symbolic links resolved before the check, and a destination
 * never replaces a file that is there.
 */
import { lstat, readdir, realpath } from "node:fs/promises";
import path from "node:path";
import { redact } from "../redact";

export class MessagePathError extends Error {
  constructor(message: string) {
    super(redact(message));
    this.name = "MessagePathError";
  }
}

/** Whether a destination or input is a file path (anything without a `scheme://`). */
export function isFilePath(value: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(value);
}

export const MESSAGE_DIR_HINT =
  'set the node\'s "Message files" directory (messageDir); paths from messages are accepted inside it only';

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
  const what = kind === "input" ? "an input file" : "a file destination";
  const dir = messageDir?.trim();
  if (!dir) {
    throw new MessagePathError(`${what} from a message is refused: ${MESSAGE_DIR_HINT}`);
  }
  if (given.includes("\0")) throw new MessagePathError(`${what} from a message is not a file path`);
  if (given.split(/[\\/]/).includes("..")) {
    throw new MessagePathError(
      `${what} from a message may not contain ".."; give a path inside ${JSON.stringify(dir)}`,
    );
  }
  let root: string;
  try {
    root = await realpath(dir);
  } catch {
    throw new MessagePathError(`the node's messageDir ${JSON.stringify(dir)} does not exist`);
  }
  const absolute = path.isAbsolute(given) ? path.resolve(given) : path.resolve(root, given);
  const isDir = kind === "destination" && /[\\/]$/.test(given);
  const outside = () =>
    new MessagePathError(
      `${what} from a message must lie inside the node's messageDir ${JSON.stringify(dir)} ` +
        `(links resolved); got ${JSON.stringify(given)}`,
    );
  const inside = (p: string) => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

  if (kind === "input") {
    let real: string;
    try {
      real = await realpath(absolute);
    } catch {
      throw new MessagePathError(`${what} from a message does not exist: ${JSON.stringify(given)}`);
    }
    if (!inside(real)) throw outside();
    return real;
  }

  const parent = isDir ? absolute : path.dirname(absolute);
  let realParent: string;
  try {
    realParent = await realpath(parent);
  } catch {
    throw new MessagePathError(
      `the directory of ${what} from a message does not exist: ${JSON.stringify(given)}`,
    );
  }
  if (!inside(realParent)) throw outside();
  if (isDir) return realParent + path.sep;
  const file = path.join(realParent, path.basename(absolute));
  if (await exists(file)) {
    throw new MessagePathError(
      `${what} from a message never replaces a file that is there: ${JSON.stringify(given)} exists`,
    );
  }
  if (/\.m3u8$/i.test(file)) {
    // The playlist's segments are written beside it as <name>0.ts, <name>1.ts, …
    const stem = path.basename(file).replace(/\.m3u8$/i, "");
    const taken = (await readdir(realParent)).find((f) => f.startsWith(stem) && /\.(ts|m4s|mp4)$/i.test(f));
    if (taken) {
      throw new MessagePathError(
        `${what} from a message never replaces a file that is there: the playlist's segments would ` +
          `replace ${JSON.stringify(taken)}; pick another name`,
      );
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
    throw new MessagePathError(
      "a recording name from a message must carry the seconds (%S, %s or %T) or no strftime field, " +
        "so that no file is overwritten",
    );
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
