/**
 * Keeps one OAuth access token fresh for everything that uses an account (design sections 3 and 6):
 * refreshes ahead of expiry on a timer, one refresh in flight at a time, transient failures retried
 * with backoff, `invalid_grant`/`invalid_client` surfaced as clear errors, and never hands out a
 * token it knows to be expired.
 */
import { EventEmitter } from "node:events";
import { systemClock, type Clock, type Timer } from "../clock";
import { errorMessage, secrets } from "../redact";
import { errorFromResponse, oauthErrorRules, type ApiErrorRules } from "./error-envelope";
import {
  ClosedError,
  CredentialsError,
  type GoogleError,
  InvalidClientError,
  InvalidGrantError,
  TransientGoogleError,
  UnauthenticatedError,
} from "./errors";
import { AxiosTransport, isOk, parseBody, sendRequest, type HttpTransport } from "./http";
import { withRetries } from "./retry";

export interface OAuthCredentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

export interface TokenKeeperOptions {
  credentials: Partial<OAuthCredentials>;
  /** The node that holds the credentials, as errors name it. Default "account". */
  account?: string;
  tokenUrl: string;
  clock?: Clock;
  http?: HttpTransport;
  random?: () => number;
  /** How long before expiry to refresh. Default 5 min, never more than half the token's lifetime. */
  refreshAheadMs?: number;
  /** Tries per refresh, transient failures included. Default 5. */
  maxAttempts?: number;
  /** Per request. Default 15 s. */
  timeoutMs?: number;
}

/** Payload of the 'token' event: when the new token expires; never the token itself. */
export interface TokenEvent {
  expiresAt: number;
  lifetimeMs: number;
}

interface CachedToken {
  token: string;
  /** Our conservative view: lifetime counted from when the request was sent. */
  expiresAt: number;
  /** From here on the token is not handed out: a refresh is awaited instead. */
  refreshAt: number;
  lifetimeMs: number;
}

/** Google's documented access token lifetime, used if an answer ever omits `expires_in`. */
const DEFAULT_LIFETIME_S = 3600;
/** How soon a failed proactive refresh is tried again while the current token is still good. */
const PROACTIVE_RETRY_MS = 60_000;

const FIELDS: [keyof OAuthCredentials, string][] = [
  ["clientId", "client ID"],
  ["clientSecret", "client secret"],
  ["refreshToken", "refresh token"],
];

/**
 * Checks credentials before any request: present, not blank, no whitespace inside (a paste gone
 * wrong). Surrounding whitespace is trimmed. Never echoes a value in the error.
 */
export function validateCredentials(
  credentials: Partial<OAuthCredentials> | undefined,
  account = "account",
): OAuthCredentials {
  const missing: string[] = [];
  const malformed: string[] = [];
  const out: Partial<OAuthCredentials> = {};
  for (const [field, label] of FIELDS) {
    const raw = credentials?.[field];
    const value = typeof raw === "string" ? raw.trim() : "";
    if (!value) missing.push(label);
    else if (/\s/.test(value)) malformed.push(label);
    else out[field] = value;
  }
  const problems: string[] = [];
  if (missing.length) problems.push(`has no ${list(missing)}`);
  if (malformed.length) problems.push(`has a ${list(malformed)} with spaces or line breaks inside`);
  if (problems.length) {
    throw new CredentialsError(
      `The ${account} ${problems.join(" and ")}. Open the account node and enter them: the client ID and ` +
        "secret come from Google Cloud Console > APIs & Services > Credentials, the refresh token from the " +
        "node's Authorize button.",
    );
  }
  return out as OAuthCredentials;
}

export class TokenKeeper extends EventEmitter {
  private readonly credentials: OAuthCredentials;
  private readonly tokenUrl: string;
  private readonly clock: Clock;
  private readonly http: HttpTransport;
  private readonly random: () => number;
  private readonly refreshAheadMs: number;
  private readonly maxAttempts: number;
  private readonly timeoutMs: number;
  private readonly lifecycle = new AbortController();
  private readonly errorRules: ApiErrorRules;
  private current?: CachedToken;
  private previousToken?: string;
  private inflight?: Promise<CachedToken>;
  private proactiveTimer?: Timer;
  /** invalid_grant / invalid_client: the credentials are dead until the node is reconfigured. */
  private fatal?: GoogleError;
  private closed = false;
  private refreshCount = 0;

  /** Throws CredentialsError (and sends nothing) when the credentials are missing or malformed. */
  constructor(options: TokenKeeperOptions) {
    super();
    this.credentials = validateCredentials(options.credentials, options.account);
    this.errorRules = oauthErrorRules(options.account);
    this.tokenUrl = options.tokenUrl;
    this.clock = options.clock ?? systemClock;
    this.http = options.http ?? new AxiosTransport();
    this.random = options.random ?? Math.random;
    this.refreshAheadMs = options.refreshAheadMs ?? 5 * 60_000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.timeoutMs = options.timeoutMs ?? 15_000;
    secrets.add(this.credentials.clientSecret, this.credentials.refreshToken);
  }

  /** Successful refreshes so far. */
  get refreshes(): number {
    return this.refreshCount;
  }

  /** When the cached token expires (epoch ms), if there is one. */
  get expiresAt(): number | undefined {
    return this.current?.expiresAt;
  }

  /** The refresh token in use (Google may have replaced the configured one). */
  get refreshToken(): string {
    return this.credentials.refreshToken;
  }

  /** A token good for at least the refresh margin; refreshes (once, shared) when needed. */
  async accessToken(): Promise<string> {
    this.assertUsable();
    const cached = this.current;
    if (cached && this.clock.now() < cached.refreshAt) return cached.token;
    const fresh = await this.refresh();
    if (this.clock.now() >= fresh.expiresAt) {
      // Only if the refresh itself outlived the token: a fault, not something to hand out.
      throw new TransientGoogleError("Google issued an access token that expired before it could be used.");
    }
    return fresh.token;
  }

  /** Forgets the cached token: the next caller refreshes. */
  invalidate(): void {
    this.current = undefined;
    this.clock.clearTimeout(this.proactiveTimer);
    this.proactiveTimer = undefined;
  }

  /** Runs `fn` with a token; on UNAUTHENTICATED refreshes once and retries once. */
  async withToken<T>(fn: (token: string) => Promise<T>): Promise<T> {
    const token = await this.accessToken();
    try {
      return await fn(token);
    } catch (err) {
      if (!(err instanceof UnauthenticatedError)) throw err;
      // Many callers may fail on the same token at once: only the first drops it, so one refresh.
      if (this.current?.token === token) this.invalidate();
      return await fn(await this.accessToken());
    }
  }

  /** Cancels the proactive timer and any refresh waiting to retry. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.invalidate();
    this.lifecycle.abort(new ClosedError());
  }

  private assertUsable(): void {
    if (this.closed) throw new ClosedError();
    if (this.fatal) throw this.fatal;
  }

  /** The one refresh in flight, started if none is. */
  private refresh(): Promise<CachedToken> {
    if (!this.inflight) {
      this.inflight = this.refreshWithRetries().then(
        (token) => {
          this.inflight = undefined;
          this.adopt(token);
          return token;
        },
        (err: unknown) => {
          this.inflight = undefined;
          if (err instanceof InvalidGrantError || err instanceof InvalidClientError) {
            this.fatal = err;
            this.invalidate();
          }
          throw err;
        },
      );
    }
    return this.inflight;
  }

  private async refreshWithRetries(): Promise<CachedToken> {
    this.assertUsable();
    try {
      return await withRetries(() => this.refreshOnce(), {
        initialMs: 1_000,
        maxMs: 30_000,
        random: this.random,
        clock: this.clock,
        maxAttempts: this.maxAttempts,
        signal: this.lifecycle.signal,
        beforeAttempt: async () => this.assertUsable(),
        onRetry: ({ attempt, delayMs, error }) =>
          this.emit("retry", { attempt, delayMs, reason: errorMessage(error) }),
      });
    } catch (err) {
      if (this.closed) throw new ClosedError();
      throw err;
    }
  }

  private async refreshOnce(): Promise<CachedToken> {
    const sentAt = this.clock.now();
    const res = await sendRequest(this.http, {
      method: "POST",
      url: this.tokenUrl,
      form: {
        grant_type: "refresh_token",
        client_id: this.credentials.clientId,
        client_secret: this.credentials.clientSecret,
        refresh_token: this.credentials.refreshToken,
      },
      timeoutMs: this.timeoutMs,
      signal: this.lifecycle.signal,
    });
    if (!isOk(res)) {
      throw errorFromResponse(res, "Refreshing the Google access token", this.clock.now(), this.errorRules);
    }

    const body = parseBody(res.data) as Record<string, unknown> | undefined;
    const token = body && typeof body === "object" ? body.access_token : undefined;
    if (typeof token !== "string" || !token) {
      throw new TransientGoogleError(
        `Google's token endpoint answered HTTP ${res.status} without an access token.`,
        res.status,
        "BAD_RESPONSE",
      );
    }
    secrets.add(token);
    const newRefreshToken = body?.refresh_token;
    if (typeof newRefreshToken === "string" && newRefreshToken && newRefreshToken !== this.refreshToken) {
      secrets.add(newRefreshToken);
      this.credentials.refreshToken = newRefreshToken;
      this.emit("refresh-token", newRefreshToken);
    }
    const expiresIn = Number(body?.expires_in);
    const lifetimeMs = (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_LIFETIME_S) * 1000;
    // A token living 60 s must still be usable: the margin is at most half its life.
    const marginMs = Math.min(this.refreshAheadMs, lifetimeMs / 2);
    const expiresAt = sentAt + lifetimeMs;
    return { token, expiresAt, refreshAt: expiresAt - marginMs, lifetimeMs };
  }

  private adopt(fresh: CachedToken): void {
    if (this.closed) return;
    // Keep the registry small: the token before the previous one can no longer surface anywhere.
    if (this.previousToken && this.previousToken !== fresh.token) secrets.delete(this.previousToken);
    this.previousToken = this.current?.token;
    this.current = fresh;
    this.refreshCount++;
    this.scheduleProactive(fresh.refreshAt);
    const event: TokenEvent = { expiresAt: fresh.expiresAt, lifetimeMs: fresh.lifetimeMs };
    this.emit("token", event);
  }

  private scheduleProactive(at: number): void {
    this.clock.clearTimeout(this.proactiveTimer);
    this.proactiveTimer = this.clock.setTimeout(
      () => {
        this.proactiveTimer = undefined;
        this.refreshProactively();
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  /** Timer-driven refresh, so callers rarely wait; failures are reported, not thrown. */
  private refreshProactively(): void {
    if (this.closed || this.fatal) return;
    this.refresh().catch((err: unknown) => {
      if (this.closed) return;
      this.emit("warning", `Could not refresh the Google access token ahead of time: ${errorMessage(err)}`);
      const cached = this.current;
      if (!this.fatal && cached && this.clock.now() + PROACTIVE_RETRY_MS < cached.expiresAt) {
        this.scheduleProactive(this.clock.now() + PROACTIVE_RETRY_MS);
      }
    });
  }
}

function list(items: string[]): string {
  return items.length <= 1
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}
