import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pdeathsigHelper, resolveCommand } from "../../src/ffmpeg/spawn-with-parent";
import { waitFor } from "../support/wait";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("spawnWithParent", function () {
  this.timeout(20_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "spawn-parent-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("finds a program as execvp would, with spawn's own ENOENT and EACCES", () => {
    const exe = path.join(dir, "tool");
    fs.writeFileSync(exe, "#!/bin/sh\n", { mode: 0o755 });
    const plain = path.join(dir, "plain");
    fs.writeFileSync(plain, "", { mode: 0o644 });
    assert.equal(resolveCommand("tool", { PATH: `/nonexistent${path.delimiter}${dir}` }), exe);
    assert.equal(resolveCommand(exe, {}), exe);
    assert.throws(() => resolveCommand("tool", { PATH: "/nonexistent" }), { code: "ENOENT" });
    assert.throws(() => resolveCommand(path.join(dir, "none"), {}), { code: "ENOENT" });
    assert.throws(() => resolveCommand(plain, {}), { code: "EACCES" });
    assert.throws(
      () => resolveCommand("plain", { PATH: dir }),
      { code: "ENOENT" },
      "not executable: not found",
    );
  });

  it("on Linux: a child dies when its parent is killed with SIGKILL", async function () {
    assert.equal(process.platform, "linux", "this package's CI runs on Linux");
    assert.ok(pdeathsigHelper(), "setpriv with --pdeathsig (util-linux) is on this machine");
    // A parent Node process that spawns `sleep` through the helper and prints its pid.
    const modulePath = require.resolve("../../src/ffmpeg/spawn-with-parent");
    const script =
      `const { spawnWithParent } = require(${JSON.stringify(modulePath)});` +
      `const c = spawnWithParent("sleep", ["300"], { stdio: "ignore" });` +
      `console.log(c.pid); setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    parent.stdout.on("data", (d: Buffer) => (out += d.toString()));
    try {
      const pid = await waitFor(() => Number(out.trim()) || undefined, 10_000, "the child's pid");
      const cmdline = () => (alive(pid) ? fs.readFileSync(`/proc/${pid}/cmdline`, "utf8") : "");
      await waitFor(
        () => cmdline().split("\0")[0]?.endsWith("/sleep"),
        5000,
        "sleep runs (setpriv exec'd it)",
      );
      assert.ok(alive(parent.pid as number));
      parent.kill("SIGKILL");
      await waitFor(
        () => !alive(pid) || /\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8")),
        5000,
        "the child is gone",
      );
    } finally {
      parent.kill("SIGKILL");
    }
  });
});
