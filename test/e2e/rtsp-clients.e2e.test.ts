/**
 * The local RTSP server against the RTSP clients people point at it: real ffmpeg and GStreamer's
 * rtspsrc (gst-launch-1.0), each with its default transport (both try UDP first: the server answers
 * 461 Unsupported Transport and they set up TCP interleaved instead) and with TCP forced; a path
 * with a user name and password (Digest, which both choose over Basic; right → frames, wrong or
 * none → 401 and the reader fails) beside one without. RTP comes from a real encoder (ffmpeg to UDP),
 * fed to the server as the WebRTC bridge and the RTSP relay feed it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as dgram from "node:dgram";
import { withCredentials } from "../../src/webrtc/rtsp-auth";
import { LocalRtspServer } from "../../src/webrtc/rtsp-server";
import { ffmpegPath } from "../fixtures/probe";
import { isRtcp, spawnRtpSource } from "../fixtures/rtp-source";

/** Special characters on purpose: the URL carries them percent-encoded, as the node sends it. */
const CREDS = { user: "frigate", password: "p@ss:w/rd %x!" };

interface Run {
  code: number | null;
  output: string;
}

/** Runs a reader to its end (at most `timeoutMs`; then it is killed and the run fails). */
function runReader(cmd: string, args: string[], timeoutMs = 25_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-20_000));
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** ffmpeg reads 2 s of both tracks (`transport` undefined: its default, UDP first). */
function ffmpeg(url: string, transport?: "tcp"): Promise<Run> {
  return runReader(ffmpegPath(), [
    ...["-hide_banner", "-nostdin", "-loglevel", "info"],
    ...(transport ? ["-rtsp_transport", transport] : []),
    ...["-timeout", "10000000", "-i", url],
    ...["-t", "2", "-map", "0", "-c", "copy", "-f", "null", "-"],
  ]);
}

/**
 * gst-launch-1.0 rtspsrc: 30 H.264 buffers, then EOS (`protocols` undefined: its default, UDP first).
 * The Opus track is linked too, as a reader of a stream with audio must: rtspsrc stops with
 * "not-linked" when the first packets to come are on a track nothing reads.
 */
function gst(url: string, protocols?: "tcp"): Promise<Run> {
  return runReader("gst-launch-1.0", [
    "rtspsrc",
    `location=${url}`,
    ...(protocols ? [`protocols=${protocols}`] : []),
    "latency=0",
    "name=s",
    ...["s.", "!", "application/x-rtp,media=video", "!", "rtph264depay", "!", "h264parse"],
    ...["!", "fakesink", "num-buffers=30", "sync=false"],
    ...["s.", "!", "application/x-rtp,media=audio", "!", "rtpopusdepay", "!", "fakesink", "sync=false"],
  ]);
}

const lastFrame = (r: Run) => Number([...r.output.matchAll(/frame=\s*(\d+)/g)].pop()?.[1] ?? 0);

describe("local RTSP server with real clients: ffmpeg and GStreamer, default transport and TCP, Digest", function () {
  this.timeout(120_000);
  let server: LocalRtspServer;
  let source: ReturnType<typeof spawnRtpSource> | undefined;
  const udp: dgram.Socket[] = [];
  const logs: string[] = [];
  let open: string;
  let locked: string;

  before(async () => {
    server = new LocalRtspServer({
      log: (_level, message) => logs.push(message),
      // The wrong passwords below come from one address, more than the default 10 a minute.
      auth: { maxFailures: 100 },
    });
    await server.listen();
    const [vsock, asock] = [dgram.createSocket("udp4"), dgram.createSocket("udp4")];
    udp.push(vsock, asock);
    await Promise.all(udp.map((s) => new Promise<void>((r) => s.bind(0, "127.0.0.1", r))));
    for (const cam of ["open", "locked"]) {
      server.addStream(cam, {
        describe: () => ({
          video: { payloadType: 96 },
          audio: { payloadType: 97, clockRate: 48000, channels: 2 },
        }),
        credentials: cam === "locked" ? CREDS : undefined,
      });
      vsock.on("message", (p: Buffer) => isRtcp(p) || server.send(cam, "video", p));
      asock.on("message", (p: Buffer) => isRtcp(p) || server.send(cam, "audio", p));
    }
    source = spawnRtpSource(vsock.address().port, asock.address().port, 110);
    open = server.readerUrl("open");
    locked = server.readerUrl("locked");
  });

  after(async () => {
    source?.kill("SIGKILL");
    for (const s of udp) s.close();
    await server.close();
  });

  beforeEach(() => {
    logs.length = 0;
  });

  const udpRefused = () => logs.filter((l) => /asked for UDP: 461/.test(l)).length;
  const sessionsEnded = (camera: string) =>
    logs.filter((l) => l === `a local RTSP reader of "${camera}" ended its session`).length;
  const signedIn = (scheme: string) =>
    logs.filter((l) => l.includes(`signed in to "locked" (${scheme})`)).length;

  it("gives the URL with the user and password percent-encoded, and none for a path without", () => {
    assert.equal(locked, `rtsp://frigate:p%40ss%3Aw%2Frd%20%25x%21@127.0.0.1:${server.port}/locked`);
    assert.equal(open, `rtsp://127.0.0.1:${server.port}/open`);
  });

  for (const transport of [undefined, "tcp"] as const) {
    const name = transport ? "-rtsp_transport tcp" : "its default transport (UDP first, 461, then TCP)";

    it(`ffmpeg with ${name}: frames without a password, and with the right one over Digest`, async () => {
      for (const url of [open, locked]) {
        const r = await ffmpeg(url, transport);
        assert.equal(r.code, 0, r.output);
        assert.match(r.output, /Stream #0:0: Video: h264/);
        assert.match(r.output, /Stream #0:1: Audio: opus, 48000 Hz/);
        assert.ok(lastFrame(r) >= 15, r.output);
      }
      assert.equal(signedIn("Digest"), 1, logs.join("\n"));
      assert.equal(signedIn("Basic"), 0);
      if (transport) assert.equal(udpRefused(), 0);
      else assert.ok(udpRefused() >= 2, `ffmpeg tried UDP first: ${logs.join("\n")}`);
    });

    const gname = transport
      ? "rtspsrc protocols=tcp"
      : "rtspsrc's default protocols (UDP first, 461, then TCP)";
    it(`GStreamer ${gname}: frames without a password, and with the right one over Digest`, async () => {
      for (const url of [open, locked]) {
        const camera = url === open ? "open" : "locked";
        const endedBefore = sessionsEnded(camera);
        const r = await gst(url, transport);
        // The frames came: 30 buffers, then EOS, and the pipeline ran to its end.
        assert.match(r.output, /Got EOS from element/, r.output);
        assert.match(r.output, /Execution ended after/, r.output);
        if (r.code !== 0) {
          const nulled = r.output.indexOf("Setting pipeline to NULL");
          assert.ok(nulled >= 0, `failed before its teardown:\n${r.output}`);
          const teardown = r.output.slice(nulled);
          // rtspsrc's own teardown after EOS: its TEARDOWN and its PAUSE race on the one connection
          // (seen about 1 run in 50 on a loaded machine): the server answers the TEARDOWN, rtspsrc
          // closes the connection, and its PAUSE then finds it closed ("Received end-of-file"); that
          // is forgiven once the server has seen the client end its session. Or gst-launch hangs
          // there and is killed by the reader's timeout (seen once): forgiven when nothing follows.
          const errors = [...teardown.matchAll(/^ERROR: .*$/gm)];
          const eof = [...teardown.matchAll(/Could not send message\. \(Received end-of-file\)/g)];
          const hung = /^Setting pipeline to NULL \.\.\.\s*$/.test(teardown);
          assert.ok(hung || (errors.length > 0 && eof.length === errors.length), r.output);
          if (!hung) assert.equal(sessionsEnded(camera), endedBefore + 1, `${r.output}\n${logs.join("\n")}`);
          console.warn(
            `      (gst-launch-1.0 failed in its own teardown after EOS: ${hung ? "hung" : "PAUSE after TEARDOWN"})`,
          );
        }
      }
      assert.equal(signedIn("Digest"), 1, logs.join("\n"));
      assert.equal(signedIn("Basic"), 0);
      if (transport) assert.equal(udpRefused(), 0);
      else assert.ok(udpRefused() >= 2, `rtspsrc tried UDP first: ${logs.join("\n")}`);
    });
  }

  it("a wrong password or none: 401, and ffmpeg and rtspsrc fail, with either transport", async () => {
    const plain = server.url("locked");
    const wrong = withCredentials(plain, { user: CREDS.user, password: "p@ss:w/rd %y!" });
    const otherUser = withCredentials(plain, { user: "admin", password: CREDS.password });
    for (const url of [plain, wrong, otherUser]) {
      for (const transport of [undefined, "tcp"] as const) {
        const f = await ffmpeg(url, transport);
        assert.notEqual(f.code, 0, f.output);
        assert.match(f.output, /401 Unauthorized/, f.output);
        assert.doesNotMatch(f.output, /Stream #0:0/);
        const g = await gst(url, transport);
        assert.notEqual(g.code, 0, g.output);
        assert.match(g.output, /Unauthorized \(401\)/, g.output);
        assert.doesNotMatch(g.output, /Got EOS/);
      }
    }
    assert.equal(signedIn("Digest") + signedIn("Basic"), 0, logs.join("\n"));
    assert.equal(server.readerCount("locked"), 0);
  });
  it("an address that guessed wrong too often is refused (403) even with the right password, by both clients", async () => {
    const strict = new LocalRtspServer({ auth: { maxFailures: 2 }, log: (_l, m) => logs.push(m) });
    await strict.listen();
    try {
      strict.addStream("locked", { describe: () => undefined, credentials: CREDS });
      const right = strict.readerUrl("locked");
      const wrong = withCredentials(strict.url("locked"), { user: CREDS.user, password: "guess" });
      // ffmpeg answers a 401 with a wrong Digest once or twice per run: the second guess may be the last.
      assert.match((await ffmpeg(wrong, "tcp")).output, /401 Unauthorized|403 Forbidden/);
      await ffmpeg(wrong, "tcp");
      const f = await ffmpeg(right, "tcp");
      assert.notEqual(f.code, 0);
      assert.match(f.output, /403 Forbidden/, f.output);
      const g = await gst(right, "tcp");
      assert.notEqual(g.code, 0);
      assert.match(g.output, /Forbidden \(403\)/, g.output);
      assert.ok(logs.some((l) => /too many wrong passwords/.test(l)));
    } finally {
      await strict.close();
    }
  });
});
