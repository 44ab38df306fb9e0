import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { JpegSplitter, MAX_JPEG_BYTES, type JpegImage } from "../../src/ffmpeg/jpeg-stream";
import { ffmpegPath } from "../fixtures/probe";

const seg = (marker: number, body: number[]) => [
  0xff,
  marker,
  ((body.length + 2) >> 8) & 0xff,
  (body.length + 2) & 0xff,
  ...body,
];

/** A JPEG by hand: headers whose bytes include FF D9, and scan data with stuffing and restart markers. */
function handMade(width: number, height: number, scan: number[]): Buffer {
  return Buffer.from([
    0xff,
    0xd8,
    ...seg(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x02, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]),
    ...seg(0xdb, [0x00, 0xff, 0xd9, ...Array<number>(61).fill(1)]), // a table value pair FF D9
    ...seg(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]),
    ...seg(0xc4, [0x00, ...Array<number>(16).fill(0)]),
    ...seg(0xda, [1, 1, 0, 0, 63, 0]),
    ...scan,
    0xff,
    0xd9,
  ]);
}

function split(chunks: Buffer[]): JpegImage[] {
  const got: JpegImage[] = [];
  const s = new JpegSplitter((img) => got.push(img));
  for (const c of chunks) s.push(c);
  return got;
}

/** The buffer cut into pieces of `size` bytes. */
function pieces(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

describe("JpegSplitter", () => {
  const a = handMade(640, 360, [0x12, 0xff, 0x00, 0x34, 0xff, 0xd3, 0x56, 0xff, 0xff, 0x00, 0x78]);
  const b = handMade(1920, 1080, [0x01, 0x02, 0x03]);

  it("cuts back-to-back JPEGs, split anywhere, into whole images with their size", () => {
    const stream = Buffer.concat([a, b, a]);
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const got = split(pieces(stream, size));
      assert.deepEqual(
        got.map((g) => [g.width, g.height, g.jpeg.length]),
        [
          [640, 360, a.length],
          [1920, 1080, b.length],
          [640, 360, a.length],
        ],
        `chunks of ${size}`,
      );
      assert.deepEqual(got[0]?.jpeg, a);
      assert.deepEqual(got[1]?.jpeg, b);
    }
  });

  it("keeps each image its own copy of the bytes", () => {
    const stream = Buffer.concat([a, b]);
    const got = split([stream]);
    stream.fill(0);
    assert.deepEqual(got[0]?.jpeg, a);
  });

  it("skips garbage before, between and inside, and a JPEG cut short by a new one", () => {
    const garbage = Buffer.from([0x00, 0xff, 0x12, 0xff, 0xff, 0xd9, 0x42]);
    const cut = a.subarray(0, 40);
    const got = split([Buffer.concat([garbage, a, garbage, cut, b, Buffer.from([0xff])]), a]);
    assert.deepEqual(
      got.map((g) => g.jpeg.length),
      [a.length, b.length, a.length],
    );
  });

  it("never holds more than its limit of a JPEG that does not end", () => {
    const s = new JpegSplitter(() => assert.fail("no image"));
    const header = a.subarray(0, a.length - 4); // inside the scan
    s.push(header);
    const filler = Buffer.alloc(1024 * 1024, 0x11);
    for (let i = 0; i < MAX_JPEG_BYTES / filler.length + 2; i++) s.push(filler);
    const held = (s as unknown as { buffer: Buffer }).buffer.length;
    assert.ok(held <= MAX_JPEG_BYTES + filler.length, `holds ${held} bytes`);
  });

  it("reads what ffmpeg's image2pipe writes", function () {
    this.timeout(20_000);
    const made = spawnSync(
      ffmpegPath(),
      ["-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=352x288:rate=5", "-frames:v", "3"].concat([
        "-c:v",
        "mjpeg",
        "-f",
        "image2pipe",
        "pipe:1",
      ]),
      { maxBuffer: 64 * 1024 * 1024 },
    );
    assert.equal(made.status, 0, String(made.stderr));
    const got = split(pieces(made.stdout, 4096));
    assert.equal(got.length, 3);
    for (const g of got) assert.deepEqual([g.width, g.height], [352, 288]);
    assert.equal(
      got.reduce((n, g) => n + g.jpeg.length, 0),
      made.stdout.length,
    );
  });
});
