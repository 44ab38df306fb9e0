/**
 * youtube-upload's message catalog holds what its editor and adapter use, and nothing else: the
 * editor's `data-i18n` and `this._` keys, the status keys its status line words (`text("…")` in
 * src/youtube/upload-status.ts),
 * one error text per refused input (UploadFileError codes), and the adapter's own errors.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { builtCatalog, catalogText, keys as keysOf } from "../support/catalog";

// dist/test/unit -> the repository
const root = path.join(__dirname, "..", "..", "..");
const editor = fs.readFileSync(path.join(root, "nodes", "youtube-upload.html"), "utf8");
const adapter = fs.readFileSync(path.join(root, "nodes", "youtube-upload.ts"), "utf8");
const core = fs.readFileSync(path.join(root, "src", "youtube", "resumable-upload.ts"), "utf8");
const statusLine = fs.readFileSync(path.join(root, "src", "youtube", "upload-status.ts"), "utf8");
const FILE_CODES = ["notString", "missing", "empty", "notFile", "changed"];

describe("youtube-upload message catalog", () => {
  const keys = keysOf(builtCatalog("youtube-upload"));

  it("has every key the editor asks for, and an error text for every refused input", () => {
    const asked = [
      ...[...editor.matchAll(/data-i18n="(?:\[\w+\])?([\w.-]+)"/g)].map((m) => m[1]),
      ...[...editor.matchAll(/this\._\("([\w.-]+)"\)/g)].map((m) => m[1]),
    ];
    assert.ok(asked.length >= 15, "the editor's keys were found");
    const declared = /readonly code: ([^,]+),/.exec(core)?.[1] ?? "";
    for (const code of FILE_CODES) assert.ok(declared.includes(`"${code}"`), `UploadFileError has ${code}`);
    for (const key of [...asked, ...FILE_CODES.map((c) => `youtube-upload.error.${c}`)]) {
      assert.ok(keys.includes(key), `${key} is missing`);
    }
  });

  it("has no key that nothing uses", () => {
    for (const key of keys) {
      const status = /^youtube-upload\.status\.(\w+)$/.exec(key);
      const error = /^youtube-upload\.error\.(\w+)$/.exec(key);
      // accountOrRefuse (nodes/lib/account-guard.ts) words "no account" as <type>.status/error.noAccount.
      const guarded =
        (status ?? error)?.[1] === "noAccount" &&
        adapter.includes('accountOrRefuse<YouTubeAccountNode>(RED, this, config.account, "youtube-upload")');
      const used = guarded
        ? true
        : status
          ? (statusLine.includes(`text("${status[1]}"`) &&
              adapter.includes("youtube-upload.status.${key}")) ||
            adapter.includes(key)
          : error
            ? FILE_CODES.includes(error[1]) || adapter.includes(key)
            : editor.includes(key);
      assert.ok(used, `${key} is not used`);
    }
  });

  it("words the progress status with the percent, the speed and the queue", () => {
    const t = catalogText("youtube-upload");
    assert.equal(
      t("youtube-upload.status.uploading", { percent: 42, speed: "3.1 MB/s", queued: "2 queued" }),
      "42% · 3.1 MB/s · 2 queued",
    );
  });
});
