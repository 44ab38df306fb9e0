/**
 * youtube-account and youtube-upload in a real Node-RED (4 or 5) against the fake Google's upload
 * endpoint over HTTP: files queued by message go up byte for byte with the node's metadata and the
 * message's overrides, the output and the status say how it went, bad input is refused while the
 * queue goes on, a redeploy in the middle finishes the same session from the queue file under the user
 * directory, and neither the session URI nor a token shows anywhere.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FakeGoogle, FAKE_DEFAULTS, UPLOAD_GRANULE } from "../fixtures/fake-google";
import { builtNode, collect, helper, nodeRedMajor, startServer, stopServer } from "../support/node-red";
import { assertNoSecrets } from "../support/secrets";
import { waitFor } from "../support/wait";

const nodes = [builtNode("youtube-account"), builtNode("youtube-upload")];
const YOUTUBE_SCOPE = "https://www.googleapis.com/auth/youtube";

interface Status {
  fill?: string;
  shape?: string;
  text?: string;
}
interface TestNode {
  receive(msg: object): void;
  status: { args: Status[][] };
  error: { args: unknown[][] };
  warn: { args: unknown[][] };
  on(event: string, fn: (...args: unknown[]) => void): void;
}
interface UploadMsg {
  payload: { videoId: string; url: string; file: string; bytes: number; seconds: number; resumes: number };
  video: { id: string; status?: { privacyStatus?: string } };
}

describe(`youtube-upload node (Node-RED ${nodeRedMajor})`, function () {
  this.timeout(60_000);
  let fake: FakeGoogle;
  let refreshToken: string;
  let userDir: string;
  let dir: string;

  before(async () => {
    fake = await FakeGoogle.start();
    refreshToken = fake.issueRefreshToken({ scope: YOUTUBE_SCOPE });
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "nest-upload-userdir-"));
    helper.settings({ userDir });
    await startServer(fake.env());
  });
  after(async () => {
    await stopServer();
    helper.settings({});
    await fake.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nest-upload-files-"));
    fake.uploads.sessions.length = 0;
    fake.uploads.violations.length = 0;
    fake.uploads.bytesPerSecond = undefined;
    fake.uploads.clearFaults();
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const credentials = () => ({
    yt: { clientId: FAKE_DEFAULTS.clientId, clientSecret: FAKE_DEFAULTS.clientSecret, refreshToken },
  });
  function flow(upload: Record<string, unknown> = {}) {
    return [
      { id: "yt", type: "youtube-account", name: "Channel", dailyQuota: 10000 },
      {
        id: "up",
        type: "youtube-upload",
        account: "yt",
        title: "{file}",
        description: "Recorded {date}",
        privacy: "private",
        tags: "nest, garden",
        categoryId: "22",
        chunkMiB: 0.25,
        wires: [["out"]],
        ...upload,
      },
      { id: "out", type: "helper" },
    ];
  }
  function file(name: string, bytes: number): { path: string; sha256: string } {
    const p = path.join(dir, name);
    const data = randomBytes(bytes);
    fs.writeFileSync(p, data);
    return { path: p, sha256: createHash("sha256").update(data).digest("hex") };
  }

  it("uploads each file it is sent, in order, with the node's metadata and the message's overrides", async () => {
    await helper.load(nodes, flow(), credentials());
    const out = collect<UploadMsg>("out");
    const up = helper.getNode("up") as TestNode;
    const a = file("garden-2026-12-01T20-00.mp4", 3 * UPLOAD_GRANULE + 99);
    const b = file("garden-2026-12-01T21-00.mp4", 2 * UPLOAD_GRANULE);
    up.receive({ payload: a.path, file: { path: a.path, startedAt: "2026-12-01T20:00:00.000Z" } });
    up.receive({ payload: b.path, title: "Evening", privacy: "unlisted", description: "by hand" });
    await waitFor(() => out.length === 2, 20_000, "two videos");

    const [va, vb] = fake.uploads.videos();
    assert.equal(va.sha256, a.sha256);
    assert.equal(vb.sha256, b.sha256);
    const [sa, sb] = fake.uploads.sessions;
    const snippetA = sa.resource.snippet as Record<string, unknown>;
    assert.equal(snippetA.title, "garden-2026-12-01T20-00");
    assert.match(String(snippetA.description), /^Recorded 2026-12-0[12]$/);
    assert.deepEqual(snippetA.tags, ["nest", "garden"]);
    assert.deepEqual(sa.resource.status, { privacyStatus: "private", selfDeclaredMadeForKids: false });
    assert.equal((sb.resource.snippet as Record<string, unknown>).title, "Evening");
    assert.equal((sb.resource.snippet as Record<string, unknown>).description, "by hand");
    assert.equal((sb.resource.status as Record<string, unknown>).privacyStatus, "unlisted");
    assert.equal(sa.query.notifySubscribers, "false");

    assert.deepEqual(Object.keys(out[0].payload).sort(), [
      "bytes",
      "file",
      "resumes",
      "seconds",
      "url",
      "videoId",
    ]);
    assert.equal(out[0].payload.videoId, va.id);
    assert.equal(out[0].payload.url, `https://www.youtube.com/watch?v=${va.id}`);
    assert.equal(out[0].payload.file, a.path);
    assert.equal(out[0].payload.bytes, 3 * UPLOAD_GRANULE + 99);
    assert.equal(out[0].payload.resumes, 0);
    assert.equal(out[0].video.status?.privacyStatus, "private", "an unaudited project's video is private");
    assert.ok(fs.existsSync(a.path), "kept: deleteAfterUpload is off");

    await waitFor(
      () => up.status.args.some(([s]) => /uploaded/.test(s.text ?? "")),
      5_000,
      "the done status",
    );
    const texts = up.status.args.map(([s]) => s.text ?? "");
    assert.ok(
      texts.some((t) => /^\d+% · \d+(\.\d)? [KM]B\/s · \d queued$/.test(t)),
      `a percent and speed status: ${texts.join(" | ")}`,
    );
  });

  it("passes the node's category, made-for-kids and notify settings on, and {date} in the title", async () => {
    await helper.load(
      nodes,
      flow({
        title: "{file} of {date}",
        categoryId: "15",
        madeForKids: true,
        notifySubscribers: true,
        tags: "",
      }),
      credentials(),
    );
    const out = collect<UploadMsg>("out");
    const up = helper.getNode("up") as TestNode;
    const a = file("porch.mkv", UPLOAD_GRANULE + 7);
    // The date is the recording's (its local date), not the upload's.
    up.receive({ payload: a.path, file: { path: a.path, startedAt: "2026-07-04T12:00:00.000Z" } });
    await waitFor(() => out.length === 1, 20_000, "the video");
    const [s] = fake.uploads.sessions;
    const snippet = s.resource.snippet as Record<string, unknown>;
    assert.match(String(snippet.title), /^porch of 2026-07-0[345]$/);
    assert.equal(snippet.categoryId, "15");
    assert.equal(snippet.tags, undefined, "no tags: none sent");
    assert.deepEqual(s.resource.status, { privacyStatus: "private", selfDeclaredMadeForKids: true });
    assert.equal(s.query.notifySubscribers, "true");
    assert.equal(fake.uploads.videos()[0].sha256, a.sha256);
  });

  it("refuses bad input with a clear error and goes on with the queue", async () => {
    await helper.load(nodes, flow(), credentials());
    const out = collect<UploadMsg>("out");
    const up = helper.getNode("up") as TestNode;
    fs.mkdirSync(path.join(dir, "folder"));
    fs.writeFileSync(path.join(dir, "empty.mp4"), "");
    const good = file("good.mp4", UPLOAD_GRANULE);
    for (const payload of [42, { path: "x" }, path.join(dir, "missing.mp4"), path.join(dir, "empty.mp4")]) {
      up.receive({ payload });
    }
    up.receive({ payload: path.join(dir, "folder") });
    up.receive({ payload: good.path });
    await waitFor(() => out.length === 1, 20_000, "the good file's video");
    await waitFor(() => up.error.args.length >= 5, 5_000, "five errors");
    const errors = up.error.args.map((a) => String(a[0]));
    assert.equal(errors.length, 5, errors.join("\n"));
    // The inputs are checked at once (each its own file system look), so their errors come in any order.
    for (const expected of [
      /takes a file path \(a string\) in msg.payload: Expected a file path \(a string\), got a number/,
      /takes a file path \(a string\) in msg.payload: Expected a file path \(a string\), got an object/,
      /missing\.mp4 does not exist/,
      /empty\.mp4 is empty/,
      /folder is not a file/,
    ]) {
      assert.ok(
        errors.some((e) => expected.test(e)),
        `${expected} among ${errors.join("\n")}`,
      );
    }
    assert.equal(fake.uploads.videos()[0].sha256, good.sha256);
  });

  it("after a redeploy mid-upload, finishes the same session from the queue file; nothing secret shows", async () => {
    const big = file("hour.mp4", 12 * UPLOAD_GRANULE);
    fake.uploads.bytesPerSecond = 6 * UPLOAD_GRANULE;
    await helper.load(nodes, flow({ deleteAfterUpload: true }), credentials());
    let up = helper.getNode("up") as TestNode;
    up.receive({ payload: big.path });
    await waitFor(
      () => (fake.uploads.sessions[0]?.received ?? 0) >= 2 * UPLOAD_GRANULE,
      10_000,
      "some bytes",
    );
    const firstStatuses = up.status.args.map(([s]) => s);
    const queueFile = path.join(userDir, "nest-restream", "youtube-upload-up.json");
    const saved = JSON.parse(fs.readFileSync(queueFile, "utf8")) as { entries: { session?: string }[] };
    const uri = saved.entries[0]?.session ?? "";
    assert.match(uri, /upload_id=/);

    // The spy's record, kept past the unload (which restores the node's own methods).
    const firstErrors = up.error.args;
    await helper.unload();
    assert.deepEqual(firstErrors, [], "a redeploy is no error");
    fake.uploads.bytesPerSecond = undefined;
    await helper.load(nodes, flow({ deleteAfterUpload: true }), credentials());
    const out = collect<UploadMsg>("out");
    up = helper.getNode("up") as TestNode;
    await waitFor(() => out.length === 1, 20_000, "the video after the redeploy");
    assert.equal(fake.uploads.sessions.length, 1, "the same session");
    assert.equal(fake.uploads.videos()[0].sha256, big.sha256);
    assert.ok(out[0].payload.resumes >= 1);
    assert.ok(!fs.existsSync(big.path), "deleted once YouTube had it");
    assert.deepEqual(fake.uploads.violations, []);

    const uploadId = new URL(uri).searchParams.get("upload_id") ?? "";
    assertNoSecrets(
      [...firstStatuses, ...up.status.args.map(([s]) => s), ...up.error.args, ...up.warn.args, ...out],
      [uri, uploadId, refreshToken],
    );
  });

  it("says so in the status when it has no account, and refuses files saying to choose one", async () => {
    await helper.load(nodes, [{ id: "up", type: "youtube-upload", wires: [[]] }], {});
    const up = helper.getNode("up") as TestNode;
    await waitFor(() => up.status.args.length > 0, 2_000, "a status");
    assert.equal(up.status.args[0][0].text, "no youtube-account");
    up.receive({ payload: file("a.mp4", 10).path });
    await waitFor(() => up.error.args.length === 1, 2_000, "the refusal");
    assert.match(
      String(up.error.args[0][0]),
      /youtube-upload has no youtube-account: open the node and choose/,
    );
    assert.equal(fake.uploads.sessions.length, 0);
  });
});
