/**
 * Node tests run against both Node-RED majors: NODE_RED_MAJOR=5 loads `node-red-5` (node-red@5,
 * installed under an alias) through the test helper, anything else the dev dependency node-red 4.1.x.
 */
import path from "node:path";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require("node-red-node-test-helper");

export const nodeRedMajor = process.env.NODE_RED_MAJOR === "5" ? 5 : 4;
helper.init(require.resolve(nodeRedMajor === 5 ? "node-red-5" : "node-red"));

export { helper };

/** Path to a built node's .js file (the same one the published package ships). */
export function builtNode(name: string): unknown {
  // dist/test/support -> dist/nodes
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(__dirname, "..", "..", "nodes", `${name}.js`));
}
