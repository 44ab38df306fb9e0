/**
 * Parsers for what ffmpeg prints: `-progress pipe:1` key=value blocks on stdout, and on stderr
 * the input stream listing (`Input #0 … Stream #0:1: Audio: aac …`) that tells the supervisor
 * what the camera sends without opening a second connection (design section 7).
 * Both take arbitrary chunks: lines may be split anywhere, including inside a UTF-8 sequence.
 */
import { StringDecoder } from "node:string_decoder";

/** Splits a byte/text stream into lines (\n, \r\n or a bare \r). */
export class LineSplitter {
  private readonly decoder = new StringDecoder("utf8");
  private rest = "";

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const text = this.rest + (typeof chunk === "string" ? chunk : this.decoder.write(chunk));
    const parts = text.split(/\r\n|\n|\r/);
    this.rest = parts.pop() ?? "";
    // A lone \r at the very end may be the first half of \r\n: keep it for the next chunk.
    if (text.endsWith("\r") && parts.length > 0) {
      this.rest = parts.pop() + "\r";
    }
    for (const line of parts) this.onLine(line);
    if (this.rest.length > 65_536) this.end(); // never grow without bound on a line with no end
  }

  /** Flushes the last unterminated line. */
  end(): void {
    const line = (this.rest + this.decoder.end()).replace(/\r$/, "");
    this.rest = "";
    if (line) this.onLine(line);
  }
}

/** One `-progress` block. Values ffmpeg reports as N/A are null. */
export interface ProgressSample {
  frames: number | null;
  fps: number | null;
  bitrateKbps: number | null;
  /** Bytes written so far. */
  totalSize: number | null;
  /** Output time in microseconds. */
  outTimeUs: number | null;
  /** Realtime factor: 1.0 = as fast as the input arrives. */
  speed: number | null;
  dupFrames: number | null;
  dropFrames: number | null;
  /** True for the last block (`progress=end`). */
  end: boolean;
}

function num(value: string | undefined): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (v === "" || /^n\/a$/i.test(v)) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** "1234.5kbits/s" → 1234.5; "N/A" → null; also accepts bits/s and Mbits/s. */
export function parseBitrate(value: string | undefined): number | null {
  if (value === undefined) return null;
  const m = /^\s*([\d.]+)\s*([kKmM]?)bits\/s\s*$/.exec(value);
  if (!m) return null;
  const n = Number(m[1]);
  if (!Number.isFinite(n)) return null;
  const unit = m[2]?.toLowerCase();
  return unit === "m" ? n * 1000 : unit === "k" ? n : n / 1000;
}

/** "1.01x" → 1.01; "   0x" → 0; "N/A" → null. */
export function parseSpeed(value: string | undefined): number | null {
  if (value === undefined) return null;
  const m = /^\s*([\d.e+-]+)\s*x\s*$/i.exec(value);
  if (!m) return null;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : null;
}

/** Turns `-progress` output into one sample per block (each block ends with `progress=`). */
export class ProgressParser {
  private fields = new Map<string, string>();
  private readonly lines: LineSplitter;

  constructor(private readonly onSample: (sample: ProgressSample) => void) {
    this.lines = new LineSplitter((line) => this.line(line));
  }

  push(chunk: Buffer | string): void {
    this.lines.push(chunk);
  }

  end(): void {
    this.lines.end();
  }

  private line(line: string): void {
    const eq = line.indexOf("=");
    if (eq <= 0) return;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key !== "progress") {
      this.fields.set(key, value);
      return;
    }
    const f = this.fields;
    this.fields = new Map();
    // out_time_ms is microseconds too (a long-standing ffmpeg misnomer); prefer out_time_us.
    let outTimeUs = num(f.get("out_time_us"));
    if (outTimeUs === null) outTimeUs = num(f.get("out_time_ms"));
    this.onSample({
      frames: num(f.get("frame")),
      fps: num(f.get("fps")),
      bitrateKbps: parseBitrate(f.get("bitrate")),
      totalSize: num(f.get("total_size")),
      outTimeUs,
      speed: parseSpeed(f.get("speed")),
      dupFrames: num(f.get("dup_frames")),
      dropFrames: num(f.get("drop_frames")),
      end: value === "end",
    });
  }
}

export type StreamType = "video" | "audio" | "subtitle" | "data" | "attachment";

/** One stream of an input as ffmpeg lists it. */
export interface StreamInfo {
  input: number;
  index: number;
  type: StreamType;
  /** Codec name as ffmpeg prints it: "h264", "aac", "opus", "pcm_mulaw", … */
  codec: string;
  /** The whole description after the codec, e.g. "(LC), 48000 Hz, stereo, fltp". */
  detail: string;
  width?: number;
  height?: number;
  fps?: number;
  sampleRate?: number;
}

/** What input #0 carries: its first video and first audio stream (null = none). */
export interface InputLayout {
  video: StreamInfo | null;
  audio: StreamInfo | null;
  streams: StreamInfo[];
}

const INPUT_HEADER = /^Input #(\d+), /;
const OUTPUT_HEADER = /^Output #\d+, /;
const STREAM_LINE =
  /^\s+Stream #(\d+):(\d+)(?:\[[^\]]*\])?(?:\([^)]*\))?: (Video|Audio|Subtitle|Data|Attachment): ([^\s,]+)(.*)$/;

/** Parses one "Stream #i:j: Type: codec …" line; null for anything else. */
export function parseStreamLine(line: string): StreamInfo | null {
  const m = STREAM_LINE.exec(line);
  if (!m) return null;
  // Every group of STREAM_LINE but the optional ones is set when it matched.
  const [, input = "", index = "", type = "", codec = "", rest = ""] = m;
  const info: StreamInfo = {
    input: Number(input),
    index: Number(index),
    type: type.toLowerCase() as StreamType,
    codec,
    detail: rest.replace(/^[,\s]+/, "").trim(),
  };
  const size = /, (\d{2,5})x(\d{2,5})\b/.exec(rest);
  if (size) {
    info.width = Number(size[1]);
    info.height = Number(size[2]);
  }
  const fps = /, ([\d.]+) fps\b/.exec(rest) ?? /, ([\d.]+) tbr\b/.exec(rest);
  if (fps) info.fps = Number(fps[1]);
  const hz = /, (\d+) Hz\b/.exec(rest);
  if (hz) info.sampleRate = Number(hz[1]);
  return info;
}

/**
 * Reads ffmpeg's stderr line by line: hands every line on, and the layout of input #0 once its
 * listing is complete (at the next "Input #", "Output #", "Stream mapping:" or "Press [q]" line).
 */
export class StderrParser {
  private readonly lines: LineSplitter;
  private section: "none" | "input0" | "other" = "none";
  private streams: StreamInfo[] = [];
  private done = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onLayout: (layout: InputLayout) => void = () => {},
  ) {
    this.lines = new LineSplitter((line) => this.line(line));
  }

  push(chunk: Buffer | string): void {
    this.lines.push(chunk);
  }

  end(): void {
    this.lines.end();
    this.finish();
  }

  private line(line: string): void {
    if (!this.done) {
      const input = INPUT_HEADER.exec(line);
      if (input) {
        if (this.section === "input0") this.finish();
        else this.section = input[1] === "0" ? "input0" : "other";
      } else if (
        OUTPUT_HEADER.test(line) ||
        line.startsWith("Stream mapping:") ||
        line.startsWith("Press [q]")
      ) {
        this.finish();
      } else if (this.section === "input0") {
        const stream = parseStreamLine(line);
        if (stream && stream.input === 0) this.streams.push(stream);
      }
    }
    this.onLine(line);
  }

  private finish(): void {
    if (this.done || this.section !== "input0") return;
    this.done = true;
    this.section = "other";
    this.onLayout(layoutOf(this.streams));
  }
}

export function layoutOf(streams: StreamInfo[]): InputLayout {
  return {
    video: streams.find((s) => s.type === "video") ?? null,
    audio: streams.find((s) => s.type === "audio") ?? null,
    streams,
  };
}
