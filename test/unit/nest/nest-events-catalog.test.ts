/**
 * nest-events' message catalog holds what its editor, its adapter and its status line use, and
 * nothing else: the editor's `data-i18n` keys, the adapter's `t("errors.…")`, the status keys.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { eventStatusView, type EventStatusKey } from "../../../src/nest/event-status";
import type { ReaderState } from "../../../src/nest/event-reader";
import { builtCatalog, translator } from "../../support/catalog";

// dist/test/unit/nest -> the repository
const root = path.join(__dirname, "..", "..", "..", "..");
const editor = fs.readFileSync(path.join(root, "nodes", "nest-events.html"), "utf8");
const adapter = fs.readFileSync(path.join(root, "nodes", "nest-events.ts"), "utf8");

function keysOf(entry: unknown, prefix: string): string[] {
  if (typeof entry === "string") return [prefix];
  return Object.entries(entry as Record<string, unknown>).flatMap(([k, v]) => keysOf(v, `${prefix}.${k}`));
}

describe("nest-events message catalog", () => {
  const catalog = builtCatalog("nest-events");
  const keys = keysOf(catalog["nest-events"], "nest-events");

  it("has every key the editor and the adapter ask for", () => {
    const asked = [...editor.matchAll(/data-i18n="(?:\[\w+\])?([\w.-]+)"/g)].map((m) => m[1]);
    assert.ok(asked.length > 10, "the editor's keys were found");
    const errors = [...adapter.matchAll(/t\("(errors\.\w+)"/g)].map((m) => `nest-events.${m[1]}`);
    assert.ok(errors.length >= 3, "the adapter's keys were found");
    for (const key of [...asked, ...errors]) assert.ok(keys.includes(key), `${key} is missing`);
  });

  it("words every status the reader can be in, from the catalog", () => {
    const used = new Set<EventStatusKey>();
    const missing: string[] = [];
    const t = translator(catalog, missing);
    const text = (key: EventStatusKey, vars?: Record<string, string>) => {
      used.add(key);
      return t(`nest-events.status.${key}`, vars);
    };
    const states: ReaderState[] = ["starting", "listening", "retrying", "error", "stopped"];
    for (const state of states) eventStatusView({ state, error: "x" }, text);
    const lastEvent = {
      type: "chime" as const,
      deviceId: "d",
      camera: "Front",
      timestamp: "2026-12-01T10:00:00.000Z",
      eventId: "e",
      eventSessionId: "s",
    };
    const view = eventStatusView({ state: "listening", lastEvent }, text);
    assert.match(view.text, /^chime · Front · \d\d:\d\d:\d\d$/);
    assert.equal(view.fill, "green");
    assert.deepEqual(missing, []);
    for (const key of keys.filter((k) => k.startsWith("nest-events.status."))) {
      const name = key.split(".").pop() as EventStatusKey;
      assert.ok(used.has(name) || adapter.includes(`status.${name}`), `${key} is not used`);
    }
  });
});
