/**
 * The node's message catalog in node tests. node-red-node-test-helper answers `RED._(key)` with the key
 * itself; `withCatalog` hands a node module a RED whose `_` translates from the built en-US catalog the
 * way Node-RED does (`__name__` substitutions), and records every key the catalog lacks.
 */
import fs from "node:fs";
import path from "node:path";

export type Catalog = Record<string, unknown>;

/** A built node's en-US catalog (dist/nodes/locales/en-US/<name>.json). */
export function catalog(name: string): Catalog {
  // dist/test/support -> dist/nodes
  const file = path.join(__dirname, "..", "..", "nodes", "locales", "en-US", `${name}.json`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as Catalog;
}

/** The text under a dotted key, or undefined. */
export function lookup(messages: Catalog, key: string): string | undefined {
  let at: unknown = messages;
  for (const part of key.split(".")) {
    at = at && typeof at === "object" ? (at as Record<string, unknown>)[part] : undefined;
  }
  return typeof at === "string" ? at : undefined;
}

/** Every dotted key of a catalog that holds a text. */
export function keys(messages: Catalog, prefix = ""): string[] {
  return Object.entries(messages).flatMap(([k, v]) =>
    v && typeof v === "object" ? keys(v as Catalog, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

export interface Translated {
  /** The node module, to pass to helper.load. */
  node: (RED: object) => unknown;
  /** Keys asked for that the catalog lacks (then, as in Node-RED, the key itself was answered). */
  missing: string[];
}

/** The node module with `RED._` answering from `messages`. */
export function withCatalog(nodeModule: unknown, messages: Catalog): Translated {
  const missing: string[] = [];
  const translate = (key: string, subs: Record<string, unknown> = {}) => {
    const text = lookup(messages, key);
    if (text === undefined) {
      missing.push(key);
      return key;
    }
    return text.replace(/__([A-Za-z0-9_]+)__/g, (all, name: string) =>
      name in subs ? String(subs[name]) : all,
    );
  };
  const node = (RED: object) => {
    const red = Object.create(RED) as { _: typeof translate };
    red._ = translate;
    return (nodeModule as (RED: object) => unknown)(red);
  };
  return { node, missing };
}
