import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as dgram from "node:dgram";
import * as net from "node:net";
import { LocalRtspServer, type RtspStreamDescription } from "../../src/webrtc/rtsp-server";
import { buildRtspSdp, fixNestAnswer, parseNegotiatedMedia } from "../../src/webrtc/sdp";
import { isRtcp, spawnRtpSource } from "../fixtures/rtp-source";
import { FakeClock } from "../support/fake-clock";
import { basicAnswer, digestAnswer, digestParams } from "../support/rtsp-digest";
import { untilWithin } from "../support/wait";

interface Response {
  status: number;
  headers: Map<string, string>;
  body: string;
  /** The status line and header lines as they came (a header may come more than once). */
  head: string[];
}

/** A raw RTSP client: sends requests, collects responses and interleaved `$` frames. */
class RawRtspClient {
  private buffer = Buffer.alloc(0);
  private cseq = 0;
  private pending: ((r: Response) => void)[] = [];
  readonly frames: { channel: number; packet: Buffer }[] = [];
  closed = false;
  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => undefined);
  }

  static connect(port: number): Promise<RawRtspClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1", () => resolve(new RawRtspClient(s)));
      s.once("error", reject);
    });
  }

  request(method: string, uri: string, headers: Record<string, string> = {}): Promise<Response> {
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${++this.cseq}`, "User-Agent: raw-test"];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    this.socket.write(lines.join("\r\n") + "\r\n\r\n");
    return new Promise((resolve) => this.pending.push(resolve));
  }

  /** Writes an interleaved frame to the server (as a reader's RTCP would be). */
  sendFrame(channel: number, payload: Buffer): void {
    const head = Buffer.from([0x24, channel, 0, 0]);
    head.writeUInt16BE(payload.length, 2);
    this.socket.write(Buffer.concat([head, payload]));
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, d]);
    for (;;) {
      const b = this.buffer;
      if (b.length === 0) return;
      if (b[0] === 0x24) {
        if (b.length < 4) return;
        const len = b.readUInt16BE(2);
        if (b.length < 4 + len) return;
        this.frames.push({ channel: b[1], packet: Buffer.from(b.subarray(4, 4 + len)) });
        this.buffer = b.subarray(4 + len);
        continue;
      }
      const end = b.indexOf("\r\n\r\n");
      if (end < 0) return;
      const lines = b.subarray(0, end).toString("latin1").split("\r\n");
      const headers = new Map<string, string>();
      for (const l of lines.slice(1)) {
        const i = l.indexOf(":");
        headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
      }
      const len = Number(headers.get("content-length") ?? 0);
      if (b.length < end + 4 + len) return;
      const body = b.subarray(end + 4, end + 4 + len).toString("utf8");
      this.buffer = b.subarray(end + 4 + len);
      const status = Number(lines[0].split(" ")[1]);
      this.pending.shift()?.({ status, headers, body, head: lines });
    }
  }
}

function rtp(pt: number, seq: number, payload: number[]): Buffer {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = pt;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 3000, 4);
  b.writeUInt32BE(0x12345678, 8);
  Buffer.from(payload).copy(b, 12);
  return b;
}

const until = untilWithin(3_000, 10);

const DESC: RtspStreamDescription = {
  video: {
    payloadType: 102,
    fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    spropParameterSets: "Z0LgH9oCgL/lhA==,aM48gA==",
  },
  audio: { payloadType: 111, clockRate: 48000, channels: 2, fmtp: "minptime=10;useinbandfec=1" },
};

describe("LocalRtspServer", () => {
  let server: LocalRtspServer;
  let plays = 0;
  let desc: RtspStreamDescription | undefined;
  const clients: RawRtspClient[] = [];
  const connect = async () => {
    const c = await RawRtspClient.connect(server.port);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    plays = 0;
    desc = DESC;
    server = new LocalRtspServer({ describeWaitMs: 300 });
    await server.listen();
    server.addStream("front door", { describe: () => desc, onPlay: () => plays++ });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  it("binds to loopback on an ephemeral port and names one path per camera", () => {
    assert.ok(server.port > 0);
    assert.equal(server.url("front door"), `rtsp://127.0.0.1:${server.port}/front%20door`);
  });

  it("answers OPTIONS, DESCRIBE with the negotiated payload types, and 404 for unknown paths", async () => {
    const c = await connect();
    const url = server.url("front door");
    const opt = await c.request("OPTIONS", url);
    assert.equal(opt.status, 200);
    assert.match(opt.headers.get("public") ?? "", /DESCRIBE.*SETUP.*PLAY.*TEARDOWN.*GET_PARAMETER/);
    const d = await c.request("DESCRIBE", url, { Accept: "application/sdp" });
    assert.equal(d.status, 200);
    assert.equal(d.headers.get("content-type"), "application/sdp");
    assert.equal(d.headers.get("content-base"), url + "/");
    const sdp = d.body;
    assert.match(sdp, /^m=video 0 RTP\/AVP 102$/m);
    assert.match(sdp, /^a=rtpmap:102 H264\/90000$/m);
    assert.match(sdp, /^a=fmtp:102 .*packetization-mode=1/m);
    assert.match(sdp, /sprop-parameter-sets=Z0LgH9oCgL\/lhA==,aM48gA==/);
    assert.doesNotMatch(sdp, /level-asymmetry-allowed/);
    assert.match(sdp, /^m=audio 0 RTP\/AVP 111$/m);
    assert.match(sdp, /^a=rtpmap:111 opus\/48000\/2$/m);
    assert.ok(sdp.indexOf("a=control:trackID=0") < sdp.indexOf("a=control:trackID=1"));
    assert.equal((await c.request("DESCRIBE", server.url("back door"))).status, 404);
  });

  it("waits a little for a stream whose media is not known yet, then 503", async () => {
    desc = undefined;
    const c = await connect();
    const started = Date.now();
    const slow = c.request("DESCRIBE", server.url("front door"));
    setTimeout(() => {
      desc = DESC;
      server.ready("front door");
    }, 100);
    assert.equal((await slow).status, 200);
    assert.ok(Date.now() - started >= 90);
    desc = undefined;
    assert.equal((await c.request("DESCRIBE", server.url("front door"))).status, 503);
  });

  it("refuses UDP transport with 461 and sets up TCP interleaved channels 0-1 and 2-3", async () => {
    const c = await connect();
    const url = server.url("front door");
    const udp = await c.request("SETUP", url + "/trackID=0", {
      Transport: "RTP/AVP;unicast;client_port=5000-5001",
    });
    assert.equal(udp.status, 461);
    const v = await c.request("SETUP", url + "/trackID=0", {
      Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
    });
    assert.equal(v.status, 200);
    assert.equal(v.headers.get("transport"), "RTP/AVP/TCP;unicast;interleaved=0-1");
    const session = (v.headers.get("session") ?? "").split(";")[0];
    assert.ok(session.length > 0);
    const a = await c.request("SETUP", url + "/trackID=1", {
      Transport: "RTP/AVP/TCP;unicast;interleaved=2-3",
      Session: session,
    });
    assert.equal(a.status, 200);
    assert.equal(a.headers.get("transport"), "RTP/AVP/TCP;unicast;interleaved=2-3");
    assert.equal((await c.request("SETUP", url + "/trackID=7", { Transport: "RTP/AVP/TCP" })).status, 404);
    assert.equal((await c.request("PLAY", url + "/", { Session: "other" })).status, 454);
  });

  it("forwards RTP framed as $ channel length packet to two playing readers, with a keyframe callback per PLAY", async () => {
    const url = server.url("front door");
    const setupAndPlay = async (c: RawRtspClient) => {
      const v = await c.request("SETUP", url + "/trackID=0", {
        Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
      });
      const session = (v.headers.get("session") ?? "").split(";")[0];
      await c.request("SETUP", url + "/trackID=1", {
        Transport: "RTP/AVP/TCP;unicast;interleaved=2-3",
        Session: session,
      });
      const play = await c.request("PLAY", url + "/", { Session: session, Range: "npt=0.000-" });
      assert.equal(play.status, 200);
      return session;
    };
    const a = await connect();
    const b = await connect();
    // Not yet playing: nothing is sent.
    server.send("front door", "video", rtp(102, 1, [0x65, 1]));
    const sa = await setupAndPlay(a);
    await setupAndPlay(b);
    assert.equal(plays, 2);
    assert.equal(server.readerCount("front door"), 2);
    const v = rtp(102, 2, [0x65, 1, 2, 3]);
    const au = rtp(111, 3, [0xfc, 9, 9]);
    server.send("front door", "video", v);
    server.send("front door", "audio", au);
    server.send("other camera", "video", v);
    await until(() => a.frames.length === 2 && b.frames.length === 2);
    for (const c of [a, b]) {
      assert.deepEqual(c.frames[0], { channel: 0, packet: v });
      assert.deepEqual(c.frames[1], { channel: 2, packet: au });
    }
    // Reader RTCP in the connection is skipped, keep-alives are answered.
    a.sendFrame(1, Buffer.from([0x81, 0xc9, 0, 1, 0, 0, 0, 1]));
    assert.equal((await a.request("GET_PARAMETER", url + "/", { Session: sa })).status, 200);
    assert.equal((await a.request("SET_PARAMETER", url + "/", { Session: sa })).status, 200);
    // TEARDOWN stops one reader; the other keeps receiving.
    assert.equal((await a.request("TEARDOWN", url + "/", { Session: sa })).status, 200);
    server.send("front door", "video", rtp(102, 4, [0x41]));
    await until(() => b.frames.length === 3);
    // One flush writes every reader: a frame for a was written before this answer on a's connection.
    assert.equal((await a.request("OPTIONS", "*")).status, 200);
    assert.equal(a.frames.length, 2);
    assert.equal(server.readerCount("front door"), 1);
    server.dropReaders("front door");
    await until(() => b.closed);
    assert.equal(server.readerCount("front door"), 0);
  });

  it("writes a burst of packets in order to each reader, framed on that reader's own channels", async () => {
    const url = server.url("front door");
    const play = async (c: RawRtspClient, video: number, audio: number) => {
      const v = await c.request("SETUP", url + "/trackID=0", {
        Transport: `RTP/AVP/TCP;unicast;interleaved=${video}-${video + 1}`,
      });
      const session = (v.headers.get("session") ?? "").split(";")[0];
      await c.request("SETUP", url + "/trackID=1", {
        Transport: `RTP/AVP/TCP;unicast;interleaved=${audio}-${audio + 1}`,
        Session: session,
      });
      assert.equal((await c.request("PLAY", url + "/", { Session: session })).status, 200);
    };
    // Two readers on the usual channels (one write shared) and one on others (framed apart).
    const readers = [await connect(), await connect(), await connect()];
    await play(readers[0] as RawRtspClient, 0, 2);
    await play(readers[1] as RawRtspClient, 0, 2);
    await play(readers[2] as RawRtspClient, 4, 6);
    const sent: { kind: "video" | "audio"; packet: Buffer }[] = [];
    for (let i = 0; i < 12; i++) {
      const kind = i % 3 === 2 ? "audio" : "video";
      const packet = kind === "video" ? rtp(102, 10 + i, [0x41, i]) : rtp(111, 10 + i, [0xfc, i]);
      sent.push({ kind, packet });
      server.send("front door", kind, packet);
    }
    await until(() => readers.every((c) => c.frames.length === sent.length));
    for (const [n, c] of readers.entries()) {
      const [video, audio] = n === 2 ? [4, 6] : [0, 2];
      assert.deepEqual(
        c.frames,
        sent.map((p) => ({ channel: p.kind === "video" ? video : audio, packet: p.packet })),
      );
    }
  });

  it("serves real ffmpeg over TCP after refusing its UDP setup (461 fallback), with RTP from a real encoder", async function () {
    this.timeout(30000);
    // A real H.264 + Opus RTP source: ffmpeg encodes to UDP, the test feeds the packets in.
    const vsock = dgram.createSocket("udp4");
    const asock = dgram.createSocket("udp4");
    await new Promise<void>((r) => vsock.bind(0, "127.0.0.1", r));
    await new Promise<void>((r) => asock.bind(0, "127.0.0.1", r));
    const vport = vsock.address().port;
    const aport = asock.address().port;
    desc = { video: { payloadType: 96 }, audio: { payloadType: 97, clockRate: 48000, channels: 2 } };
    vsock.on("message", (p: Buffer) => {
      if (!isRtcp(p)) server.send("front door", "video", p);
    });
    asock.on("message", (p: Buffer) => {
      if (!isRtcp(p)) server.send("front door", "audio", p);
    });
    // (rtcpport sends ffmpeg's RTCP to the same socket, where it is filtered out.)
    const source = spawnRtpSource(vport, aport);
    try {
      // Default transports: ffmpeg tries UDP first, gets 461 and falls back to TCP.
      const reader = spawn(
        "ffmpeg",
        [
          "-hide_banner",
          "-nostdin",
          "-i",
          server.url("front door"),
          "-t",
          "2",
          "-c",
          "copy",
          "-f",
          "null",
          "-",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      reader.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((r) => reader.on("exit", r));
      assert.equal(code, 0, stderr);
      assert.match(stderr, /Stream #0:0: Video: h264/);
      assert.match(stderr, /Stream #0:1: Audio: opus, 48000 Hz/);
      const frames = [...stderr.matchAll(/frame=\s*(\d+)/g)].map((m) => Number(m[1]));
      assert.ok((frames.pop() ?? 0) >= 15, stderr);
      assert.ok(plays >= 1);
    } finally {
      source.kill("SIGKILL");
      vsock.close();
      asock.close();
    }
  });
});

describe("WebRTC bridge SDP helpers", () => {
  it("describes H.264 and Opus for RTSP readers, without sprop when the parameter sets are unknown", () => {
    const sdp = buildRtspSdp({
      host: "127.0.0.1",
      name: "cam",
      sessionId: 1,
      video: {
        payloadType: 97,
        fmtp: "profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1",
      },
      audio: { payloadType: 96, clockRate: 48000, channels: 2 },
    });
    assert.match(sdp, /^a=fmtp:97 profile-level-id=42e01f;packetization-mode=1\r$/m);
    assert.doesNotMatch(sdp, /sprop/);
    assert.match(sdp, /^a=rtpmap:96 opus\/48000\/2\r$/m);
    assert.ok(sdp.endsWith("\r\n"));
  });

  it("reads negotiated payload types and feedback from an answer, skipping rejected sections", () => {
    const answer = [
      "v=0",
      "m=audio 9 UDP/TLS/RTP/SAVPF 111",
      "a=rtpmap:111 opus/48000/2",
      "a=fmtp:111 minptime=10;useinbandfec=1",
      "m=video 9 UDP/TLS/RTP/SAVPF 102 103",
      "a=rtpmap:102 H264/90000",
      "a=rtcp-fb:102 nack pli",
      "a=rtcp-fb:102 ccm fir",
      "a=fmtp:102 packetization-mode=1;profile-level-id=4d001f",
      "a=rtpmap:103 rtx/90000",
      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    ].join("\r\n");
    assert.deepEqual(parseNegotiatedMedia(answer), {
      audio: {
        payloadType: 111,
        codec: "opus",
        clockRate: 48000,
        channels: 2,
        fmtp: "minptime=10;useinbandfec=1",
      },
      video: {
        payloadType: 102,
        codec: "H264",
        clockRate: 90000,
        fmtp: "packetization-mode=1;profile-level-id=4d001f",
        fir: true,
        pli: true,
      },
    });
    assert.deepEqual(parseNegotiatedMedia(answer.replace("m=audio 9", "m=audio 0")).audio, undefined);
  });

  it("repairs Nest answers: sendrecv for receive-only media, candidates without foundation", () => {
    const fixed = fixNestAnswer(
      [
        "v=0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=sendrecv",
        "a=candidate: 1 udp 2113939711 74.125.247.232 19305 typ host generation 0",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "a=sendrecv",
      ].join("\n"),
    );
    assert.equal(
      fixed,
      [
        "v=0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=sendonly",
        "a=candidate:nest1 1 udp 2113939711 74.125.247.232 19305 typ host generation 0",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "a=sendrecv",
        "",
      ].join("\r\n"),
    );
  });
});

/** A raw TCP client: writes bytes as given, keeps everything the server answers. */
class RawSocket {
  text = "";
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => (this.text += d.toString("latin1")));
    socket.on("close", () => (this.closed = true));
    socket.on("error", () => undefined);
  }

  static connect(port: number): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1", () => resolve(new RawSocket(s)));
      s.once("error", reject);
    });
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Status codes of the replies received so far. */
  get statuses(): number[] {
    return [...this.text.matchAll(/^RTSP\/1\.0 (\d{3}) /gm)].map((m) => Number(m[1]));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** `OPTIONS` with a Content-Length equal to minus the head's own size plus 4. */
function selfCancellingRequest(): string {
  let n = 60;
  for (;;) {
    const head = `OPTIONS * RTSP/1.0\r\nCSeq: 7\r\nContent-Length: -${n}\r\n\r\n`;
    if (head.length === n) return head;
    n = head.length;
  }
}

describe("LocalRtspServer limits (hostile clients)", () => {
  let server: LocalRtspServer;
  const logs: string[] = [];
  const sockets: RawSocket[] = [];
  const open = async () => {
    const s = await RawSocket.connect(server.port);
    sockets.push(s);
    return s;
  };
  const start = async (limits: ConstructorParameters<typeof LocalRtspServer>[0] = {}) => {
    server = new LocalRtspServer({ ...limits, log: (_level, message) => logs.push(message) });
    await server.listen();
    server.addStream("cam", { describe: () => DESC });
  };
  /** The server still answers a well-formed request on a new connection. */
  const stillServes = async () => {
    const c = await RawRtspClient.connect(server.port);
    try {
      assert.equal((await c.request("DESCRIBE", server.url("cam"))).status, 200);
    } finally {
      c.close();
    }
  };

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    logs.length = 0;
    await server.close();
  });

  it("answers a negative, non-numeric or too large Content-Length with 400 or 413 and closes", async () => {
    await start();
    const cases: [string, number][] = [
      ["OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: -5\r\n\r\n", 400],
      ["OPTIONS * RTSP/1.0\r\nCSeq: 2\r\nContent-Length: abc\r\n\r\n", 400],
      ["OPTIONS * RTSP/1.0\r\nCSeq: 3\r\nContent-Length: 1e3\r\n\r\n", 400],
      ["OPTIONS * RTSP/1.0\r\nCSeq: 4\r\nContent-Length: 99999999999\r\n\r\n", 413],
      ["SET_PARAMETER * RTSP/1.0\r\nCSeq: 5\r\nContent-Length: 65537\r\n\r\nxyz", 413],
      // Today's parser stepped back to the start of this request and read it again, for ever.
      [selfCancellingRequest(), 400],
    ];
    for (const [request, status] of cases) {
      const s = await open();
      s.write(request);
      await until(() => s.closed, `the connection closed after ${JSON.stringify(request)}`);
      assert.deepEqual(s.statuses, [status], s.text);
      assert.match(s.text, /\r\nCSeq: \d\r\n/);
    }
    await stillServes();
  });

  it("refuses a head over 8 KiB with 400 and a request line over the URI limit with 414", async () => {
    await start();
    const big = await open();
    big.write(`OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-Filler: ${"a".repeat(9000)}\r\n\r\n`);
    const long = await open();
    long.write(`DESCRIBE rtsp://127.0.0.1/${"c".repeat(5000)} RTSP/1.0\r\nCSeq: 2\r\n\r\n`);
    const endless = await open();
    endless.write(`DESCRIBE rtsp://127.0.0.1/${"c".repeat(20_000)}`);
    await until(() => big.closed && long.closed && endless.closed, "the three refused");
    assert.deepEqual(big.statuses, [400]);
    assert.deepEqual(long.statuses, [414]);
    assert.deepEqual(endless.statuses, [414]);
    await stillServes();
  });

  it("never echoes a bare CR or LF: a CSeq that holds one is answered 400 without it", async () => {
    await start();
    const s = await open();
    s.write("OPTIONS * RTSP/1.0\r\nCSeq: 1\nSet-Cookie: injected\r\n\r\n");
    await until(() => s.closed, "the connection closed");
    assert.deepEqual(s.statuses, [400]);
    assert.doesNotMatch(s.text, /injected|CSeq/);
    await stillServes();
  });

  it("answers 408 to a request not finished in time, closes idle connections, keeps playing readers", async () => {
    const clock = new FakeClock(Date.now());
    await start({ clock, limits: { requestTimeoutMs: 150, idleTimeoutMs: 400 } });
    const half = await open();
    half.write("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n");
    const halfBody = await open();
    halfBody.write("SET_PARAMETER * RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 10\r\n\r\nabc");
    const silent = await open();
    const player = await RawRtspClient.connect(server.port);
    try {
      const url = server.url("cam");
      const v = await player.request("SETUP", url + "/trackID=0", {
        Transport: "RTP/AVP/TCP;interleaved=0-1",
      });
      const session = (v.headers.get("session") ?? "").split(";")[0];
      assert.equal((await player.request("PLAY", url + "/", { Session: session })).status, 200);
      await clock.advance(150);
      await until(() => half.closed && halfBody.closed, "the half-sent requests refused");
      assert.deepEqual(half.statuses, [408]);
      assert.deepEqual(halfBody.statuses, [408]);
      assert.equal(silent.closed, false, "not idle yet");
      await clock.advance(250);
      await until(() => silent.closed, "the silent connection closed");
      assert.equal(silent.text, "");
      // Ten idle timeouts later the player still plays: its connection answers, and is still counted.
      await clock.advance(4_000);
      assert.equal(server.readerCount("cam"), 1);
      assert.equal((await player.request("GET_PARAMETER", url + "/", { Session: session })).status, 200);
      assert.equal(player.closed, false, "a playing reader is not idle");
    } finally {
      player.close();
    }
  });

  it("reads a request sent a byte at a time", async () => {
    await start();
    const s = await open();
    for (const ch of "OPTIONS * RTSP/1.0\r\nCSeq: 9\r\n\r\n") {
      s.write(ch);
      await new Promise((r) => setImmediate(r));
    }
    await until(() => s.statuses.length === 1, "the answer");
    assert.deepEqual(s.statuses, [200]);
    assert.match(s.text, /CSeq: 9\r\n/);
  });

  it("answers 503 to a connection over the limit and takes new ones when one closes", async () => {
    await start({ limits: { maxConnections: 3 } });
    const held = [await open(), await open(), await open()];
    const over = await open();
    await until(() => over.closed, "the extra connection refused");
    assert.deepEqual(over.statuses, [503]);
    held[0].close();
    await until(() => held[0].closed);
    // The server's side of the close is not observable (no connection count): give it a moment.
    await new Promise((r) => setTimeout(r, 50));
    await stillServes();
  });

  it("reads no more requests from a client that does not read its replies, and answers all once it does", async () => {
    await start({ limits: { maxUnreadReplyBytes: 16 * 1024 } });
    const s = await open();
    s.socket.pause();
    const count = 40_000;
    s.write(Buffer.from("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n".repeat(count), "latin1"));
    await until(() => logs.some((l) => /does not read its replies/.test(l)), "the server to stop reading");
    await stillServes();
    s.socket.resume();
    await until(() => s.statuses.length === count, "every reply", 20_000);
    assert.ok(s.statuses.every((x) => x === 200));
  });
});

describe("LocalRtspServer authentication (per path, Digest and Basic)", () => {
  const CAM = { user: "frigate", password: "p@ss:word/1" };
  const OTHER = { user: "ha", password: "another-secret" };
  let server: LocalRtspServer;
  let clock: FakeClock | undefined;
  const logs: string[] = [];
  const clients: RawRtspClient[] = [];
  const connect = async () => {
    const c = await RawRtspClient.connect(server.port);
    clients.push(c);
    return c;
  };
  const start = async (options: ConstructorParameters<typeof LocalRtspServer>[0] = {}) => {
    server = new LocalRtspServer({ ...options, log: (_level, message) => logs.push(message) });
    await server.listen();
    server.addStream("cam", { describe: () => DESC, credentials: CAM });
    server.addStream("other", { describe: () => DESC, credentials: OTHER });
    server.addStream("open", { describe: () => DESC });
  };
  /** The WWW-Authenticate values of a response, in order. */
  const challenges = (r: Response) =>
    r.head.filter((l) => /^www-authenticate:/i.test(l)).map((l) => l.slice(l.indexOf(":") + 1).trim());
  /** DESCRIBE without credentials, then with a Digest answer to its challenge. */
  const describeWithDigest = async (c: RawRtspClient, camera: string, creds: typeof CAM, qop?: "auth") => {
    const url = server.url(camera);
    const first = await c.request("DESCRIBE", url);
    assert.equal(first.status, 401);
    const ch = digestParams(challenges(first)[0]);
    return c.request("DESCRIBE", url, { Authorization: digestAnswer(ch, "DESCRIBE", url, creds, qop) });
  };

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    logs.length = 0;
    clock = undefined;
    await server.close();
  });

  it("answers 401 with Digest then Basic and the CSeq, lets OPTIONS through, and plays after Digest", async () => {
    await start();
    const url = server.url("cam");
    assert.equal(url, `rtsp://127.0.0.1:${server.port}/cam`);
    assert.equal(server.readerUrl("cam"), `rtsp://frigate:p%40ss%3Aword%2F1@127.0.0.1:${server.port}/cam`);
    assert.equal(server.readerUrl("open"), server.url("open"));
    const c = await connect();
    assert.equal((await c.request("OPTIONS", url)).status, 200);
    const refused = await c.request("DESCRIBE", url);
    assert.equal(refused.status, 401);
    assert.equal(refused.head[0], "RTSP/1.0 401 Unauthorized");
    assert.equal(refused.headers.get("cseq"), "2");
    const [digest, basic, ...more] = challenges(refused);
    assert.match(digest, /^Digest realm="nest-restream", nonce="[0-9a-f]+", algorithm=MD5, qop="auth"$/);
    assert.equal(basic, 'Basic realm="nest-restream"');
    assert.deepEqual(more, []);
    assert.equal(refused.body, "", "no SDP without the password");
    const ch = digestParams(digest);
    const described = await c.request("DESCRIBE", url, {
      Authorization: digestAnswer(ch, "DESCRIBE", url, CAM, "auth"),
    });
    assert.equal(described.status, 200);
    assert.match(described.body, /m=video/);
    assert.equal(described.headers.get("content-base"), url + "/", "no credentials in Content-Base");
    // The connection gave them: SETUP and PLAY need not repeat them (ffmpeg and GStreamer do, VLC may not).
    const setup = await c.request("SETUP", url + "/trackID=0", {
      Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
    });
    assert.equal(setup.status, 200);
    const session = (setup.headers.get("session") ?? "").split(";")[0];
    assert.equal((await c.request("PLAY", url, { Session: session })).status, 200);
    server.send("cam", "video", rtp(102, 1, [0x65, 1]));
    await until(() => c.frames.length === 1);
    assert.ok(
      logs.some((l) => /signed in to "cam" \(Digest\)/.test(l)),
      logs.join("\n"),
    );
    for (const l of logs) assert.doesNotMatch(l, /p@ss|word\/1/);

    // A path without credentials needs none.
    const o = await connect();
    assert.equal((await o.request("DESCRIBE", server.url("open"))).status, 200);
  });

  it("accepts Digest without qop (GStreamer, live555) and Basic", async () => {
    await start();
    const a = await connect();
    assert.equal((await describeWithDigest(a, "cam", CAM)).status, 200);
    const b = await connect();
    const url = server.url("cam");
    assert.equal(
      (await b.request("DESCRIBE", url, { Authorization: basicAnswer(CAM.user, CAM.password) })).status,
      200,
    );
    assert.ok(
      logs.some((l) => /signed in to "cam" \(Basic\)/.test(l)),
      logs.join("\n"),
    );
  });

  it("each path has its own credentials: one camera's do not open another, nor after signing in to it", async () => {
    await start();
    const c = await connect();
    assert.equal((await describeWithDigest(c, "other", CAM)).status, 401);
    assert.equal((await describeWithDigest(c, "other", OTHER)).status, 200);
    // Signed in to "other" on this connection: "cam" still asks for its own.
    assert.equal((await c.request("DESCRIBE", server.url("cam"))).status, 401);
    const setup = await c.request("SETUP", server.url("cam") + "/trackID=0", {
      Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
    });
    assert.equal(setup.status, 401);
    assert.equal(server.readerCount("cam"), 0);
    // A Digest answer made for another path's URI is not one for this request.
    const d = await connect();
    const first = await d.request("DESCRIBE", server.url("other"));
    const answer = digestAnswer(digestParams(challenges(first)[0]), "DESCRIBE", server.url("cam"), OTHER);
    assert.equal((await d.request("DESCRIBE", server.url("other"), { Authorization: answer })).status, 401);
    assert.equal((await describeWithDigest(c, "cam", CAM)).status, 200);
  });

  it("answers a wrong password 401 again, and refuses the address with 403 after too many, until the window passed", async () => {
    clock = new FakeClock(Date.now());
    await start({ clock, auth: { maxFailures: 3, failureWindowMs: 60_000 } });
    const url = server.url("cam");
    const c = await connect();
    const wrong = basicAnswer(CAM.user, "guess");
    assert.equal((await c.request("DESCRIBE", url, { Authorization: wrong })).status, 401);
    assert.equal((await describeWithDigest(c, "cam", { ...CAM, password: "guess2" })).status, 401);
    const third = await c.request("DESCRIBE", url, { Authorization: wrong });
    assert.equal(third.status, 403);
    assert.equal(third.headers.get("cseq"), "4");
    await until(() => c.closed);
    // Now even the right password is refused from this address, on any path with credentials.
    const d = await connect();
    assert.equal(
      (await d.request("DESCRIBE", url, { Authorization: basicAnswer(CAM.user, CAM.password) })).status,
      403,
    );
    const e = await connect();
    assert.equal(
      (await e.request("DESCRIBE", server.url("open"))).status,
      200,
      "paths without credentials serve on",
    );
    assert.ok(logs.some((l) => /too many wrong passwords/.test(l)));
    await clock.advance(60_000);
    const f = await connect();
    assert.equal(
      (await f.request("DESCRIBE", url, { Authorization: basicAnswer(CAM.user, CAM.password) })).status,
      200,
    );
  });

  it("asks again with stale=true for an expired nonce, which is no failure", async () => {
    clock = new FakeClock(Date.now());
    await start({ clock, auth: { nonceTtlMs: 30_000, maxFailures: 1 } });
    const url = server.url("cam");
    const c = await connect();
    const first = await c.request("DESCRIBE", url);
    const ch = digestParams(challenges(first)[0]);
    await clock.advance(31_000);
    const late = await c.request("DESCRIBE", url, { Authorization: digestAnswer(ch, "DESCRIBE", url, CAM) });
    assert.equal(late.status, 401);
    const again = digestParams(challenges(late)[0]);
    assert.equal(again.stale, "true");
    assert.notEqual(again.nonce, ch.nonce);
    const ok = await c.request("DESCRIBE", url, { Authorization: digestAnswer(again, "DESCRIBE", url, CAM) });
    assert.equal(ok.status, 200, "maxFailures 1: the stale answer was not counted");
  });

  it("a session set up without credentials cannot PLAY a path that has them", async () => {
    await start();
    const c = await connect();
    // Neither through the open path's session, nor by naming the protected one.
    const setup = await c.request("SETUP", server.url("open") + "/trackID=0", {
      Transport: "RTP/AVP/TCP;unicast;interleaved=0-1",
    });
    assert.equal(setup.status, 200);
    const session = (setup.headers.get("session") ?? "").split(";")[0];
    assert.equal((await c.request("PLAY", server.url("cam"), { Session: session })).status, 401);
    assert.equal((await c.request("GET_PARAMETER", server.url("cam"), { Session: session })).status, 401);
  });
});
