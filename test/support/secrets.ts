/** Asserts that none of the given secrets appears in any of the texts (logs, statuses, messages, errors). */
import assert from "node:assert/strict";

export function assertNoSecrets(texts: unknown[], secretValues: (string | undefined)[]): void {
  const haystack = texts.map((t) => (typeof t === "string" ? t : (JSON.stringify(t) ?? String(t))));
  for (const secret of secretValues) {
    if (!secret) continue;
    for (const text of haystack) {
      assert.ok(!text.includes(secret), `a secret leaked into: ${text.slice(0, 200)}`);
    }
  }
}
