/**
 * The admin routes behind the Authorize helper of an account dialog (design section 3), for any
 * account node type: the editor starts an authorization and opens Google's page; the answer comes back
 * either through this editor's callback (Google redirects the browser to it) or as the address the user
 * pasted (redirect URI https://www.google.com). What differs per type (the fields checked, Google's
 * page) comes in the options; the texts users read come from the type's catalog (`<type>.authorize.…`).
 */
import { endpointsFromEnv } from "../../src/endpoints";
import type { PendingAuthorization } from "../../src/google/authorization";
import {
  parseRedirectUrl,
  redirectError,
  redirectParams,
  type RedirectParams,
} from "../../src/google/authorization-redirect";
import { createHash } from "node:crypto";
import {
  AuthorizationStates,
  DEFAULT_STATE_TTL_MS,
  type AuthorizationOutcome,
  type StateProof,
} from "../../src/google/authorization-states";
import { exchangeCode } from "../../src/google/code-exchange";
import { errorMessage } from "../../src/redact";
import type { AdminRequest, AdminResponse, RED } from "../red-types";
import { errorCode, sendError, statusFor } from "./admin";

/** The `type` of the message the callback page posts to the editor window that opened it. */
export const AUTHORIZE_MESSAGE_TYPE = "nest-restream-authorize";

export interface AuthorizeRoutesOptions<P extends PendingAuthorization> {
  /** The account node type: the prefix of its catalog keys and of the log lines. */
  type: string;
  /** Guards every route but the browser's callback, e.g. "nest-account.write". */
  permission: string;
  /** The routes are `<path>/start`, `<path>/callback`, `<path>/result` and `<path>/exchange`. */
  path: string;
  /**
   * Checks what the dialog sent to start an authorization (its typed credentials, `redirectUri`, `id`)
   * and returns what the exchange will need; throws a GoogleError that says what to fix.
   */
  input(body: Record<string, unknown>): P;
  /** Google's authorization page for this authorization and its single-use state. */
  authorizationUrl(input: P, state: string): string;
  /** Which OAuth client an invalid_client answer names, in the API's words. */
  clientHint?: string;
  /** What the log line of a finished authorization names (`__project__` in the catalog's text). */
  logName?(input: P): string;
}

export function registerAuthorizeRoutes<P extends PendingAuthorization>(
  RED: RED,
  options: AuthorizeRoutesOptions<P>,
): void {
  const { type, path } = options;
  const states = new AuthorizationStates<P>();
  const guard = RED.auth.needsPermission(options.permission);
  const text = (key: string, subs?: Record<string, unknown>) => RED._(`${type}.authorize.${key}`, subs);

  /** Exchanges the code of a claimed state; the outcome never carries the client secret or the code. */
  async function exchange(pending: P, params: RedirectParams): Promise<AuthorizationOutcome> {
    try {
      if (params.error || !params.code) throw redirectError(params);
      const tokens = await exchangeCode({
        tokenUrl: endpointsFromEnv().oauthTokenUrl,
        clientId: pending.clientId,
        clientSecret: pending.clientSecret,
        code: params.code,
        redirectUri: pending.redirectUri,
        clientHint: options.clientHint,
      });
      RED.log.info(`${type}: ${text("logAuthorized", { project: options.logName?.(pending) ?? "" })}`);
      return { ok: true, refreshToken: tokens.refreshToken, scope: tokens.scope };
    } catch (err) {
      const message = errorMessage(err);
      RED.log.warn(`${type}: ${text("logFailed", { error: message })}`);
      return { ok: false, error: message, code: errorCode(err) };
    }
  }

  // Starts an authorization: returns Google's authorization URL with a new single-use state, bound to
  // this browser (a nonce cookie for the callback) and to this editor user (a nonce the editor keeps).
  RED.httpAdmin.post(`${path}/start`, guard, (req: AdminRequest, res: AdminResponse) => {
    try {
      const pending = options.input(req.body ?? {});
      const { state, expiresAt, cookieNonce, editorNonce } = states.create(pending, adminUser(req));
      const cookie = nonceCookie(pending.redirectUri, state, cookieNonce);
      if (cookie) res.setHeader("Set-Cookie", cookie);
      res.setHeader("Cache-Control", "no-store");
      res.json({
        url: options.authorizationUrl(pending, state),
        state,
        nonce: editorNonce,
        redirectUri: pending.redirectUri,
        expiresAt: new Date(expiresAt).toISOString(),
      });
    } catch (err) {
      sendError(res, err);
    }
  });

  // Google redirects the browser here (when this editor's callback is a registered redirect URI). The
  // request cannot carry the admin token: the unguessable single-use state and the nonce cookie set
  // for this browser when it started the authorization are what protect it.
  RED.httpAdmin.get(`${path}/callback`, (req: AdminRequest, res: AdminResponse) => {
    const params = redirectParams(req.query ?? {});
    let pending: P;
    try {
      const state = typeof params.state === "string" ? params.state : "";
      pending = states.take(params.state, { cookie: readCookie(req, cookieName(state)) });
    } catch (err) {
      sendCallbackPage(res, errorCode(err) === "STATE_NOT_BOUND" ? 403 : 400, {
        ok: false,
        error: errorMessage(err),
      });
      return;
    }
    const state = params.state as string;
    // The cookie has done its work.
    res.setHeader("Set-Cookie", expiredCookie(pending.redirectUri, state));
    void exchange(pending, params).then((outcome) => {
      states.settle(state, outcome);
      sendCallbackPage(res, outcome.ok ? 200 : 400, outcome.ok ? { ok: true, state } : { ...outcome, state });
    });
  });

  // The editor collects the outcome of a callback authorization (once).
  RED.httpAdmin.get(`${path}/result`, guard, (req: AdminRequest, res: AdminResponse) => {
    try {
      const poll = states.poll(req.query?.state, editorProof(req, req.query?.nonce));
      res.setHeader("Cache-Control", "no-store");
      res.json(poll);
    } catch (err) {
      sendError(res, err);
    }
  });

  // The address the user landed on (redirect URI https://www.google.com), pasted into the dialog.
  RED.httpAdmin.post(`${path}/exchange`, guard, (req: AdminRequest, res: AdminResponse) => {
    let params: RedirectParams;
    let pending: P;
    try {
      params = parseRedirectUrl((req.body ?? {}).url);
      pending = states.take(params.state, editorProof(req, (req.body ?? {}).nonce));
    } catch (err) {
      sendError(res, err);
      return;
    }
    const state = params.state as string;
    void exchange(pending, params).then((outcome) => {
      states.settle(state, outcome);
      // Answered here: nothing is left for the result endpoint to hand out.
      states.poll(state, editorProof(req, (req.body ?? {}).nonce));
      res.setHeader("Cache-Control", "no-store");
      if (outcome.ok) res.json({ refreshToken: outcome.refreshToken, scope: outcome.scope });
      else res.status(statusFor(outcome.code)).json({ error: outcome.error, code: outcome.code });
    });
  });

  function sendCallbackPage(res: AdminResponse, status: number, result: CallbackResult) {
    const page = callbackPage(result, {
      title: text(result.ok ? "callbackDone" : "callbackFailed"),
      text: result.ok ? text("callbackDoneText") : `${result.error ?? ""} ${text("callbackBack")}`,
    });
    res.status(status);
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("Content-Type", "text/html; charset=utf-8");
    res.send(page);
  }
}

/** The admin user of a request (Node-RED's adminAuth), undefined without adminAuth. */
function adminUser(req: AdminRequest): string | undefined {
  const user = req.user;
  return user && typeof user.username === "string" ? user.username : undefined;
}

function editorProof(req: AdminRequest, nonce: unknown): StateProof {
  return { editor: nonce, user: adminUser(req) };
}

/** One cookie per authorization under way, named after (a hash of) its state. */
export function cookieName(state: string): string {
  return `nr-authorize-${createHash("sha256").update(state).digest("base64url").slice(0, 16)}`;
}

/**
 * The nonce cookie for a callback authorization: HttpOnly, SameSite=Lax (Google's redirect is a
 * top-level navigation, so it is sent), for the callback's path only, for the state's lifetime.
 * None for the pasted-address way (its redirect URI is not this editor's callback).
 */
function nonceCookie(redirectUri: string, state: string, nonce: string): string | undefined {
  const target = callbackTarget(redirectUri);
  if (!target) return undefined;
  return (
    `${cookieName(state)}=${nonce}; Path=${target.path}; Max-Age=${Math.round(DEFAULT_STATE_TTL_MS / 1000)}; ` +
    `HttpOnly; SameSite=Lax${target.secure ? "; Secure" : ""}`
  );
}

function expiredCookie(redirectUri: string, state: string): string {
  const target = callbackTarget(redirectUri);
  return `${cookieName(state)}=; Path=${target?.path ?? "/"}; Max-Age=0; HttpOnly; SameSite=Lax`;
}

function callbackTarget(redirectUri: string): { path: string; secure: boolean } | undefined {
  try {
    const url = new URL(redirectUri);
    if (!/\/callback$/.test(url.pathname)) return undefined;
    return { path: url.pathname, secure: url.protocol === "https:" };
  } catch {
    return undefined;
  }
}

function readCookie(req: AdminRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== "string") return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface CallbackResult {
  ok: boolean;
  /** The state of the authorization this page answers; absent when it is not one of ours. */
  state?: string;
  error?: string;
}

/**
 * The page Google's redirect lands on: says how it went, hands the outcome's state (only that: never a
 * token, a code or a secret) to the editor window that opened it, and closes itself when it went well.
 */
export function callbackPage(result: CallbackResult, words: { title: string; text: string }): string {
  const message = JSON.stringify({
    type: AUTHORIZE_MESSAGE_TYPE,
    state: result.state,
    ok: result.ok,
  }).replace(/</g, "\\u003c");
  return (
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(words.title)}</title>` +
    '<meta name="viewport" content="width=device-width, initial-scale=1"></head>' +
    '<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto; line-height: 1.4">' +
    `<h1 id="result" data-ok="${result.ok}">${escapeHtml(words.title)}</h1>` +
    `<p id="message">${escapeHtml(words.text)}</p>` +
    "<script>(function () {" +
    "try { history.replaceState(null, '', location.pathname); } catch (e) {}" +
    (result.state
      ? `var m = ${message}; try { if (window.opener) window.opener.postMessage(m, location.origin); } catch (e) {}`
      : "") +
    (result.ok ? "setTimeout(function () { window.close(); }, 1500);" : "") +
    "})();</script></body></html>"
  );
}

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );
}
