/**
 * The fake Google's resumable upload endpoint holds clients to YouTube's rules (design section 5): a
 * bearer token with the youtube scope to start, chunks that start where the server is and are
 * multiples of 256 KiB (but the last), `bytes *\/TOTAL` answered with the Range kept (none when empty),
 * whole granules kept of a cut chunk, and the sha256 of exactly what arrived.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { YOUTUBE_SCOPE } from "../../src/youtube/account";
import { FakeGoogle, UPLOAD_GRANULE } from "../fixtures/fake-google";

describe("fake YouTube upload endpoint", () => {
  let fake: FakeGoogle;
  let token: string;
  before(async () => {
    fake = await FakeGoogle.start();
    token = fake.issueAccessToken({ scope: YOUTUBE_SCOPE, lifetimeS: 3600 });
  });
  after(() => fake.stop());
  beforeEach(() => {
    fake.uploads.violations.length = 0;
    fake.uploads.clearFaults();
    fake.uploads.bytesPerSecond = undefined;
  });

  async function start(
    total: number,
    auth = `Bearer ${token}`,
    query = "uploadType=resumable&part=snippet,status",
  ) {
    return fetch(`${fake.url}/upload/youtube/v3/videos?${query}`, {
      method: "POST",
      headers: {
        Authorization: auth,
        "Content-Type": "application/json",
        "X-Upload-Content-Length": String(total),
        "X-Upload-Content-Type": "video/mp4",
      },
      body: JSON.stringify({ snippet: { title: "t" }, status: { privacyStatus: "public" } }),
    });
  }
  async function session(total: number): Promise<string> {
    const res = await start(total);
    assert.equal(res.status, 200);
    return res.headers.get("location") ?? "";
  }
  function put(uri: string, range: string, body: Buffer = Buffer.alloc(0)) {
    return fetch(uri, { method: "PUT", headers: { "Content-Range": range }, body });
  }

  it("starts a session only with a youtube-scoped token and the resumable parameters", async () => {
    assert.equal((await start(10, "Bearer nope")).status, 401);
    const sdm = fake.issueAccessToken({ lifetimeS: 3600 });
    assert.equal((await start(10, `Bearer ${sdm}`)).status, 403);
    const wrongType = await start(10, `Bearer ${token}`, "uploadType=media&part=snippet,status");
    assert.equal(wrongType.status, 400);
    assert.equal((await start(0)).status, 400);
    const uri = await session(10);
    assert.match(uri, /^http:\/\/127\.0\.0\.1:\d+\/upload\/youtube\/v3\/videos\?.*upload_id=[\w-]{20,}/);
  });

  it("answers 308 with the Range kept, no Range when empty, and refuses chunks that break the rules", async () => {
    const total = 3 * UPLOAD_GRANULE + 5;
    const data = randomBytes(total);
    const uri = await session(total);
    const empty = await put(uri, `bytes */${total}`);
    assert.equal(empty.status, 308);
    assert.equal(empty.headers.get("range"), null);
    // Not a multiple of 256 KiB and not the last chunk.
    assert.equal((await put(uri, `bytes 0-99/${total}`, data.subarray(0, 100))).status, 400);
    const first = await put(uri, `bytes 0-${UPLOAD_GRANULE - 1}/${total}`, data.subarray(0, UPLOAD_GRANULE));
    assert.equal(first.status, 308);
    assert.equal(first.headers.get("range"), `bytes=0-${UPLOAD_GRANULE - 1}`);
    // Starting anywhere but where the server is.
    const skip = await put(
      uri,
      `bytes ${2 * UPLOAD_GRANULE}-${total - 1}/${total}`,
      data.subarray(2 * UPLOAD_GRANULE),
    );
    assert.equal(skip.status, 400);
    assert.equal(fake.uploads.violations.length, 2);
    const last = await put(
      uri,
      `bytes ${UPLOAD_GRANULE}-${total - 1}/${total}`,
      data.subarray(UPLOAD_GRANULE),
    );
    assert.equal(last.status, 200);
    const video = (await last.json()) as { id: string; status: { privacyStatus: string } };
    assert.equal(video.status.privacyStatus, "private", "an unaudited project's upload is private");
    const kept = fake.uploads.videos().find((v) => v.id === video.id);
    assert.equal(kept?.sha256, createHash("sha256").update(data).digest("hex"));
    const again = await put(uri, `bytes */${total}`);
    assert.equal(again.status, 200, "a finished session answers with its video");
  });

  it("reads a chunk no faster than its slow link (bytesPerSecond), and keeps every byte", async () => {
    const total = 4 * UPLOAD_GRANULE;
    const data = randomBytes(total);
    const uri = await session(total);
    fake.uploads.bytesPerSecond = 8 * UPLOAD_GRANULE; // 2 MiB/s: the 1 MiB chunk takes about 0.5 s
    const t0 = Date.now();
    const res = await put(uri, `bytes 0-${total - 1}/${total}`, data);
    const elapsedMs = Date.now() - t0;
    assert.equal(res.status, 200);
    assert.ok(elapsedMs >= 350, `throttled: ${elapsedMs} ms for 1 MiB at 2 MiB/s`);
    const video = (await res.json()) as { id: string };
    assert.equal(
      fake.uploads.videos().find((v) => v.id === video.id)?.sha256,
      createHash("sha256").update(data).digest("hex"),
    );
  });

  it("keeps whole granules of a chunk whose connection is cut", async () => {
    const total = 4 * UPLOAD_GRANULE;
    const uri = await session(total);
    fake.uploads.fail({ kind: "drop", afterBytes: 2 * UPLOAD_GRANULE + 1000 });
    const u = new URL(uri);
    await new Promise<void>((resolve) => {
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname + u.search, method: "PUT" },
        () => resolve(),
      );
      req.setHeader("Content-Range", `bytes 0-${total - 1}/${total}`);
      req.setHeader("Content-Length", String(total));
      req.on("error", () => resolve());
      req.end(randomBytes(total));
    });
    const res = await put(uri, `bytes */${total}`);
    assert.equal(res.status, 308);
    assert.equal(res.headers.get("range"), `bytes=0-${2 * UPLOAD_GRANULE - 1}`);
  });

  it("answers a forgotten session 404 or 410, and the quota faults in YouTube's envelope", async () => {
    const uri = await session(10);
    fake.uploads.fail({ kind: "expire", status: 410 });
    assert.equal((await put(uri, "bytes */10")).status, 410);
    fake.uploads.fail({ kind: "quota", reason: "uploadLimitExceeded" });
    const limit = await start(10);
    assert.equal(limit.status, 400);
    const body = (await limit.json()) as { error: { errors: { reason: string; domain: string }[] } };
    assert.deepEqual(body.error.errors[0].reason, "uploadLimitExceeded");
    fake.uploads.fail({ kind: "quota", reason: "quotaExceeded" });
    const quota = (await (await start(10)).json()) as {
      error: { code: number; errors: { domain: string }[] };
    };
    assert.equal(quota.error.code, 403);
    assert.equal(quota.error.errors[0].domain, "youtube.quota");
  });
});
