/**
 * `RED._` as Node-RED gives it to a node at runtime: texts from the node's message catalog
 * (`locales/en-US/<name>.json` of the built nodes), `__name__` placeholders filled in; an unknown
 * key comes back as is. (The test helper's own `RED._` returns the key.)
 */
import fs from "node:fs";
import path from "node:path";

export function catalogText(name: string): (key: string, vars?: Record<string, unknown>) => string {
  // dist/test/support -> dist/nodes
  const file = path.join(__dirname, "..", "..", "nodes", "locales", "en-US", `${name}.json`);
  const catalog: unknown = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  return (key, vars = {}) => {
    let value: unknown = catalog;
    for (const part of key.split(".")) value = (value as Record<string, unknown> | undefined)?.[part];
    if (typeof value !== "string") return key;
    return value.replace(/__(.+?)__/g, (match, v: string) => (v in vars ? String(vars[v]) : match));
  };
}
