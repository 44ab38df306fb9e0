/**
 * The node's own message catalog behind `RED._`, as Node-RED's runtime gives it to a node module
 * (the test helper's `RED._` returns the key): so node tests see the texts users see.
 */
import fs from "node:fs";
import path from "node:path";
import { acceptedTexts } from "../../nodes/lib/restream-wording";

export type Catalog = Record<string, unknown>;

/** The built catalog of a node (dist/nodes/locales/en-US/<name>.json); empty if it has none. */
export function builtCatalog(name: string): Catalog {
  // dist/test/support -> dist/nodes
  const file = path.join(__dirname, "..", "..", "nodes", "locales", "en-US", `${name}.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Catalog) : {};
}

/** The text under a dotted key (a `namespace:` prefix is ignored), or undefined. */
export function lookup(messages: Catalog, key: string): string | undefined {
  let at: unknown = messages;
  for (const part of key.replace(/^[^:]*:/, "").split(".")) {
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

/**
 * `RED._` over a catalog: dotted keys, `__name__` substitutions (unescaped, as the runtime does); an
 * unknown key comes back as is, and is recorded in `missing` when given.
 */
export function translator(
  messages: Catalog,
  missing?: string[],
): (key: string, subs?: Record<string, unknown>) => string {
  return (key, subs = {}) => {
    const text = lookup(messages, key);
    if (text === undefined) {
      missing?.push(key);
      return key;
    }
    return text.replace(/__(\w+)__/g, (whole, name: string) => (name in subs ? String(subs[name]) : whole));
  };
}

/** `RED._` of a built node. */
export function catalogText(name: string): (key: string, subs?: Record<string, unknown>) => string {
  return translator(builtCatalog(name));
}

export interface Translated {
  /** The node module, to pass to helper.load. */
  node: (RED: object) => unknown;
  /** Keys asked for that the catalog lacks (then, as in Node-RED, the key itself was answered). */
  missing: string[];
}

/** A node module with `RED._` answering from `messages`, recording the keys it lacks. */
export function withCatalog(nodeModule: unknown, messages: Catalog): Translated {
  const missing: string[] = [];
  const _ = translator(messages, missing);
  const node = (RED: object) =>
    (nodeModule as (RED: object) => unknown)(Object.create(RED, { _: { value: _ } }));
  return { node, missing };
}

/** A refusal (an error with a `code` and its `params`) in the words of a node's catalog (`<name>.errors.<code>`). */
export function refusalText(name: string, err: unknown): string {
  const { code, params } = err as { code?: string; params?: Record<string, unknown> };
  const _ = catalogText(name);
  const filled = name === "nest-restream" ? { ...acceptedTexts(_), ...params } : params;
  return code ? _(`${name}.errors.${code}`, filled) : String(err);
}

/** For assert.throws/rejects: the refusal, worded by the node's catalog, matches `pattern`. */
export function wordedAs(name: string, pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    const text = refusalText(name, err);
    if (!pattern.test(text)) throw new Error(`${pattern} does not match ${JSON.stringify(text)}`);
    return true;
  };
}
