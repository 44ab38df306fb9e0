/**
 * youtube-captions' message catalog holds what its editor and adapter use, and nothing else: the
 * editor's `data-i18n` keys, the status keys the adapter words its status with (`t("…")`), one error
 * text per input refusal, and the warning for a bad credential.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { CAPTION_INPUT_CODES } from "../../src/youtube/caption-input";
import { builtCatalog, keys as keysOf } from "../support/catalog";

// dist/test/unit -> the repository
const root = path.join(__dirname, "..", "..", "..");
const editor = fs.readFileSync(path.join(root, "nodes", "youtube-captions.html"), "utf8");
const adapter = fs.readFileSync(path.join(root, "nodes", "youtube-captions.ts"), "utf8");

describe("youtube-captions message catalog", () => {
  const keys = keysOf(builtCatalog("youtube-captions"));

  it("has every key the editor asks for, and an error text for every refusal", () => {
    const asked = [...editor.matchAll(/data-i18n="(?:\[\w+\])?([\w.-]+)"/g)].map((m) => m[1]);
    assert.ok(asked.length >= 8, "the editor's keys were found");
    for (const key of [...asked, ...CAPTION_INPUT_CODES.map((c) => `youtube-captions.error.${c}`)]) {
      assert.ok(keys.includes(key as string), `${key} is missing`);
    }
  });

  it("has no key that nothing uses", () => {
    const codes: readonly string[] = CAPTION_INPUT_CODES;
    for (const key of keys) {
      const status = /^youtube-captions\.status\.(\w+)$/.exec(key);
      const error = /^youtube-captions\.error\.(\w+)$/.exec(key);
      const used = status
        ? adapter.includes(`"${status[1]}"`)
        : error
          ? codes.includes(error[1]) || adapter.includes(key)
          : editor.includes(key);
      assert.ok(used, `${key} is not used`);
    }
  });
});
