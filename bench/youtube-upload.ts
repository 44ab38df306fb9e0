/**
 * youtube-upload throughput and memory (`npm run bench`): the same generated file (1 GiB by default,
 * BENCH_UPLOAD_MIB to change it) goes up to the same local fake upload endpoint (the fake Google, on
 * loopback, hashing what arrives) twice by a plain `curl -T` (one PUT of the whole file into a session)
 * and once by Node-RED started from its command line with a youtube-upload node (8 MiB chunks), in
 * this order: curl, Node-RED, curl. Prints the throughput ratio to curl's mean and Node-RED's memory:
 * its peak resident set (VmHWM from /proc/<pid>/status) before and after the upload, which shows the
 * file is streamed, not held.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { FakeGoogle, FAKE_DEFAULTS } from "../test/fixtures/fake-google";
import { nodeRedReady, nodeRedUserDir, repositoryRoot, startNodeRed } from "../test/fixtures/node-red-child";
import { stopChild, tempDir } from "../test/fixtures/ports";

const YOUTUBE_SCOPE = "https://www.googleapis.com/auth/youtube";
const MIB = 1024 * 1024;

function procKiB(pid: number, field: "VmHWM" | "VmRSS"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/** A file of `mib` MiB (random 1 MiB blocks, each numbered; written block by block, never held whole). */
function generate(file: string, mib: number): string {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "w");
  const buf = randomBytes(MIB);
  for (let i = 0; i < mib; i++) {
    buf.writeUInt32BE(i, 0);
    fs.writeSync(fd, buf);
    hash.update(buf);
  }
  fs.closeSync(fd);
  return hash.digest("hex");
}

async function curlOnce(fake: FakeGoogle, file: string, size: number, sha256: string): Promise<number> {
  const token = fake.issueAccessToken({ scope: YOUTUBE_SCOPE, lifetimeS: 3600 });
  const res = await fetch(
    `${fake.env().NEST_RESTREAM_YOUTUBE_UPLOAD_URL}/videos?uploadType=resumable&part=snippet,status`,
    {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        "X-Upload-Content-Length": String(size),
        "X-Upload-Content-Type": "video/mp4",
      },
      body: JSON.stringify({ snippet: { title: "curl" }, status: { privacyStatus: "private" } }),
    },
  );
  const location = res.headers.get("location");
  if (!location) throw new Error(`no session: HTTP ${res.status}`);
  // Not spawnSync: the fake answering curl runs in this process.
  const r = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const c = spawn(
      "curl",
      [
        ...["-sS", "-T", file, "-o", "/dev/null", "-w", "%{http_code} %{time_total}"],
        ...["-H", `Content-Range: bytes 0-${size - 1}/${size}`, "-H", "Content-Type: video/mp4", location],
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    c.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    c.on("error", reject);
    c.on("close", () => resolve({ stdout, stderr }));
  });
  const [code, seconds] = r.stdout.trim().split(" ");
  if (code !== "200") throw new Error(`curl: HTTP ${code} ${r.stderr}`);
  const video = fake.uploads.videos().at(-1);
  if (video?.sha256 !== sha256) throw new Error("curl's upload did not arrive intact");
  return Number(seconds);
}

async function main(): Promise<void> {
  const mib = Number(process.env.BENCH_UPLOAD_MIB) || 1024;
  const work = tempDir("nest-upload-bench-");
  const file = path.join(work, "hour.mp4");
  const sha256 = generate(file, mib);
  const size = fs.statSync(file).size;
  const fake = await FakeGoogle.start();
  const refreshToken = fake.issueRefreshToken({ scope: YOUTUBE_SCOPE });
  const outFile = path.join(work, "out.jsonl");
  const flows = [
    { id: "t1", type: "tab", label: "bench" },
    { id: "yt", type: "youtube-account", name: "Channel", dailyQuota: 10000 },
    { id: "in", type: "http in", z: "t1", url: "/bench-upload", method: "post", wires: [["up", "ok"]] },
    { id: "ok", type: "http response", z: "t1", statusCode: "202", wires: [] },
    {
      id: "up",
      type: "youtube-upload",
      z: "t1",
      account: "yt",
      title: "{file}",
      chunkMiB: 8,
      wires: [["save"]],
    },
    {
      ...{ id: "save", type: "file", z: "t1", filename: outFile, filenameType: "str" },
      ...{ appendNewline: true, createDir: true, overwriteFile: "false", encoding: "none", wires: [[]] },
    },
  ];
  const dir = nodeRedUserDir(repositoryRoot(__dirname), flows, {
    yt: { clientId: FAKE_DEFAULTS.clientId, clientSecret: FAKE_DEFAULTS.clientSecret, refreshToken },
  });

  try {
    const curl1 = await curlOnce(fake, file, size, sha256);

    const red = await startNodeRed(dir, fake.env());
    await nodeRedReady(red);
    const pid = red.child.pid ?? 0;
    const before = { hwm: procKiB(pid, "VmHWM"), rss: procKiB(pid, "VmRSS") };
    const t0 = process.hrtime.bigint();
    const posted = await fetch(`http://127.0.0.1:${red.port}/bench-upload`, {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: file,
    });
    if (posted.status !== 202) throw new Error(`the flow answered ${posted.status}`);
    let peakRss = before.rss;
    while (!fs.existsSync(outFile) || !fs.readFileSync(outFile, "utf8").trim()) {
      peakRss = Math.max(peakRss, procKiB(pid, "VmRSS"));
      if (red.child.exitCode !== null) throw new Error(`Node-RED exited:\n${red.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const after = { hwm: procKiB(pid, "VmHWM"), rss: procKiB(pid, "VmRSS") };
    const out = JSON.parse(fs.readFileSync(outFile, "utf8").trim().split("\n")[0]) as { seconds: number };
    const video = fake.uploads.videos().at(-1);
    if (video?.sha256 !== sha256) throw new Error("Node-RED's upload did not arrive intact");
    await stopChild(red.child, "SIGTERM", 10_000);

    const curl2 = await curlOnce(fake, file, size, sha256);
    const curlMean = (curl1 + curl2) / 2;
    const rate = (s: number) => `${(size / MIB / s).toFixed(0)} MiB/s (${s.toFixed(2)} s)`;
    const mibOf = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
    console.log(
      `\nyoutube-upload, ${mib} MiB file to the local fake upload endpoint (sha256 checked each time)\n`,
    );
    console.log("| measure | value |");
    console.log("| --- | --- |");
    console.log(`| curl -T (one PUT), run 1 / run 2 | ${rate(curl1)} / ${rate(curl2)} |`);
    console.log(`| Node-RED youtube-upload, 8 MiB chunks (message to output) | ${rate(wall)} |`);
    console.log(`| throughput ratio Node-RED / curl (mean of the two) | ${(curlMean / wall).toFixed(2)}× |`);
    console.log(`| the node's own \`seconds\` | ${out.seconds} s |`);
    console.log(`| Node-RED peak RSS (VmHWM) before the upload | ${mibOf(before.hwm)} |`);
    console.log(`| Node-RED peak RSS (VmHWM) after the upload | ${mibOf(after.hwm)} |`);
    console.log(`| Node-RED RSS sampled during the upload, highest | ${mibOf(peakRss)} |`);
    console.log(`| peak growth while uploading ${mib} MiB | ${mibOf(after.hwm - before.hwm)} |`);
  } finally {
    await fake.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
