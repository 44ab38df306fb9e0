/** Every example flow imports and deploys with core nodes and this package only. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { builtNode, coreNode, helper, nodeRedMajor, startServer, stopServer } from "../support/node-red";

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

  it("has the six examples the README lists, covering every non-config node", () => {
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
