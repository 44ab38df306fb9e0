import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { LeftoverProcess, processStartTicks } from "../../src/ffmpeg/leftover-process";
import { waitFor } from "../support/wait";

describe("LeftoverProcess", function () {
  this.timeout(15_000);
  let dir: string;
  const children: ChildProcess[] = [];
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "leftover-"))));
  after(() => {
    for (const c of children) c.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function sleeper(): ChildProcess {
    const c = spawn("sleep", ["300"], { stdio: "ignore" });
    children.push(c);
    return c;
  }
  const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

  it("ends the process it remembered, once, and forgets it", async () => {
    const child = sleeper();
    const note = new LeftoverProcess(path.join(dir, "sub", "a.json"));
    note.remember(child.pid);
    assert.ok(fs.existsSync(note.file));
    // A later Node-RED: a new object on the same file.
    const later = new LeftoverProcess(note.file);
    assert.equal(later.endLeftover(), child.pid);
    await waitFor(() => exited(child), 5000, "the leftover ended");
    assert.equal(child.signalCode, "SIGKILL");
    assert.ok(!fs.existsSync(note.file));
    assert.equal(later.endLeftover(), null, "nothing the second time");
  });

  it("keeps the recording files being written, and gives them once to the next start (with or without a live pid)", async () => {
    const child = sleeper();
    const killed: number[] = [];
    const note = new LeftoverProcess(path.join(dir, "rec.json"), (pid) => killed.push(pid));
    note.recording([{ path: "/r/ignored.mkv", startedAt: 1 }]);
    assert.ok(!fs.existsSync(note.file), "nothing without a process");
    note.remember(child.pid);
    note.recording([{ path: "/r/a.mkv", startedAt: 1000 }]);
    note.recording([
      { path: "/r/b.mkv", startedAt: 2000 },
      { path: "/r/c.mkv", startedAt: 2000 },
    ]);
    const later = new LeftoverProcess(note.file, (pid) => killed.push(pid));
    assert.deepEqual(later.takeLeftover(), {
      pid: child.pid,
      recordings: [
        { path: "/r/b.mkv", startedAt: 2000 },
        { path: "/r/c.mkv", startedAt: 2000 },
      ],
    });
    assert.deepEqual(killed, [child.pid]);
    assert.deepEqual(later.takeLeftover(), { pid: null, recordings: [] }, "once");
    // The usual case: the kernel ended ffmpeg with Node-RED; the files are still announced.
    fs.writeFileSync(
      note.file,
      JSON.stringify({ pid: 999999999, startTicks: "1", recordings: [{ path: "/r/d.mkv", startedAt: 5 }] }),
    );
    assert.deepEqual(later.takeLeftover(), { pid: null, recordings: [{ path: "/r/d.mkv", startedAt: 5 }] });
    // Anything odd in the note is dropped: relative paths, missing times, not a list.
    for (const recordings of [[{ path: "rel.mkv", startedAt: 5 }], [{ path: "/r/e.mkv" }], "x", null]) {
      fs.writeFileSync(note.file, JSON.stringify({ pid: 0, startTicks: "1", recordings }));
      assert.deepEqual(later.takeLeftover(), { pid: null, recordings: [] }, JSON.stringify(recordings));
    }
    note.forget();
    assert.ok(!fs.existsSync(note.file));
  });

  it("never touches a pid that another process has now (start time differs), nor after forget()", () => {
    const child = sleeper();
    const killed: number[] = [];
    const note = new LeftoverProcess(path.join(dir, "b.json"), (pid) => killed.push(pid));
    fs.writeFileSync(note.file, JSON.stringify({ pid: child.pid, startTicks: "1" }));
    assert.equal(note.endLeftover(), null);
    note.remember(child.pid);
    note.forget();
    assert.equal(note.endLeftover(), null);
    for (const bad of ["not json", JSON.stringify({ pid: 1, startTicks: processStartTicks(1) })]) {
      fs.writeFileSync(note.file, bad);
      assert.equal(note.endLeftover(), null, bad);
    }
    assert.deepEqual(killed, []);
    assert.ok(!exited(child));
  });

  it("reads a start time from /proc, and none for a process that is gone", async () => {
    const child = sleeper();
    assert.match(processStartTicks(child.pid as number) ?? "", /^\d+$/);
    child.kill("SIGKILL");
    await waitFor(() => exited(child), 5000, "gone");
    assert.equal(processStartTicks(child.pid as number), null);
  });
});
