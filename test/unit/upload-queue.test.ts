/**
 * The upload queue against the fake Google's upload endpoint (real HTTP on loopback, waits skipped):
 * one file at a time in order, kept on disk with its session URI so a new queue on the same file
 * resumes the same session, bad input refused while the queue goes on, deleteAfterUpload only after
 * the video resource, and atomic writes.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { YOUTUBE_SCOPE } from "../../src/youtube/account";
import { ResumableUpload, UploadFileError, type VideoMetadata } from "../../src/youtube/resumable-upload";
import { queueFileFor, UploadQueue, type QueueEntry, type UploadDone } from "../../src/youtube/upload-queue";
import { FakeGoogle, UPLOAD_GRANULE } from "../fixtures/fake-google";
import { SkipClock } from "../support/skip-clock";
import { waitFor } from "../support/wait";

const META: VideoMetadata = { title: "clip", privacy: "private" };

describe("UploadQueue", function () {
  this.timeout(30_000);
  let fake: FakeGoogle;
  let dir: string;
  let queueFile: string;
  let token: string;
  const queues: UploadQueue[] = [];

  before(async () => {
    fake = await FakeGoogle.start();
  });
  after(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nest-queue-"));
    queueFile = queueFileFor(path.join(dir, "userDir"), "a1b2.c3");
    token = fake.issueAccessToken({ scope: YOUTUBE_SCOPE, lifetimeS: 3600 });
    fake.uploads.sessions.length = 0;
    fake.uploads.violations.length = 0;
    fake.uploads.onBytes = undefined;
    fake.uploads.bytesPerSecond = undefined;
    fake.uploads.clearFaults();
  });
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function file(name: string, bytes = 3 * UPLOAD_GRANULE): { path: string; sha256: string } {
    const p = path.join(dir, name);
    const data = randomBytes(bytes);
    fs.writeFileSync(p, data);
    return { path: p, sha256: createHash("sha256").update(data).digest("hex") };
  }

  async function queue(): Promise<{ q: UploadQueue; done: UploadDone[]; failed: [QueueEntry, unknown][] }> {
    const clock = new SkipClock();
    const q = new UploadQueue({
      file: queueFile,
      clock,
      uploader: () =>
        new ResumableUpload({
          tokens: { withToken: (fn) => fn(token) },
          uploadUrl: fake.env().NEST_RESTREAM_YOUTUBE_UPLOAD_URL,
          clock,
          random: () => 0,
          chunkBytes: UPLOAD_GRANULE,
        }),
    });
    const done: UploadDone[] = [];
    const failed: [QueueEntry, unknown][] = [];
    q.on("done", (d: UploadDone) => done.push(d));
    q.on("failed", (e: QueueEntry, err: unknown) => failed.push([e, err]));
    queues.push(q);
    await q.open();
    return { q, done, failed };
  }

  it("uploads files one at a time, in order, and empties the file on disk", async () => {
    const files = [file("a.mp4"), file("b.mp4"), file("c.mp4")];
    // Whenever bytes arrive for one session, every other one is finished or has not started.
    const overlaps: string[] = [];
    fake.uploads.onBytes = (s) => {
      for (const o of fake.uploads.sessions)
        if (o !== s && !o.video && o.received > 0) overlaps.push(o.uploadId);
    };
    const { q, done } = await queue();
    for (const f of files) await q.add(f.path, { ...META, title: path.basename(f.path) });
    // The first may be up already (or finishing, still the current one): none is lost in between.
    const known = new Set([
      ...q.list().map((e) => e.file),
      ...done.map((d) => d.entry.file),
      q.status().current?.file,
    ]);
    assert.deepEqual(
      files.map((f) => known.has(f.path)),
      [true, true, true],
    );
    await waitFor(() => done.length === 3, 20_000, "three videos");
    assert.deepEqual(overlaps, []);
    assert.deepEqual(
      done.map((d) => path.basename(d.entry.file)),
      ["a.mp4", "b.mp4", "c.mp4"],
    );
    assert.deepEqual(
      fake.uploads.videos().map((v) => v.sha256),
      files.map((f) => f.sha256),
    );
    assert.equal(q.status().queued, 0);
    const onDisk = JSON.parse(fs.readFileSync(queueFile, "utf8")) as { entries: unknown[] };
    assert.deepEqual(onDisk.entries, []);
    assert.equal(fs.statSync(queueFile).mode & 0o777, 0o600, "the session URIs are for the user only");
    assert.deepEqual(
      fs.readdirSync(path.dirname(queueFile)).filter((n) => n.endsWith(".tmp")),
      [],
      "no temporary file left behind",
    );
  });

  it("keeps the order files were sent in when checking the first takes longer (adds not awaited)", async () => {
    const [slow, quick] = [file("slow.mp4"), file("quick.mp4", UPLOAD_GRANULE)];
    // The first file's check answers only after the second's has, if the second's has begun: as a
    // busy disk may. (A queue that checks one add after another never begins the second's early.)
    const stat = fs.promises.stat;
    let quickStarted = false;
    let quickDone!: () => void;
    const quickChecked = new Promise<void>((r) => (quickDone = r));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    (fs.promises as { stat: unknown }).stat = async (p: fs.PathLike, ...rest: []) => {
      if (p === slow.path) await gate;
      if (p === quick.path) quickStarted = true;
      const st = await stat(p, ...rest);
      if (p === quick.path) quickDone();
      return st;
    };
    try {
      const { q, done } = await queue();
      const added = [q.add(slow.path, META), q.add(quick.path, META)];
      if (quickStarted) void quickChecked.then(open);
      else open();
      await Promise.all(added);
      await waitFor(() => done.length === 2, 20_000, "two videos");
      assert.deepEqual(
        done.map((d) => path.basename(d.entry.file)),
        ["slow.mp4", "quick.mp4"],
      );
      assert.deepEqual(
        fake.uploads.videos().map((v) => v.sha256),
        [slow.sha256, quick.sha256],
      );
    } finally {
      fs.promises.stat = stat;
    }
  });

  it("keeps the session URI on disk, and a new queue on the same file finishes the same session", async () => {
    const f = file("hour.mp4", 10 * UPLOAD_GRANULE);
    fake.uploads.bytesPerSecond = 4 * UPLOAD_GRANULE;
    const first = await queue();
    await first.q.add(f.path, META);
    await waitFor(
      () => (fake.uploads.sessions[0]?.received ?? 0) >= 2 * UPLOAD_GRANULE,
      10_000,
      "two granules",
    );
    const saved = JSON.parse(fs.readFileSync(queueFile, "utf8")) as { entries: QueueEntry[] };
    assert.equal(saved.entries.length, 1);
    assert.match(saved.entries[0].session ?? "", /upload_id=/);
    await first.q.close();
    assert.equal(first.done.length, 0);

    fake.uploads.bytesPerSecond = undefined;
    const second = await queue();
    assert.equal(second.q.status().queued, 1, "the queue came back from disk");
    await waitFor(() => second.done.length === 1, 20_000, "the video");
    assert.equal(fake.uploads.sessions.length, 1, "the same session, not a new one");
    assert.ok(second.done[0].result.resumes >= 1);
    assert.equal(fake.uploads.videos()[0].sha256, f.sha256);
    assert.deepEqual(fake.uploads.violations, []);
  });

  it("refuses bad input with a clear error, and the queue goes on", async () => {
    fs.mkdirSync(path.join(dir, "folder"));
    fs.writeFileSync(path.join(dir, "empty.mp4"), "");
    const { q, done, failed } = await queue();
    for (const bad of [
      42,
      null,
      { path: "x" },
      "",
      path.join(dir, "missing.mp4"),
      path.join(dir, "folder"),
    ]) {
      await assert.rejects(q.add(bad, META), UploadFileError);
    }
    await assert.rejects(q.add(path.join(dir, "empty.mp4"), META), /empty/);
    // A file that vanishes while it waits is dropped when its turn comes; the next one goes up.
    const gone = file("gone.mp4");
    const kept = file("kept.mp4");
    fake.uploads.bytesPerSecond = 8 * UPLOAD_GRANULE;
    const slow = file("slow.mp4");
    await q.add(slow.path, META);
    await q.add(gone.path, META);
    await q.add(kept.path, META);
    fs.rmSync(gone.path);
    await waitFor(() => done.length === 2, 20_000, "two videos");
    assert.equal(failed.length, 1);
    assert.ok(failed[0][1] instanceof UploadFileError);
    assert.equal(path.basename(failed[0][0].file), "gone.mp4");
    assert.deepEqual(
      done.map((d) => path.basename(d.entry.file)),
      ["slow.mp4", "kept.mp4"],
    );
  });

  it("deletes a file only after YouTube returned its video; a refused upload keeps its file", async () => {
    const refused = file("refused.mp4");
    const ok = file("ok.mp4");
    fake.uploads.fail({ kind: "status", status: 400, on: "start" });
    const deletedWhen: boolean[] = [];
    fake.uploads.onBytes = (s) => {
      if (s.received === s.total) deletedWhen.push(!fs.existsSync(ok.path));
    };
    const { q, done, failed } = await queue();
    await q.add(refused.path, META, true);
    await q.add(ok.path, META, true);
    await waitFor(() => done.length === 1, 20_000, "the video");
    assert.equal(failed.length, 1, "the 400 is final for that file");
    assert.ok(fs.existsSync(refused.path), "a file YouTube did not take is kept");
    assert.deepEqual(deletedWhen, [false], "still there when its last bytes arrived");
    assert.equal(done[0].deleted, true);
    assert.ok(!fs.existsSync(ok.path));
  });

  it("queues a file once, and sets an unreadable queue file aside", async () => {
    fs.mkdirSync(path.dirname(queueFile), { recursive: true });
    fs.writeFileSync(queueFile, "{ half a");
    const warnings: string[] = [];
    const clock = new SkipClock();
    const q = new UploadQueue({
      file: queueFile,
      clock,
      retryMs: 3_600_000,
      uploader: () => {
        throw new Error("no account in this test");
      },
    });
    q.on("warning", (w: string) => warnings.push(w));
    queues.push(q);
    await q.open();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /could not be read/);
    assert.equal(fs.readdirSync(path.dirname(queueFile)).filter((n) => n.includes(".unreadable-")).length, 1);
    assert.equal(q.list().length, 0);
    const f = file("twice.mp4");
    fake.uploads.bytesPerSecond = 1;
    const a = await q.add(f.path, META);
    const b = await q.add(path.relative(process.cwd(), f.path), META);
    assert.equal(a, b);
    assert.equal(q.list().length, 1);
  });
});
