/**
 * The node's own message catalog behind `RED._`, as Node-RED's runtime gives it to a node module
 * (the test helper's `RED._` returns the key): so node tests see the texts users see.
 */
import fs from "node:fs";
import path from "node:path";

type Catalog = { [key: string]: string | Catalog };

/** `RED._` over a catalog: dotted keys, `__name__` substitutions (unescaped, as the runtime does). */
export function translator(catalog: Catalog): (key: string, subs?: Record<string, unknown>) => string {
  return (key, subs = {}) => {
    let entry: string | Catalog | undefined = catalog;
    for (const part of key.replace(/^[^:]*:/, "").split(".")) {
      entry = typeof entry === "object" ? entry[part] : undefined;
    }
    if (typeof entry !== "string") return key;
    return entry.replace(/__(\w+)__/g, (whole, name: string) => (name in subs ? String(subs[name]) : whole));
  };
}

/** The built catalog of a node (dist/nodes/locales/en-US/<name>.json); empty if it has none. */
export function builtCatalog(name: string): Catalog {
  // dist/test/support -> dist/nodes
  const file = path.join(__dirname, "..", "..", "nodes", "locales", "en-US", `${name}.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Catalog) : {};
}

/** `RED._` of a built node. */
export function catalogText(name: string): (key: string, subs?: Record<string, unknown>) => string {
  return translator(builtCatalog(name));
}
