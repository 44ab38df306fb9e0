/**
 * The resumable upload against the fake Google's upload endpoint over real HTTP (loopback), with
 * its waits skipped: byte for byte through dropped connections that keep fewer bytes, 5xx, expired
 * sessions, a restart with a saved session, spent quotas and upload limits; the session URI secret.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { errorMessage } from "../../src/redact";
import { GoogleError } from "../../src/google/errors";
import { YOUTUBE_SCOPE } from "../../src/youtube/account";
import { nextPacificMidnight, QuotaLedger } from "../../src/youtube/quota-ledger";
import {
  chunkBytes,
  nextByteFromRange,
  ResumableUpload,
  UploadFileError,
  videoResource,
  type ResumableUploadOptions,
  type VideoMetadata,
} from "../../src/youtube/resumable-upload";
import { FakeGoogle, UPLOAD_GRANULE } from "../fixtures/fake-google";
import { assertNoSecrets } from "../support/secrets";
import { SkipClock } from "../support/skip-clock";

const META: VideoMetadata = {
  title: "garden 2026-12-01 20-00",
  description: "Hour recorded by nest-restream",
  privacy: "private",
  tags: ["nest", "garden"],
  categoryId: "22",
  madeForKids: false,
  notifySubscribers: false,
};

describe("ResumableUpload", function () {
  this.timeout(30_000);
  let fake: FakeGoogle;
  let dir: string;
  let clock: SkipClock;
  let token: string;

  before(async () => {
    fake = await FakeGoogle.start();
  });
  after(async () => {
    await fake.stop();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nest-upload-"));
    clock = new SkipClock(Date.UTC(2026, 11, 1, 20));
    token = fake.issueAccessToken({ scope: YOUTUBE_SCOPE, lifetimeS: 3600 });
    fake.uploads.sessions.length = 0;
    fake.uploads.violations.length = 0;
    fake.uploads.bytesPerSecond = undefined;
    fake.uploads.onBytes = undefined;
    fake.uploads.setDailyUploads(100);
    assert.equal(fake.uploads.pendingFaults.length, 0, "every injected fault was used by the test before");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function file(bytes: number, name = "clip.mp4"): { path: string; sha256: string } {
    const p = path.join(dir, name);
    const data = randomBytes(bytes);
    fs.writeFileSync(p, data);
    return { path: p, sha256: createHash("sha256").update(data).digest("hex") };
  }

  function uploader(options: Partial<ResumableUploadOptions> = {}): ResumableUpload {
    return new ResumableUpload({
      tokens: { withToken: (fn) => fn(token) },
      uploadUrl: fake.env().NEST_RESTREAM_YOUTUBE_UPLOAD_URL,
      clock,
      random: () => 0,
      chunkBytes: UPLOAD_GRANULE * 2,
      ...options,
    });
  }

  it("starts a session with the video resource and sends 256 KiB-multiple chunks, byte for byte", async () => {
    const f = file(5 * UPLOAD_GRANULE + 12_345);
    const sessions: (string | undefined)[] = [];
    const progress: number[] = [];
    const up = uploader();
    up.on("progress", (p: { sent: number }) => progress.push(p.sent));
    const result = await up.run(f.path, META, { onSession: (uri) => void sessions.push(uri) });

    assert.equal(fake.uploads.sessions.length, 1);
    const session = fake.uploads.sessions[0];
    assert.equal(session.total, 5 * UPLOAD_GRANULE + 12_345);
    assert.equal(session.contentType, "video/mp4");
    assert.equal(session.query.notifySubscribers, "false");
    assert.deepEqual(session.resource, {
      snippet: {
        title: META.title,
        description: META.description,
        tags: ["nest", "garden"],
        categoryId: "22",
      },
      status: { privacyStatus: "private", selfDeclaredMadeForKids: false },
    });
    assert.equal(session.chunks, 3, "two chunks of 512 KiB and the rest");
    assert.deepEqual(fake.uploads.violations, []);
    const video = fake.uploads.videos()[0];
    assert.equal(video.sha256, f.sha256);
    assert.equal(result.videoId, video.id);
    assert.equal(result.bytes, session.total);
    assert.equal(result.resumes, 0);
    assert.equal(result.sessionsStarted, 1);
    assert.equal(result.video.status?.privacyStatus, "private");
    assert.equal(sessions.length, 1);
    assert.match(sessions[0] ?? "", /upload_id=/);
    assert.equal(progress[progress.length - 1], session.total);
  });

  it("resumes where the server is after a connection dropped mid-chunk that kept fewer bytes", async () => {
    const f = file(6 * UPLOAD_GRANULE);
    // The first chunk (512 KiB) is cut after 300,000 bytes: the server keeps one granule of it.
    fake.uploads.fail({ kind: "drop", afterBytes: 300_000 });
    const up = uploader();
    const retries: unknown[] = [];
    up.on("retry", (r: { error: unknown }) => retries.push(r.error));
    const result = await up.run(f.path, META);
    assert.equal(fake.uploads.sessions[0].cut, 1);
    assert.equal(retries.length, 1);
    assert.ok(retries[0] instanceof GoogleError && retries[0].transient, "a network failure, retried");
    // random() = 0: the full first delay of the one retry policy, as for a 5xx.
    assert.deepEqual(clock.waits, [1_000], "backed off before asking the server");
    assert.equal(result.resumes, 1);
    assert.equal(fake.uploads.sessions.length, 1, "the same session");
    assert.equal(fake.uploads.sessions[0].queries, 1, "asked the server once what it has");
    assert.deepEqual(fake.uploads.violations, [], "every chunk started where the server was");
    assert.equal(fake.uploads.videos()[0].sha256, f.sha256);
  });

  it("backs off on a 503 (the one retry policy's delay) and resumes without a new session", async () => {
    const f = file(3 * UPLOAD_GRANULE);
    fake.uploads.fail({ kind: "status", status: 503 });
    fake.uploads.fail({ kind: "status", status: 500, on: "query" });
    const result = await uploader({ initialBackoffMs: 2_000 }).run(f.path, META);
    assert.equal(fake.uploads.sessions.length, 1);
    assert.equal(result.resumes, 1, "one answer from the server, after the failed question");
    // random() = 0: the full delays, 2 s then 4 s (the backoff doubles while nothing moves).
    assert.deepEqual(clock.waits, [2_000, 4_000]);
    assert.equal(fake.uploads.videos()[0].sha256, f.sha256);
  });

  for (const status of [404, 410] as const) {
    it(`starts a new session from byte 0 when the session answers ${status}`, async () => {
      const f = file(4 * UPLOAD_GRANULE);
      let armed = false;
      fake.uploads.onBytes = (s) => {
        if (!armed && s.received >= 2 * UPLOAD_GRANULE) {
          armed = true;
          fake.uploads.fail({ kind: "expire", status });
        }
      };
      const told: (string | undefined)[] = [];
      const result = await uploader().run(f.path, META, { onSession: (u) => void told.push(u) });
      assert.equal(fake.uploads.sessions.length, 2);
      assert.equal(fake.uploads.sessions[0].gone, status);
      assert.equal(result.sessionsStarted, 2);
      assert.equal(told.length, 3);
      assert.equal(told[1], undefined, "the dead session is forgotten on disk too");
      assert.notEqual(told[0], told[2]);
      assert.equal(fake.uploads.videos().length, 1);
      assert.equal(fake.uploads.videos()[0].sha256, f.sha256);
    });
  }

  it("starts over at once after one expired session, and backs off when new sessions keep dying", async () => {
    const f = file(2 * UPLOAD_GRANULE);
    fake.uploads.fail({ kind: "expire", status: 404 }, 3);
    const result = await uploader().run(f.path, META);
    assert.equal(fake.uploads.sessions.length, 4);
    assert.equal(result.sessionsStarted, 4);
    // random() = 0: the full delays; none before the first new session.
    assert.deepEqual(clock.waits, [1_000, 2_000]);
    assert.equal(fake.uploads.videos()[0].sha256, f.sha256);
  });

  it("finishes a saved session after a restart, asking the server first (no new session)", async () => {
    const f = file(8 * UPLOAD_GRANULE);
    const stop = new AbortController();
    fake.uploads.onBytes = (s) => {
      if (s.received >= 3 * UPLOAD_GRANULE) stop.abort(new Error("Node-RED stopped"));
    };
    let saved: string | undefined;
    await assert.rejects(
      uploader().run(f.path, META, { signal: stop.signal, onSession: (u) => void (saved = u) }),
      /Node-RED stopped/,
    );
    fake.uploads.onBytes = undefined;
    assert.ok(saved);
    const kept = fake.uploads.sessions[0].received;
    assert.ok(kept > 0 && kept < 8 * UPLOAD_GRANULE);

    const result = await uploader().run(f.path, META, { session: saved });
    assert.equal(fake.uploads.sessions.length, 1, "the same session");
    assert.equal(result.sessionsStarted, 0);
    assert.equal(result.resumes, 1);
    assert.deepEqual(fake.uploads.violations, []);
    assert.equal(fake.uploads.videos()[0].sha256, f.sha256);
    // Asked again once it is done: the video, not a second upload.
    const again = await uploader().run(f.path, META, { session: saved });
    assert.equal(again.videoId, result.videoId);
    assert.equal(fake.uploads.videos().length, 1);
  });

  for (const reason of ["quotaExceeded", "uploadLimitExceeded"] as const) {
    it(`waits for midnight Pacific time on ${reason}, then uploads the same file`, async () => {
      const f = file(UPLOAD_GRANULE + 10);
      fake.uploads.fail({ kind: "quota", reason });
      const ledger = new QuotaLedger(10_000, clock);
      const waiting: { until: number; error: unknown }[] = [];
      const up = uploader({ ledger });
      up.on("waiting", (w: { until: number; error: unknown }) => waiting.push(w));
      const startedAt = clock.now();
      const result = await up.run(f.path, META);
      assert.equal(waiting.length, 1);
      assert.match(errorMessage(waiting[0].error), /midnight Pacific time/);
      assert.ok(waiting[0].until >= nextPacificMidnight(startedAt), "not before the reset");
      assert.ok(clock.waits.some((w) => w >= nextPacificMidnight(startedAt) - startedAt));
      assert.equal(fake.uploads.videos()[0].sha256, f.sha256);
      assert.equal(result.sessionsStarted, 1);
      assert.equal(ledger.stats().used, 0, "uploads are not charged to the 10,000 units");
      assert.equal(ledger.stats().uploads, 1);
    });
  }

  it("never shows the session URI: not in errors, events or results", async () => {
    const f = file(2 * UPLOAD_GRANULE);
    fake.uploads.fail({ kind: "drop", afterBytes: 1000 });
    fake.uploads.fail({ kind: "status", status: 400, on: "query" });
    let uri: string | undefined;
    const up = uploader();
    const seen: unknown[] = [];
    for (const e of ["progress", "retry", "resumed", "waiting"]) up.on(e, (x: unknown) => seen.push(x));
    const err = await up.run(f.path, META, { onSession: (u) => void (uri = u ?? uri) }).then(
      () => assert.fail("a 400 is final"),
      (e: unknown) => e,
    );
    assert.ok(uri);
    const id = new URL(uri).searchParams.get("upload_id") ?? "";
    assert.ok(id.length > 10);
    assertNoSecrets(
      [errorMessage(err), ...seen.map((s) => errorMessage((s as { error?: unknown }).error ?? ""))],
      [uri, id],
    );
    assertNoSecrets(seen, [uri, id]);
  });

  it("stops with a clear error when the file changes size under the upload", async () => {
    const f = file(4 * UPLOAD_GRANULE);
    let cut = false;
    fake.uploads.onBytes = (s) => {
      if (!cut && s.received >= UPLOAD_GRANULE) {
        cut = true;
        fs.truncateSync(f.path, UPLOAD_GRANULE + 10);
      }
    };
    await assert.rejects(
      uploader().run(f.path, META),
      (e: unknown) => e instanceof UploadFileError && e.code === "changed" && /changed while/.test(e.message),
    );
    assert.equal(fake.uploads.videos().length, 0);
  });

  it("refuses what is not a file, with a clear error and no request", async () => {
    fs.mkdirSync(path.join(dir, "sub"));
    fs.writeFileSync(path.join(dir, "empty.mp4"), "");
    const calls = fake.calls.length;
    const cases: [unknown, string][] = [
      [42, "notString"],
      ["", "notString"],
      [path.join(dir, "nope.mp4"), "missing"],
      [path.join(dir, "empty.mp4"), "empty"],
      [path.join(dir, "sub"), "notFile"],
    ];
    for (const [input, code] of cases) {
      await assert.rejects(
        uploader().run(input as string, META),
        (e: unknown) => e instanceof UploadFileError && e.code === code,
      );
    }
    assert.equal(fake.calls.length, calls);
  });

  it("rounds chunkMiB to multiples of 256 KiB and reads Range headers", () => {
    assert.equal(chunkBytes(undefined), 8 * 1024 * 1024);
    assert.equal(chunkBytes(""), 8 * 1024 * 1024);
    assert.equal(chunkBytes(1), 1024 * 1024);
    assert.equal(chunkBytes(0.3), UPLOAD_GRANULE);
    assert.equal(chunkBytes(0), UPLOAD_GRANULE);
    assert.equal(chunkBytes("2.1"), 8 * UPLOAD_GRANULE);
    assert.equal(nextByteFromRange("bytes=0-262143"), 262_144);
    assert.equal(nextByteFromRange(undefined), 0);
  });

  it("cuts titles to YouTube's 100 characters without < or >", () => {
    const r = videoResource({ ...META, title: `<b>${"x".repeat(120)}`, tags: [" a ", ""] }) as {
      snippet: { title: string; tags: string[] };
    };
    assert.equal(r.snippet.title, `b${"x".repeat(99)}`);
    assert.deepEqual(r.snippet.tags, ["a"]);
  });
});
