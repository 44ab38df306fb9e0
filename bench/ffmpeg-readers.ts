/** The benchmarks' RTSP readers: ffmpeg reading a URL over TCP and throwing the packets away. */
import { spawn, type ChildProcess } from "node:child_process";
import { ffmpegPath } from "../test/fixtures/probe";

/** The readers running now. */
export const readers = new Set<ChildProcess>();
/** Every reader ffmpeg started, to check none is left. */
export const readerPids = new Set<number>();

export function ffmpegReader(url: string): ChildProcess {
  const child = spawn(
    ffmpegPath(),
    ["-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url, "-map", "0"].concat([
      "-c",
      "copy",
      "-f",
      "null",
      "-",
    ]),
    { stdio: ["ignore", "ignore", "ignore"] },
  );
  readers.add(child);
  if (child.pid) readerPids.add(child.pid);
  child.once("exit", () => readers.delete(child));
  return child;
}
