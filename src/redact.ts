/**
 * Secrets never leave the process in clear: stream keys, RTSP `auth=` tokens, OAuth tokens and
 * client secrets are masked in anything that may reach a log, a status, a message or an error.
 */
const MASK = "***";

/**
 * Known secret values registered by the objects that hold them (exact-match masking). Counted: a
 * value several holders registered stays masked until the last of them lets go of it.
 */
export class SecretRegistry {
  /** Shorter values would mask ordinary words ("test", "cam1") everywhere. */
  static readonly MIN_LENGTH = 6;
  private readonly counts = new Map<string, number>();
  add(...values: (string | undefined | null)[]): void {
    for (const v of values) {
      if (v && v.length >= SecretRegistry.MIN_LENGTH) this.counts.set(v, (this.counts.get(v) ?? 0) + 1);
    }
  }
  delete(value: string | undefined | null): void {
    if (!value) return;
    const n = this.counts.get(value) ?? 0;
    if (n <= 1) this.counts.delete(value);
    else this.counts.set(value, n - 1);
  }
  values(): string[] {
    // Longest first so a secret containing another is masked whole.
    return [...this.counts.keys()].sort((a, b) => b.length - a.length);
  }
}

/** Process-wide registry: every token keeper, stream keeper and restreamer registers what it holds. */
export const secrets = new SecretRegistry();

const PATTERNS: [RegExp, string][] = [
  // RTSP(S) stream tokens, HLS cid, SRT passphrases and any other URL query credential.
  [
    /([?&](?:auth|access_token|token|key|cid|upload_id|client_secret|refresh_token|code|passphrase|streamid|pass|password|secret|sig|signature)=)[^&\s"'#),;\]>\\]+/gi,
    `$1${MASK}`,
  ],
  // Bearer headers.
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, `$1${MASK}`],
  // Google access tokens and refresh tokens and client secrets by shape.
  [/ya29\.[A-Za-z0-9._-]+/g, MASK],
  [/1\/\/0[A-Za-z0-9._-]{10,}/g, MASK],
  [/GOCSPX-[A-Za-z0-9._-]+/g, MASK],
  // JSON bodies echoing credentials (also JSON inside JSON, with escaped quotes).
  [
    /(\\?"(?:access_token|refresh_token|client_secret|streamToken|streamExtensionToken|streamKey)\\?"\s*:\s*\\?")[^"\\]*/g,
    `$1${MASK}`,
  ],
  // RTMP(S) publish URLs: everything after the application is the stream name, which is the key
  // (YouTube rtmps://a.rtmps.youtube.com/live2/<key>, also …/live2?backup=1/<key>; Twitch, Facebook).
  [/(\brtmps?:\/\/[^/\s"']+\/[^/\s"'?]+(?:\?[^/\s"']*)?\/)[^\s"'),;]*[^\s"'),;:]/gi, `$1${MASK}`],
  // user:password@ in URLs. The match starts at "://" and the scheme is checked behind it: written
  // as `\b[a-z][a-z0-9+.-]*://…`, every word boundary of a long run such as "a.a.a.a…" starts a
  // scan to the end of the run, quadratic (40,000 characters took seconds). Same matches, linear.
  [/:\/\/(?<=\b[a-z][a-z0-9+.-]*:\/\/)([^/\s:@]+:)[^@/\s]+@/gi, `://$1${MASK}@`],
];

/**
 * Masks what `text` holds of the registry's values and of the patterns above. Every pattern is
 * linear in the length of the text. Callers that cut a text (statuses, error details) cut what
 * this returns, never the input: a cut secret no longer matches and would leak its first part.
 */
export function redact(text: string, registry: SecretRegistry = secrets): string {
  const values = registry.values();
  if (values.length === 0) return applyPatterns(text);
  // Exact secrets first, so that no pattern takes a piece of one and leaves the rest unmatched.
  // They become a placeholder of letters and digits, which every pattern counts as part of a
  // token: a longer token around a registered value ("ya29.<value>tail") is still masked whole.
  const placeholder = placeholderFor(text);
  let out = text;
  for (const value of values) out = out.split(value).join(placeholder);
  if (out === text) return applyPatterns(text);
  return applyPatterns(out).split(placeholder).join(MASK);
}

/** Each value of a text's placeholders masked (coded errors, reasons and warnings). */
export function redactParams(params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, redact(v)]));
}

function applyPatterns(text: string): string {
  let out = text;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}

/**
 * A word found nowhere in `text`, made of letters and digits, with no border (its first letter
 * occurs only there), so its occurrences are exactly the places it was put.
 */
function placeholderFor(text: string): string {
  for (let n = 0; ; n++) {
    const candidate = `Q${n.toString(36)}rdctdz`;
    if (!text.includes(candidate)) return candidate;
  }
}

/** The message of anything thrown, redacted: what adapters show in errors and statuses. */
export function errorMessage(err: unknown, registry: SecretRegistry = secrets): string {
  const text = err instanceof Error ? err.message.trim() || err.name : String(err);
  return redact(text, registry);
}
