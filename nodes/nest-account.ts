/**
 * nest-account config node: holds the Device Access credentials and hands the shared token keeper
 * and SDM client (with the project-wide command budget) to the nest-stream nodes that use it.
 */
import { openNestAccount, type NestAccount, type NestCredentials } from "../src/google/account";
import { GoogleError } from "../src/google/errors";
import { redact } from "../src/redact";
import type { AdminRequest, AdminResponse, Node, RED } from "./red-types";

export interface NestAccountNode extends Node<Partial<NestCredentials>> {
  projectId: string;
  /** The shared account; throws a CredentialsError (no request to Google) when credentials are missing. */
  account(): NestAccount;
}

interface NestAccountConfig {
  id: string;
  name?: string;
  projectId?: string;
}

/** Stored password credentials come back to the editor as this placeholder. */
const PASSWORD_PLACEHOLDER = "__PWRD__";

module.exports = function register(RED: RED) {
  function NestAccountNodeCtor(this: NestAccountNode, config: NestAccountConfig) {
    RED.nodes.createNode(this, config);
    this.name = config.name;
    this.projectId = (config.projectId ?? "").trim();
    let account: NestAccount | undefined;
    this.account = () => {
      if (!account) {
        account = openNestAccount({ projectId: this.projectId, ...this.credentials });
        account.on("warning", (text: string) => this.warn(text));
      }
      return account;
    };
    this.on("close", (_removed, done) => {
      const closing = account;
      account = undefined;
      // The nest-stream nodes closing alongside still send their StopRtspStream through it.
      (closing ? closing.shutdown() : Promise.resolve()).then(() => done());
    });
  }

  RED.nodes.registerType("nest-account", NestAccountNodeCtor, {
    credentials: {
      clientId: { type: "text" },
      clientSecret: { type: "password" },
      refreshToken: { type: "password" },
    },
  });

  /** Sends a Google error as JSON the editor can show; never a secret, never a stack. */
  function sendError(res: AdminResponse, err: unknown) {
    const status = err instanceof GoogleError ? (err.code === "CREDENTIALS" ? 400 : 502) : 500;
    const message = redact(err instanceof Error ? err.message : String(err));
    const code = err instanceof GoogleError ? err.code : "ERROR";
    res.status(status).json({ error: message, code });
  }

  async function listCameras(account: NestAccount, res: AdminResponse, close: boolean) {
    try {
      res.json({ cameras: await account.cameras() });
    } catch (err) {
      sendError(res, err);
    } finally {
      if (close) account.close();
    }
  }

  // The camera picker of a deployed account.
  RED.httpAdmin.get(
    "/nest-restream/accounts/:id/cameras",
    RED.auth.needsPermission("nest-account.read"),
    (req: AdminRequest, res: AdminResponse) => {
      const node = RED.nodes.getNode(req.params.id) as NestAccountNode | null;
      if (!node || node.type !== "nest-account") {
        res
          .status(404)
          .json({ error: "No deployed nest-account with that id: deploy it first.", code: "NOT_DEPLOYED" });
        return;
      }
      let account: NestAccount;
      try {
        account = node.account();
      } catch (err) {
        sendError(res, err);
        return;
      }
      void listCameras(account, res, false);
    },
  );

  // The camera picker with credentials typed in the dialog but not deployed yet. Password fields the
  // editor did not change arrive as a placeholder: take those from the stored credentials.
  RED.httpAdmin.post(
    "/nest-restream/cameras",
    RED.auth.needsPermission("nest-account.write"),
    (req: AdminRequest, res: AdminResponse) => {
      const body = req.body ?? {};
      const stored = (typeof body.id === "string" && RED.nodes.getCredentials(body.id)) || {};
      const field = (name: keyof NestCredentials) => {
        const v = body[name];
        if (typeof v !== "string" || v === PASSWORD_PLACEHOLDER) return stored[name];
        return v;
      };
      let account: NestAccount;
      try {
        account = openNestAccount({
          projectId: typeof body.projectId === "string" ? body.projectId : "",
          clientId: field("clientId"),
          clientSecret: field("clientSecret"),
          refreshToken: field("refreshToken"),
        });
      } catch (err) {
        sendError(res, err);
        return;
      }
      void listCameras(account, res, true);
    },
  );
};
