/**
 * nest-account config node: holds the Device Access credentials and hands the shared token keeper
 * and SDM client (with the project-wide command budget) to the nest-stream nodes that use it.
 */
import { endpointsFromEnv } from "../src/endpoints";
import { openNestAccount, type NestAccount, type NestCredentials } from "../src/nest/account";
import {
  AuthorizationStates,
  exchangeCode,
  isLocalReason,
  parseRedirectUrl,
  redirectError,
  redirectParams,
  type AuthorizationOutcome,
  type RedirectParams,
} from "../src/google/authorization";
import {
  authorizationUrl,
  DEVICE_ACCESS_CLIENT_HINT,
  validateAuthorizationInput,
  type DeviceAccessAuthorization as PendingAuthorization,
} from "../src/nest/authorization";
import { GoogleError } from "../src/google/errors";
import { validateProjectId } from "../src/nest/sdm-client";
import { errorMessage, redact } from "../src/redact";
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

/** Local problems (credentials, state, pasted URL) are 400; Google's refusals 502; anything else 500. */
const statusFor = (code: string) => (code === "CREDENTIALS" || isLocalReason(code) ? 400 : 502);

/** Sends an error as JSON the editor can show; never a secret, never a stack. */
function sendError(res: AdminResponse, err: unknown) {
  const code = err instanceof GoogleError ? err.code : "ERROR";
  res.status(err instanceof GoogleError ? statusFor(code) : 500).json({ error: errorMessage(err), code });
}

module.exports = function register(RED: RED) {
  function NestAccountNodeCtor(this: NestAccountNode, config: NestAccountConfig) {
    RED.nodes.createNode(this, config);
    this.name = config.name;
    this.projectId = (config.projectId ?? "").trim();
    let account: NestAccount | undefined;
    this.account = () => {
      if (!account) {
        account = openNestAccount({ projectId: this.projectId, ...this.credentials });
        account.on("warning", (text: string) => this.warn(redact(text)));
        // Google seldom rotates a refresh token; the new one is used from now on, but a runtime cannot
        // rewrite its own credentials: say so, so the user authorizes again before the next restart.
        account.on("refresh-token", () =>
          this.warn(
            "Google issued a new refresh token for this account; it is in use until Node-RED restarts. " +
              "Open the account node, press Authorize and deploy to keep it across restarts.",
          ),
        );
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

  /**
   * The account fields as the dialog sent them. Password fields the editor did not change arrive as
   * a placeholder (and fields it never loaded are absent): those come from the stored credentials.
   */
  function typedCredentials(body: Record<string, unknown>): { projectId: string } & Partial<NestCredentials> {
    const stored = (typeof body.id === "string" && body.id && RED.nodes.getCredentials(body.id)) || {};
    const field = (name: keyof NestCredentials) => {
      const v = body[name];
      if (typeof v !== "string" || v === PASSWORD_PLACEHOLDER) return stored[name];
      return v;
    };
    return {
      projectId: typeof body.projectId === "string" ? body.projectId : "",
      clientId: field("clientId"),
      clientSecret: field("clientSecret"),
      refreshToken: field("refreshToken"),
    };
  }

  // The camera picker with credentials typed in the dialog but not deployed yet.
  RED.httpAdmin.post(
    "/nest-restream/cameras",
    RED.auth.needsPermission("nest-account.write"),
    (req: AdminRequest, res: AdminResponse) => {
      let account: NestAccount;
      try {
        account = openNestAccount(typedCredentials(req.body ?? {}));
      } catch (err) {
        sendError(res, err);
        return;
      }
      void listCameras(account, res, true);
    },
  );

  registerAuthorization(RED, typedCredentials);
};

/**
 * The Authorize helper of the account dialog (design section 3): the editor starts an authorization
 * and opens Google's page; the answer comes back either through this editor's callback (Google
 * redirects the browser to it) or as the address the user pasted (redirect URI https://www.google.com).
 */
function registerAuthorization(
  RED: RED,
  typedCredentials: (body: Record<string, unknown>) => { projectId: string } & Partial<NestCredentials>,
) {
  const states = new AuthorizationStates<PendingAuthorization>();
  const t = (key: string, fallback: string) => {
    const text = RED._(`nest-account.authorize.${key}`);
    return text && !text.includes(`authorize.${key}`) ? text : fallback;
  };

  /** 400 for what the user typed or pasted (or a stale authorization), 502 for Google's refusals. */
  /** Exchanges the code of a claimed state; the outcome never carries the client secret or the code. */
  async function exchange(
    pending: PendingAuthorization,
    params: RedirectParams,
  ): Promise<AuthorizationOutcome> {
    try {
      if (params.error || !params.code) throw redirectError(params);
      const tokens = await exchangeCode({
        tokenUrl: endpointsFromEnv().oauthTokenUrl,
        clientId: pending.clientId,
        clientSecret: pending.clientSecret,
        code: params.code,
        redirectUri: pending.redirectUri,
        clientHint: DEVICE_ACCESS_CLIENT_HINT,
      });
      RED.log.info(`nest-account: authorized Device Access project ${pending.projectId}`);
      return { ok: true, refreshToken: tokens.refreshToken, scope: tokens.scope };
    } catch (err) {
      const message = errorMessage(err);
      RED.log.warn(`nest-account: authorization failed: ${message}`);
      return { ok: false, error: message, code: err instanceof GoogleError ? err.code : "ERROR" };
    }
  }

  // Starts an authorization: returns Google's authorization URL with a new single-use state.
  RED.httpAdmin.post(
    "/nest-restream/auth/start",
    RED.auth.needsPermission("nest-account.write"),
    (req: AdminRequest, res: AdminResponse) => {
      try {
        const body = req.body ?? {};
        const typed = typedCredentials(body);
        const pending = validateAuthorizationInput({
          ...typed,
          redirectUri: body.redirectUri,
          nodeId: body.id,
        });
        validateProjectId(pending.projectId);
        const { state, expiresAt } = states.create(pending);
        const url = authorizationUrl({
          partnerAuthUrl: endpointsFromEnv().partnerAuthUrl,
          projectId: pending.projectId,
          clientId: pending.clientId,
          redirectUri: pending.redirectUri,
          state,
        });
        res.json({
          url,
          state,
          redirectUri: pending.redirectUri,
          expiresAt: new Date(expiresAt).toISOString(),
        });
      } catch (err) {
        sendError(res, err);
      }
    },
  );

  // Google redirects the browser here (when this editor's callback is a registered redirect URI). The
  // request cannot carry the admin token: the unguessable single-use state is what protects it.
  RED.httpAdmin.get("/nest-restream/auth/callback", (req: AdminRequest, res: AdminResponse) => {
    const params = redirectParams(req.query ?? {});
    let pending: PendingAuthorization;
    try {
      pending = states.take(params.state);
    } catch (err) {
      const message = errorMessage(err);
      sendCallbackPage(res, 400, { ok: false, error: message });
      return;
    }
    const state = params.state as string;
    void exchange(pending, params).then((outcome) => {
      states.settle(state, outcome);
      sendCallbackPage(res, outcome.ok ? 200 : 400, outcome.ok ? { ok: true, state } : { ...outcome, state });
    });
  });

  // The editor collects the outcome of a callback authorization (once).
  RED.httpAdmin.get(
    "/nest-restream/auth/result",
    RED.auth.needsPermission("nest-account.write"),
    (req: AdminRequest, res: AdminResponse) => {
      try {
        const poll = states.poll(req.query?.state);
        res.setHeader("Cache-Control", "no-store");
        res.json(poll);
      } catch (err) {
        sendError(res, err);
      }
    },
  );

  // The address the user landed on (redirect URI https://www.google.com), pasted into the dialog.
  RED.httpAdmin.post(
    "/nest-restream/auth/exchange",
    RED.auth.needsPermission("nest-account.write"),
    (req: AdminRequest, res: AdminResponse) => {
      let params: RedirectParams;
      let pending: PendingAuthorization;
      try {
        params = parseRedirectUrl((req.body ?? {}).url);
        pending = states.take(params.state);
      } catch (err) {
        sendError(res, err);
        return;
      }
      const state = params.state as string;
      void exchange(pending, params).then((outcome) => {
        states.settle(state, outcome);
        // Answered here: nothing is left for the result endpoint to hand out.
        states.poll(state);
        res.setHeader("Cache-Control", "no-store");
        if (outcome.ok) res.json({ refreshToken: outcome.refreshToken, scope: outcome.scope });
        else res.status(statusFor(outcome.code)).json({ error: outcome.error, code: outcome.code });
      });
    },
  );

  function sendCallbackPage(
    res: AdminResponse,
    status: number,
    result: { ok: boolean; state?: string; error?: string },
  ) {
    const title = result.ok ? t("callbackDone", "Authorized") : t("callbackFailed", "Authorization failed");
    const text = result.ok
      ? t(
          "callbackDoneText",
          "The refresh token is in the Node-RED editor now: go back to the account dialog, press Done, then Deploy. This window closes by itself.",
        )
      : `${result.error ?? ""} ${t("callbackBack", "Go back to the Node-RED editor.")}`;
    // Only what the opener needs to collect the outcome: never a token, a code or a secret.
    const message = JSON.stringify({
      type: "nest-restream-authorize",
      state: result.state,
      ok: result.ok,
    }).replace(/</g, "\\u003c");
    const html =
      `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
      '<meta name="viewport" content="width=device-width, initial-scale=1"></head>' +
      '<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto; line-height: 1.4">' +
      `<h1 id="result" data-ok="${result.ok}">${escapeHtml(title)}</h1><p id="message">${escapeHtml(text)}</p>` +
      "<script>(function () {" +
      "try { history.replaceState(null, '', location.pathname); } catch (e) {}" +
      (result.state
        ? `var m = ${message}; try { if (window.opener) window.opener.postMessage(m, location.origin); } catch (e) {}`
        : "") +
      (result.ok ? "setTimeout(function () { window.close(); }, 1500);" : "") +
      "})();</script></body></html>";
    res.status(status);
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("Content-Type", "text/html; charset=utf-8");
    res.send(html);
  }
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );
}
