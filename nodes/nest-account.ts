/**
 * nest-account config node: holds the Device Access credentials and hands the shared token keeper
 * and SDM client (with the project-wide command budget) to the nest-stream nodes that use it. Its
 * editor's admin routes (the Authorize helper, the camera picker) are the shared ones of nodes/lib,
 * given what is Nest about them.
 */
import { endpointsFromEnv } from "../src/endpoints";
import {
  authorizationUrl,
  DEVICE_ACCESS_CLIENT_HINT,
  validateAuthorizationInput,
} from "../src/nest/authorization";
import { openNestAccount, type NestAccount, type NestCredentials } from "../src/nest/account";
import { validateProjectId } from "../src/nest/sdm-client";
import { redact } from "../src/redact";
import { typedCredentials } from "./lib/admin";
import { registerAuthorizeRoutes } from "./lib/authorize-routes";
import { registerCameraRoutes } from "./lib/camera-routes";
import type { Node, RED } from "./red-types";

export interface NestAccountNode extends Node<Partial<NestCredentials>> {
  projectId: string;
  /** The dialog's "Camera events (Pub/Sub)" option. */
  pubsub: boolean;
  /** The shared account; throws a CredentialsError (no request to Google) when credentials are missing. */
  account(): NestAccount;
}

interface NestAccountConfig {
  id: string;
  name?: string;
  projectId?: string;
  /** Its authorization also asks for the Pub/Sub scope (camera events for nest-events). */
  pubsub?: boolean;
}

const CREDENTIALS = ["clientId", "clientSecret", "refreshToken"] as const;

module.exports = function register(RED: RED) {
  function NestAccountNodeCtor(this: NestAccountNode, config: NestAccountConfig) {
    RED.nodes.createNode(this, config);
    this.name = config.name;
    this.projectId = (config.projectId ?? "").trim();
    this.pubsub = config.pubsub === true;
    let account: NestAccount | undefined;
    this.account = () => {
      if (!account) {
        // Google's 10-a-minute window outlives a redeploy: the new account counts in the old one's.
        account = openNestAccount({
          projectId: this.projectId,
          ...this.credentials,
          shareProjectWindow: true,
        });
        account.on("warning", (text: string) => this.warn(redact(text)));
        // Google seldom rotates a refresh token; the new one is used from now on, but a runtime cannot
        // rewrite its own credentials: say so, so the user authorizes again before the next restart.
        account.on("refresh-token", () => this.warn(RED._("nest-account.warnings.newRefreshToken")));
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

  /** The account the dialog's fields describe: typed, or stored where a password was left unchanged. */
  const typedAccount = (body: Record<string, unknown>) => ({
    projectId: typeof body.projectId === "string" ? body.projectId : "",
    ...typedCredentials(RED, body, CREDENTIALS),
  });

  registerCameraRoutes<NestAccountNode>(RED, {
    type: "nest-account",
    readPermission: "nest-account.read",
    writePermission: "nest-account.write",
    deployedPath: "/nest-restream/accounts/:id/cameras",
    typedPath: "/nest-restream/cameras",
    deployed: (node) => node.account(),
    typed: (body) => openNestAccount(typedAccount(body)),
  });

  registerAuthorizeRoutes(RED, {
    type: "nest-account",
    permission: "nest-account.write",
    path: "/nest-restream/auth",
    input: (body) => {
      const pending = validateAuthorizationInput({
        ...typedAccount(body),
        redirectUri: body.redirectUri,
        nodeId: body.id,
        pubsub: body.pubsub,
      });
      validateProjectId(pending.projectId);
      return pending;
    },
    clientHint: DEVICE_ACCESS_CLIENT_HINT,
    logName: (pending) => pending.projectId,
    // Google's Device Access page, where the user also picks the cameras to share.
    authorizationUrl: (pending, state) =>
      authorizationUrl({
        partnerAuthUrl: endpointsFromEnv().partnerAuthUrl,
        projectId: pending.projectId,
        clientId: pending.clientId,
        redirectUri: pending.redirectUri,
        state,
        pubsub: pending.pubsub,
      }),
  });
};
