import assert from "node:assert/strict";
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
  errorFromResponse as readWith,
  oauthErrorRules,
  parseRetryAfter,
  type ApiErrorRules,
} from "../../src/google/error-envelope";
import type { HttpResponse } from "../../src/google/http";
import { isCameraOffline, sdmErrorRules } from "../../src/nest/sdm-errors";
import { secrets } from "../../src/redact";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A nest-account's view: the token endpoint's rules, then SDM's own, then the common mapping. */
const nestRules: ApiErrorRules = (info) => oauthErrorRules("nest-account")(info) ?? sdmErrorRules(info);
function errorFromResponse(res: HttpResponse, what: string, now: number) {
  return readWith(res, what, now, nestRules);
}

function res(status: number, data: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers, data };
}
function envelope(code: number, status: string, message: string, headers: Record<string, string> = {}) {
  return res(code, { error: { code, message, status } }, headers);
}

describe("error envelope: Google answers to typed errors", () => {
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
    assert.ok(isCameraOffline(err));
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

  it("reads the reason of YouTube's envelope and lets an API's rules decide first", () => {
    const quota = res(403, {
      error: {
        code: 403,
        message: "The request cannot be completed because you have exceeded your quota.",
        errors: [{ domain: "youtube.quota", reason: "quotaExceeded", message: "quota" }],
      },
    });
    const plain = readWith(quota, "Inserting a broadcast", NOW);
    assert.ok(plain instanceof PermissionDeniedError);
    assert.equal(
      plain.message,
      "Inserting a broadcast failed: The request cannot be completed because you have exceeded your quota. " +
        "(HTTP 403 quotaExceeded)",
    );
    assert.ok(!/Device Access|project ID/.test(plain.message), "the common mapping has no API's advice");
    class QuotaError extends GoogleError {}
    const rules: ApiErrorRules = (info) =>
      info.reason === "quotaExceeded" && info.domain === "youtube.quota"
        ? new QuotaError(info.message, info.httpStatus, info.reason, false)
        : undefined;
    assert.ok(readWith(quota, "X", NOW, rules) instanceof QuotaError);
    // Rules that know nothing of an answer leave it to the common mapping.
    assert.ok(readWith(envelope(404, "NOT_FOUND", "x"), "X", NOW, rules) instanceof NotFoundError);
  });
});
