/** The nonce cookie an Authorize start sets (issue 13, item 9), as a browser would send it back. */
export function nonceCookie(res: { headers: Record<string, unknown> }): string {
  const set = res.headers["set-cookie"];
  const first = Array.isArray(set) ? String(set[0]) : typeof set === "string" ? set : "";
  const pair = first.split(";")[0] ?? "";
  if (!/^nr-authorize-[A-Za-z0-9_-]+=[A-Za-z0-9_-]+$/.test(pair)) {
    throw new Error(`no nonce cookie in ${JSON.stringify(set)}`);
  }
  return pair;
}
