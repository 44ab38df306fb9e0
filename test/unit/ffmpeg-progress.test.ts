import assert from "node:assert/strict";
import {
  LineSplitter,
  parseBitrate,
  parseSpeed,
  parseStreamLine,
  ProgressParser,
  StderrParser,
  type InputLayout,
  type ProgressSample,
} from "../../src/ffmpeg/progress";

// Two blocks as ffmpeg 5.1 writes them with -progress pipe:1 (note the padded values).
const BLOCKS =
  "frame=2\nfps=0.00\nstream_0_0_q=-1.0\nbitrate=N/A\ntotal_size=409\nout_time_us=0\nout_time_ms=0\n" +
  "out_time=00:00:00.000000\ndup_frames=0\ndrop_frames=0\nspeed=   0x\nprogress=continue\n" +
  "frame=17\nfps=16.94\nstream_0_0_q=-1.0\nbitrate= 152.9kbits/s\ntotal_size=18477\nout_time_us=967000\n" +
  "out_time_ms=967000\nout_time=00:00:00.967000\ndup_frames=0\ndrop_frames=1\nspeed=0.963x\nprogress=end\n";

const LISTING = [
  "ffmpeg stats and -progress period set to 1.",
  "Input #0, rtsp, from 'rtsps://stream.example:443/sdm_live_stream/abc?auth=***':",
  "  Metadata:",
  "    title           : SDM Live Stream",
  "  Duration: N/A, start: 0.033000, bitrate: N/A",
  "  Stream #0:0: Video: h264 (Main), yuv420p(progressive), 1920x1080, 15 fps, 15 tbr, 90k tbn",
  "  Stream #0:1: Audio: aac (LC), 48000 Hz, stereo, fltp",
  "Stream mapping:",
  "  Stream #0:0 -> #0:0 (copy)",
  "  Stream #0:1 -> #0:1 (copy)",
  "Output #0, flv, to 'rtmps://a.rtmps.youtube.com:443/live2/***':",
  "  Stream #0:0: Video: h264 (Main) ([7][0][0][0] / 0x0007), yuv420p(progressive), 1920x1080, q=2-31, 15 fps",
  "  Stream #0:1: Audio: aac (LC) ([10][0][0][0] / 0x000A), 48000 Hz, stereo, fltp",
].join("\n");

function collectSamples(chunks: (string | Buffer)[]): ProgressSample[] {
  const out: ProgressSample[] = [];
  const p = new ProgressParser((s) => out.push(s));
  for (const c of chunks) p.push(c);
  return out;
}

function parseListing(chunks: (string | Buffer)[]): { layouts: InputLayout[]; lines: string[] } {
  const layouts: InputLayout[] = [];
  const lines: string[] = [];
  const p = new StderrParser(
    (l) => lines.push(l),
    (l) => layouts.push(l),
  );
  for (const c of chunks) p.push(c);
  return { layouts, lines };
}

describe("ffmpeg progress parser", () => {
  it("emits one sample per block", () => {
    const samples = collectSamples([BLOCKS]);
    assert.equal(samples.length, 2);
    assert.deepEqual(samples[0], {
      frames: 2,
      fps: 0,
      bitrateKbps: null,
      totalSize: 409,
      outTimeUs: 0,
      speed: 0,
      dupFrames: 0,
      dropFrames: 0,
      end: false,
    });
    assert.deepEqual(samples[1], {
      frames: 17,
      fps: 16.94,
      bitrateKbps: 152.9,
      totalSize: 18477,
      outTimeUs: 967000,
      speed: 0.963,
      dupFrames: 0,
      dropFrames: 1,
      end: true,
    });
  });

  it("is indifferent to how the output is chunked (every byte apart, CRLF)", () => {
    const whole = collectSamples([BLOCKS]);
    assert.deepEqual(collectSamples([...Buffer.from(BLOCKS)].map((b) => Buffer.from([b]))), whole);
    assert.deepEqual(collectSamples([BLOCKS.replace(/\n/g, "\r\n")]), whole);
    const mid = Math.floor(BLOCKS.length / 2);
    assert.deepEqual(collectSamples([BLOCKS.slice(0, mid), BLOCKS.slice(mid)]), whole);
  });

  it("takes N/A as null and out_time_ms (really µs) when out_time_us is missing", () => {
    const [s] = collectSamples([
      "frame=5\nfps=N/A\nbitrate=N/A\nout_time_ms=400000\nspeed=N/A\nprogress=continue\n",
    ]);
    assert.equal(s?.fps, null);
    assert.equal(s?.speed, null);
    assert.equal(s?.bitrateKbps, null);
    assert.equal(s?.outTimeUs, 400000);
    assert.equal(s?.totalSize, null);
  });

  it("parses bitrates and speeds", () => {
    assert.equal(parseBitrate("1234.5kbits/s"), 1234.5);
    assert.equal(parseBitrate(" 152.9kbits/s"), 152.9);
    assert.equal(parseBitrate("2.5Mbits/s"), 2500);
    assert.equal(parseBitrate("800bits/s"), 0.8);
    assert.equal(parseBitrate("N/A"), null);
    assert.equal(parseSpeed("1.01x"), 1.01);
    assert.equal(parseSpeed("   0x"), 0);
    assert.equal(parseSpeed("N/A"), null);
  });
});

describe("ffmpeg stderr parser", () => {
  it("reads input #0's streams and ignores the output's", () => {
    const { layouts, lines } = parseListing([LISTING + "\n"]);
    assert.equal(layouts.length, 1);
    const layout = layouts[0] as InputLayout;
    assert.equal(layout.streams.length, 2);
    assert.equal(layout.video?.codec, "h264");
    assert.equal(layout.video?.width, 1920);
    assert.equal(layout.video?.height, 1080);
    assert.equal(layout.video?.fps, 15);
    assert.equal(layout.audio?.codec, "aac");
    assert.equal(layout.audio?.sampleRate, 48000);
    assert.equal(lines.length, LISTING.split("\n").length);
  });

  it("reports no audio when the camera's microphone is off", () => {
    const listing = LISTING.split("\n")
      .filter((l) => !l.includes("Stream #0:1: Audio"))
      .join("\n");
    const { layouts } = parseListing([listing + "\n"]);
    assert.equal(layouts[0]?.audio, null);
    assert.equal(layouts[0]?.video?.codec, "h264");
  });

  it("recognises Opus and stream ids / languages, across chunk boundaries", () => {
    const text =
      "Input #0, matroska,webm, from 'in.mkv':\n" +
      "  Stream #0:0[0x100](und): Video: h264 (High), yuv420p, 1280x720, 30 fps\n" +
      "  Stream #0:1[0x101](eng): Audio: opus, 48000 Hz, stereo, fltp\n" +
      "Input #1, lavfi, from 'anullsrc':\n" +
      "  Stream #1:0: Audio: pcm_u8, 44100 Hz, stereo, u8, 705 kb/s\n" +
      "Stream mapping:\n";
    const bytes = [...Buffer.from(text)].map((b) => Buffer.from([b]));
    const { layouts } = parseListing(bytes);
    assert.equal(layouts.length, 1);
    assert.equal(layouts[0]?.audio?.codec, "opus");
    assert.equal(layouts[0]?.video?.fps, 30);
    assert.equal(layouts[0]?.streams.length, 2, "input #1 (the silence) is not the camera");
  });

  it("says nothing when ffmpeg never got to list an input", () => {
    const { layouts, lines } = parseListing(["rtsps://x/y?auth=***: Connection refused\n"]);
    assert.equal(layouts.length, 0);
    assert.deepEqual(lines, ["rtsps://x/y?auth=***: Connection refused"]);
  });

  it("parses single stream lines", () => {
    assert.equal(parseStreamLine("Stream #0:0: Video: h264"), null, "must be indented like ffmpeg does");
    assert.deepEqual(parseStreamLine("  Stream #0:1: Audio: pcm_mulaw, 8000 Hz, mono, s16, 64 kb/s"), {
      input: 0,
      index: 1,
      type: "audio",
      codec: "pcm_mulaw",
      detail: "8000 Hz, mono, s16, 64 kb/s",
      sampleRate: 8000,
    });
  });
});

describe("line splitter", () => {
  it("joins split UTF-8 and flushes the last line on end", () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const bytes = Buffer.from("café\nlast");
    s.push(bytes.subarray(0, 4)); // inside "é"
    s.push(bytes.subarray(4));
    s.end();
    assert.deepEqual(lines, ["café", "last"]);
  });

  it("treats a bare CR as a line end, and CR LF split across chunks as one", () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push("a\rb\r");
    s.push("\nc\n");
    assert.deepEqual(lines, ["a", "b", "c"]);
  });
});
