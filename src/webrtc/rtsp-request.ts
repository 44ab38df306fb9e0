/**
 * Reads RTSP requests (RFC 2326) off a local RTSP server connection's received bytes: one request
 * at a time within the limits, or the status to refuse it with, or how many bytes it still needs.
 */

/** Limits on one request, each with the status a request beyond it is refused with. */
export interface RtspRequestLimits {
  /** Request line and header fields, up to the empty line (more: 400 Bad Request). */
  maxHeaderBytes: number;
  /** The request URI (more: 414 Request-URI Too Large). */
  maxUriBytes: number;
  /** A request body, as its Content-Length says (more: 413 Request Entity Too Large). */
  maxBodyBytes: number;
}

/** One RTSP request, its header names in lower case. */
export interface RtspRequest {
  method: string;
  uri: string;
  headers: Map<string, string>;
  body: Buffer;
}

/** A request read off the connection, why it cannot be, or how many bytes it needs (at least). */
export type ParsedRequest =
  { request: RtspRequest; size: number } | { refuse: number; cseq?: string } | { need: number };

/**
 * Received bytes not read yet. Appending copies each byte once (amortised): a request sent a
 * byte at a time is not copied again for every byte.
 */
export class ByteQueue {
  private data = Buffer.alloc(0);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  view(): Buffer {
    return this.data.subarray(this.start, this.end);
  }

  append(chunk: Buffer): void {
    if (this.end + chunk.length > this.data.length) {
      const size = this.length + chunk.length;
      if (size <= this.data.length / 2) {
        this.data.copy(this.data, 0, this.start, this.end);
      } else {
        const grown = Buffer.allocUnsafe(Math.max(size * 2, 4096));
        this.data.copy(grown, 0, this.start, this.end);
        this.data = grown;
      }
      this.end = this.length;
      this.start = 0;
    }
    chunk.copy(this.data, this.end);
    this.end += chunk.length;
  }

  consume(n: number): void {
    this.start = Math.min(this.end, this.start + n);
    if (this.start === this.end) this.start = this.end = 0;
  }

  clear(): void {
    this.data = Buffer.alloc(0);
    this.start = this.end = 0;
  }
}

/**
 * One request from the start of `buf`: `{ need }` (how many bytes it takes at least) while it is
 * incomplete, a status to refuse it with when it is malformed or too large. Lines end in CRLF; a
 * bare CR or LF, or any other control character, in the request line or a header is refused (it
 * would be echoed into a reply).
 */
export function parseRequest(buf: Buffer, limits: RtspRequestLimits): ParsedRequest {
  const window = buf.subarray(0, limits.maxHeaderBytes + 4);
  const end = window.indexOf("\r\n\r\n");
  if (end < 0) {
    if (buf.length < limits.maxHeaderBytes + 4) return { need: buf.length + 1 };
    // No end of the head within the limit: a request line that long is a too long URI.
    return { refuse: window.indexOf("\r\n") < 0 ? 414 : 400 };
  }
  const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
  const cseqLine = lines.find((l) => /^cseq[ \t]*:/i.test(l));
  const cseqValue = cseqLine?.slice(cseqLine.indexOf(":") + 1).trim();
  const cseq = cseqValue !== undefined && /^\d{1,10}$/.test(cseqValue) ? cseqValue : undefined;
  if (lines.some(hasControl)) return { refuse: 400, cseq };
  const m = /^([A-Z_]{1,32})[ \t]+(\S+)[ \t]+RTSP\/1\.\d$/.exec(lines[0]);
  if (!m) return { refuse: lines[0].length > limits.maxUriBytes ? 414 : 400, cseq };
  if (m[2].length > limits.maxUriBytes) return { refuse: 414, cseq };
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i <= 0) return { refuse: 400, cseq };
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    if (headers.has(name) && headers.get(name) !== value && (name === "content-length" || name === "cseq"))
      return { refuse: 400, cseq };
    headers.set(name, value);
  }
  if (headers.has("cseq") && cseq === undefined) return { refuse: 400 };
  const lengthText = headers.get("content-length") ?? "0";
  if (!/^\d{1,15}$/.test(lengthText)) return { refuse: 400, cseq };
  const length = Number(lengthText);
  if (length > limits.maxBodyBytes) return { refuse: 413, cseq };
  if (buf.length < end + 4 + length) return { need: end + 4 + length };
  const body = Buffer.from(buf.subarray(end + 4, end + 4 + length));
  return { request: { method: m[1], uri: m[2], headers, body }, size: end + 4 + length };
}

/** A control character other than tab (a bare CR or LF among them). */
export function hasControl(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

/** Picks the first TCP interleaved option of a Transport header; undefined when only UDP is offered. */
export function chooseTransport(header: string): { interleaved?: number } | undefined {
  for (const spec of header.split(",")) {
    const parts = spec.split(";").map((p) => p.trim());
    if (!/^RTP\/AVP\/TCP$/i.test(parts[0] ?? "")) continue;
    const il = parts.find((p) => /^interleaved=/i.test(p));
    const n = il ? Number(il.split("=")[1].split("-")[0]) : undefined;
    return { interleaved: n !== undefined && Number.isInteger(n) && n >= 0 ? n : undefined };
  }
  return undefined;
}
