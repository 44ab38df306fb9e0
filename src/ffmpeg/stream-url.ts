/**
 * What a camera's stream URL carries besides its address: the session it belongs to, and the
 * `auth=` token, which stays registered as a secret exactly while a URL that holds it is in use.
 */
import { secrets as processSecrets, type SecretRegistry } from "../redact";

/** Stream session of a URL: the URL without its query (the token changes on every extend). */
export function sessionKey(url: string): string {
  return url.replace(/[?#].*$/, "");
}

export function tokenOf(url: string | null | undefined): string | null {
  if (!url) return null;
  const m = /[?&]auth=([^&#\s]+)/i.exec(url);
  return m?.[1] ?? null;
}

/** The tokens of the URLs in use, registered as secrets; tokens of URLs no longer in use are let go. */
export class StreamTokens {
  private readonly held = new Set<string>();

  constructor(private readonly secrets: SecretRegistry = processSecrets) {}

  /** The URLs in use now (the newest and the running one); any other token is forgotten. */
  inUse(...urls: (string | null | undefined)[]): void {
    const keep = new Set(urls.map(tokenOf).filter((t): t is string => !!t));
    for (const t of this.held) {
      if (!keep.has(t)) {
        this.secrets.delete(t);
        this.held.delete(t);
      }
    }
    for (const t of keep) {
      if (this.held.has(t)) continue; // one hold per token: the registry counts holds
      this.secrets.add(t);
      this.held.add(t);
    }
  }
}
