/**
 * nest-restream's message catalog holds what its editor and its adapter use, and nothing else: the
 * editor's `data-i18n` keys, the status keys the adapter words its status with (`t("…")`), the
 * log texts it writes (`RED._("nest-restream.log.…")`), and one error text per refusal code.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { MESSAGE_PATH_CODES } from "../../src/ffmpeg/message-paths";
import { RESTREAM_REFUSAL_CODES } from "../../src/ffmpeg/refusal";
import { RESTREAM_FAILURE_CODES } from "../../src/ffmpeg/restream-failure";
import { RESTREAM_INPUT_CODES } from "../../src/ffmpeg/restream-input";
import { TARGET_ERROR_CODES } from "../../src/ffmpeg/targets";
import { builtCatalog } from "../support/catalog";

// dist/test/unit -> the repository
const root = path.join(__dirname, "..", "..", "..");
const editor = fs.readFileSync(path.join(root, "nodes", "nest-restream.html"), "utf8");
const adapter = fs.readFileSync(path.join(root, "nodes", "nest-restream.ts"), "utf8");

function keysOf(entry: unknown, prefix: string): string[] {
  if (typeof entry === "string") return [prefix];
  return Object.entries(entry as Record<string, unknown>).flatMap(([k, v]) => keysOf(v, `${prefix}.${k}`));
}

const codes: readonly string[] = [
  ...RESTREAM_INPUT_CODES,
  ...TARGET_ERROR_CODES,
  ...MESSAGE_PATH_CODES,
  ...RESTREAM_REFUSAL_CODES,
  ...RESTREAM_FAILURE_CODES,
];

describe("nest-restream message catalog", () => {
  const keys = keysOf(builtCatalog("nest-restream")["nest-restream"], "nest-restream");

  it("has every key the editor asks for, and an error text for every refusal", () => {
    const asked = [...editor.matchAll(/data-i18n="(?:\[\w+\])?([\w.-]+)"/g)].map((m) => m[1]);
    assert.ok(asked.length > 10, "the editor's keys were found");
    for (const key of [...asked, ...codes.map((c) => `nest-restream.errors.${c}`)]) {
      assert.ok(keys.includes(key as string), `${key} is missing`);
    }
  });

  it("has no key that nothing uses", () => {
    for (const key of keys) {
      const status = /^nest-restream\.status\.(\w+)$/.exec(key);
      const error = /^nest-restream\.errors\.(\w+)$/.exec(key);
      const used = status
        ? adapter.includes(`"${status[1]}"`)
        : error
          ? codes.includes(error[1] as string)
          : key.startsWith("nest-restream.log.")
            ? adapter.includes(`"${key}"`)
            : editor.includes(key);
      assert.ok(used, `${key} is not used`);
    }
  });
});
