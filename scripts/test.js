// `npm test`: lint, type check and build, then every suite: unit, node (Node-RED 4 and 5), end to end,
// browser. Ends with one line "N passed, N failed" counted from the mocha runs.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const bin = (name) => path.join(root, "node_modules", ".bin", name);
let passed = 0;
let failed = 0;
let skipped = 0;

function step(title, cmd, args, env = {}) {
  console.log(`\n=== ${title} ===`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  return r.status === 0;
}

function mocha(title, specs, env = {}) {
  const stats = path.join(os.tmpdir(), `nest-restream-stats-${process.pid}-${Date.now()}.json`);
  const ok = step(
    title,
    process.execPath,
    [bin("mocha"), "--reporter", path.join(__dirname, "mocha-reporter.js"), ...specs],
    { ...env, TEST_STATS_FILE: stats },
  );
  if (fs.existsSync(stats)) {
    const s = JSON.parse(fs.readFileSync(stats, "utf8"));
    passed += s.passes;
    failed += s.failures;
    skipped += s.pending;
    fs.rmSync(stats);
  } else if (!ok) {
    failed += 1; // the runner itself died: count it, never hide it
  }
  return ok;
}

const only = process.argv.slice(2);
const want = (name) => only.length === 0 || only.includes(name);

if (want("lint")) {
  if (!step("lint (eslint)", bin("eslint"), ["."])) failed++;
  else passed++;
  if (!step("format (prettier --check)", bin("prettier"), ["--check", "."])) failed++;
  else passed++;
}
if (!step("type check and build", "npm", ["run", "--silent", "build"])) {
  console.log(`\n0 passed, ${failed + 1} failed`);
  process.exit(1);
}
passed++;

if (want("unit")) mocha("unit tests", ["dist/test/unit/**/*.test.js"]);
if (want("nodes")) {
  mocha("node tests (Node-RED 4)", ["dist/test/nodes/**/*.test.js"], { NODE_RED_MAJOR: "4" });
  mocha("node tests (Node-RED 5)", ["dist/test/nodes/**/*.test.js"], { NODE_RED_MAJOR: "5" });
}
if (want("e2e")) mocha("end-to-end tests", ["dist/test/e2e/**/*.test.js"]);
if (want("browser")) mocha("browser tests", ["dist/test/browser/**/*.test.js"]);

const tail = skipped ? `, ${skipped} skipped` : "";
console.log(`\n${passed} passed, ${failed} failed${tail}`);
process.exit(failed === 0 ? 0 : 1);
