import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  interruptedRecordings,
  patternMatcher,
  RecordingTracker,
  type RecordingFile,
} from "../../src/ffmpeg/recordings";
import { resolveOutputs } from "../../src/ffmpeg/targets";

const T0 = Date.parse("2026-12-01T10:00:00.000Z");
const opening = (file: string) => `[segment @ 0x5581c0a2e840] Opening '${file}' for writing`;

function tracker(patterns: string[], sizes: Record<string, number | null> = {}) {
  const done: RecordingFile[] = [];
  const skipped: string[] = [];
  const t = new RecordingTracker(patterns, {
    cwd: "/srv/node-red",
    fileSize: (f) => Promise.resolve(f in sizes ? (sizes[f] as number | null) : 1000),
    onComplete: (f) => done.push(f),
    onSkipped: (f, why) => skipped.push(`${f}: ${why}`),
  });
  return { t, done, skipped };
}

const flush = () => new Promise((r) => setImmediate(r));

describe("RecordingTracker", () => {
  it("matches the names an strftime pattern makes, and only those", () => {
    const m = patternMatcher("/rec/cam-%Y%m%d-%H%M%S.mkv");
    assert.ok(m.test("/rec/cam-20261201-100000.mkv"));
    assert.ok(!m.test("/rec/cam-20261201-100000.mp4"));
    assert.ok(!m.test("/other/cam-20261201-100000.mkv"));
    assert.ok(patternMatcher("/rec/100%%-%H.ts").test("/rec/100%-10.ts"));
    assert.ok(patternMatcher("/rec/a+b (1).mkv").test("/rec/a+b (1).mkv"), "regex characters are literal");
  });

  it("announces a file when ffmpeg opens the next one, and the last one at exit", async () => {
    const { t, done } = tracker(["/rec/cam-%H%M%S.mkv"]);
    t.line(opening("/rec/cam-100000.mkv"), T0);
    await flush();
    assert.equal(done.length, 0, "the file being written is not announced");
    t.line(opening("/rec/cam-110000.mkv"), T0 + 3_600_000);
    await flush();
    assert.deepEqual(done, [
      {
        path: "/rec/cam-100000.mkv",
        bytes: 1000,
        startedAt: "2026-12-01T10:00:00.000Z",
        endedAt: "2026-12-01T11:00:00.000Z",
      },
    ]);
    await t.end(T0 + 3_660_000);
    assert.equal(done.length, 2);
    assert.equal(done[1]?.path, "/rec/cam-110000.mkv");
    assert.equal(done[1]?.endedAt, "2026-12-01T11:01:00.000Z");
    t.line(opening("/rec/cam-120000.mkv"), T0 + 7_200_000);
    await t.end(T0 + 7_300_000);
    assert.equal(done.length, 2, "nothing after the end");
  });

  it("ignores other lines, inputs, other outputs' files and a repeated opening", async () => {
    const { t, done } = tracker(["/rec/cam-%H.mkv"]);
    t.line("Opening '/rec/cam-10.mkv' for reading", T0);
    t.line(opening("/tmp/hls/out3.ts"), T0);
    t.line("frame=  100 fps= 15", T0);
    t.line(opening("/rec/cam-10.mkv"), T0);
    t.line(opening("/rec/cam-10.mkv"), T0 + 1000);
    await t.end(T0 + 2000);
    assert.deepEqual(
      done.map((f) => [f.path, f.startedAt]),
      [["/rec/cam-10.mkv", "2026-12-01T10:00:00.000Z"]],
    );
  });

  it("follows several recordings of one ffmpeg (tee) each on its own", async () => {
    const { t, done } = tracker(["/a/x-%S.mkv", "/b/y-%S.ts"]);
    t.line(opening("/a/x-00.mkv"), T0);
    t.line(opening("/b/y-00.ts"), T0);
    t.line(opening("/a/x-10.mkv"), T0 + 10_000);
    await flush();
    assert.deepEqual(
      done.map((f) => f.path),
      ["/a/x-00.mkv"],
    );
    await t.end(T0 + 15_000);
    assert.deepEqual(
      done.map((f) => f.path),
      ["/a/x-00.mkv", "/a/x-10.mkv", "/b/y-00.ts"],
    );
  });

  it("makes relative paths absolute, and skips a missing or empty file with why", async () => {
    const { t, done, skipped } = tracker(["rec/c-%S.mkv"], {
      "/srv/node-red/rec/c-01.mkv": 0,
      "/srv/node-red/rec/c-02.mkv": null,
    });
    t.line(opening("rec/c-00.mkv"), T0);
    t.line(opening("rec/c-01.mkv"), T0 + 1000);
    t.line(opening("rec/c-02.mkv"), T0 + 2000);
    await t.end(T0 + 3000);
    assert.deepEqual(
      done.map((f) => f.path),
      ["/srv/node-red/rec/c-00.mkv"],
    );
    assert.deepEqual(skipped, [
      "/srv/node-red/rec/c-01.mkv: it is empty",
      "/srv/node-red/rec/c-02.mkv: it is not there",
    ]);
  });

  it("announces in closing order even when sizes arrive out of order, and a throwing listener stops nothing", async () => {
    const order: string[] = [];
    let first = true;
    const t = new RecordingTracker(["/r/%S.mkv"], {
      fileSize: (f) => new Promise((r) => setTimeout(() => r(10), f.endsWith("00.mkv") ? 30 : 0)),
      onComplete: (f) => {
        order.push(f.path);
        if (first) {
          first = false;
          throw new Error("listener failed");
        }
      },
      onSkipped: (f, why) => order.push(`skipped ${f}: ${why}`),
    });
    t.line(opening("/r/00.mkv"), T0);
    t.line(opening("/r/01.mkv"), T0 + 1);
    await t.end(T0 + 2);
    assert.deepEqual(order, ["/r/00.mkv", "skipped /r/00.mkv: listener failed", "/r/01.mkv"]);
  });

  it("exists only for segment recordings (not for a local HLS playlist or a server)", () => {
    const opts = { onComplete: () => {} };
    assert.equal(RecordingTracker.forDestinations(resolveOutputs({ streamKey: "k-1234" }), opts), null);
    assert.equal(
      RecordingTracker.forDestinations(
        resolveOutputs({ target: "custom", url: "/tmp/live/preview.m3u8" }),
        opts,
      ),
      null,
    );
    assert.ok(RecordingTracker.forDestinations(resolveOutputs({ target: "custom", url: "/tmp/rec/" }), opts));
  });

  it("tells which files are being written (absolute), each time that changes", () => {
    const open: string[] = [];
    const t = new RecordingTracker(["rec/a-%S.mkv", "/r/b-%S.mkv"], {
      cwd: "/srv/node-red",
      fileSize: () => Promise.resolve(1),
      onComplete: () => undefined,
      onOpen: (files) => open.push(files.map((f) => `${f.path}@${f.startedAt - T0}`).join(",")),
    });
    t.line(opening("rec/a-00.mkv"), T0);
    t.line(opening("rec/a-00.mkv"), T0 + 5); // the same file again: no change
    t.line(opening("/r/b-00.mkv"), T0 + 1);
    t.line(opening("rec/a-01.mkv"), T0 + 2);
    assert.deepEqual(open, [
      "/srv/node-red/rec/a-00.mkv@0",
      "/srv/node-red/rec/a-00.mkv@0,/r/b-00.mkv@1",
      "/srv/node-red/rec/a-01.mkv@2,/r/b-00.mkv@1",
    ]);
  });
});

describe("interruptedRecordings (what a killed Node-RED was writing)", () => {
  it("gives the non-empty files with their size and last write, in order; skips the rest, saying why", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "interrupted-"));
    try {
      const a = path.join(dir, "a.mkv");
      const empty = path.join(dir, "empty.mkv");
      fs.writeFileSync(a, Buffer.alloc(1234));
      fs.writeFileSync(empty, "");
      const written = new Date(T0 + 60_000);
      fs.utimesSync(a, written, written);
      const skipped: string[] = [];
      const found = await interruptedRecordings(
        [
          { path: a, startedAt: T0 },
          { path: empty, startedAt: T0 },
          { path: path.join(dir, "gone.mkv"), startedAt: T0 },
          { path: dir, startedAt: T0 },
        ],
        (f, why) => skipped.push(`${path.basename(f)}: ${why}`),
      );
      assert.deepEqual(found, [
        {
          path: a,
          bytes: 1234,
          startedAt: new Date(T0).toISOString(),
          endedAt: written.toISOString(),
          interrupted: true,
        },
      ]);
      assert.deepEqual(skipped, [
        "empty.mkv: it is empty",
        "gone.mkv: it is not there",
        `${path.basename(dir)}: it is not a file`,
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
