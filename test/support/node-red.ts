/**
 * Node tests run against both Node-RED majors: NODE_RED_MAJOR=5 loads `node-red-5` (node-red@5,
 * installed under an alias) through the test helper, anything else the dev dependency node-red 4.1.x.
 */
import fs from "node:fs";
import path from "node:path";
import { catalogText } from "./catalog";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require("node-red-node-test-helper");

export const nodeRedMajor = process.env.NODE_RED_MAJOR === "5" ? 5 : 4;
helper.init(require.resolve(nodeRedMajor === 5 ? "node-red-5" : "node-red"));

export { helper };

/** A built node's module (the same .js the published package ships), given its catalog's `RED._`. */
export function builtNode(name: string): unknown {
  // dist/test/support -> dist/nodes
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const register = require(path.join(__dirname, "..", "..", "nodes", `${name}.js`)) as (
    red: object,
  ) => unknown;
  const _ = catalogText(name);
  return (red: object) => register(Object.create(red, { _: { value: _ } }));
}

/** A core node of the Node-RED under test (`common/20-inject.js`, `function/10-switch.js`, …). */
export function coreNode(file: string): unknown {
  const root = path.join(__dirname, "..", "..", "..");
  const coreDir = path.dirname(
    require.resolve(`${nodeRedMajor === 5 ? "node-red-5" : "node-red"}/package.json`),
  );
  // node-red-5 keeps its own @node-red/nodes; node-red 4's is hoisted.
  const candidates = [
    path.join(coreDir, "node_modules", "@node-red", "nodes", "core", file),
    path.join(root, "node_modules", "@node-red", "nodes", "core", file),
  ];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(candidates.find((c) => fs.existsSync(c)) ?? candidates[1]);
}

/** Every message that reaches the helper node `id` from now on (it fills as they arrive). */
export function collect<T>(id: string): T[] {
  const msgs: T[] = [];
  (helper.getNode(id) as { on(e: string, f: (m: T) => void): void }).on("input", (m) => msgs.push(m));
  return msgs;
}

let savedEnv: NodeJS.ProcessEnv | undefined;

/** Starts the test helper's server with `env` (e.g. a fake Google's overrides) added to process.env. */
export async function startServer(env: Record<string, string> = {}): Promise<void> {
  savedEnv ??= { ...process.env };
  Object.assign(process.env, env);
  await new Promise<void>((resolve) => helper.startServer(resolve));
}

/** Stops the test helper's server and puts process.env back as it was before `startServer`. */
export async function stopServer(): Promise<void> {
  await new Promise<void>((resolve) => helper.stopServer(resolve));
  if (savedEnv) process.env = savedEnv;
  savedEnv = undefined;
}

/**
 * Nodes for a flow that report when the node `scope` has finished with a message: Node-RED's core
 * "complete" node (done() without an error) into the helper node `${scope}-handled` and its "catch"
 * node (done(err) or node.error with the message) into `${scope}-caught`. Load them with
 * `doneNodes` next to the node under test, and collect() the two helpers. Their messages go through
 * the same send queue as the node's own: once one has arrived, everything the node sent while
 * handling that message has arrived too (an ordering barrier instead of a sleep).
 */
export function handledNodes(scope: string): object[] {
  return [
    { id: `${scope}-complete`, type: "complete", scope: [scope], wires: [[`${scope}-handled`]] },
    { id: `${scope}-handled`, type: "helper" },
    { id: `${scope}-catch`, type: "catch", scope: [scope], uncaught: false, wires: [[`${scope}-caught`]] },
    { id: `${scope}-caught`, type: "helper" },
  ];
}

/** The core nodes `handledNodes` uses, to load with the node under test. */
export const doneNodes = (): unknown[] => [coreNode("common/24-complete.js"), coreNode("common/25-catch.js")];
