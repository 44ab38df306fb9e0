/**
 * The end of the flow: the authorization code exchanged for a refresh token at Google's token
 * endpoint, once (a code works once); the client secret and the code never appear in an error.
 */
import { redact, secrets } from "../redact";
import { AuthorizationError } from "./authorization";
import { redirectError } from "./authorization-redirect";
import { AxiosTransport, isOk, networkError, parseBody, sendRequest, type HttpTransport } from "./http";

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
