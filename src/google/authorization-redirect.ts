/**
 * Google's redirect back to the flow: the query of the callback request, or the address the user
 * pasted, read into a code and a state (or Google's refusal, in words).
 */
import { AuthorizationError } from "./authorization";

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
      "Access was not granted (access_denied). Press Authorize again, sign in with the Google account whose " +
        "devices or channel the node should use, grant what the page asks for and allow access. While the OAuth consent screen is in " +
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
