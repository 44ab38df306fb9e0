/**
 * Node-RED 5 started from its own command line (`node-red-5/red.js`, as `node-red` would be), with
 * this package installed in a fresh user directory the way scripts/start.js links it, on a free port.
 * scripts/test.js runs this file under Node 22 (EXPECT_NODE_MAJOR=22): the runtime users of the
 * Home Assistant add-on have. The built package (dist/) must exist.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { delay, findSourceFile, freePort, killOnExit, stopChild, tempDir } from "../fixtures/ports";

const PACKAGE = "node-red-contrib-nest-restream";

describe("Node-RED 5 command line", function () {
  this.timeout(90_000);
  // The repository root, from compiled code in dist/ or another outDir.
  const root = path.dirname(path.dirname(findSourceFile("scripts/start.js", __dirname)));
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
    "node-red": { nodes: Record<string, string> };
  };
  let child: ChildProcess | undefined;
  let output = "";
  let url = "";

  before(async function () {
    const expected = process.env.EXPECT_NODE_MAJOR;
    if (expected) {
      assert.equal(process.versions.node.split(".")[0], expected, `this run should be on Node ${expected}`);
    }
    for (const file of Object.values(pkg["node-red"].nodes)) {
      assert.ok(fs.existsSync(path.join(root, file)), `${file} is missing: build first (npm run build)`);
    }
    const userDir = tempDir("nest-restream-red5-");
    fs.mkdirSync(path.join(userDir, "node_modules"));
    fs.symlinkSync(root, path.join(userDir, "node_modules", PACKAGE), "dir");
    fs.writeFileSync(
      path.join(userDir, "package.json"),
      JSON.stringify({
        name: "node-red-project",
        private: true,
        dependencies: { [PACKAGE]: "file:" + root },
      }),
    );
    const port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    const red = require.resolve("node-red-5/red.js");
    const settings = path.join(root, "scripts", "node-red-settings.js");
    child = spawn(
      process.execPath,
      [red, "--userDir", userDir, "--port", String(port), "--settings", settings],
      {
        cwd: userDir,
        env: { ...process.env, HOST: "127.0.0.1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    killOnExit(child);
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  });

  after(async () => {
    if (child) await stopChild(child, "SIGTERM", 10_000);
  });

  async function get(pathname: string, accept: string): Promise<Response> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        throw new Error(`Node-RED exited (${child.exitCode ?? child.signalCode}):\n${output.slice(-3000)}`);
      }
      try {
        const res = await fetch(url + pathname, { headers: { Accept: accept } });
        if (res.ok) return res;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`no answer at ${url}${pathname}:\n${output.slice(-3000)}`);
      await delay(250);
    }
  }

  it("serves the editor", async () => {
    const res = await get("", "text/html");
    const html = await res.text();
    assert.match(html, /<title>Node-RED<\/title>/, html.slice(0, 500));
    assert.match(output, /Node-RED version: v5\./, output);
    assert.match(
      output,
      new RegExp(`Node\\.js\\s+version: ${process.version.replace(/\./g, "\\.")}`),
      output,
    );
  });

  it("lists every node type of this package, none failed to load", async () => {
    const res = await get("nodes", "application/json");
    const sets = (await res.json()) as { module: string; types: string[]; enabled: boolean; err?: string }[];
    const ours = sets.filter((s) => s.module === PACKAGE);
    assert.deepEqual(
      ours.filter((s) => s.err),
      [],
      "node sets that failed to load",
    );
    assert.deepEqual(ours.flatMap((s) => s.types).sort(), Object.keys(pkg["node-red"].nodes).sort());
    assert.ok(ours.every((s) => s.enabled));
  });

  it("stops on SIGTERM", async () => {
    assert.ok(child);
    const c = child;
    const exited = new Promise<number | null>((resolve) => c.once("exit", (code) => resolve(code)));
    c.kill("SIGTERM");
    const code = await Promise.race([exited, delay(15_000).then(() => "timeout" as const)]);
    assert.notEqual(code, "timeout", `Node-RED did not stop within 15 s:\n${output.slice(-2000)}`);
  });
});
