/**
 * The HTTP transport under every Google client: an injectable `request` (axios in production, an
 * in-memory fake in tests) that sends JSON, form, text, binary or streamed bodies and hands every
 * answer, whatever its status, to the caller; only a missing answer is an error.
 */
import type { Readable } from "node:stream";
import axios, { type AxiosInstance } from "axios";
import { truncate } from "../format";
import { redact } from "../redact";
import { GoogleError, TransientGoogleError } from "./errors";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface HttpRequest {
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  /** JSON body (or text, with its own Content-Type header). */
  data?: unknown;
  /** Form body (application/x-www-form-urlencoded); used instead of `data` when given. */
  form?: Record<string, string>;
  /**
   * A raw body sent as it is: bytes, or a stream read as it is sent (an upload's chunk, never held
   * whole in memory). Its Content-Type and Content-Length go in `headers`. Used instead of `data`.
   */
  body?: Buffer | Readable;
  /** `"binary"`: the answer's body as a Buffer (an image); default: parsed JSON or text. */
  responseType?: "json" | "binary";
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** Parsed JSON when the body was JSON, else the text; a Buffer with `responseType: "binary"`. */
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
    const binary = req.responseType === "binary";
    const headers: Record<string, string> = { Accept: binary ? "*/*" : "application/json", ...req.headers };
    let data: unknown = req.data;
    if (req.body !== undefined) {
      data = req.body;
    } else if (req.form) {
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
        // Every status is an answer for the caller: Google's errors are data to map, and a 3xx can be
        // part of a protocol (a resumable upload's 308 Resume Incomplete), never a redirect to follow.
        validateStatus: () => true,
        maxRedirects: 0,
        responseType: binary ? "arraybuffer" : undefined,
        // A streamed upload must not be buffered to compute its length, nor capped in size.
        maxBodyLength: Infinity,
        maxContentLength: Infinity,
        // Report a timeout as ETIMEDOUT rather than the ambiguous ECONNABORTED.
        transitional: { clarifyTimeoutError: true, silentJSONParsing: true, forcedJSONParsing: true },
      });
      const body: unknown = binary ? Buffer.from(res.data as ArrayBuffer) : res.data;
      return { status: res.status, headers: plainHeaders(res.headers), data: body };
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
