/**
 * The local RTSP server under hostile input: a bounded, seeded fuzz run of malformed request
 * lines, bad Content-Length values, interleaved `$` frames, slowloris clients, pipelined requests
 * that are never read and more connections than allowed, while real RTP (ffmpeg's encoder) flows
 * to the readers that play, and malformed or wrong credentials for a path that has them. Afterwards
 * the process is alive, the event loop was never blocked for long, and a real ffmpeg still plays
 * the stream, and with the password the one that has them.
 *
 * Seed 0x5eed2026 by default (RTSP_FUZZ_SEED repeats another run; the seed is in every failure);
 * at most 400 clients, 24 at a time, within an 8 s budget; about 10 s in all with the final read.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as dgram from "node:dgram";
import * as net from "node:net";
import { LocalRtspServer } from "../../src/webrtc/rtsp-server";
import { ffmpegPath } from "../fixtures/probe";
import { isRtcp, spawnRtpSource } from "../fixtures/rtp-source";
import { waitFor } from "../support/wait";

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.RTSP_FUZZ_SEED ?? 0x5eed2026);
const CLIENTS = 400;
const CONCURRENT = 24;
const BUDGET_MS = 8_000;
/** Marker placed after bare CR/LF and other control characters: it must never come back. */
const INJECTED = "X-Injected-By-Fuzz";

class Fuzzer {
  constructor(private readonly random: () => number) {}

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** A request line that is wrong in one way or another. */
  requestLine(url: string): string {
    const method = this.pick(["OPTIONS", "DESCRIBE", "SETUP", "PLAY", "TEARDOWN", "GET_PARAMETER", "FOO"]);
    return this.pick([
      `${method} ${url}`,
      `${method.toLowerCase()} ${url} RTSP/1.0`,
      `${method} ${url} RTSP/2.0`,
      `${method} ${url} HTTP/1.1`,
      `${method}  ${url}   RTSP/1.0 extra`,
      `${"A".repeat(1 + this.int(200))} ${url} RTSP/1.0`,
      `${method} ${url}/${"%".repeat(this.int(50))}%zz RTSP/1.0`,
      `${method} ${url}/${"x".repeat(3000 + this.int(8000))} RTSP/1.0`,
      `${method} rtsp://[::1 RTSP/1.0`,
      ` ${method} ${url} RTSP/1.0`,
      "",
      this.bytes(1 + this.int(40)).toString("latin1"),
    ]);
  }

  /** A Content-Length value for a head of `prefix` + value + CRLF CRLF. */
  contentLength(prefix: number): string {
    // Minus the whole head's size: the old parser stepped back to the start and looped.
    let selfCancelling = prefix + 6;
    while (prefix + String(-selfCancelling).length + 4 !== selfCancelling) {
      selfCancelling = prefix + String(-selfCancelling).length + 4;
    }
    return this.pick([
      "-1",
      `-${selfCancelling}`,
      `-${selfCancelling}`,
      `-${this.int(1e9)}`,
      "99999999999999999999",
      String(2 ** 31),
      String(65 * 1024 + this.int(1e6)),
      "abc",
      "1e3",
      "0x10",
      " 12 ",
      "+5",
      "5, 6",
      "",
      String(this.int(300)),
    ]);
  }

  headers(cseq: number): string[] {
    const lines = [`CSeq: ${cseq}`];
    for (let i = this.int(4); i > 0; i--) {
      lines.push(
        this.pick([
          `CSeq: ${cseq}\n${INJECTED}: 1`,
          `CSeq: ${cseq}\r${INJECTED}: 1`,
          `User-Agent: fuzz\u0000${INJECTED}`,
          "Session: 12345678;timeout=60",
          "Transport: RTP/AVP/TCP;unicast;interleaved=254-255",
          "Transport: RTP/AVP/TCP;interleaved=-1",
          "no colon here",
          ": empty name",
          `X-Long: ${"h".repeat(this.int(10_000))}`,
          `CSeq: ${cseq + 1}`,
        ]),
      );
    }
    return lines;
  }

  /** An Authorization header that is malformed or wrong. */
  authorization(): string {
    const b64 = (t: string) => Buffer.from(t).toString("base64");
    return this.pick([
      `Basic ${b64(`user:${"x".repeat(this.int(50))}`)}`,
      `Basic ${b64("no colon")}`,
      "Basic ***",
      "Basic",
      `Digest ${"a".repeat(this.int(5000))}`,
      `Digest username="u", realm="nest-restream", nonce="${"0".repeat(44)}", uri="/", response="00"`,
      `Digest username="u", realm="nest-restream", nonce="${this.bytes(22).toString("hex")}", uri="/", response="x"`,
      `Digest username="${"\\".repeat(this.int(3000))}`,
      `Digest ${"k=v,".repeat(this.int(1500))}`,
      `Digest username="u", qop=auth, nc=1, algorithm=MD5-sess, response="1"`,
      `Negotiate ${this.bytes(this.int(200)).toString("hex")}`,
      this.bytes(this.int(100)).toString("latin1"),
    ]);
  }

  /** `$` frames, complete or not, with random channels and lengths. */
  frames(): Buffer {
    const parts: Buffer[] = [];
    for (let i = 1 + this.int(4); i > 0; i--) {
      const len = this.pick([0, 1, 8, this.int(2000), 65535]);
      const head = Buffer.from([0x24, this.int(256), 0, 0]);
      head.writeUInt16BE(len, 2);
      const body = this.bytes(Math.min(len, this.int(2) ? len : this.int(len + 1)));
      parts.push(head, body);
    }
    return Buffer.concat(parts);
  }
}

interface Client {
  socket: net.Socket;
  received: Buffer[];
  closed: Promise<void>;
}

function connect(port: number): Promise<Client> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const received: Buffer[] = [];
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    socket.on("data", (d: Buffer) => {
      if (received.length < 64) received.push(d);
    });
    socket.on("error", () => undefined);
    socket.once("connect", () => resolve({ socket, received, closed }));
    socket.once("error", () => resolve({ socket, received, closed }));
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe("LocalRtspServer fuzz (seeded, bounded)", function () {
  this.timeout(60_000);
  let server: LocalRtspServer;
  let source: ChildProcess | undefined;
  const udp: dgram.Socket[] = [];

  before(async () => {
    server = new LocalRtspServer({
      describeWaitMs: 2_000,
      limits: { requestTimeoutMs: 300, idleTimeoutMs: 1_000, maxConnections: 32, closeGraceMs: 500 },
      // The fuzz and the final reader share one address: no lock-out here (the unit tests have it).
      auth: { maxFailures: 1_000_000 },
    });
    await server.listen();
    const [vsock, asock] = [dgram.createSocket("udp4"), dgram.createSocket("udp4")];
    udp.push(vsock, asock);
    await Promise.all(udp.map((s) => new Promise<void>((r) => s.bind(0, "127.0.0.1", r))));
    for (const cam of ["cam", "locked"]) {
      vsock.on("message", (p: Buffer) => isRtcp(p) || server.send(cam, "video", p));
      asock.on("message", (p: Buffer) => isRtcp(p) || server.send(cam, "audio", p));
      server.addStream(cam, {
        describe: () => ({
          video: { payloadType: 96 },
          audio: { payloadType: 97, clockRate: 48000, channels: 2 },
        }),
        credentials: cam === "locked" ? { user: "fuzz", password: "right:pass@word" } : undefined,
      });
    }
    const [vport, aport] = [vsock.address().port, asock.address().port];
    source = spawnRtpSource(vport, aport, 60);
  });

  after(async () => {
    source?.kill("SIGKILL");
    for (const s of udp) s.close();
    await server.close();
  });

  it(`survives ${CLIENTS} hostile clients (seed ${SEED}) and still plays the stream`, async function () {
    const fuzz = new Fuzzer(mulberry32(SEED));
    const url = server.url("cam");
    const port = server.port;

    // The event loop's longest stall: a parser that loops or re-copies huge buffers shows here.
    let last = performance.now();
    let maxGap = 0;
    const tick = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 10);

    const statuses = new Map<number, number>();
    const scenarios = new Map<string, number>();
    let injectedEchoed = 0;

    /** One client: sends what the scenario says, then closes within a bounded time. */
    const run = async (n: number) => {
      const kind = fuzz.pick([
        "request-line",
        "content-length",
        "frames",
        "slowloris",
        "silent",
        "playing-then-garbage",
        "pipelined-unread",
        "random-bytes",
        "headers",
        "crowd",
        "auth",
      ]);
      scenarios.set(kind, (scenarios.get(kind) ?? 0) + 1);
      const c = await connect(port);
      const write = (data: string | Buffer) => {
        if (!c.socket.destroyed)
          c.socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data);
      };
      const cseq = n + 1;
      switch (kind) {
        case "request-line":
          write(`${fuzz.requestLine(url)}\r\n${fuzz.headers(cseq).join("\r\n")}\r\n\r\n`);
          break;
        case "content-length": {
          const head = `SET_PARAMETER ${url} RTSP/1.0\r\nCSeq: ${cseq}\r\nContent-Length: `;
          write(`${head}${fuzz.contentLength(head.length)}\r\n\r\n${"b".repeat(fuzz.int(400))}`);
          break;
        }
        case "frames":
          write(fuzz.frames());
          write(`OPTIONS ${url} RTSP/1.0\r\nCSeq: ${cseq}\r\n\r\n`);
          write(fuzz.frames());
          break;
        case "slowloris": {
          const text = `DESCRIBE ${url} RTSP/1.0\r\nCSeq: ${cseq}\r\nX-Slow: ${"s".repeat(40)}`;
          for (let i = 0; i < text.length && !c.socket.destroyed; i += 1 + fuzz.int(3)) {
            write(text.slice(i, i + 3));
            await sleep(20 + fuzz.int(60));
          }
          break;
        }
        case "silent":
          break;
        case "playing-then-garbage":
          write(
            `SETUP ${url}/trackID=0 RTSP/1.0\r\nCSeq: ${cseq}\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n`,
          );
          await sleep(30);
          write(`PLAY ${url}/ RTSP/1.0\r\nCSeq: ${cseq + 1}\r\n\r\n`);
          await sleep(100 + fuzz.int(300));
          write(fuzz.frames());
          write(fuzz.bytes(fuzz.int(500)));
          break;
        case "pipelined-unread":
          c.socket.pause();
          write(`GET_PARAMETER ${url} RTSP/1.0\r\nCSeq: ${cseq}\r\n\r\n`.repeat(200 + fuzz.int(3000)));
          break;
        case "random-bytes":
          write(fuzz.bytes(1 + fuzz.int(20_000)));
          break;
        case "headers":
          write(`OPTIONS ${url} RTSP/1.0\r\n${fuzz.headers(cseq).join("\r\n")}\r\n\r\n`);
          break;
        case "auth":
          for (let i = 1 + fuzz.int(4); i > 0; i--) {
            const method = fuzz.pick(["DESCRIBE", "SETUP", "PLAY", "GET_PARAMETER"]);
            write(
              `${method} ${server.url("locked")} RTSP/1.0\r\nCSeq: ${cseq}\r\n` +
                `Authorization: ${fuzz.authorization()}\r\n\r\n`,
            );
          }
          break;
        case "crowd": {
          // Many connections at once: beyond the limit they are answered 503.
          const crowd = await Promise.all(Array.from({ length: 4 + fuzz.int(12) }, () => connect(port)));
          await sleep(100 + fuzz.int(400));
          for (const other of crowd) {
            const text = Buffer.concat(other.received).toString("latin1");
            for (const m of text.matchAll(/RTSP\/1\.0 (\d{3}) /g)) {
              statuses.set(Number(m[1]), (statuses.get(Number(m[1])) ?? 0) + 1);
            }
            other.socket.destroy();
          }
          break;
        }
      }
      // Stay a while (the server's timeouts may end it first), then go.
      await Promise.race([c.closed, sleep(100 + fuzz.int(1_200))]);
      c.socket.destroy();
      await c.closed;
      const text = Buffer.concat(c.received).toString("latin1");
      if (text.includes(INJECTED)) injectedEchoed++;
      for (const m of text.matchAll(/RTSP\/1\.0 (\d{3}) /g)) {
        statuses.set(Number(m[1]), (statuses.get(Number(m[1])) ?? 0) + 1);
      }
    };

    const started = Date.now();
    let next = 0;
    const workers = Array.from({ length: CONCURRENT }, async () => {
      while (next < CLIENTS && Date.now() - started < BUDGET_MS) await run(next++);
    });
    await Promise.all(workers);
    const fuzzed = next;
    const fuzzMs = Date.now() - started;
    // (Measured over the fuzzing only: spawning the reader below blocks the loop a little itself.)
    clearInterval(tick);

    // Every refused or idle connection is gone again: the slots are free for real readers.
    await waitFor(() => server.readerCount("cam") === 0, 5_000, "the fuzz readers gone");

    // A real reader still plays both tracks, and one with the password the path that has one.
    const play = async (input: string) => {
      const reader = spawn(
        ffmpegPath(),
        [
          ...["-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", input],
          ...["-t", "2", "-c", "copy", "-f", "null", "-"],
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let text = "";
      reader.stderr?.on("data", (d: Buffer) => (text += d.toString()));
      const exit = await new Promise<number | null>((r) => reader.on("exit", r));
      return { code: exit, stderr: text };
    };
    const [{ code, stderr }, locked] = await Promise.all([play(url), play(server.readerUrl("locked"))]);

    const summary = JSON.stringify({
      seed: SEED,
      fuzzed,
      fuzzMs,
      maxGapMs: Math.round(maxGap),
      statuses: Object.fromEntries(statuses),
      scenarios: Object.fromEntries(scenarios),
    });
    assert.equal(code, 0, `${summary}\n${stderr}`);
    assert.match(stderr, /Stream #0:0: Video: h264/);
    assert.match(stderr, /Stream #0:1: Audio: opus/);
    const frames = [...stderr.matchAll(/frame=\s*(\d+)/g)].map((m) => Number(m[1]));
    assert.ok((frames.pop() ?? 0) >= 15, `${summary}\n${stderr}`);
    assert.equal(locked.code, 0, `${summary}\n${locked.stderr}`);
    assert.ok(scenarios.has("auth") && statuses.has(401), `no 401 seen: ${summary}`);

    assert.ok(fuzzed >= 100, `too few clients in the time budget: ${summary}`);
    assert.equal(injectedEchoed, 0, `a reply echoed injected header text: ${summary}`);
    // The refusals came with their status (not only a closed socket).
    for (const status of [400, 503]) assert.ok(statuses.has(status), `no ${status} seen: ${summary}`);
    const allowed = new Set([200, 400, 401, 404, 408, 413, 414, 454, 455, 459, 461, 501, 503]);
    for (const status of statuses.keys()) assert.ok(allowed.has(status), `unexpected ${status}: ${summary}`);
    // Far below a blocked loop (today's parser never came back at all): a loaded 2-core machine
    // running ffmpeg beside the test still ticks within a few hundred milliseconds.
    assert.ok(maxGap < 1_000, `the event loop stalled for ${Math.round(maxGap)} ms: ${summary}`);
    if (process.env.RTSP_FUZZ_VERBOSE) console.log(summary);
  });
});
