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
import {
  parseRestreamInput,
  RESTREAM_COMMANDS,
  RESTREAM_INPUT_CODES,
  STREAM_EVENTS,
} from "../../src/ffmpeg/restream-input";
import { TARGET_ERROR_CODES, TARGET_KINDS } from "../../src/ffmpeg/targets";
import { RestreamInputError } from "../../src/ffmpeg/restream-input";
import { TargetError } from "../../src/ffmpeg/targets";
import { builtCatalog, refusalText } from "../support/catalog";

// dist/test/unit -> the repository
const root = path.join(__dirname, "..", "..", "..");
const editor = fs.readFileSync(path.join(root, "nodes", "nest-restream.html"), "utf8");
const adapter = fs.readFileSync(path.join(root, "nodes", "nest-restream.ts"), "utf8");
const wording = fs.readFileSync(path.join(root, "nodes", "lib", "restream-wording.ts"), "utf8");

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
            : key.startsWith("nest-restream.accepted.")
              ? wording.includes(`"${key}"`)
              : editor.includes(key);
      assert.ok(used, `${key} is not used`);
    }
  });

  it("says what it accepts in one key, its lists filled from the constants the parsing uses", () => {
    const catalog = JSON.stringify(builtCatalog("nest-restream"));
    assert.equal(
      catalog.split("nest-restream accepts msg.payload").length - 1,
      1,
      "one accepted-input sentence",
    );
    for (const list of [TARGET_KINDS, STREAM_EVENTS, RESTREAM_COMMANDS]) {
      assert.ok(!catalog.includes(list.join(", ")), `${list.join(", ")} is written in the catalog`);
    }
    const kind = refusalText("nest-restream", new RestreamInputError("targetKind"));
    assert.ok(kind.includes(`that is not one of ${TARGET_KINDS.join(", ")}.`), kind);
    const event = refusalText("nest-restream", new RestreamInputError("streamEvent"));
    assert.ok(event.includes(`without an event of ${STREAM_EVENTS.join(", ")}.`), event);
    assert.ok(event.startsWith(`nest-restream accepts msg.payload as an rtsp(s)://`), event);
    assert.ok(event.includes(RESTREAM_COMMANDS.map((c) => `"${c}"`).join(", ")), event);
    const scheme = refusalText("nest-restream", new TargetError("customScheme", { scheme: "ftp" }));
    assert.ok(
      scheme.includes(`target one of ${TARGET_KINDS.map((k) => `"${k}"`).join(", ")} (default`),
      scheme,
    );
    assert.ok(!/__\w+__/.test(event + kind + scheme), "every placeholder is filled");
  });

  it("understands every command and stream event its texts list", () => {
    for (const payload of RESTREAM_COMMANDS) {
      assert.equal(parseRestreamInput({ payload }).command.action, payload);
    }
    for (const event of STREAM_EVENTS) {
      assert.doesNotThrow(() => parseRestreamInput({ payload: "rtsp://h/x", stream: { event } }));
    }
  });
});
