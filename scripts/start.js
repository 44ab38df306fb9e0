// Starts the dev-dependency Node-RED (4.1.x) on 127.0.0.1:1880 with this package installed
// into a git-ignored user directory (.node-red/), the way the palette manager would.
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
// The package to install (default: this repository). Browser tests point it at a copy whose dist/ is
// their own build output, so they never touch the dist/ of the working tree.
const packageDir = process.env.NEST_RESTREAM_PACKAGE_DIR
  ? path.resolve(process.env.NEST_RESTREAM_PACKAGE_DIR)
  : root;
const userDir = process.env.NODE_RED_USER_DIR || path.join(root, ".node-red");
const port = process.env.PORT || "1880";
fs.mkdirSync(path.join(userDir, "node_modules"), { recursive: true });

// Link the package so Node-RED finds it as an installed module (and its examples under Import).
const link = path.join(userDir, "node_modules", "node-red-contrib-nest-restream");
fs.rmSync(link, { recursive: true, force: true });
fs.symlinkSync(packageDir, link, "dir");
const userPkg = path.join(userDir, "package.json");
if (!fs.existsSync(userPkg)) {
  fs.writeFileSync(
    userPkg,
    JSON.stringify(
      {
        name: "node-red-project",
        private: true,
        dependencies: { "node-red-contrib-nest-restream": "file:" + packageDir },
      },
      null,
      2,
    ),
  );
}

const settings = path.join(__dirname, "node-red-settings.js");
const red = require.resolve("node-red/red.js");
const child = spawn(
  process.execPath,
  [red, "--userDir", userDir, "--port", port, "--settings", settings, ...process.argv.slice(2)],
  {
    stdio: "inherit",
    env: process.env,
  },
);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
