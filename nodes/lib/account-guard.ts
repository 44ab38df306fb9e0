/**
 * The config node a node needs, or, when none is chosen (or it is gone), a red status and a refusal of
 * every message that says to choose one: the node then does nothing else.
 */
import type { Node, RED } from "../red-types";

/** `type` is the node's catalog prefix: its `status.noAccount` and `error.noAccount` texts are used. */
export function accountOrRefuse<T>(
  RED: RED,
  node: Node,
  accountId: string | undefined,
  type: string,
): T | null {
  const account = accountId ? (RED.nodes.getNode(accountId) as T | null) : null;
  if (!account) {
    node.status({ fill: "red", shape: "ring", text: RED._(`${type}.status.noAccount`) });
    node.on("input", (_msg, _send, done) => done(new Error(RED._(`${type}.error.noAccount`))));
  }
  return account;
}
