/**
 * The upstream RTSP(S) client of `serve: "local"`: against the project's RTSPS edge in front of a
 * real GStreamer RTSP source (H.264 + AAC, TLS, a token in the URL), and against scripted hostile
 * servers (garbage, endless heads, huge bodies, silence).
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { RtspClient, RtspStatusError } from "../../src/rtsp/rtsp-client";
import { parseUpstreamSdp, resolveControl } from "../../src/rtsp/upstream-sdp";
import { RtspEdge, selfSignedCert } from "../fixtures/rtsp-edge";
import { RtspSource } from "../fixtures/rtsp-source";
import { untilWithin } from "../support/wait";

const until = untilWithin(10_000, 10);
const TOKEN = "tok-abcdef123456";

/** A TCP server that answers each request with what `answer` returns (raw bytes), or nothing. */
async function scripted(
  answer: (method: string, cseq: string, socket: net.Socket) => string | Buffer | undefined,
): Promise<{ port: number; methods: string[]; close: () => Promise<void> }> {
  const methods: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    let buf = "";
    socket.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      for (;;) {
        if (buf.startsWith("$")) {
          if (buf.length < 4) return;
          const len = (buf.charCodeAt(2) << 8) | buf.charCodeAt(3);
          if (buf.length < 4 + len) return;
          buf = buf.slice(4 + len);
          continue;
        }
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const method = head.split(" ")[0];
        const cseq = /CSeq: (\d+)/i.exec(head)?.[1] ?? "0";
        methods.push(method);
        const out = answer(method, cseq, socket);
        if (out !== undefined && !socket.destroyed) socket.write(out);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    methods,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const SDP = [
  "v=0",
  "o=- 1 1 IN IP4 127.0.0.1",
  "s=cam",
  "t=0 0",
  "m=video 0 RTP/AVP 96",
  "a=rtpmap:96 H264/90000",
  "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0IAHqtAUB7I,aM4xsg==",
  "a=control:stream=0",
  "",
].join("\r\n");

/** A well-behaved server up to PLAY; `afterPlay` decides what follows. */
function goodAnswers(afterPlay?: (socket: net.Socket) => void) {
  return (method: string, cseq: string, socket: net.Socket): string | undefined => {
    const ok = `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\n`;
    switch (method) {
      case "OPTIONS":
        return `${ok}Public: OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER, TEARDOWN\r\n\r\n`;
      case "DESCRIBE":
        return `${ok}Content-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(SDP)}\r\n\r\n${SDP}`;
      case "SETUP":
        return `${ok}Session: abc123;timeout=60\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n`;
      case "PLAY":
        setImmediate(() => afterPlay?.(socket));
        return `${ok}Session: abc123\r\n\r\n`;
      default:
        return `${ok}Session: abc123\r\n\r\n`;
    }
  };
}

/** One RTP packet (version 2, payload type 96) with a single-NAL payload of `type`. */
function rtp(seq: number, nalType = 1): Buffer {
  const p = Buffer.alloc(20);
  p[0] = 0x80;
  p[1] = 96;
  p.writeUInt16BE(seq, 2);
  p.writeUInt32BE(seq * 6000, 4);
  p.writeUInt32BE(0x1234, 8);
  p[12] = nalType;
  return p;
}

function frame(channel: number, packet: Buffer): Buffer {
  const head = Buffer.from([0x24, channel, 0, 0]);
  head.writeUInt16BE(packet.length, 2);
  return Buffer.concat([head, packet]);
}

describe("RtspClient (serve: local upstream)", function () {
  this.timeout(30_000);

  describe("against the RTSPS edge and a real RTSP source", () => {
    let source: RtspSource;
    let edge: RtspEdge;
    let ca: Buffer;
    let alive = true;
    const clients: RtspClient[] = [];

    before(async () => {
      source = await RtspSource.start({ mounts: [{ path: "/cam-aac", audio: "aac" }] });
      edge = await RtspEdge.start({
        tls: true,
        authority: {
          authorize: (id, token) =>
            id === "cam-1" && token === TOKEN ? { upstreamUrl: source.url("/cam-aac") } : null,
          isAlive: () => alive,
        },
      });
      ca = (await selfSignedCert()).cert;
    });
    after(async () => {
      await Promise.all([edge?.stop(), source?.stop()]);
    });
    afterEach(() => {
      for (const c of clients.splice(0)) c.close();
    });

    it("opens one TLS session with the token in the URL and receives H.264 and AAC RTP", async () => {
      const accepted = edge.stats.accepted;
      const client = new RtspClient({ url: edge.url("cam-1", TOKEN), ca });
      clients.push(client);
      const got = { video: 0, audio: 0, keyframes: 0 };
      client.on("rtp", (kind, packet) => {
        got[kind]++;
        assert.equal(packet[0] >> 6, 2, "an RTP packet");
        if (kind === "video" && [5, 7].includes(packet[12] & 0x1f)) got.keyframes++;
      });
      const media = await client.open();
      assert.equal(media.video?.encoding.toUpperCase(), "H264");
      assert.equal(media.video?.clockRate, 90000);
      assert.match(media.audio?.encoding ?? "", /^mpeg4-generic$/i);
      assert.equal(media.audio?.clockRate, 48000);
      assert.match(media.audio?.fmtp ?? "", /config=/i);
      assert.ok(client.isPlaying);
      await until(() => got.video > 30 && got.audio > 10, "video and audio packets");
      assert.equal(edge.stats.accepted, accepted + 1, "one upstream session");
      assert.equal(edge.sessions, 1);
      client.close();
      await until(() => edge.sessions === 0, "the edge session to end");
    });

    it("a refused token rejects with the status and never shows the token", async () => {
      const client = new RtspClient({ url: edge.url("cam-1", "wrong-token-987654"), ca });
      await assert.rejects(client.open(), (err: unknown) => {
        assert.ok(err instanceof RtspStatusError);
        assert.equal(err.status, 401);
        assert.doesNotMatch(String(err.message), /wrong-token-987654/);
        return true;
      });
      assert.equal(client.isPlaying, false);
    });

    it("refuses an rtsps server whose certificate it does not trust", async () => {
      const client = new RtspClient({ url: edge.url("cam-1", TOKEN), connectTimeoutMs: 3000 });
      await assert.rejects(client.open(), (err: Error) => {
        assert.match(err.message, /could not connect/);
        assert.doesNotMatch(err.message, new RegExp(TOKEN));
        return true;
      });
    });

    it("reports a connection the edge cuts, once, without the token", async () => {
      const client = new RtspClient({ url: edge.url("cam-1", TOKEN), ca });
      clients.push(client);
      const closes: string[] = [];
      client.on("close", (reason) => closes.push(reason));
      await client.open();
      // The socket's own "close" is its last event: once this listener (added after the client's) ran,
      // the client has had every chance to report the cut a second time.
      let socketClosed = false;
      (client as unknown as { socket: net.Socket }).socket.once("close", () => (socketClosed = true));
      alive = false;
      try {
        edge.check();
        await until(() => closes.length > 0 && socketClosed, "the close event and the socket's");
      } finally {
        alive = true;
      }
      assert.equal(closes.length, 1);
      assert.doesNotMatch(closes[0], new RegExp(TOKEN));
      assert.equal(client.isPlaying, false);
    });
  });

  describe("against hostile or broken servers", () => {
    const servers: { close: () => Promise<void> }[] = [];
    afterEach(async () => {
      for (const s of servers.splice(0)) await s.close();
    });
    const serve = async (answer: Parameters<typeof scripted>[0]) => {
      const s = await scripted(answer);
      servers.push(s);
      return s;
    };
    const url = (port: number) => `rtsp://127.0.0.1:${port}/sdm_live_stream/x?auth=${TOKEN}`;

    it("plays, keeps the session alive with GET_PARAMETER and hands on interleaved RTP", async () => {
      const s = await serve(
        goodAnswers((socket) => {
          // Frames split at awkward places, with an RTCP frame and a server request in between.
          const bytes = Buffer.concat([
            frame(0, rtp(1, 7)),
            frame(1, Buffer.alloc(8, 0x80)),
            Buffer.from("GET_PARAMETER rtsp://x RTSP/1.0\r\nCSeq: 9\r\n\r\n"),
            frame(0, rtp(2, 5)),
            frame(0, rtp(3)),
          ]);
          socket.write(bytes.subarray(0, 3));
          setTimeout(() => socket.write(bytes.subarray(3, 30)), 20);
          setTimeout(() => socket.write(bytes.subarray(30)), 40);
        }),
      );
      const client = new RtspClient({ url: url(s.port), keepaliveMs: 100 });
      const seqs: number[] = [];
      client.on("rtp", (_kind, p) => seqs.push(p.readUInt16BE(2)));
      const media = await client.open();
      assert.equal(media.video?.controlUrl, `${url(s.port)}/stream=0`);
      await until(() => seqs.length === 3, "three packets");
      assert.deepEqual(seqs, [1, 2, 3]);
      await until(() => s.methods.includes("GET_PARAMETER"), "a keep-alive");
      assert.deepEqual(s.methods.slice(0, 4), ["OPTIONS", "DESCRIBE", "SETUP", "PLAY"]);
      client.close();
      await until(() => s.methods.includes("TEARDOWN"), "TEARDOWN");
    });

    it("closes a session whose media stops, after mediaTimeoutMs", async () => {
      const s = await serve(goodAnswers((socket) => socket.write(frame(0, rtp(1)))));
      const client = new RtspClient({ url: url(s.port), mediaTimeoutMs: 300 });
      const closes: string[] = [];
      client.on("close", (r) => closes.push(r));
      await client.open();
      await until(() => closes.length === 1, "the close");
      assert.match(closes[0], /no media/);
    });

    it("rejects garbage, an endless head, a huge body and silence, with bounded buffers", async () => {
      const cases: [
        string,
        (method: string, cseq: string, socket: net.Socket) => string | undefined,
        RegExp,
      ][] = [
        ["garbage", () => "\x00\x01\x02\x03 hello there", /neither RTSP nor media/],
        ["endless head", () => `RTSP/1.0 200 OK\r\nX: ${"a".repeat(40_000)}`, /head over the limit/],
        [
          "huge body",
          (_m, cseq) => `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nContent-Length: 99999999\r\n\r\n`,
          /body over the limit/,
        ],
        ["silence", () => undefined, /did not answer OPTIONS/],
        [
          "no session",
          (m, cseq, socket) =>
            m === "SETUP"
              ? `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n`
              : goodAnswers()(m, cseq, socket),
          /gave no session/,
        ],
        [
          "a session id that would inject a header",
          (m, cseq, socket) =>
            m === "SETUP"
              ? `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nSession: ab\rInjected: 1\r\n\r\n`
              : goodAnswers()(m, cseq, socket),
          /malformed session/,
        ],
        [
          "a reason phrase with the token and control characters",
          (_m, cseq) => `RTSP/1.0 403 Forbidden auth=${TOKEN} \x1b[2J\r\nCSeq: ${cseq}\r\n\r\n`,
          /^the camera's RTSP server answered OPTIONS with 403 Forbidden$/,
        ],
        [
          "no usable track",
          (m, cseq, socket) =>
            m === "DESCRIBE"
              ? `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nContent-Length: 40\r\n\r\nv=0\r\nm=video 0 RTP/AVP 26\r\na=x:${"y".repeat(14)}`
              : goodAnswers()(m, cseq, socket),
          /no H.264 video or audio/,
        ],
      ];
      for (const [name, answer, expected] of cases) {
        const s = await serve(answer);
        const client = new RtspClient({ url: url(s.port), requestTimeoutMs: 300 });
        await assert.rejects(client.open(), (err: Error) => {
          assert.match(err.message, expected, name);
          assert.doesNotMatch(err.message, new RegExp(TOKEN), name);
          return true;
        });
        assert.equal(client.isPlaying, false, name);
      }
    });

    it("a server that refuses the connection or a URL that is not RTSP", async () => {
      const s = await serve(() => undefined);
      const port = s.port;
      await s.close();
      servers.length = 0;
      await assert.rejects(new RtspClient({ url: url(port) }).open(), /could not connect/);
      assert.throws(
        () => new RtspClient({ url: `http://x/?auth=${TOKEN}` }),
        (err: Error) => {
          assert.doesNotMatch(err.message, new RegExp(TOKEN));
          return /not an RTSP URL/.test(err.message);
        },
      );
    });
  });

  describe("parseUpstreamSdp", () => {
    it("resolves track controls after the query of a base that carries the token", () => {
      const base = "rtsps://edge:443/sdm_live_stream/x?auth=T0K/";
      const media = parseUpstreamSdp(
        SDP +
          "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/1\r\na=fmtp:97 config=1188\r\na=control:stream=1\r\n",
        base,
      );
      assert.equal(media.video?.controlUrl, `${base}stream=0`);
      assert.equal(media.audio?.controlUrl, `${base}stream=1`);
      assert.equal(media.audio?.channels, 1);
      assert.equal(media.audio?.fmtp, "config=1188");
      assert.equal(media.controlUrl, base);
      assert.equal(resolveControl("rtsp://a/b", "rtsp://c/d"), "rtsp://c/d");
      assert.equal(resolveControl("rtsp://a/b", "*"), "rtsp://a/b");
      assert.equal(resolveControl("rtsp://a/b", "t1"), "rtsp://a/b/t1");
      assert.equal(
        resolveControl("rtsp://a/b", "t 1\rX: y"),
        "rtsp://a/b",
        "no spaces or controls in a request line",
      );
      assert.equal(
        resolveControl("rtsp://a/b", "t 1\rX: y"),
        "rtsp://a/b",
        "no spaces or controls in a request line",
      );
    });

    it("ignores video that is not H.264, bad payload types and overlong lines", () => {
      const media = parseUpstreamSdp(
        [
          "v=0",
          "m=video 0 RTP/AVP 200 98",
          "a=rtpmap:200 H264/90000",
          "a=rtpmap:98 VP8/90000",
          "m=audio 0 RTP/AVP 0",
          `a=rtpmap:0 PCMU/8000`,
          `a=fmtp:0 ${"x".repeat(5000)}`,
        ].join("\n"),
        "rtsp://a/b",
      );
      assert.equal(media.video, undefined);
      assert.equal(media.audio?.encoding, "PCMU");
      assert.equal(media.audio?.fmtp, undefined);
    });
  });
});
