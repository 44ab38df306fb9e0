import assert from "node:assert/strict";
import {
  ByteQueue,
  chooseTransport,
  hasControl,
  parseRequest,
  type ParsedRequest,
  type RtspRequest,
  type RtspRequestLimits,
} from "../../src/webrtc/rtsp-request";

/** The local RTSP server's defaults (RTSP_SERVER_LIMITS). */
const LIMITS: RtspRequestLimits = {
  maxHeaderBytes: 8 * 1024,
  maxUriBytes: 4 * 1024,
  maxBodyBytes: 64 * 1024,
};

function parse(text: string | Buffer, limits: RtspRequestLimits = LIMITS): ParsedRequest {
  return parseRequest(typeof text === "string" ? Buffer.from(text, "latin1") : text, limits);
}

function request(parsed: ParsedRequest): { request: RtspRequest; size: number } {
  assert.ok("request" in parsed, `a request, not ${JSON.stringify(parsed)}`);
  return parsed;
}

describe("RTSP request parsing (rtsp-request.ts)", () => {
  it("reads a complete request: method, URI, headers by lower-case name, size of the head", () => {
    const text =
      "DESCRIBE rtsp://127.0.0.1:8554/cam-1 RTSP/1.0\r\nCSeq: 2\r\nAccept:  application/sdp \r\n\r\n";
    const { request: req, size } = request(parse(text));
    assert.equal(req.method, "DESCRIBE");
    assert.equal(req.uri, "rtsp://127.0.0.1:8554/cam-1");
    assert.equal(req.headers.get("cseq"), "2");
    assert.equal(req.headers.get("accept"), "application/sdp", "the value trimmed");
    assert.equal(req.body.length, 0);
    assert.equal(size, Buffer.byteLength(text));
  });

  it("reads the body Content-Length gives, and only the first of pipelined requests", () => {
    const first = "SET_PARAMETER * RTSP/1.0\r\nCSeq: 3\r\nContent-Length: 5\r\n\r\nhello";
    const second = "OPTIONS * RTSP/1.0\r\nCSeq: 4\r\n\r\n";
    const { request: req, size } = request(parse(first + second));
    assert.equal(req.method, "SET_PARAMETER");
    assert.equal(req.uri, "*");
    assert.equal(req.body.toString(), "hello");
    assert.equal(size, Buffer.byteLength(first));
    const next = request(parse(Buffer.from(first + second).subarray(size)));
    assert.equal(next.request.method, "OPTIONS");
    assert.equal(next.request.headers.get("cseq"), "4");
  });

  it("says how many bytes it needs while the head or the body is incomplete", () => {
    const partial = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n";
    assert.deepEqual(parse(partial), { need: partial.length + 1 });
    assert.deepEqual(parse("O"), { need: 2 });
    const head = "SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 10\r\n\r\n";
    assert.deepEqual(parse(head + "abc"), { need: Buffer.byteLength(head) + 10 });
    // Once all of it came, it is a request.
    assert.equal(request(parse(head + "0123456789")).request.body.toString(), "0123456789");
  });

  it("refuses a head over maxHeaderBytes with 400, a request line over it with 414", () => {
    const limits = { ...LIMITS, maxHeaderBytes: 256 };
    const padding = "X-Pad: " + "a".repeat(300) + "\r\n";
    assert.deepEqual(parse("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n" + padding, limits), { refuse: 400 });
    // No end of the head within the limit, even though it comes later.
    assert.deepEqual(parse("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n" + padding + "\r\n", limits), { refuse: 400 });
    assert.deepEqual(parse("OPTIONS /" + "b".repeat(300), limits), { refuse: 414 });
    // A head of just maxHeaderBytes is read; one byte more is not.
    const base = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-Pad: ";
    const head = base + "a".repeat(256 - base.length);
    assert.ok("request" in parse(head + "\r\n\r\n", limits));
    assert.deepEqual(parse(head + "a\r\n\r\n", limits), { refuse: 400 });
  });

  it("refuses too many headers (more than the head may hold) with 400", () => {
    const headers = Array.from({ length: 1000 }, (_, i) => `X-H${i}: ${i}\r\n`).join("");
    assert.deepEqual(parse("OPTIONS * RTSP/1.0\r\nCSeq: 7\r\n" + headers + "\r\n"), { refuse: 400 });
    const some = Array.from({ length: 100 }, (_, i) => `X-H${i}: ${i}\r\n`).join("");
    const req = request(parse("OPTIONS * RTSP/1.0\r\nCSeq: 7\r\n" + some + "\r\n")).request;
    assert.equal(req.headers.size, 101);
  });

  it("refuses a URI over maxUriBytes with 414 and a body over maxBodyBytes with 413, echoing the CSeq", () => {
    const limits = { ...LIMITS, maxUriBytes: 64, maxBodyBytes: 16 };
    assert.deepEqual(parse(`DESCRIBE /${"c".repeat(64)} RTSP/1.0\r\nCSeq: 5\r\n\r\n`, limits), {
      refuse: 414,
      cseq: "5",
    });
    assert.deepEqual(parse("SET_PARAMETER * RTSP/1.0\r\nCSeq: 6\r\nContent-Length: 17\r\n\r\n", limits), {
      refuse: 413,
      cseq: "6",
    });
    assert.deepEqual(parse("SET_PARAMETER * RTSP/1.0\r\nCSeq: 6\r\nContent-Length: 99999999999\r\n\r\n"), {
      refuse: 413,
      cseq: "6",
    });
  });

  it("refuses control characters in the request line or a header with 400 (tab allowed)", () => {
    for (const bad of [
      "OPTIONS * RTSP/1.0\r\nCSeq: 8\r\nX-Evil: a\nInjected: yes\r\n\r\n",
      "OPTIONS * RTSP/1.0\r\nCSeq: 8\r\nX-Evil: a\rb\r\n\r\n",
      "OPTIONS * RTSP/1.0\r\nCSeq: 8\r\nX-Evil: a\u0000b\r\n\r\n",
      "OPTIONS * RTSP/1.0\r\nCSeq: 8\r\nX-Evil: a\u007fb\r\n\r\n",
      "OPTIONS *\u001b RTSP/1.0\r\nCSeq: 8\r\n\r\n",
    ]) {
      assert.deepEqual(parse(bad), { refuse: 400, cseq: "8" }, JSON.stringify(bad));
    }
    const tab = request(parse("OPTIONS *\tRTSP/1.0\r\nCSeq:\t8\r\nX-Tab: a\tb\r\n\r\n")).request;
    assert.equal(tab.headers.get("x-tab"), "a\tb");
    assert.equal(hasControl("a\tb"), false);
    assert.equal(hasControl("a\nb"), true);
    assert.equal(hasControl("\u007f"), true);
    assert.equal(hasControl("caf\u00e9"), false, "latin1 above DEL is not a control character");
  });

  it("refuses a malformed request line, header or Content-Length with 400", () => {
    assert.deepEqual(parse("options * RTSP/1.0\r\nCSeq: 1\r\n\r\n"), { refuse: 400, cseq: "1" });
    assert.deepEqual(parse("OPTIONS * HTTP/1.1\r\nCSeq: 1\r\n\r\n"), { refuse: 400, cseq: "1" });
    assert.deepEqual(parse("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nno colon\r\n\r\n"), { refuse: 400, cseq: "1" });
    assert.deepEqual(parse("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n: empty name\r\n\r\n"), {
      refuse: 400,
      cseq: "1",
    });
    for (const length of ["-1", "1e3", "0x10", ""]) {
      assert.deepEqual(parse(`OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: ${length}\r\n\r\n`), {
        refuse: 400,
        cseq: "1",
      });
    }
    assert.deepEqual(
      parse("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
      {
        refuse: 400,
        cseq: "1",
      },
    );
  });

  it("echoes only a well-formed CSeq on refusal", () => {
    // Well formed: echoed, whatever else is wrong.
    assert.deepEqual(parse("BAD LINE\r\ncseq :  42 \r\n\r\n"), { refuse: 400, cseq: "42" });
    // Not digits, or too long: refused without it (it would be echoed into the reply).
    assert.deepEqual(parse("OPTIONS * RTSP/1.0\r\nCSeq: 4x\r\n\r\n"), { refuse: 400 });
    assert.deepEqual(parse("OPTIONS * RTSP/1.0\r\nCSeq: 12345678901\r\n\r\n"), { refuse: 400 });
    const injected = parse("OPTIONS * RTSP/1.0\r\nCSeq: 1\nX: y\r\n\r\n");
    assert.ok("refuse" in injected);
    assert.equal(injected.refuse, 400);
    assert.equal(injected.cseq, undefined);
    // Two different CSeqs: refused (the first is echoed); the same one twice is read.
    assert.deepEqual(parse("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nCSeq: 2\r\n\r\n"), { refuse: 400, cseq: "1" });
    assert.equal(
      request(parse("OPTIONS * RTSP/1.0\r\nCSeq: 3\r\nCSeq: 3\r\n\r\n")).request.headers.get("cseq"),
      "3",
    );
    // No CSeq at all is read (the reply then has none).
    assert.equal(request(parse("OPTIONS * RTSP/1.0\r\n\r\n")).request.headers.has("cseq"), false);
  });

  it("chooses the first TCP interleaved transport, undefined when only UDP is offered", () => {
    assert.equal(chooseTransport("RTP/AVP;unicast;client_port=5000-5001"), undefined);
    assert.equal(chooseTransport("RTP/AVP/UDP;unicast;client_port=5000-5001"), undefined);
    assert.equal(chooseTransport(""), undefined);
    assert.deepEqual(chooseTransport("RTP/AVP/TCP;unicast;interleaved=4-5"), { interleaved: 4 });
    assert.deepEqual(chooseTransport("rtp/avp/tcp;INTERLEAVED=6-7"), { interleaved: 6 });
    assert.deepEqual(chooseTransport("RTP/AVP/TCP;unicast"), { interleaved: undefined });
    assert.deepEqual(chooseTransport("RTP/AVP;unicast;client_port=5000-5001, RTP/AVP/TCP;interleaved=2-3"), {
      interleaved: 2,
    });
    assert.deepEqual(chooseTransport("RTP/AVP/TCP;interleaved=8-9,RTP/AVP/TCP;interleaved=0-1"), {
      interleaved: 8,
    });
    for (const bad of ["x-y", "1.5-2", "abc"]) {
      assert.deepEqual(chooseTransport(`RTP/AVP/TCP;interleaved=${bad}`), { interleaved: undefined }, bad);
    }
  });

  it("ByteQueue holds what was appended until consumed, a byte at a time as well", () => {
    const q = new ByteQueue();
    const text = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\nGET_PARAMETER * RTSP/1.0\r\nCSeq: 2\r\n\r\n";
    let parsed: ParsedRequest = { need: 1 };
    for (const byte of Buffer.from(text)) {
      q.append(Buffer.from([byte]));
      parsed = parseRequest(q.view(), LIMITS);
      if ("request" in parsed) break;
    }
    const first = request(parsed);
    assert.equal(first.request.method, "OPTIONS");
    q.consume(first.size);
    assert.equal(q.length, 0);
    q.append(Buffer.from(text).subarray(first.size));
    assert.equal(request(parseRequest(q.view(), LIMITS)).request.method, "GET_PARAMETER");
    q.consume(3);
    assert.equal(q.view().toString(), text.slice(first.size + 3));
    q.consume(1_000_000);
    assert.equal(q.length, 0);
    q.append(Buffer.alloc(10_000, 1));
    assert.equal(q.length, 10_000);
    q.clear();
    assert.equal(q.length, 0);
    assert.equal(q.view().length, 0);
  });
});
