/**
 * youtube-account config node: holds the YouTube channel's OAuth credentials and daily quota, and
 * hands the shared token keeper, quota ledger and live API to the youtube-live nodes that use it.
 */
import { endpointsFromEnv } from "../src/endpoints";
import { flowUrl, validateClientInput } from "../src/google/authorization";
import type { OAuthCredentials } from "../src/google/token-keeper";
import { redact } from "../src/redact";
import { YOUTUBE_SCOPE, YouTubeAccount } from "../src/youtube/account";
import { typedCredentials } from "./lib/admin";
import { registerAuthorizeRoutes } from "./lib/authorize-routes";
import type { Node, RED } from "./red-types";

const CREDENTIALS = ["clientId", "clientSecret"] as const;

export interface YouTubeAccountNode extends Node<Partial<OAuthCredentials>> {
  /** The shared account; throws a CredentialsError (no request to Google) when credentials are missing. */
  account(): YouTubeAccount;
}

interface YouTubeAccountConfig {
  id: string;
  name?: string;
  dailyQuota?: string | number;
}

module.exports = function register(RED: RED) {
  function YouTubeAccountNodeCtor(this: YouTubeAccountNode, config: YouTubeAccountConfig) {
    RED.nodes.createNode(this, config);
    this.name = config.name;
    let account: YouTubeAccount | undefined;
    this.account = () => {
      if (!account) {
        account = new YouTubeAccount({ id: this.id, dailyQuota: config.dailyQuota, ...this.credentials });
        account.tokens.on("warning", (text: string) => this.warn(redact(text)));
        account.tokens.on("refresh-token", () => this.warn(RED._("youtube-account.warn.rotated")));
      }
      return account;
    };
    this.on("close", (_removed, done) => {
      account?.close();
      account = undefined;
      done();
    });
  }

  RED.nodes.registerType("youtube-account", YouTubeAccountNodeCtor, {
    credentials: {
      clientId: { type: "text" },
      clientSecret: { type: "password" },
      refreshToken: { type: "password" },
    },
  });

  // The Authorize helper of the dialog: Google's standard consent page with the YouTube scope.
  registerAuthorizeRoutes(RED, {
    type: "youtube-account",
    permission: "youtube-account.write",
    path: "/nest-restream/youtube-auth",
    input: (body) =>
      validateClientInput({
        ...typedCredentials(RED, body, CREDENTIALS),
        redirectUri: body.redirectUri,
        nodeId: body.id,
      }).pending,
    authorizationUrl: (pending, state) =>
      flowUrl(
        { authorizeUrl: endpointsFromEnv().oauthAuthorizeUrl, scopes: [YOUTUBE_SCOPE] },
        { ...pending, state },
      ),
    logName: (pending) => pending.clientId,
  });
};
