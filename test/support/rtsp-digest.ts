import { createHash } from "node:crypto";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

/** The parameters of a `WWW-Authenticate: Digest …` value (simple parser, for tests). */
export function digestParams(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of value.replace(/^Digest\s+/i, "").matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]+))/g))
    out[m[1].toLowerCase()] = m[2] ?? m[3];
  return out;
}

/** An Authorization header as an RTSP client computes it from a Digest challenge (RFC 2617). */
export function digestAnswer(
  challenge: Record<string, string>,
  method: string,
  uri: string,
  creds: { user: string; password: string },
  qop?: "auth",
): string {
  const ha1 = md5(`${creds.user}:${challenge.realm}:${creds.password}`);
  const ha2 = md5(`${method}:${uri}`);
  const head = `Digest username="${creds.user}", realm="${challenge.realm}", nonce="${challenge.nonce}", uri="${uri}"`;
  if (!qop) return `${head}, response="${md5(`${ha1}:${challenge.nonce}:${ha2}`)}"`;
  const nc = "00000001";
  const cnonce = "0a4f113b";
  const response = md5(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `${head}, response="${response}", algorithm="MD5", qop=auth, nc=${nc}, cnonce="${cnonce}"`;
}

/** A Basic Authorization header. */
export const basicAnswer = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
