// Compiles the TypeScript and assembles the package the way Node-RED loads it:
// dist/nodes/<node>.js with <node>.html beside it, dist/nodes/icons/ and dist/nodes/locales/<lang>/;
// tsc puts the adapters' shared modules (nodes/lib/) at dist/nodes/lib/, where they require them from.
// The editor code in resources/ is served from the package root as it is (no build step).
// `--runtime` compiles only src/ and nodes/ (what `npm start` and the published package need), so a
// test in progress never stops Node-RED from starting.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const dist = path.join(root, "dist");

fs.rmSync(dist, { recursive: true, force: true });
const project = process.argv.includes("--runtime") ? path.join(root, "tsconfig.build.json") : root;
execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", project], { stdio: "inherit" });

const nodesOut = path.join(dist, "nodes");
fs.mkdirSync(nodesOut, { recursive: true });
for (const file of fs.readdirSync(path.join(root, "nodes"))) {
  if (file.endsWith(".html")) fs.copyFileSync(path.join(root, "nodes", file), path.join(nodesOut, file));
}
fs.cpSync(path.join(root, "nodes", "locales"), path.join(nodesOut, "locales"), { recursive: true });
fs.cpSync(path.join(root, "icons"), path.join(nodesOut, "icons"), { recursive: true });

// Every node listed in package.json must have its .js and .html side by side.
const pkg = require(path.join(root, "package.json"));
for (const [type, file] of Object.entries(pkg["node-red"].nodes)) {
  const js = path.join(root, file);
  const html = js.replace(/\.js$/, ".html");
  for (const f of [js, html]) {
    if (!fs.existsSync(f)) throw new Error(`build: ${type} is missing ${path.relative(root, f)}`);
  }
}
