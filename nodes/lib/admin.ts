/**
 * What the admin HTTP routes of the account nodes share: errors as JSON the editor can show, and the
 * credentials a dialog sent (typed, or the stored ones where the dialog left a password unchanged).
 */
import { isLocalReason } from "../../src/google/authorization";
import { GoogleError } from "../../src/google/errors";
import { errorMessage } from "../../src/redact";
import type { AdminResponse, RED } from "../red-types";

/** Stored password credentials come back to the editor as this placeholder. */
export const PASSWORD_PLACEHOLDER = "__PWRD__";

/** Local problems (credentials, state, pasted URL) are 400; Google's refusals 502. */
export const statusFor = (code: string) =>
  code === "STATE_NOT_BOUND" ? 403 : code === "CREDENTIALS" || isLocalReason(code) ? 400 : 502;

/** The code the editor gets for an error: Google's or ours, else "ERROR". */
export const errorCode = (err: unknown) => (err instanceof GoogleError ? err.code : "ERROR");

/** Sends an error as JSON the editor can show (anything not from Google is a 500); never a secret, never a stack. */
export function sendError(res: AdminResponse, err: unknown): void {
  const code = errorCode(err);
  res.status(err instanceof GoogleError ? statusFor(code) : 500).json({ error: errorMessage(err), code });
}

/**
 * The credential fields as the dialog sent them. Password fields the editor did not change arrive as
 * the placeholder (and fields it never loaded are absent): those come from the stored credentials of
 * the node named by `body.id`.
 */
export function typedCredentials<K extends string>(
  RED: RED,
  body: Record<string, unknown>,
  names: readonly K[],
): Partial<Record<K, string>> {
  const stored = (typeof body.id === "string" && body.id && RED.nodes.getCredentials(body.id)) || {};
  const typed: Partial<Record<K, string>> = {};
  for (const name of names) {
    const v = body[name];
    typed[name] = typeof v !== "string" || v === PASSWORD_PLACEHOLDER ? stored[name] : v;
  }
  return typed;
}
