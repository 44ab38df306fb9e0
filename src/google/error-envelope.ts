/**
 * Reads Google's error answers (the JSON envelope `{ error: { code, message, status, errors[] } }`
 * and OAuth's `{ error, error_description }`) into one typed error; each API may plug in rules of
 * its own for the answers it knows better (its advice, its own error reasons).
 */
import { truncate } from "../format";
import { redact } from "../redact";
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
} from "./errors";
import { parseBody, type HttpResponse } from "./http";

/** What a non-2xx answer says, read once for every rule. */
export interface GoogleErrorInfo {
  httpStatus: number;
  /** The canonical status (`FAILED_PRECONDITION`, …), or OAuth's `error` (`invalid_grant`, …). */
  status?: string;
  /** The first `errors[].reason`, where an API names its errors there, else a `details[]` ErrorInfo's. */
  reason?: string;
  /** The first `errors[].domain`. */
  domain?: string;
  /** Google's own words, redacted and cut: `error.message`, `error_description` or the page's text. */
  detail: string;
  /** `<what> failed: <detail> (HTTP <status> <STATUS or reason>)`: the text every error starts from. */
  message: string;
  /** From `Retry-After`, when the answer has one. */
  retryAfterMs?: number;
  /** The answer came in OAuth's flat shape (a token endpoint). */
  oauth: boolean;
}

/** An API's own mapping: a typed error for the answers it knows, or undefined for the common one. */
export type ApiErrorRules = (info: GoogleErrorInfo) => GoogleError | undefined;

/**
 * The typed error for a non-2xx answer. `what` names the call for the message ("Listing devices", …);
 * `now` dates `Retry-After`; `rules` are the API's own, tried before the common mapping.
 */
export function errorFromResponse(
  res: HttpResponse,
  what: string,
  now: number,
  rules?: ApiErrorRules,
): GoogleError {
  const info = readErrorEnvelope(res, what, now);
  return rules?.(info) ?? commonError(info);
}

/** Reads the envelope of a non-2xx answer, in whichever of Google's shapes it came. */
export function readErrorEnvelope(res: HttpResponse, what: string, now: number): GoogleErrorInfo {
  const body = parseBody(res.data);
  const envelope = body && typeof body === "object" ? (body as Record<string, unknown>) : undefined;
  const error = envelope?.error;
  let status: string | undefined;
  let reason: string | undefined;
  let domain: string | undefined;
  let detail: string | undefined;
  const oauth = typeof error === "string";

  if (typeof error === "string") {
    status = error;
    detail = typeof envelope?.error_description === "string" ? envelope.error_description : undefined;
  } else if (error && typeof error === "object") {
    const e = error as Record<string, unknown>;
    status = typeof e.status === "string" ? e.status : undefined;
    detail = typeof e.message === "string" ? e.message : undefined;
    const first = Array.isArray(e.errors) ? (e.errors[0] as Record<string, unknown> | undefined) : undefined;
    reason = typeof first?.reason === "string" ? first.reason : undefined;
    domain = typeof first?.domain === "string" ? first.domain : undefined;
    if (!detail && typeof first?.message === "string") detail = first.message;
    // Newer APIs (Pub/Sub, …) name the reason in `details[]`, as a google.rpc.ErrorInfo.
    if (!reason && Array.isArray(e.details)) {
      const info = (e.details as unknown[]).find(
        (d): d is Record<string, unknown> =>
          !!d && typeof d === "object" && typeof (d as Record<string, unknown>).reason === "string",
      );
      if (info) {
        reason = info.reason as string;
        if (typeof info.domain === "string") domain = info.domain;
      }
    }
  } else if (typeof body === "string" && body.trim()) {
    detail = body
      .replace(/<[^>]*>/g, " ")
      .replace(/\s+/g, " ")
      .trim();
  }

  const http = res.status;
  const label = status ?? reason;
  const said = truncate(redact(detail || "no details"), 300);
  return {
    httpStatus: http,
    status,
    reason,
    domain,
    detail: said,
    message: `${what} failed: ${said} (HTTP ${http}${label ? ` ${label}` : ""})`,
    retryAfterMs: parseRetryAfter(res.headers["retry-after"], now),
    oauth,
  };
}

/** The mapping every Google API shares: canonical statuses first, then the HTTP status. */
function commonError(info: GoogleErrorInfo): GoogleError {
  const { httpStatus: http, status, message } = info;
  if (http === 429 || status === "RESOURCE_EXHAUSTED")
    return new RateLimitedError(message, info.retryAfterMs);
  if (http >= 500 || http === 408) return new TransientGoogleError(message, http, status ?? "UNAVAILABLE");
  if (http === 401 || status === "UNAUTHENTICATED") return new UnauthenticatedError(message);
  if (http === 403 || status === "PERMISSION_DENIED") return new PermissionDeniedError(message);
  if (http === 404 || status === "NOT_FOUND") return new NotFoundError(message);
  if (status === "FAILED_PRECONDITION") return new FailedPreconditionError(message);
  if (http === 400 || status === "INVALID_ARGUMENT") return new InvalidArgumentError(message);
  return new GoogleError(message, http, status ?? `HTTP_${http}`, false);
}

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date; undefined if absent or
 * unreadable. The one reader of that header: every retry honours what it read (retry.ts).
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * The token endpoint's own errors (OAuth's flat envelope): a dead refresh token or a wrong client.
 * `account` names the node the user must fix, as the editor labels it.
 */
export function oauthErrorRules(account?: string): ApiErrorRules {
  return (info) => {
    if (!info.oauth) return undefined;
    const description = info.detail === "no details" ? undefined : info.detail;
    if (info.status === "invalid_grant") return new InvalidGrantError(description, account);
    if (info.status === "invalid_client" || info.status === "unauthorized_client") {
      return new InvalidClientError(description ?? info.status, account);
    }
    return undefined;
  };
}
