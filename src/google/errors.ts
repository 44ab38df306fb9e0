/** Typed errors for Google's answers, shared by every API; messages say what the user should do. */
import { redact } from "../redact";

export class GoogleError extends Error {
  constructor(
    message: string,
    /** HTTP status, 0 for network failures and timeouts. */
    readonly httpStatus: number,
    /** Google's status string (`FAILED_PRECONDITION`, `invalid_grant`, …) or a local code. */
    readonly code: string,
    /** Worth retrying after a delay (network, timeout, 5xx, 429). */
    readonly transient: boolean,
  ) {
    // Every message is redacted at birth: these errors reach status text, logs and the editor.
    super(redact(message));
    this.name = new.target.name;
  }
}

/** Network failure, timeout or 5xx: retried with backoff. */
export class TransientGoogleError extends GoogleError {
  constructor(message: string, httpStatus = 0, code = "UNAVAILABLE") {
    super(message, httpStatus, code, true);
  }
}

/**
 * `invalid_grant`: the refresh token is expired or revoked. `account` names the node to authorize
 * again, as the editor labels it.
 */
export class InvalidGrantError extends GoogleError {
  constructor(detail?: string, account = "account") {
    super(
      "Google refused the refresh token (invalid_grant" +
        (detail ? `: ${detail}` : "") +
        `). Authorize the ${account} again to get a new refresh token. If it keeps happening after about ` +
        '7 days, your Google Cloud project\'s OAuth consent screen is in "Testing": refresh tokens issued to ' +
        'it die after 7 days, so set its publishing status to "In production" (APIs & Services > OAuth consent ' +
        "screen > Publish app) and authorize again.",
      400,
      "invalid_grant",
      false,
    );
  }
}

/** `invalid_client`: the OAuth client id or secret is wrong. */
export class InvalidClientError extends GoogleError {
  constructor(detail?: string, account = "account") {
    super(
      "Google refused the OAuth client (invalid_client" +
        (detail ? `: ${detail}` : "") +
        `). Check the client ID and client secret in the ${account} node: copy them again from Google Cloud ` +
        "Console > APIs & Services > Credentials (a Web application client).",
      401,
      "invalid_client",
      false,
    );
  }
}

/** Credentials missing or malformed: caught before any request to Google. */
export class CredentialsError extends GoogleError {
  constructor(message: string) {
    super(message, 0, "CREDENTIALS", false);
  }
}

/** 401 UNAUTHENTICATED: the access token was refused. */
export class UnauthenticatedError extends GoogleError {
  constructor(message = "Google refused the access token (UNAUTHENTICATED).") {
    super(message, 401, "UNAUTHENTICATED", false);
  }
}

/** 403 PERMISSION_DENIED: the credentials may not do this (each API adds why it thinks so). */
export class PermissionDeniedError extends GoogleError {
  constructor(message: string) {
    super(message, 403, "PERMISSION_DENIED", false);
  }
}

/** 400 FAILED_PRECONDITION: the resource is not in a state that allows the call. */
export class FailedPreconditionError extends GoogleError {
  constructor(message: string) {
    super(message, 400, "FAILED_PRECONDITION", false);
  }
}

/** 400 INVALID_ARGUMENT: the request itself is wrong (a bad parameter or token in it). */
export class InvalidArgumentError extends GoogleError {
  constructor(message: string) {
    super(message, 400, "INVALID_ARGUMENT", false);
  }
}

/** 404 NOT_FOUND: no such resource. */
export class NotFoundError extends GoogleError {
  constructor(message: string) {
    super(message, 404, "NOT_FOUND", false);
  }
}

/** 429 RESOURCE_EXHAUSTED: rate limited. `retryAfterMs` comes from `Retry-After` when present. */
export class RateLimitedError extends GoogleError {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message, 429, "RESOURCE_EXHAUSTED", true);
  }
}

/** The account (token keeper, client or budget) was closed while a call was waiting. */
export class ClosedError extends GoogleError {
  constructor(what = "The account") {
    super(`${what} was closed (redeployed or removed); the call was abandoned.`, 0, "CLOSED", false);
  }
}
