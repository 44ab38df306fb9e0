/**
 * youtube-upload end to end, with real parts: a camera recording (real ffmpeg reading the GStreamer
 * RTSP camera source into Matroska, as nest-restream's file target does) goes up byte for byte
 * (sha256) to the fake Google's upload endpoint from Node-RED started from its command line (a child
 * process, the package installed in a fresh user directory), through a dropped connection and a 503
 * that are resumed in the same session; and Node-RED killed with SIGKILL in the middle of uploading a
 * test-pattern MP4 and started again finishes the SAME session (the fake counts one).
 */
import assert from "node:assert/strict";
import { spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { FakeGoogle, FAKE_DEFAULTS, UPLOAD_GRANULE } from "../fixtures/fake-google";
import { nodeRedUserDir, repositoryRoot, startNodeRed, type NodeRedChild } from "../fixtures/node-red-child";
import { stopChild, tempDir } from "../fixtures/ports";
import { ffmpegPath } from "../fixtures/probe";
import { RtspSource } from "../fixtures/rtsp-source";
import { assertNoSecrets } from "../support/secrets";
import { waitFor } from "../support/wait";

const YOUTUBE_SCOPE = "https://www.googleapis.com/auth/youtube";

interface Output {
  videoId: string;
  url: string;
  file: string;
  bytes: number;
  seconds: number;
  resumes: number;
}

/** A 5-second H.264/AAC MP4 from ffmpeg's test sources, at about `kbps` of video. */
function record(file: string, kbps: number): string {
  const r = spawnSync(
    ffmpegPath(),
    [
      ...["-hide_banner", "-loglevel", "error", "-y"],
      // Noise keeps x264 near the bitrate asked for (a clean test pattern compresses to almost nothing).
      ...["-f", "lavfi", "-i", "testsrc=size=640x360:rate=25,noise=alls=30:allf=t"],
      ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"],
      ...["-t", "5", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", `${kbps}k`],
      ...["-c:a", "aac", "-b:a", "128k", "-shortest", file],
    ],
    { encoding: "utf8", timeout: 30_000 },
  );
  assert.equal(r.status, 0, `ffmpeg failed: ${r.stderr}`);
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

describe("youtube-upload end to end (Node-RED as a child process)", function () {
  this.timeout(60_000);
  const root = repositoryRoot(__dirname);
  let fake: FakeGoogle;
  let refreshToken: string;
  let child: ChildProcess | undefined;
  const reds: NodeRedChild[] = [];
  const output = () => reds.map((r) => r.output()).join("\n");

  before(async () => {
    assert.ok(fs.existsSync(path.join(root, "dist", "nodes", "youtube-upload.js")), "build first");
    fake = await FakeGoogle.start();
    refreshToken = fake.issueRefreshToken({ scope: YOUTUBE_SCOPE });
  });
  after(async () => {
    if (child) await stopChild(child, "SIGKILL");
    await fake.stop();
  });
  beforeEach(() => {
    fake.uploads.sessions.length = 0;
    fake.uploads.violations.length = 0;
    fake.uploads.bytesPerSecond = undefined;
    fake.uploads.clearFaults();
  });
  afterEach(async function () {
    if (child) await stopChild(child, "SIGTERM", 10_000);
    child = undefined;
    if (this.currentTest?.state === "failed") {
      console.log(output().slice(-4000));
      console.log(fake.calls.filter((c) => c.endpoint === "upload").map((c) => `${c.method} ${c.status}`));
      console.log(fake.uploads.sessions.map((s) => ({ ...s, resource: undefined })));
    }
  });

  /** The upload part of a flow (account, youtube-upload, a file node saving its output), fed by `feeders`. */
  function withUpload(outFile: string, feeders: object[]): object[] {
    return [
      { id: "t1", type: "tab", label: "upload" },
      { id: "yt", type: "youtube-account", name: "Channel", dailyQuota: 10000 },
      ...feeders,
      {
        id: "up",
        type: "youtube-upload",
        z: "t1",
        account: "yt",
        title: "{file}",
        privacy: "private",
        chunkMiB: 0.25,
        wires: [["save"]],
      },
      {
        id: "save",
        type: "file",
        z: "t1",
        filename: outFile,
        filenameType: "str",
        appendNewline: true,
        createDir: true,
        overwriteFile: "false",
        encoding: "none",
        wires: [[]],
      },
    ];
  }

  /** A user directory with this package installed, the flow and its (plain) credentials. */
  function userDir(flows: object[]): string {
    return nodeRedUserDir(root, flows, {
      yt: { clientId: FAKE_DEFAULTS.clientId, clientSecret: FAKE_DEFAULTS.clientSecret, refreshToken },
    });
  }

  /** A flow that sends one file path to youtube-upload at start. */
  function fileFlow(file: string, outFile: string): object[] {
    return withUpload(outFile, [
      {
        id: "go",
        type: "inject",
        z: "t1",
        once: true,
        onceDelay: 0.1,
        repeat: "",
        topic: "",
        payload: file,
        payloadType: "str",
        props: [{ p: "payload" }],
        wires: [["up"]],
      },
    ]);
  }

  async function start(where: string | object[]): Promise<ChildProcess> {
    const dir = typeof where === "string" ? where : userDir(where);
    const red = await startNodeRed(dir, fake.env());
    reds.push(red);
    child = red.child;
    return red.child;
  }

  /** The node's output messages so far, or undefined while there are none. */
  function firstOutputs(outFile: string): Output[] | undefined {
    const o = outputs(outFile);
    return o.length ? o : undefined;
  }

  function outputs(outFile: string): Output[] {
    if (!fs.existsSync(outFile)) return [];
    return fs
      .readFileSync(outFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Output);
  }

  it("uploads nest-restream's recordings of an RTSP camera byte for byte, through a dropped connection and a 503", async () => {
    const work = tempDir("nest-upload-e2e-files-");
    const recDir = path.join(work, "rec");
    fs.mkdirSync(recDir);
    const outFile = path.join(work, "out.jsonl");
    const source = await RtspSource.start({ mounts: [{ path: "/cam-aac", audio: "aac" }] });
    // The first chunk answers 503; its retry is cut after 100,000 bytes (the server keeps none of it).
    fake.uploads.fail({ kind: "status", status: 503 });
    fake.uploads.fail({ kind: "drop", afterBytes: 100_000 });
    try {
      // The camera → nest-restream (4-second files) → output 2 → youtube-upload; stopped after ~10 s.
      const inject = (id: string, payload: string, delay: number) => ({
        id,
        type: "inject",
        z: "t1",
        once: true,
        onceDelay: delay,
        repeat: "",
        topic: "",
        payload,
        payloadType: "str",
        props: [{ p: "payload" }],
        wires: [["rs"]],
      });
      const flows = withUpload(outFile, [
        inject("go", source.url("/cam-aac"), 0.1),
        inject("halt", "stop", 10),
        {
          id: "rs",
          type: "nest-restream",
          z: "t1",
          target: "custom",
          url: `${recDir}/garden-%Y%m%d-%H%M%S.mkv`,
          segmentSeconds: 4,
          wires: [[], ["up"], []],
        },
      ]);
      await start(flows);
      const files = () => fs.readdirSync(recDir).map((f) => path.join(recDir, f));
      await waitFor(
        () => files().length >= 2 && outputs(outFile).length === files().length,
        45_000,
        "every recording up",
      );
    } finally {
      await source.stop();
    }
    const recorded = fs
      .readdirSync(recDir)
      .map((f) => path.join(recDir, f))
      .sort();
    assert.ok(recorded.length >= 2, `several recordings (${recorded.length})`);
    const sent = outputs(outFile);
    assert.deepEqual(sent.map((o) => o.file).sort(), recorded, "each recording once");
    assert.equal(fake.uploads.pendingFaults.length, 0, "both faults happened");
    assert.equal(
      fake.uploads.sessions.length,
      recorded.length,
      "one session per file: resumed, never started over",
    );
    assert.equal(fake.uploads.sessions[0].cut, 1);
    const videos = fake.uploads.videos();
    for (const file of recorded) {
      const bytes = fs.readFileSync(file);
      const out = sent.find((o) => o.file === file);
      const video = videos.find((v) => v.id === out?.videoId);
      assert.ok(video, `a video for ${file}`);
      assert.equal(video.sha256, createHash("sha256").update(bytes).digest("hex"), `${file} byte for byte`);
      assert.equal(video.bytes, bytes.length);
      assert.equal(out?.bytes, bytes.length);
    }
    assert.equal(sent.find((o) => o.file === recorded[0])?.resumes, 2, "the faults were resumed");
    assert.deepEqual(fake.uploads.violations, []);
    assert.match(
      (fake.uploads.sessions[0].resource.snippet as { title: string }).title,
      /^garden-\d{8}-\d{6}$/,
    );
  });

  it("finishes the same session after Node-RED is killed with SIGKILL in the middle of an upload", async () => {
    const work = tempDir("nest-upload-e2e-files-");
    const video = path.join(work, "hour.mp4");
    const sha256 = record(video, 2500);
    const size = fs.statSync(video).size;
    const outFile = path.join(work, "out.jsonl");
    const dir = userDir(fileFlow(video, outFile));
    fake.uploads.bytesPerSecond = 4 * UPLOAD_GRANULE;
    const first = await start(dir);
    await waitFor(
      () => (fake.uploads.sessions[0]?.received ?? 0) >= 2 * UPLOAD_GRANULE,
      30_000,
      "bytes arriving",
    );
    const exited = new Promise((resolve) => first.once("exit", resolve));
    first.kill("SIGKILL");
    await exited;
    const kept = fake.uploads.sessions[0].received;
    assert.ok(kept < size, "killed before the end");
    const queueFile = path.join(dir, "nest-restream", "youtube-upload-up.json");
    const saved = JSON.parse(fs.readFileSync(queueFile, "utf8")) as { entries: { session?: string }[] };
    const uri = saved.entries[0]?.session ?? "";
    assert.match(uri, /upload_id=/, "the session is on disk");

    // Started again with the file no longer sent: what goes up now comes from the queue on disk.
    const flows = JSON.parse(fs.readFileSync(path.join(dir, "flows.json"), "utf8")) as { id: string }[];
    fs.writeFileSync(path.join(dir, "flows.json"), JSON.stringify(flows.filter((n) => n.id !== "go")));
    fake.uploads.bytesPerSecond = undefined;
    await start(dir);
    const [out] = await waitFor(() => firstOutputs(outFile), 30_000, "the video");
    assert.equal(fake.uploads.sessions.length, 1, "the SAME session finished");
    assert.equal(fake.uploads.videos().length, 1);
    assert.equal(fake.uploads.videos()[0].sha256, sha256);
    assert.equal(out.bytes, size);
    assert.ok(out.resumes >= 1);
    assert.deepEqual(fake.uploads.violations, []);
    const upload = new URL(uri).searchParams.get("upload_id") ?? "";
    assertNoSecrets([output(), fs.readFileSync(outFile, "utf8")], [uri, upload, refreshToken]);
  });
});
