import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  FailedPreconditionError,
  GoogleError,
  InvalidArgumentError,
  InvalidClientError,
  InvalidGrantError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitedError,
  TransientGoogleError,
  UnauthenticatedError,
} from "../../src/google/errors";
import {
  AxiosTransport,
  errorFromResponse,
  parseRetryAfter,
  sendRequest,
  type HttpResponse,
} from "../../src/google/http";
import { secrets } from "../../src/redact";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

function res(status: number, data: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers, data };
}
function envelope(code: number, status: string, message: string, headers: Record<string, string> = {}) {
  return res(code, { error: { code, message, status } }, headers);
}

describe("http: Google answers to typed errors", () => {
  const cases: [string, HttpResponse, new (...args: never[]) => GoogleError, boolean][] = [
    [
      "400 FAILED_PRECONDITION",
      envelope(400, "FAILED_PRECONDITION", "The camera is offline."),
      FailedPreconditionError,
      false,
    ],
    [
      "400 INVALID_ARGUMENT",
      envelope(400, "INVALID_ARGUMENT", "Invalid token."),
      InvalidArgumentError,
      false,
    ],
    [
      "401 UNAUTHENTICATED",
      envelope(401, "UNAUTHENTICATED", "Invalid credentials."),
      UnauthenticatedError,
      false,
    ],
    [
      "403 PERMISSION_DENIED",
      envelope(403, "PERMISSION_DENIED", "Permission denied."),
      PermissionDeniedError,
      false,
    ],
    ["404 NOT_FOUND", envelope(404, "NOT_FOUND", "Device not found."), NotFoundError, false],
    ["429 RESOURCE_EXHAUSTED", envelope(429, "RESOURCE_EXHAUSTED", "Rate limited."), RateLimitedError, true],
    ["500 INTERNAL", envelope(500, "INTERNAL", "Internal error."), TransientGoogleError, true],
    [
      "503 as HTML",
      res(503, "<html><body><h1>Service Unavailable</h1></body></html>"),
      TransientGoogleError,
      true,
    ],
    [
      "502 JSON as text",
      res(502, '{"error":{"code":502,"message":"Bad gateway","status":"UNAVAILABLE"}}'),
      TransientGoogleError,
      true,
    ],
    ["400 without envelope", res(400, ""), InvalidArgumentError, false],
    [
      "oauth invalid_grant",
      res(400, { error: "invalid_grant", error_description: "Token has been expired or revoked." }),
      InvalidGrantError,
      false,
    ],
    [
      "oauth invalid_client",
      res(401, { error: "invalid_client", error_description: "Unauthorized" }),
      InvalidClientError,
      false,
    ],
    ["oauth unauthorized_client", res(401, { error: "unauthorized_client" }), InvalidClientError, false],
  ];
  for (const [title, answer, type, transient] of cases) {
    it(title, () => {
      const err = errorFromResponse(answer, "Listing devices", NOW);
      assert.ok(err instanceof type, `${err.name}: ${err.message}`);
      assert.equal(err.transient, transient);
    });
  }

  it("keeps Google's message and status in the text", () => {
    const err = errorFromResponse(
      envelope(400, "FAILED_PRECONDITION", "The camera is offline."),
      "Generate",
      NOW,
    );
    assert.equal(err.message, "Generate failed: The camera is offline. (HTTP 400 FAILED_PRECONDITION)");
    assert.equal(err.code, "FAILED_PRECONDITION");
    assert.equal(err.httpStatus, 400);
    assert.ok((err as FailedPreconditionError).offline);
    const html = errorFromResponse(
      res(503, "<html><body><h1>Service Unavailable</h1></body></html>"),
      "X",
      NOW,
    );
    assert.equal(html.message, "X failed: Service Unavailable (HTTP 503)");
  });

  it("explains a 403", () => {
    const err = errorFromResponse(envelope(403, "PERMISSION_DENIED", "Permission denied."), "X", NOW);
    assert.match(err.message, /project ID/);
    assert.match(err.message, /shared/);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const at = (v: string) =>
      (
        errorFromResponse(
          envelope(429, "RESOURCE_EXHAUSTED", "x", { "retry-after": v }),
          "X",
          NOW,
        ) as RateLimitedError
      ).retryAfterMs;
    assert.equal(at("30"), 30_000);
    assert.equal(at(new Date(NOW + 45_000).toUTCString()), 45_000);
    assert.equal(
      (errorFromResponse(envelope(429, "RESOURCE_EXHAUSTED", "x"), "X", NOW) as RateLimitedError)
        .retryAfterMs,
      undefined,
    );
    assert.equal(parseRetryAfter("1.5", NOW), 1_500);
    assert.equal(parseRetryAfter(new Date(NOW - 5_000).toUTCString(), NOW), 0);
    assert.equal(parseRetryAfter("soon", NOW), undefined);
    assert.equal(parseRetryAfter("", NOW), undefined);
    assert.equal(parseRetryAfter(undefined, NOW), undefined);
  });

  it("redacts tokens, secrets and auth= from every message", () => {
    const accessToken = "ya29.a0AfH6SMBx-some-access-token";
    const registered = "plain-registered-secret-value";
    secrets.add(registered);
    const body = envelope(
      400,
      "INVALID_ARGUMENT",
      `rtsps://h:443/sdm_live_stream/x?auth=STREAMTOKEN123 Bearer ${accessToken} ${registered} ` +
        `"refresh_token": "1//0abcdefghijklmnop" GOCSPX-abcdefg`,
    );
    const err = errorFromResponse(body, "X", NOW);
    for (const secret of [
      accessToken,
      registered,
      "STREAMTOKEN123",
      "1//0abcdefghijklmnop",
      "GOCSPX-abcdefg",
    ]) {
      assert.ok(!err.message.includes(secret), err.message);
      assert.ok(!(err.stack ?? "").includes(secret));
    }
    assert.match(err.message, /auth=\*\*\*/);
    secrets.delete(registered);
  });

  it("truncates long answers", () => {
    const err = errorFromResponse(res(500, "x".repeat(5000)), "X", NOW);
    assert.ok(err.message.length < 400);
  });
});

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
  const seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

  before(async () => {
    server = http.createServer((req, response) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
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
