/**
 * The single-use `state` values of authorizations under way: created with what the exchange will
 * need, claimed once, answered once and collected once by the editor. Each state is bound to the
 * browser session and editor user that started it: a state alone (leaked from an address bar, a
 * log or a chat) is refused, so nobody can plant their refresh token in someone else's account.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { systemClock, type Clock } from "../clock";
import { secrets } from "../redact";
import { AuthorizationError, type PendingAuthorization } from "./authorization";

/** How long an authorization may take, from the Authorize button to the exchange. */
export const DEFAULT_STATE_TTL_MS = 10 * 60_000;

/** The outcome the editor collects: a refresh token or an error in words. */
export type AuthorizationOutcome =
  { ok: true; refreshToken: string; scope?: string } | { ok: false; error: string; code: string };

export type AuthorizationPoll = { status: "pending" } | ({ status: "done" } & AuthorizationOutcome);

/**
 * What proves that a request comes from whoever started the authorization: the browser's nonce
 * cookie (Google's redirect to the editor's callback), or the nonce the editor kept and the admin
 * user that started it (the pasted address, the editor collecting the outcome).
 */
export type StateProof = { cookie: unknown } | { editor: unknown; user: string | undefined };

interface StateEntry<P> {
  /** Dropped once claimed or expired: the client secret is kept no longer than needed. */
  pending?: P;
  /** SHA-256 of the nonce in the browser's cookie and of the nonce the editor keeps. */
  cookieHash: Buffer;
  editorHash: Buffer;
  /** The admin user that started it (undefined without adminAuth). */
  user: string | undefined;
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

  /**
   * Starts an authorization for the admin `user` (undefined without adminAuth): returns its new
   * state (43 url-safe characters, 256 random bits), the nonce for the browser's cookie and the
   * nonce for the editor, each as random.
   */
  create(
    pending: P,
    user?: string,
  ): { state: string; expiresAt: number; cookieNonce: string; editorNonce: string } {
    this.sweep();
    secrets.add(pending.clientSecret);
    let state = this.random(32).toString("base64url");
    while (this.entries.has(state)) state = this.random(32).toString("base64url");
    const cookieNonce = randomBytes(32).toString("base64url");
    const editorNonce = randomBytes(32).toString("base64url");
    const now = this.clock.now();
    const expiresAt = now + this.ttlMs;
    this.entries.set(state, {
      pending: { ...pending },
      cookieHash: digest(cookieNonce),
      editorHash: digest(editorNonce),
      user,
      expiresAt,
      used: false,
      collected: false,
      forgetAt: expiresAt + this.ttlMs,
    });
    const open = [...this.entries].filter(([, e]) => !e.used);
    for (const [old] of open.slice(0, Math.max(0, open.length - this.max))) this.entries.delete(old);
    return { state, expiresAt, cookieNonce, editorNonce };
  }

  /**
   * Claims a state for its one exchange and returns what the exchange needs. Throws for a state
   * that is missing, unknown, expired or already used, and for one without the proof of whoever
   * started it (STATE_NOT_BOUND: the state stays open for them).
   */
  take(state: unknown, proof: StateProof): P {
    const entry = this.lookup(state);
    if (entry.used) throw stateUsed();
    if (!entry.pending || this.clock.now() >= entry.expiresAt) throw stateExpired(this.ttlMs);
    checkProof(entry, proof);
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
  poll(state: unknown, proof: StateProof): AuthorizationPoll {
    const entry = this.lookup(state);
    if (entry.collected) throw stateUsed();
    checkProof(entry, proof);
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

function digest(nonce: string): Buffer {
  return createHash("sha256").update(nonce).digest();
}

function matches(hash: Buffer, nonce: unknown): boolean {
  return typeof nonce === "string" && nonce.length > 0 && timingSafeEqual(hash, digest(nonce));
}

function checkProof<P>(entry: StateEntry<P>, proof: StateProof): void {
  if ("cookie" in proof) {
    if (matches(entry.cookieHash, proof.cookie)) return;
    throw new AuthorizationError(
      "STATE_NOT_BOUND",
      "This authorization was not started in this browser (its cookie is missing or does not match), " +
        "so nothing was exchanged: the state in an address alone does not authorize. Press Authorize in " +
        "the Node-RED editor of this browser and finish it in the window that opens.",
      403,
    );
  }
  if (matches(entry.editorHash, proof.editor) && entry.user === proof.user) return;
  throw new AuthorizationError(
    "STATE_NOT_BOUND",
    "This authorization was started by another editor session or user, so nothing was exchanged: the " +
      "state in an address alone does not authorize. Press Authorize again in this dialog and paste the " +
      "address of that new authorization.",
    403,
  );
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
