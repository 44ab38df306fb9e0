/** Every example flow imports and deploys with core nodes and this package only. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { builtNode, coreNode, helper, nodeRedMajor, startServer, stopServer } from "../support/node-red";
import { waitFor } from "../support/wait";

const root = path.join(__dirname, "..", "..", "..");
const examplesDir = path.join(root, "examples");
const ours = [
  "nest-account",
  "nest-stream",
  "nest-restream",
  "youtube-account",
  "youtube-live",
  "youtube-captions",
  "nest-events",
  "youtube-upload",
];
const nodes = [
  ...ours.map(builtNode),
  coreNode("common/20-inject.js"),
  coreNode("common/21-debug.js"),
  coreNode("common/90-comment.js"),
  coreNode("function/10-switch.js"),
  coreNode("function/15-change.js"),
  coreNode("function/89-trigger.js"),
  coreNode("network/21-httpin.js"),
];

interface FlowNode {
  id: string;
  type: string;
  name?: string;
  z?: string;
}

describe(`example flows (Node-RED ${nodeRedMajor})`, function () {
  before(() => startServer());
  after(() => stopServer());
  afterEach(() => helper.unload());

  const files = fs.readdirSync(examplesDir).filter((f) => f.endsWith(".json"));

  it("has the seven examples the README lists, covering every non-config node", () => {
    assert.deepEqual(files.sort(), [
      "doorbell-to-youtube.json",
      "home-assistant-control.json",
      "nest-to-rtsp-server.json",
      "nest-to-youtube-broadcast.json",
      "nest-to-youtube.json",
      "record-and-upload.json",
      "record-hourly.json",
    ]);
    const used = new Set(
      files.flatMap((f) =>
        (JSON.parse(fs.readFileSync(path.join(examplesDir, f), "utf8")) as FlowNode[]).map((n) => n.type),
      ),
    );
    for (const type of [
      "nest-stream",
      "nest-restream",
      "youtube-live",
      "youtube-captions",
      "nest-events",
      "youtube-upload",
    ])
      assert.ok(used.has(type), `${type} appears in an example`);
  });

  it("doorbell-to-youtube: a press starts the camera that rang, the stop follows after five minutes from the last press", async () => {
    type Wired = FlowNode & { wires?: string[][]; [k: string]: unknown };
    const flow = JSON.parse(
      fs.readFileSync(path.join(examplesDir, "doorbell-to-youtube.json"), "utf8"),
    ) as Wired[];
    const byType = (t: string) => flow.filter((n) => n.type === t);
    const [events] = byType("nest-events");
    const [trigger] = byType("trigger");
    const [stream] = byType("nest-stream");
    const [restream] = byType("nest-restream");
    // As shipped: chime only, five minutes from the LAST press (extend), "start" then "stop" to nest-stream.
    assert.deepEqual(events.events, ["chime"]);
    assert.deepEqual(
      [
        trigger.op1,
        trigger.op1type,
        trigger.op2,
        trigger.op2type,
        trigger.duration,
        trigger.units,
        trigger.extend,
      ],
      ["start", "str", "stop", "str", "5", "min", true],
    );
    assert.ok(trigger.wires?.[0]?.includes(stream.id), "the trigger drives nest-stream");
    assert.ok(stream.wires?.[0]?.includes(restream.id), "nest-stream feeds nest-restream");
    assert.equal(stream.startOnDeploy, false, "nothing streams before a press");

    // Run the switch → change → trigger chain with the trigger at 1.5 s instead of 5 min; a helper
    // stands in for nest-stream (no Google here) and nest-events' messages are sent to the switch.
    const chain = flow
      .filter((n) => ["switch", "change", "trigger"].includes(n.type))
      .map((n) => ({ ...n, z: "f1", ...(n.type === "trigger" ? { duration: "1500", units: "ms" } : {}) }));
    await helper.load(nodes, [
      { id: "f1", type: "tab" },
      ...chain,
      { id: stream.id, type: "helper", z: "f1" },
    ]);
    const got: { payload: unknown; deviceId?: unknown; at: number }[] = [];
    (
      helper.getNode(stream.id) as unknown as { on(e: string, f: (m: Record<string, unknown>) => void): void }
    ).on("input", (m) => got.push({ payload: m.payload, deviceId: m.deviceId, at: Date.now() }));
    const first = events.wires?.[0]?.find((id) => flow.find((n) => n.id === id)?.type === "switch");
    assert.ok(first, "nest-events is wired to the switch");
    const sw = helper.getNode(first) as unknown as { receive(m: Record<string, unknown>): void };
    sw.receive({ payload: "motion", topic: "door-legacy" });
    const t0 = Date.now();
    sw.receive({ payload: "chime", topic: "door-legacy" });
    // The second press comes well inside the trigger's time, even on a slow machine.
    await waitFor(() => got.length > 0, 1_000, "the start for the press");
    await new Promise((r) => setTimeout(r, 200));
    const second = Date.now();
    sw.receive({ payload: "chime", topic: "door-legacy" }); // a second press extends the five minutes
    // No further press is sent, so nothing can follow the stop.
    await waitFor(() => got.length >= 2, 10_000, "the stop");
    assert.deepEqual(
      got.map((m) => [m.payload, m.deviceId]),
      [
        ["start", "door-legacy"],
        ["stop", "door-legacy"],
      ],
      "one start for the press, one stop after it; a motion starts nothing",
    );
    assert.ok(got[1].at - second >= 1400, `the stop counts from the last press (${got[1].at - second} ms)`);
    assert.ok(second - t0 < 1500, "the second press came before the first would have stopped");
  });

  it("record-and-upload: hourly files from output 2 go to youtube-upload as private videos", () => {
    type Wired = FlowNode & { wires?: string[][]; [k: string]: unknown };
    const flow = JSON.parse(
      fs.readFileSync(path.join(examplesDir, "record-and-upload.json"), "utf8"),
    ) as Wired[];
    const restream = flow.find((n) => n.type === "nest-restream");
    const upload = flow.find((n) => n.type === "youtube-upload");
    assert.ok(restream && upload);
    assert.equal(restream.segmentSeconds, 3600, "one file an hour");
    assert.match(String(restream.url), /%H/, "a file name per hour");
    assert.deepEqual(restream.wires?.[1], [upload.id], "output 2 (finished recordings) to the upload");
    assert.equal(upload.privacy, "private");
    assert.equal(upload.deleteAfterUpload, false);
  });

  for (const file of fs.readdirSync(examplesDir).filter((f) => f.endsWith(".json"))) {
    it(`${file} deploys, each node explained by a comment`, async () => {
      const flow = JSON.parse(fs.readFileSync(path.join(examplesDir, file), "utf8")) as FlowNode[];
      assert.ok(
        flow.some((n) => n.type === "comment"),
        "a comment node explains it",
      );
      // (The account names say "enter credentials": the word is there, credentials are not.)
      assert.ok(
        flow.every((n) => !("credentials" in n)),
        "no credentials in an example",
      );
      for (const n of flow.filter((x) => x.type === "nest-account" || x.type === "youtube-account")) {
        assert.match(
          n.name ?? "",
          /^(Nest|YouTube) account: open it/,
          `${n.id}: a name that says what to do`,
        );
      }
      // The helper deploys one flow: drop the tab and keep its nodes.
      const nodesOnly = flow
        .filter((n) => n.type !== "tab")
        .map((n) => ({ ...n, z: n.z ? "f1" : undefined }));
      await helper.load(nodes, [{ id: "f1", type: "tab" }, ...nodesOnly]);
      for (const n of nodesOnly) {
        if (n.type === "tab") continue;
        assert.ok(helper.getNode(n.id), `${n.type} ${n.id} was created`);
      }
    });
  }
});
