/**
 * Google's OAuth authorization-code flow for any authorize URL and scopes: the URL the user opens,
 * the single-use `state` that ties Google's redirect back to the authorization it answers, the
 * pasted redirect URL, and the exchange of the code for a refresh token at the token endpoint.
 * Errors say what to do; the client secret and the code never appear in one.
 */
import { randomBytes } from "node:crypto";
import { systemClock, type Clock } from "../clock";
import { redact, secrets } from "../redact";
import { GoogleError } from "./errors";
import { AxiosTransport, isOk, networkError, parseBody, sendRequest, type HttpTransport } from "./http";

/** The redirect URI that Google's guides register for a pasted-back address. */
export const GOOGLE_REDIRECT_URI = "https://www.google.com";
/** How long an authorization may take, from the Authorize button to the exchange. */
export const DEFAULT_STATE_TTL_MS = 10 * 60_000;

export type AuthorizationErrorCode =
  | "STATE_MISSING"
  | "STATE_UNKNOWN"
  | "STATE_EXPIRED"
  | "STATE_USED"
  | "BAD_REDIRECT_URL"
  | "BAD_REDIRECT_URI"
  | "MISSING_FIELDS"
  | "NO_REFRESH_TOKEN"
  | "access_denied"
  | "invalid_client"
  | "redirect_uri_mismatch"
  | "invalid_grant"
  | "invalid_request"
  | "AUTHORIZATION_FAILED";

const LOCAL_REASONS = new Set<AuthorizationErrorCode>([
  "STATE_MISSING",
  "STATE_UNKNOWN",
  "STATE_EXPIRED",
  "STATE_USED",
  "BAD_REDIRECT_URL",
  "BAD_REDIRECT_URI",
  "MISSING_FIELDS",
]);

/** An authorization that cannot go on; `code` says why, the message what to do. */
export class AuthorizationError extends GoogleError {
  constructor(
    readonly reason: AuthorizationErrorCode,
    message: string,
    httpStatus = 400,
    transient = false,
  ) {
    super(message, httpStatus, reason, transient);
  }

  /** The problem is in what was typed or pasted, or in the state of this authorization: not at Google. */
  get local(): boolean {
    return isLocalReason(this.reason);
  }
}

/** Whether an error code (of an AuthorizationError or a CredentialsError) names a local problem. */
export function isLocalReason(code: string): boolean {
  return LOCAL_REASONS.has(code as AuthorizationErrorCode) || code === "CREDENTIALS";
}

// ---------------------------------------------------------------- the authorization URL

/** One configuration of the flow: where the user authorizes, and for what. */
export interface OAuthFlow {
  /** Google's standard `…/o/oauth2/v2/auth`, or an API's own page (Device Access's partner URL). */
  authorizeUrl: string;
  scopes: string[];
  /** More query parameters, after the standard ones. */
  extraParams?: Record<string, string>;
}

export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  state: string;
}

/**
 * `{authorize url}?redirect_uri=…&access_type=offline&prompt=consent&client_id=…&response_type=code
 * &scope=…&state=…` (the order of Google's guides). `prompt=consent` makes Google issue a refresh
 * token even to a user who authorized this client before.
 */
export function flowUrl(flow: OAuthFlow, request: AuthorizationRequest): string {
  const query = new URLSearchParams({
    redirect_uri: request.redirectUri,
    access_type: "offline",
    prompt: "consent",
    client_id: request.clientId,
    response_type: "code",
    scope: flow.scopes.join(" "),
    state: request.state,
    ...flow.extraParams,
  });
  return `${flow.authorizeUrl}?${query.toString()}`;
}

/**
 * Checks a redirect URI before Google sees it: an absolute http(s) URL without a fragment.
 * Returns it trimmed.
 */
export function validateRedirectUri(uri: unknown): string {
  const text = typeof uri === "string" ? uri.trim() : "";
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.hash || /\s/.test(text)) {
    throw new AuthorizationError(
      "BAD_REDIRECT_URI",
      "The redirect URI must be a full http:// or https:// address without a #fragment, exactly as it is " +
        `registered in the OAuth client (for example ${GOOGLE_REDIRECT_URI}).`,
    );
  }
  return text;
}

/** A field an API's dialog adds to the client's (a project ID, say): its label and what was typed. */
export interface ExtraField {
  label: string;
  value: unknown;
  /** Whether a slash is as wrong as a space (identifiers). */
  noSlash?: boolean;
}

/**
 * Checks what the editor sent to start an authorization: the extra fields, client ID and secret
 * present and free of inner spaces, a usable redirect URI. `where` tells where the values come
 * from. Never echoes a value. Returns the trimmed values, extra fields in their order.
 */
export function validateClientInput(
  input: { clientId?: unknown; clientSecret?: unknown; redirectUri?: unknown; nodeId?: unknown },
  extra: ExtraField[] = [],
  where = "the client ID and secret come from Google Cloud Console > APIs & Services > Credentials.",
): { pending: PendingAuthorization; extra: string[] } {
  const text = (v: unknown) => (typeof v === "string" ? v.trim() : "");
  const fields: [string, string, boolean][] = [
    ...extra.map((f): [string, string, boolean] => [f.label, text(f.value), f.noSlash ?? true]),
    ["Client ID", text(input.clientId), true],
    ["Client secret", text(input.clientSecret), false],
  ];
  const missing = fields.filter(([, v]) => !v).map(([label]) => label);
  if (missing.length) {
    throw new AuthorizationError(
      "MISSING_FIELDS",
      `To authorize, fill in the ${joinLabels(missing)} first: ${where}`,
    );
  }
  // Identifiers never hold spaces or slashes, a secret never spaces: a paste gone wrong.
  const spaced = fields
    .filter(([, v, noSlash]) => (noSlash ? /[\s/]/ : /\s/).test(v))
    .map(([label]) => label);
  if (spaced.length) {
    throw new AuthorizationError(
      "MISSING_FIELDS",
      `The ${joinLabels(spaced)} ${spaced.length > 1 ? "have" : "has"} spaces, line breaks or slashes inside: ` +
        "copy the value again.",
    );
  }
  return {
    pending: {
      clientId: text(input.clientId),
      clientSecret: text(input.clientSecret),
      redirectUri: validateRedirectUri(input.redirectUri),
      nodeId: text(input.nodeId) || undefined,
    },
    extra: extra.map((f) => text(f.value)),
  };
}

function joinLabels(labels: string[]): string {
  return labels.length <= 1 ? labels.join("") : `${labels.slice(0, -1).join(", ")} and ${labels.at(-1)}`;
}

// ---------------------------------------------------------------- state

/** What an authorization needs from its start to its exchange. Kept in memory only. */
export interface PendingAuthorization {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** The config node the editor is authorizing (informational). */
  nodeId?: string;
}

/** The outcome the editor collects: a refresh token or an error in words. */
export type AuthorizationOutcome =
  { ok: true; refreshToken: string; scope?: string } | { ok: false; error: string; code: string };

export type AuthorizationPoll = { status: "pending" } | ({ status: "done" } & AuthorizationOutcome);

interface StateEntry<P> {
  /** Dropped once claimed or expired: the client secret is kept no longer than needed. */
  pending?: P;
  expiresAt: number;
  /** Claimed for its one exchange. */
  used: boolean;
  /** Set when the exchange finished, until the editor collects it. */
  outcome?: AuthorizationOutcome;
  collected: boolean;
  /** Kept until then, to tell "already used" and "expired" from "unknown". */
  forgetAt: number;
}

export interface AuthorizationStatesOptions {
  clock?: Clock;
  ttlMs?: number;
  /** The most authorizations under way at once; the oldest is dropped beyond. Default 50. */
  max?: number;
  random?: (bytes: number) => Buffer;
}

const STATE_SHAPE = /^[A-Za-z0-9_-]{16,128}$/;
/** How long an exchange may run past the state's expiry before a poll gives up on it. */
const EXCHANGE_GRACE_MS = 60_000;

/**
 * The single-use `state` values of authorizations under way. A state is created with the
 * credentials the exchange will use, claimed once (`take`), answered once (`settle`) and collected
 * once (`poll`). Missing, unknown, expired and used states are refused with an AuthorizationError
 * that says what to do.
 */
export class AuthorizationStates<P extends PendingAuthorization = PendingAuthorization> {
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly random: (bytes: number) => Buffer;
  private readonly entries = new Map<string, StateEntry<P>>();

  constructor(options: AuthorizationStatesOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.ttlMs = options.ttlMs ?? DEFAULT_STATE_TTL_MS;
    this.max = Math.max(1, options.max ?? 50);
    this.random = options.random ?? randomBytes;
  }

  /** Starts an authorization: returns its new state (43 url-safe characters, 256 random bits). */
  create(pending: P): { state: string; expiresAt: number } {
    this.sweep();
    secrets.add(pending.clientSecret);
    let state = this.random(32).toString("base64url");
    while (this.entries.has(state)) state = this.random(32).toString("base64url");
    const now = this.clock.now();
    const expiresAt = now + this.ttlMs;
    this.entries.set(state, {
      pending: { ...pending },
      expiresAt,
      used: false,
      collected: false,
      forgetAt: expiresAt + this.ttlMs,
    });
    const open = [...this.entries].filter(([, e]) => !e.used);
    for (const [old] of open.slice(0, Math.max(0, open.length - this.max))) this.entries.delete(old);
    return { state, expiresAt };
  }

  /**
   * Claims a state for its one exchange and returns what the exchange needs. Throws for a state
   * that is missing, unknown, expired or already used.
   */
  take(state: unknown): P {
    const entry = this.lookup(state);
    if (entry.used) throw stateUsed();
    if (!entry.pending || this.clock.now() >= entry.expiresAt) throw stateExpired(this.ttlMs);
    const pending = entry.pending;
    entry.used = true;
    entry.pending = undefined;
    return pending;
  }

  /** Records how the exchange of a claimed state ended, for the editor to collect with `poll`. */
  settle(state: string, outcome: AuthorizationOutcome): void {
    const entry = this.entries.get(state);
    if (!entry || !entry.used || entry.collected) return;
    entry.outcome = outcome;
    // The editor gets a full state lifetime to collect it.
    entry.forgetAt = Math.max(entry.forgetAt, this.clock.now() + this.ttlMs);
  }

  /**
   * What became of an authorization: pending until Google redirected back and the exchange ended,
   * then its outcome, once. Throws for a state that is unknown, expired or already collected.
   */
  poll(state: unknown): AuthorizationPoll {
    const entry = this.lookup(state);
    if (entry.collected) throw stateUsed();
    const outcome = entry.outcome;
    if (outcome) {
      entry.collected = true;
      entry.outcome = undefined;
      return { status: "done", ...outcome };
    }
    const now = this.clock.now();
    if (now >= entry.expiresAt + (entry.used ? EXCHANGE_GRACE_MS : 0)) throw stateExpired(this.ttlMs);
    return { status: "pending" };
  }

  /** Whether a state is known and could still be exchanged. */
  isOpen(state: string): boolean {
    const entry = this.entries.get(state);
    return !!entry && !entry.used && this.clock.now() < entry.expiresAt;
  }

  /** Authorizations that can still be exchanged. */
  get open(): number {
    this.sweep();
    return [...this.entries.keys()].filter((s) => this.isOpen(s)).length;
  }

  /** Forgets everything (the runtime is closing). */
  clear(): void {
    this.entries.clear();
  }

  private lookup(state: unknown): StateEntry<P> {
    const text = typeof state === "string" ? state.trim() : "";
    if (!text) {
      throw new AuthorizationError(
        "STATE_MISSING",
        "The address has no state parameter, so it cannot be matched to an authorization started here. " +
          "Copy the whole address Google redirected to, including ?code=…&state=…",
      );
    }
    this.sweep();
    const entry = STATE_SHAPE.test(text) ? this.entries.get(text) : undefined;
    if (!entry) {
      throw new AuthorizationError(
        "STATE_UNKNOWN",
        "This authorization is unknown here: it was started by another Node-RED, before Node-RED " +
          "restarted, or long ago. Press Authorize again and use the address of that new authorization.",
      );
    }
    return entry;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [state, e] of this.entries) {
      if (now >= e.expiresAt) e.pending = undefined;
      if (now >= e.forgetAt) this.entries.delete(state);
    }
  }
}

function stateUsed(): AuthorizationError {
  return new AuthorizationError(
    "STATE_USED",
    "This authorization was already used: each one works once. If the refresh token did not arrive, " +
      "press Authorize again.",
  );
}

function stateExpired(ttlMs: number): AuthorizationError {
  return new AuthorizationError(
    "STATE_EXPIRED",
    `This authorization expired: it must be finished within ${Math.round(ttlMs / 60_000)} minutes of ` +
      "pressing Authorize. Press Authorize again.",
  );
}

// ---------------------------------------------------------------- the redirect back

export interface RedirectParams {
  code?: string;
  state?: string;
  /** Google's `error` (e.g. access_denied) when the user did not allow access. */
  error?: string;
  errorDescription?: string;
  scope?: string;
}

/** The query of Google's redirect (from the callback request). */
export function redirectParams(query: Record<string, unknown>): RedirectParams {
  const pick = (name: string) => {
    const v = query[name];
    const s = Array.isArray(v) ? v[0] : v;
    return typeof s === "string" && s.trim() ? s.trim() : undefined;
  };
  return {
    code: pick("code"),
    state: pick("state"),
    error: pick("error"),
    errorDescription: pick("error_description"),
    scope: pick("scope"),
  };
}

/**
 * Reads the address the user landed on after Google's page (`https://www.google.com/?code=…&state=…`),
 * as pasted: surrounding spaces, quotes or angle brackets, a missing scheme, or just the query string
 * are all fine. Throws when it carries neither a code nor an error.
 */
export function parseRedirectUrl(text: unknown): RedirectParams {
  const raw = (typeof text === "string" ? text : "").trim().replace(/^["'<\s]+|["'>\s]+$/g, "");
  const candidates: string[] = [];
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) candidates.push(raw);
  else if (/^[?#&]?[^/\s]*=/.test(raw)) candidates.push(`https://x.invalid/?${raw.replace(/^[?#&]/, "")}`);
  else if (raw) candidates.push(`https://${raw}`);
  for (const candidate of candidates) {
    let url: URL;
    try {
      url = new URL(candidate);
    } catch {
      continue;
    }
    const query: Record<string, string> = {};
    // Some browsers show the parameters after a # when a page rewrote its address: accept both.
    const hash = url.hash.replace(/^#/, "");
    for (const source of [new URLSearchParams(hash), url.searchParams]) {
      for (const [k, v] of source) query[k] = v;
    }
    const params = redirectParams(query);
    if (params.code || params.error) return params;
  }
  throw new AuthorizationError(
    "BAD_REDIRECT_URL",
    "That is not the address Google redirected to. After you allow access, the browser opens a page whose " +
      "address starts with the redirect URI and contains ?code=…&state=…; copy the whole address from the " +
      "address bar and paste it here.",
  );
}

/** The error for a redirect that carries `error=` instead of a code (the user did not allow access). */
export function redirectError(params: RedirectParams): AuthorizationError {
  const error = params.error ?? "unknown";
  if (error === "access_denied") {
    return new AuthorizationError(
      "access_denied",
      "Access was not granted (access_denied). Press Authorize again, sign in with the Google account that " +
        "has the cameras, pick the cameras to share and allow access. While the OAuth consent screen is in " +
        '"Testing", only its test users may authorize.',
    );
  }
  const detail = params.errorDescription ? `: ${params.errorDescription}` : "";
  return new AuthorizationError(
    "AUTHORIZATION_FAILED",
    `Google did not authorize (${error}${detail}). Check the client ID and redirect URI, ` +
      "then press Authorize again.",
  );
}

// ---------------------------------------------------------------- the code exchange

export interface ExchangeCodeOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  code: string;
  redirectUri: string;
  /** Which OAuth client to check on invalid_client, in the API's words. Default: "the Web application client". */
  clientHint?: string;
  http?: HttpTransport;
  /** Default 15 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ExchangedTokens {
  refreshToken: string;
  accessToken?: string;
  /** Seconds. */
  expiresIn?: number;
  scope?: string;
  /** Seconds; Google sends it for clients whose consent screen is in "Testing" (7 days). */
  refreshTokenExpiresIn?: number;
}

/**
 * Exchanges an authorization code for tokens: `POST {token url}` with `grant_type=authorization_code`,
 * `code`, `redirect_uri`, `client_id`, `client_secret`. Not retried: a code works once, and a retry
 * after an answer that got lost would only earn an invalid_grant.
 */
export async function exchangeCode(o: ExchangeCodeOptions): Promise<ExchangedTokens> {
  secrets.add(o.clientSecret, o.code);
  const http = o.http ?? new AxiosTransport();
  const timeoutMs = o.timeoutMs ?? 15_000;
  let res;
  try {
    res = await sendRequest(http, {
      method: "POST",
      url: o.tokenUrl,
      form: {
        grant_type: "authorization_code",
        code: o.code,
        redirect_uri: o.redirectUri,
        client_id: o.clientId,
        client_secret: o.clientSecret,
      },
      timeoutMs,
      signal: o.signal,
    });
  } catch (err) {
    const e = networkError(err, { url: o.tokenUrl, timeoutMs });
    throw new AuthorizationError(
      "AUTHORIZATION_FAILED",
      `Exchanging the authorization code failed: ${e.message} Press Authorize again.`,
      e.httpStatus,
      true,
    );
  }
  const body = parseBody(res.data);
  const fields = body && typeof body === "object" ? (body as Record<string, unknown>) : {};
  if (!isOk(res)) throw exchangeError(res.status, fields, o, body);

  const refreshToken = fields.refresh_token;
  const accessToken = typeof fields.access_token === "string" ? fields.access_token : undefined;
  secrets.add(accessToken);
  if (typeof refreshToken !== "string" || !refreshToken) {
    throw new AuthorizationError(
      "NO_REFRESH_TOKEN",
      "Google answered without a refresh token. Press Authorize again; if it keeps happening, remove this " +
        "app's access at https://myaccount.google.com/permissions and authorize once more.",
      502,
    );
  }
  secrets.add(refreshToken);
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  return {
    refreshToken,
    accessToken,
    expiresIn: num(fields.expires_in),
    scope: typeof fields.scope === "string" ? fields.scope : undefined,
    refreshTokenExpiresIn: num(fields.refresh_token_expires_in),
  };
}

function exchangeError(
  status: number,
  fields: Record<string, unknown>,
  o: Pick<ExchangeCodeOptions, "redirectUri" | "clientHint">,
  body: unknown,
): AuthorizationError {
  const redirectUri = o.redirectUri;
  const error = typeof fields.error === "string" ? fields.error : undefined;
  const description = typeof fields.error_description === "string" ? fields.error_description : undefined;
  const said = description ? `: ${description}` : "";
  switch (error) {
    case "invalid_grant":
      return new AuthorizationError(
        "invalid_grant",
        `Google refused the authorization code (invalid_grant${said}): it was already used or has expired ` +
          "(a code works once, for a few minutes), or it was issued for another client. Press Authorize again " +
          "and finish within a few minutes.",
      );
    case "invalid_client":
    case "unauthorized_client":
      return new AuthorizationError(
        "invalid_client",
        `Google refused the OAuth client (${error}${said}). Check the client ID and client secret: copy them ` +
          `again from Google Cloud Console > APIs & Services > Credentials (${o.clientHint ?? "the Web application client"}).`,
        401,
      );
    case "redirect_uri_mismatch":
      return new AuthorizationError(
        "redirect_uri_mismatch",
        `Google says the redirect URI does not match (redirect_uri_mismatch). Add exactly ${redirectUri} as ` +
          "an authorized redirect URI of the OAuth client (Google Cloud Console > APIs & Services > " +
          "Credentials > your Web application client), wait a few minutes, and press Authorize again.",
      );
    case "access_denied":
      return redirectError({ error });
  }
  if (status === 429 || status >= 500) {
    return new AuthorizationError(
      "AUTHORIZATION_FAILED",
      `Google's token endpoint is unavailable (HTTP ${status}${error ? ` ${error}` : ""}). Wait a minute and ` +
        "press Authorize again.",
      status,
      true,
    );
  }
  let detail = redact(description ?? error ?? "");
  if (!detail && typeof body === "string") {
    // Masked before it is cut: a cut secret would no longer match and show its first part.
    detail = redact(
      body
        .replace(/<[^>]*>/g, " ")
        .replace(/\s+/g, " ")
        .trim(),
    ).slice(0, 200);
  }
  return new AuthorizationError(
    error === "invalid_request" ? "invalid_request" : "AUTHORIZATION_FAILED",
    `Exchanging the authorization code failed: ${detail || "no details"} (HTTP ${status}${
      error ? ` ${error}` : ""
    }). Press Authorize again.`,
    status,
  );
}
