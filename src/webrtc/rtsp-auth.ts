/**
 * Authentication of the local RTSP server's readers (RFC 2326 section 12.5 uses HTTP's schemes):
 * Digest (RFC 2617 / RFC 7616 with MD5, `qop=auth` offered and optional: GStreamer's rtspsrc and
 * live555 (VLC) answer without it, ffmpeg with it) and Basic (RFC 7617).
 *
 * - Nonces are stateless: the time they were made and an HMAC of it and of the client's address
 *   under a key of this process, so any number of challenges costs no memory, and an answer seen
 *   on the network does not let another address in. The right answer to a nonce older than
 *   `nonceTtlMs`, or not made here for that address, gets a new challenge marked `stale=true` (the
 *   client retries with the same password; not a failure).
 * - Every comparison of a secret runs in constant time (both sides hashed to equal lengths first).
 * - Failed attempts are counted per client address: after `maxFailures` within `failureWindowMs`
 *   the address is refused until the window has passed (a password cannot be guessed quickly).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { systemClock, type Clock } from "../clock";

/** A user name and password that readers of one path must give. */
export interface RtspCredentials {
  user: string;
  password: string;
}

export interface RtspAuthOptions {
  /** The realm of the challenges (default "nest-restream"). */
  realm?: string;
  /** How long a nonce is accepted after it was made (default 5 min). */
  nonceTtlMs?: number;
  /** Failed attempts one address may make within `failureWindowMs` (default 10). */
  maxFailures?: number;
  /** The window of `maxFailures`, also how long an address stays refused (default 60 s). */
  failureWindowMs?: number;
  /** Addresses whose failures are remembered at most (default 4096; the oldest are forgotten). */
  maxTrackedAddresses?: number;
  clock?: Clock;
}

/** How an Authorization header compares with the credentials of a path. */
export type RtspAuthResult = "ok" | "missing" | "stale" | "wrong";

export const RTSP_AUTH_DEFAULTS = Object.freeze({
  realm: "nest-restream",
  nonceTtlMs: 5 * 60_000,
  maxFailures: 10,
  failureWindowMs: 60_000,
  maxTrackedAddresses: 4096,
});

/** Length of the time part of a nonce (hex milliseconds) and of its HMAC part (hex). */
const TIME_HEX = 12;
const MAC_HEX = 32;

interface Failures {
  count: number;
  since: number;
}

export class RtspAuthenticator {
  readonly realm: string;
  private readonly nonceTtlMs: number;
  private readonly maxFailures: number;
  private readonly failureWindowMs: number;
  private readonly maxTracked: number;
  private readonly clock: Clock;
  private readonly key = randomBytes(32);
  private readonly failures = new Map<string, Failures>();

  constructor(options: RtspAuthOptions = {}) {
    this.realm = options.realm ?? RTSP_AUTH_DEFAULTS.realm;
    this.nonceTtlMs = options.nonceTtlMs ?? RTSP_AUTH_DEFAULTS.nonceTtlMs;
    this.maxFailures = options.maxFailures ?? RTSP_AUTH_DEFAULTS.maxFailures;
    this.failureWindowMs = options.failureWindowMs ?? RTSP_AUTH_DEFAULTS.failureWindowMs;
    this.maxTracked = options.maxTrackedAddresses ?? RTSP_AUTH_DEFAULTS.maxTrackedAddresses;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * The `WWW-Authenticate` values of a 401 answer, Digest first, then Basic. The Digest one starts
   * with `realm` then `nonce` (live555 reads them in that order).
   */
  challenge(stale = false, address = ""): string[] {
    const realm = quote(this.realm);
    const digest =
      `Digest realm=${realm}, nonce="${this.nonce(address)}", algorithm=MD5, qop="auth"` +
      (stale ? ", stale=true" : "");
    return [digest, `Basic realm=${realm}`];
  }

  /**
   * Checks the Authorization header of a request with `method` against `credentials`; a Digest
   * answer must also name a `uri` that `uriMatches` accepts (the request's, RFC 7616 section 3.4.6),
   * and a nonce that was made for the client's `address`.
   */
  check(
    header: string | undefined,
    method: string,
    credentials: RtspCredentials,
    uriMatches: (uri: string) => boolean = () => true,
    address = "",
  ): RtspAuthResult {
    if (header === undefined || header.trim() === "") return "missing";
    const space = header.trim().search(/\s/);
    const scheme = (space < 0 ? header.trim() : header.trim().slice(0, space)).toLowerCase();
    const rest =
      space < 0
        ? ""
        : header
            .trim()
            .slice(space + 1)
            .trim();
    if (scheme === "basic") return this.checkBasic(rest, credentials);
    if (scheme === "digest") return this.checkDigest(rest, method, credentials, uriMatches, address);
    return "wrong";
  }

  /** True while `address` has used up its failed attempts. */
  blocked(address: string): boolean {
    const f = this.failures.get(address);
    if (!f) return false;
    if (this.clock.now() - f.since >= this.failureWindowMs) {
      this.failures.delete(address);
      return false;
    }
    return f.count >= this.maxFailures;
  }

  /** Counts a failed attempt of `address`; true when it is now refused. */
  failed(address: string): boolean {
    const now = this.clock.now();
    let f = this.failures.get(address);
    if (!f || now - f.since >= this.failureWindowMs) {
      this.failures.delete(address);
      f = { count: 0, since: now };
      if (this.failures.size >= this.maxTracked) this.forgetOldest(now);
      this.failures.set(address, f);
    }
    f.count++;
    return f.count >= this.maxFailures;
  }

  private forgetOldest(now: number): void {
    for (const [address, f] of this.failures) {
      if (now - f.since >= this.failureWindowMs) this.failures.delete(address);
    }
    // Map order is insertion order: the first entries are the oldest windows.
    while (this.failures.size >= this.maxTracked) {
      const first = this.failures.keys().next();
      if (first.done) break;
      this.failures.delete(first.value);
    }
  }

  private nonce(address: string): string {
    const time = this.clock.now().toString(16).padStart(TIME_HEX, "0").slice(-TIME_HEX);
    return time + this.mac(time, address);
  }

  private mac(time: string, address: string): string {
    return createHmac("sha256", this.key).update(`${time}\n${address}`).digest("hex").slice(0, MAC_HEX);
  }

  /**
   * "ok" for a nonce this process made for `address` within the TTL, "stale" for an older one,
   * else "wrong" (another process's, or one made for another address).
   */
  private nonceState(nonce: string, address: string): "ok" | "stale" | "wrong" {
    if (nonce.length !== TIME_HEX + MAC_HEX || !/^[0-9a-f]+$/.test(nonce)) return "wrong";
    const time = nonce.slice(0, TIME_HEX);
    if (!safeEqual(nonce.slice(TIME_HEX), this.mac(time, address))) return "wrong";
    const age = this.clock.now() - parseInt(time, 16);
    // A nonce from the future (a clock that jumped back) is as good as an old one.
    return age >= 0 && age <= this.nonceTtlMs ? "ok" : "stale";
  }

  private checkBasic(token: string, credentials: RtspCredentials): RtspAuthResult {
    if (!/^[A-Za-z0-9+/]+=*$/.test(token)) return "wrong";
    const decoded = Buffer.from(token, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return "wrong";
    const userOk = safeEqual(decoded.slice(0, colon), credentials.user);
    const passwordOk = safeEqual(decoded.slice(colon + 1), credentials.password);
    return userOk && passwordOk ? "ok" : "wrong";
  }

  private checkDigest(
    text: string,
    method: string,
    credentials: RtspCredentials,
    uriMatches: (uri: string) => boolean,
    address: string,
  ): RtspAuthResult {
    const p = parseAuthParams(text);
    if (!p) return "wrong";
    const { username, realm, nonce, uri, response } = p;
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined)
      return "wrong";
    if (realm !== this.realm || !uriMatches(uri)) return "wrong";
    const algorithm = (p.algorithm ?? "MD5").toUpperCase();
    if (algorithm !== "MD5") return "wrong";
    const qop = p.qop?.toLowerCase();
    if (qop !== undefined && (qop !== "auth" || p.nc === undefined || p.cnonce === undefined)) return "wrong";
    const nonceState = this.nonceState(nonce, address);
    const ha1 = md5(`${credentials.user}:${this.realm}:${credentials.password}`);
    const ha2 = md5(`${method}:${uri}`);
    const expected =
      qop === undefined
        ? md5(`${ha1}:${nonce}:${ha2}`)
        : md5(`${ha1}:${nonce}:${p.nc}:${p.cnonce}:${qop}:${ha2}`);
    const userOk = safeEqual(username, credentials.user);
    const responseOk = safeEqual(response.toLowerCase(), expected);
    if (!userOk || !responseOk) return "wrong";
    // The right answer to a nonce that is old, or not one made here for this address (another
    // address of the same client, a Node-RED restarted since, or an answer replayed from elsewhere):
    // a new challenge, not a failure; only one who knows the password can answer that one.
    return nonceState === "ok" ? "ok" : "stale";
  }
}

function md5(text: string): string {
  return createHash("md5").update(text, "utf8").digest("hex");
}

/** Compares two strings in time that depends on neither (both are hashed to 32 bytes first). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a, "utf8").digest();
  const hb = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(ha, hb);
}

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * The `name=value` / `name="quoted value"` list of a Digest header (RFC 7235 auth-param), names
 * lower case; undefined when malformed or when a name comes twice. Linear in the length.
 */
export function parseAuthParams(text: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let i = 0;
  const n = text.length;
  const skipSpace = () => {
    while (i < n && (text[i] === " " || text[i] === "\t")) i++;
  };
  while (i < n) {
    skipSpace();
    if (i >= n) break;
    const nameStart = i;
    while (i < n && /[A-Za-z0-9_-]/.test(text[i])) i++;
    const name = text.slice(nameStart, i).toLowerCase();
    if (!name) return undefined;
    skipSpace();
    if (text[i] !== "=") return undefined;
    i++;
    skipSpace();
    let value = "";
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i];
        if (c === "\\" && i + 1 < n) {
          value += text[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          closed = true;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) return undefined;
    } else {
      const valueStart = i;
      while (i < n && text[i] !== "," && text[i] !== " " && text[i] !== "\t") i++;
      value = text.slice(valueStart, i);
    }
    if (Object.prototype.hasOwnProperty.call(out, name)) return undefined;
    out[name] = value;
    skipSpace();
    if (i < n) {
      if (text[i] !== ",") return undefined;
      i++;
    }
  }
  return out;
}

/** Loopback addresses: a server bound to one of them is out of reach of other machines. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "");
  return (
    h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === "::ffff:127.0.0.1"
  );
}

/**
 * `url` (rtsp://host:port/path) with `user:password@` in it, both percent-encoded, the way RTSP
 * clients (ffmpeg, GStreamer, VLC) read credentials from a URL.
 */
export function withCredentials(url: string, credentials: RtspCredentials | undefined): string {
  if (!credentials) return url;
  const m = /^(rtsps?:\/\/)(.*)$/i.exec(url);
  if (!m) return url;
  return `${m[1]}${encodeUserinfo(credentials.user)}:${encodeUserinfo(credentials.password)}@${m[2]}`;
}

/** Percent-encodes a user name or password for a URL's userinfo (everything but unreserved characters). */
export function encodeUserinfo(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
