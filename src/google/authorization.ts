/**
 * The start of Google's OAuth authorization-code flow for any authorize URL and scopes: the URL the
 * user opens, the checks of what the dialog sent, and the AuthorizationError every step of the flow
 * throws (states in authorization-states.ts, the redirect back in authorization-redirect.ts, the
 * exchange in code-exchange.ts). Errors say what to do; the client secret never appears in one.
 */
import { GoogleError } from "./errors";

/** The redirect URI that Google's guides register for a pasted-back address. */
export const GOOGLE_REDIRECT_URI = "https://www.google.com";

export type AuthorizationErrorCode =
  | "STATE_MISSING"
  | "STATE_UNKNOWN"
  | "STATE_EXPIRED"
  | "STATE_USED"
  | "STATE_NOT_BOUND"
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
  "STATE_NOT_BOUND",
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
  /** Google's standard `…/o/oauth2/v2/auth`, or an API's own consent page. */
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

/** What an authorization needs from its start to its exchange. Kept in memory only. */
export interface PendingAuthorization {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** The config node the editor is authorizing (informational). */
  nodeId?: string;
}
