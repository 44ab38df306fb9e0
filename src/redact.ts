/**
 * Secrets never leave the process in clear: stream keys, RTSP `auth=` tokens, OAuth tokens and
 * client secrets are masked in anything that may reach a log, a status, a message or an error.
 */
const MASK = "***";

/** Known secret values registered by the objects that hold them (exact-match masking). */
export class SecretRegistry {
  private readonly secrets = new Set<string>();
  add(...values: (string | undefined | null)[]): void {
    for (const v of values) if (v && v.length >= 4) this.secrets.add(v);
  }
  delete(value: string | undefined | null): void {
    if (value) this.secrets.delete(value);
  }
  values(): string[] {
    // Longest first so a secret containing another is masked whole.
    return [...this.secrets].sort((a, b) => b.length - a.length);
  }
}

/** Process-wide registry: every token keeper, stream keeper and restreamer registers what it holds. */
export const secrets = new SecretRegistry();

const PATTERNS: [RegExp, string][] = [
  // RTSP(S) stream tokens and any URL query credential.
  [
    /([?&](?:auth|access_token|token|key|cid|client_secret|refresh_token|code)=)[^&\s"'#),;\]>]+/gi,
    `$1${MASK}`,
  ],
  // Bearer headers.
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, `$1${MASK}`],
  // Google access tokens and refresh tokens and client secrets by shape.
  [/ya29\.[A-Za-z0-9._-]+/g, MASK],
  [/1\/\/0[A-Za-z0-9._-]{10,}/g, MASK],
  [/GOCSPX-[A-Za-z0-9._-]+/g, MASK],
  // JSON bodies echoing credentials.
  [
    /("(?:access_token|refresh_token|client_secret|streamToken|streamExtensionToken|streamKey)"\s*:\s*")[^"]*"/g,
    `$1${MASK}"`,
  ],
  // YouTube ingest URLs: the last path segment after live2/ is the stream key.
  [/(\/live2\/)[^/?\s"']+/g, `$1${MASK}`],
  // user:password@ in URLs.
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:)[^@/\s]+@/gi, `$1${MASK}@`],
];

export function redact(text: string, registry: SecretRegistry = secrets): string {
  // Shapes first: a registered value that is part of a longer token must not leave its tail behind.
  let out = text;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  for (const value of registry.values()) out = out.split(value).join(MASK);
  return out;
}

/** The message of anything thrown, redacted: what adapters show in errors and statuses. */
export function errorMessage(err: unknown, registry: SecretRegistry = secrets): string {
  return redact(err instanceof Error ? err.message : String(err), registry);
}

/** Redacts an error's message (and stack) in place and returns it, for errors that will be surfaced. */
export function redactError<E>(err: E, registry: SecretRegistry = secrets): E {
  if (err instanceof Error) {
    err.message = redact(err.message, registry);
    if (err.stack) err.stack = redact(err.stack, registry);
  }
  return err;
}

export const REDACTED = MASK;
