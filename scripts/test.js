// `npm test`: lint, type check and build, then every suite: unit, node (Node-RED 4 and 5), end to end,
// browser on Node 20 (the node running this script); then the node and end-to-end suites again on Node 22
// (.node22/bin/node, put there by `npm run test:setup`), and Node-RED 5 started from its own command line
// under Node 22 (part "cli"). Ends with one line "N passed, N failed" counted from the mocha runs.
// Arguments pick parts (lint, unit, nodes, e2e, browser, cli) and Node versions (node20, node22), e.g.
// `node scripts/test.js e2e node22`; none = everything.
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

function mocha(title, specs, env = {}, node = process.execPath) {
  const stats = path.join(os.tmpdir(), `nest-restream-stats-${process.pid}-${Date.now()}.json`);
  const ok = step(
    title,
    node,
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

const args = process.argv.slice(2);
const versions = args.filter((a) => /^node\d+$/.test(a));
const only = args.filter((a) => !versions.includes(a));
const want = (name) => only.length === 0 || only.includes(name);
const onNode = (major) => versions.length === 0 || versions.includes(`node${major}`);

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

const nodeSuites = (suffix, node, env = {}) => {
  if (want("nodes")) {
    mocha(
      `node tests (Node-RED 4)${suffix}`,
      ["dist/test/nodes/**/*.test.js"],
      { ...env, NODE_RED_MAJOR: "4" },
      node,
    );
    mocha(
      `node tests (Node-RED 5)${suffix}`,
      ["dist/test/nodes/**/*.test.js"],
      { ...env, NODE_RED_MAJOR: "5" },
      node,
    );
  }
  if (want("e2e")) mocha(`end-to-end tests${suffix}`, ["dist/test/e2e/**/*.test.js"], env, node);
};

if (onNode(20)) {
  if (want("unit")) mocha("unit tests", ["dist/test/unit/**/*.test.js"]);
  nodeSuites("", process.execPath);
  if (want("browser")) mocha("browser tests", ["dist/test/browser/**/*.test.js"]);
}

// Node 22: what the Home Assistant add-on runs, and what werift and Node-RED 5 declare as their minimum.
// A missing binary is a failure, never a skip.
if (onNode(22) && (want("nodes") || want("e2e") || want("cli"))) {
  const node22 = path.join(root, ".node22", "bin", "node");
  const version = fs.existsSync(node22)
    ? spawnSync(node22, ["--version"], { encoding: "utf8" }).stdout?.trim()
    : undefined;
  if (!version?.startsWith("v22.")) {
    console.log(`\n=== Node 22 ===`);
    console.log(
      `Node 22 is not at ${path.relative(root, node22)}${version === undefined ? "" : ` (it says "${version}")`}:` +
        " run `npm run test:setup` (or `node scripts/node22.js`). The Node 22 suites count as failed.",
    );
    failed++;
  } else {
    // `node` on PATH is Node 22 too, for anything a test starts by name.
    const env = { PATH: `${path.dirname(node22)}${path.delimiter}${process.env.PATH}` };
    const suffix = ` (Node 22, ${version})`;
    nodeSuites(suffix, node22, env);
    if (want("cli"))
      mocha(
        `Node-RED 5 command line${suffix}`,
        ["dist/test/cli/**/*.test.js"],
        { ...env, EXPECT_NODE_MAJOR: "22" },
        node22,
      );
  }
}

const tail = skipped ? `, ${skipped} skipped` : "";
console.log(`\n${passed} passed, ${failed} failed${tail}`);
process.exit(failed === 0 ? 0 : 1);
