/**
 * The HTTP layer under the Google clients: an injectable transport (axios in production, an
 * in-memory fake in tests) and the mapping of Google's answers to the typed errors of errors.ts.
 */
import axios, { type AxiosInstance } from "axios";
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

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface HttpRequest {
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  /** JSON body. */
  data?: unknown;
  /** Form body (application/x-www-form-urlencoded); used instead of `data` when given. */
  form?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** Parsed JSON when the body was JSON, else the text. */
  data: unknown;
}

/**
 * Sends one request. Resolves with any HTTP status (4xx and 5xx included); rejects only when no
 * answer came (network failure, timeout), preferably with a TransientGoogleError.
 */
export interface HttpTransport {
  request(req: HttpRequest): Promise<HttpResponse>;
}

export class AxiosTransport implements HttpTransport {
  private readonly client: AxiosInstance;

  constructor(client: AxiosInstance = axios.create()) {
    this.client = client;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const headers: Record<string, string> = { Accept: "application/json", ...req.headers };
    let data: unknown = req.data;
    if (req.form) {
      data = new URLSearchParams(req.form).toString();
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    } else if (data !== undefined && !hasHeader(headers, "content-type")) {
      headers["Content-Type"] = "application/json";
    }
    try {
      const res = await this.client.request({
        method: req.method,
        url: req.url,
        headers,
        data,
        timeout: req.timeoutMs,
        signal: req.signal,
        // Google's error answers are data to map, not exceptions.
        validateStatus: () => true,
        // Report a timeout as ETIMEDOUT rather than the ambiguous ECONNABORTED.
        transitional: { clarifyTimeoutError: true, silentJSONParsing: true, forcedJSONParsing: true },
      });
      return { status: res.status, headers: plainHeaders(res.headers), data: res.data };
    } catch (err) {
      if (req.signal?.aborted) throw req.signal.reason ?? err;
      throw networkError(err, req);
    }
  }
}

/** Sends through any transport; whatever it throws (other than an abort) becomes a GoogleError. */
export async function sendRequest(http: HttpTransport, req: HttpRequest): Promise<HttpResponse> {
  try {
    return await http.request(req);
  } catch (err) {
    if (req.signal?.aborted) throw req.signal.reason ?? err;
    throw networkError(err, req);
  }
}

/** A failure to get any answer: always worth retrying. */
export function networkError(err: unknown, req: Pick<HttpRequest, "url" | "timeoutMs">): GoogleError {
  if (err instanceof GoogleError) return err;
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === "string" ? e.code : undefined;
  const detail = typeof e.message === "string" ? e.message : String(err);
  const host = hostOf(req.url);
  if (code === "ETIMEDOUT" || code === "ECONNABORTED" || /timeout/i.test(detail)) {
    return new TransientGoogleError(
      `No answer from ${host} within ${Math.round(req.timeoutMs / 100) / 10} s (timeout).`,
      0,
      "TIMEOUT",
    );
  }
  return new TransientGoogleError(
    `Could not reach ${host}${code ? ` (${code})` : ""}: ${truncate(redact(detail), 200)}`,
    0,
    "NETWORK",
  );
}

/** True for 2xx. */
export function isOk(res: HttpResponse): boolean {
  return res.status >= 200 && res.status < 300;
}

/**
 * The typed error for a non-2xx answer. Understands the SDM envelope
 * `{ error: { code, message, status } }` and the OAuth one `{ error, error_description }`.
 * `what` names the call for the message ("Listing devices", …); `now` dates `Retry-After`.
 */
export function errorFromResponse(res: HttpResponse, what: string, now: number): GoogleError {
  const body = parseBody(res.data);
  const envelope = body && typeof body === "object" ? (body as Record<string, unknown>) : undefined;
  const error = envelope?.error;
  let status: string | undefined;
  let detail: string | undefined;

  if (typeof error === "string") {
    // OAuth token endpoint.
    const description =
      typeof envelope?.error_description === "string" ? envelope.error_description : undefined;
    if (error === "invalid_grant") return new InvalidGrantError(description);
    if (error === "invalid_client" || error === "unauthorized_client") {
      return new InvalidClientError(description ?? error);
    }
    status = error;
    detail = description;
  } else if (error && typeof error === "object") {
    const e = error as Record<string, unknown>;
    status = typeof e.status === "string" ? e.status : undefined;
    detail = typeof e.message === "string" ? e.message : undefined;
  } else if (typeof body === "string" && body.trim()) {
    detail = body
      .replace(/<[^>]*>/g, " ")
      .replace(/\s+/g, " ")
      .trim();
  }

  const http = res.status;
  const tag = `HTTP ${http}${status ? ` ${status}` : ""}`;
  const message = `${what} failed: ${truncate(redact(detail || "no details"), 300)} (${tag})`;

  if (http === 429 || status === "RESOURCE_EXHAUSTED") {
    return new RateLimitedError(message, parseRetryAfter(res.headers["retry-after"], now));
  }
  if (http >= 500 || http === 408) return new TransientGoogleError(message, http, status ?? "UNAVAILABLE");
  if (http === 401 || status === "UNAUTHENTICATED") return new UnauthenticatedError(message);
  if (http === 403 || status === "PERMISSION_DENIED") {
    return new PermissionDeniedError(
      `${message}. Check the Device Access project ID, and that this camera was shared with the project ` +
        "when the account was authorized (authorize again to change the selection).",
    );
  }
  if (http === 404 || status === "NOT_FOUND") return new NotFoundError(message);
  if (status === "FAILED_PRECONDITION") return new FailedPreconditionError(message);
  if (http === 400 || status === "INVALID_ARGUMENT") return new InvalidArgumentError(message);
  return new GoogleError(message, http, status ?? `HTTP_${http}`, false);
}

/** `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The body as an object when it is JSON text (a proxy may hand it over unparsed). */
export function parseBody(data: unknown): unknown {
  if (typeof data !== "string") return data;
  const text = data.trim();
  if (!text.startsWith("{") && !text.startsWith("[")) return data;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return data;
  }
}

function plainHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const source =
    headers && typeof (headers as { toJSON?: unknown }).toJSON === "function"
      ? (headers as { toJSON(): Record<string, unknown> }).toJSON()
      : ((headers ?? {}) as Record<string, unknown>);
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((h) => h.toLowerCase() === name);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host || "Google";
  } catch {
    return "Google";
  }
}
