/**
 * Cuts ffmpeg's `image2pipe` MJPEG output (JPEG images back to back, in chunks split anywhere)
 * into whole JPEG images, each with its width and height from the frame header.
 */

export interface JpegImage {
  jpeg: Buffer;
  width: number;
  height: number;
}

/** A JPEG larger than this is garbage, not a camera picture: the buffer is dropped. */
export const MAX_JPEG_BYTES = 16 * 1024 * 1024;

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;

/** Markers without a length field: SOI, EOI, TEM and the restart markers RST0–RST7. */
function standalone(marker: number): boolean {
  return marker === SOI || marker === EOI || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7);
}

/** Start-of-frame markers (baseline, extended, progressive, lossless...), not DHT, JPG or DAC. */
function startOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

export class JpegSplitter {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly onImage: (image: JpegImage) => void) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const start = this.buffer.indexOf(Buffer.from([0xff, SOI]));
      if (start < 0) {
        // Keep a trailing 0xFF: it may be the first half of the next SOI.
        this.buffer = this.buffer.at(-1) === 0xff ? this.buffer.subarray(-1) : Buffer.alloc(0);
        return;
      }
      if (start > 0) this.buffer = this.buffer.subarray(start);
      const parsed = parse(this.buffer);
      if (parsed === "incomplete") {
        if (this.buffer.length > MAX_JPEG_BYTES) this.buffer = this.buffer.subarray(2); // resync
        return;
      }
      if (parsed === "invalid") {
        this.buffer = this.buffer.subarray(2); // not a JPEG after all: look for the next SOI
        continue;
      }
      const jpeg = Buffer.from(this.buffer.subarray(0, parsed.length)); // its own copy
      this.buffer = this.buffer.subarray(parsed.length);
      if (parsed.width > 0 && parsed.height > 0)
        this.onImage({ jpeg, width: parsed.width, height: parsed.height });
    }
  }
}

/** Walks the marker segments of the JPEG at the start of `buf` (which starts with SOI). */
function parse(buf: Buffer): { length: number; width: number; height: number } | "incomplete" | "invalid" {
  let width = 0;
  let height = 0;
  let i = 2;
  for (;;) {
    if (i + 2 > buf.length) return "incomplete";
    if (buf[i] !== 0xff) return "invalid";
    const marker = buf[i + 1] as number;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === EOI) return { length: i + 2, width, height };
    if (marker === SOI) return "invalid";
    if (standalone(marker)) {
      i += 2;
      continue;
    }
    if (i + 4 > buf.length) return "incomplete";
    const length = buf.readUInt16BE(i + 2);
    if (length < 2) return "invalid";
    if (startOfFrame(marker)) {
      if (i + 9 > buf.length) return "incomplete";
      height = buf.readUInt16BE(i + 5);
      width = buf.readUInt16BE(i + 7);
    }
    i += 2 + length;
    if (marker !== SOS) continue;
    // Entropy-coded data: a 0xFF in it is followed by 0x00 (stuffing) or a restart marker.
    for (;;) {
      if (i + 1 >= buf.length) return "incomplete";
      if (buf[i] === 0xff) {
        const next = buf[i + 1] as number;
        if (next !== 0x00 && !(next >= 0xd0 && next <= 0xd7) && next !== 0xff) break;
        i += next === 0xff ? 1 : 2;
        continue;
      }
      const ff = buf.indexOf(0xff, i + 1);
      if (ff < 0) return "incomplete";
      i = ff;
    }
  }
}
