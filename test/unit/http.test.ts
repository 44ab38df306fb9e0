import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { RateLimitedError, TransientGoogleError } from "../../src/google/errors";
import { errorFromResponse } from "../../src/google/error-envelope";
import { AxiosTransport, sendRequest } from "../../src/google/http";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

describe("http: sendRequest", () => {
  it("turns whatever a transport throws into a transient error", async () => {
    const transport = {
      request: async () => {
        throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
      },
    };
    const err = await sendRequest(transport, {
      method: "GET",
      url: "https://sdm.example/v1/x?auth=zzzzzz",
      timeoutMs: 1000,
    }).catch((e: unknown) => e);
    assert.ok(err instanceof TransientGoogleError);
    assert.equal(err.code, "NETWORK");
    assert.match(err.message, /Could not reach sdm\.example \(ECONNRESET\)/);
    assert.ok(!err.message.includes("zzzzzz"));
  });

  it("passes an abort through as it is", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stopped by the user"));
    const transport = {
      request: async () => {
        throw new Error("canceled");
      },
    };
    await assert.rejects(
      sendRequest(transport, { method: "GET", url: "https://x", timeoutMs: 1000, signal: controller.signal }),
      /stopped by the user/,
    );
  });
});

describe("http: AxiosTransport (loopback server)", () => {
  let server: http.Server;
  let base: string;
  const seen: {
    method?: string;
    url?: string;
    headers: http.IncomingHttpHeaders;
    body: string;
    bytes: Buffer;
  }[] = [];

  before(async () => {
    server = http.createServer((req, response) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const bytes = Buffer.concat(chunks);
        const body = bytes.toString();
        seen.push({ method: req.method, url: req.url, headers: req.headers, body, bytes });
        if (req.url === "/resume") {
          // A resumable upload's answer: a 308 that is not a redirect, even with a Location.
          response.writeHead(308, { range: `bytes=0-${bytes.length - 1}`, location: `${base}/elsewhere` });
          response.end();
          return;
        }
        if (req.url === "/image") {
          response.writeHead(200, { "content-type": "image/jpeg" });
          response.end(Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x7b, 0xd9]));
          return;
        }
        if (req.url?.startsWith("/hang")) return; // never answers: the client must time out
        if (req.url === "/json-error") {
          response.writeHead(429, { "content-type": "application/json", "retry-after": "9" });
          response.end(
            JSON.stringify({ error: { code: 429, message: "Rate limited.", status: "RESOURCE_EXHAUSTED" } }),
          );
          return;
        }
        if (req.url === "/text") {
          response.writeHead(502, { "content-type": "text/html" });
          response.end("<h1>Bad Gateway</h1>");
          return;
        }
        response.writeHead(200, { "content-type": "application/json", "x-Custom": "yes" });
        response.end(JSON.stringify({ ok: true, echo: body }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const transport = new AxiosTransport();

  it("sends JSON and parses the JSON answer, header names in lower case", async () => {
    const r = await transport.request({
      method: "POST",
      url: `${base}/ok`,
      headers: { Authorization: "Bearer abc" },
      data: { command: "x", params: {} },
      timeoutMs: 5000,
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.data, { ok: true, echo: '{"command":"x","params":{}}' });
    assert.equal(r.headers["x-custom"], "yes");
    const req = seen.at(-1);
    assert.equal(req?.headers["content-type"], "application/json");
    assert.equal(req?.headers.authorization, "Bearer abc");
  });

  it("sends a form url-encoded", async () => {
    await transport.request({
      method: "POST",
      url: `${base}/token`,
      form: { grant_type: "refresh_token", refresh_token: "1//0a b&c" },
      timeoutMs: 5000,
    });
    const req = seen.at(-1);
    assert.equal(req?.headers["content-type"], "application/x-www-form-urlencoded");
    assert.equal(req?.body, "grant_type=refresh_token&refresh_token=1%2F%2F0a+b%26c");
  });

  it("sends bytes as they are, and a stream as it is read", async () => {
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    await transport.request({
      method: "PUT",
      url: `${base}/ok`,
      headers: { "Content-Type": "video/mp4", "Content-Length": String(bytes.length) },
      body: bytes,
      timeoutMs: 5000,
    });
    assert.ok(seen.at(-1)?.bytes.equals(bytes));
    assert.equal(seen.at(-1)?.headers["content-type"], "video/mp4");
    await transport.request({
      method: "PUT",
      url: `${base}/ok`,
      headers: { "Content-Type": "video/mp4", "Content-Length": String(bytes.length) },
      body: Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]),
      timeoutMs: 5000,
    });
    assert.ok(seen.at(-1)?.bytes.equals(bytes));
  });

  it("hands a 308 to the caller instead of following it", async () => {
    const before = seen.length;
    const r = await transport.request({
      method: "PUT",
      url: `${base}/resume`,
      headers: { "Content-Range": "bytes 0-3/10" },
      body: Buffer.from("abcd"),
      timeoutMs: 5000,
    });
    assert.equal(r.status, 308);
    assert.equal(r.headers.range, "bytes=0-3");
    assert.equal(seen.length, before + 1, "no second request to the Location");
  });

  it("returns a binary answer as a Buffer", async () => {
    const r = await transport.request({
      method: "GET",
      url: `${base}/image`,
      responseType: "binary",
      timeoutMs: 5000,
    });
    assert.ok(Buffer.isBuffer(r.data));
    assert.deepEqual([...(r.data as Buffer)], [0xff, 0xd8, 0xff, 0x00, 0x7b, 0xd9]);
  });

  it("returns 4xx and 5xx answers instead of throwing", async () => {
    const limited = await transport.request({ method: "GET", url: `${base}/json-error`, timeoutMs: 5000 });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers["retry-after"], "9");
    const err = errorFromResponse(limited, "X", NOW);
    assert.ok(err instanceof RateLimitedError && err.retryAfterMs === 9_000);
    const text = await transport.request({ method: "GET", url: `${base}/text`, timeoutMs: 5000 });
    assert.equal(text.status, 502);
    assert.equal(text.data, "<h1>Bad Gateway</h1>");
  });

  it("maps a timeout to a transient TIMEOUT error", async () => {
    const err = await transport
      .request({ method: "GET", url: `${base}/hang?auth=secret-stream-token`, timeoutMs: 150 })
      .catch((e: unknown) => e);
    assert.ok(err instanceof TransientGoogleError, String(err));
    assert.equal(err.code, "TIMEOUT");
    assert.match(err.message, /within 0\.2 s/);
    assert.ok(!err.message.includes("secret-stream-token"));
  });

  it("maps a refused connection to a transient NETWORK error", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await transport
      .request({ method: "GET", url: `http://127.0.0.1:${port}/x`, timeoutMs: 2000 })
      .catch((e: unknown) => e);
    assert.ok(err instanceof TransientGoogleError, String(err));
    assert.equal(err.code, "NETWORK");
    assert.match(err.message, /ECONNREFUSED/);
  });
});
