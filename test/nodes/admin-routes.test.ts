/**
 * The shared admin routes of nodes/lib, registered for a made-up account type the way a later
 * youtube-account would (its own paths, permission, catalog and Google's standard authorization URL),
 * and nest-account's runtime texts from its real catalog.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { endpointsFromEnv } from "../../src/endpoints";
import { validateClientInput } from "../../src/google/authorization";
import { FAKE_CREDENTIALS, FAKE_DEFAULTS, FakeGoogle } from "../fixtures/fake-google";
import { findSourceFile } from "../fixtures/ports";
import { builtCatalog as catalog, keys, withCatalog } from "../support/catalog";
import { nonceCookie } from "../support/authorize-cookie";
import { builtNode, helper, nodeRedMajor } from "../support/node-red";
import { callbackPage, registerAuthorizeRoutes } from "../../nodes/lib/authorize-routes";
import { registerCameraRoutes } from "../../nodes/lib/camera-routes";
import type { RED } from "../../nodes/red-types";

const YOUTUBE_SCOPE = "https://www.googleapis.com/auth/youtube";
const GOOGLE = "https://www.google.com";

/** A made-up account type that uses the shared routes with Google's standard authorization page. */
function testAccountNode(RED: RED) {
  RED.nodes.registerType("test-account", function (this: object, config: object) {
    RED.nodes.createNode(this, config);
  });
  registerAuthorizeRoutes(RED, {
    type: "test-account",
    permission: "test-account.write",
    path: "/test-account/auth",
    input: (body) =>
      validateClientInput({
        clientId: body.clientId,
        clientSecret: body.clientSecret,
        redirectUri: body.redirectUri,
      }).pending,
    logName: () => "none",
    authorizationUrl: (pending, state) =>
      `${endpointsFromEnv().oauthAuthorizeUrl}?${new URLSearchParams({
        client_id: pending.clientId,
        redirect_uri: pending.redirectUri,
        response_type: "code",
        scope: YOUTUBE_SCOPE,
        access_type: "offline",
        prompt: "consent",
        state,
      })}`,
  });
  registerCameraRoutes<{ type: string }>(RED, {
    type: "test-account",
    readPermission: "test-account.read",
    writePermission: "test-account.write",
    deployedPath: "/test-account/:id/cameras",
    typedPath: "/test-account/cameras",
    deployed: () => ({ cameras: async () => ["deployed"], close: () => undefined }),
    typed: (body) => {
      if (!body.clientId) throw new Error("no client id");
      return { cameras: async () => ["typed"], close: () => closed.push("typed") };
    },
  });
}
let closed: string[] = [];

const testCatalog = {
  "test-account": {
    authorize: {
      callbackDone: "Done here",
      callbackDoneText: "Back to the editor.",
      callbackFailed: "Not done",
      callbackBack: "Try again.",
      logAuthorized: "authorized (__project__)",
      logFailed: "failed: __error__",
    },
    errors: { notDeployed: "Deploy the test account." },
  },
};

describe(`shared admin routes (Node-RED ${nodeRedMajor})`, function () {
  let fake: FakeGoogle;
  const savedEnv = { ...process.env };

  before(async () => {
    fake = await FakeGoogle.start({ rateLimits: false, autoApprove: true });
    Object.assign(process.env, fake.env());
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await fake.stop();
    process.env = savedEnv;
  });
  afterEach(async () => {
    await helper.unload();
    fake.rotateRefreshToken = false;
    fake.allowedRedirectUris = undefined;
    fake.clearCalls();
    fake.clearFaults();
    closed = [];
  });

  const logLines = () =>
    (helper.log().args as { msg?: unknown }[][]).map((a) => a[0]?.msg).filter((m) => typeof m === "string");

  describe("registered for another account type", () => {
    const typed = { clientId: FAKE_DEFAULTS.clientId, clientSecret: FAKE_DEFAULTS.clientSecret };
    let texts: ReturnType<typeof withCatalog>;
    beforeEach(async () => {
      texts = withCatalog(testAccountNode, testCatalog);
      await helper.load(texts.node, [{ id: "t1", type: "test-account" }], {});
    });
    afterEach(() => assert.deepEqual(texts.missing, []));

    it("guards its own paths with its own permission, all but the callback", () => {
      const stack = (
        helper._httpAdmin as { _router: { stack: { route?: { path: string; stack: unknown[] } }[] } }
      )._router.stack;
      const handlers = (p: string) => stack.find((l) => l.route?.path === p)?.route?.stack.length;
      for (const p of ["start", "result", "exchange"]) assert.equal(handlers(`/test-account/auth/${p}`), 2);
      assert.equal(handlers("/test-account/auth/callback"), 1);
      assert.equal(handlers("/test-account/:id/cameras"), 2);
      assert.equal(handlers("/test-account/cameras"), 2);
      assert.equal(handlers("/nest-restream/auth/start"), undefined);
    });

    it("authorizes at Google's standard page with a pasted address", async () => {
      const started = await helper
        .request()
        .post("/test-account/auth/start")
        .send({ ...typed, redirectUri: GOOGLE })
        .expect(200);
      const url = new URL(started.body.url);
      assert.equal(url.origin + url.pathname, `${fake.url}/o/oauth2/v2/auth`);
      assert.equal(url.searchParams.get("scope"), YOUTUBE_SCOPE);
      assert.equal(url.searchParams.get("state"), started.body.state);
      const google = await fetch(started.body.url, { redirect: "manual" });
      assert.equal(google.status, 302, await google.text());
      const back = google.headers.get("location") as string;
      const res = await helper
        .request()
        .post("/test-account/auth/exchange")
        .send({ url: back, nonce: started.body.nonce })
        .expect(200);
      assert.equal(res.body.refreshToken, fake.refreshToken);
      assert.equal(res.body.scope, YOUTUBE_SCOPE);
      assert.ok(logLines().includes("test-account: authorized (none)"), logLines().join("\n"));
    });

    it("answers the callback with the texts of its catalog", async () => {
      // The callback of this made-up type is a redirect URI its OAuth client registered.
      const callback = "http://127.0.0.1:1880/test-account/auth/callback";
      fake.allowedRedirectUris = [callback, GOOGLE];
      const started = await helper
        .request()
        .post("/test-account/auth/start")
        .send({ ...typed, redirectUri: callback })
        .expect(200);
      const google = await fetch(started.body.url, { redirect: "manual" });
      const back = new URL(google.headers.get("location") as string);
      const page = await helper
        .request()
        .get(`/test-account/auth/callback${back.search}`)
        .set("Cookie", nonceCookie(started))
        .expect(200);
      assert.match(page.text, /<title>Done here<\/title>/);
      assert.match(page.text, /<p id="message">Back to the editor.<\/p>/);
      assert.match(page.text, /"type":"nest-restream-authorize"/);
      const again = await helper
        .request()
        .get(`/test-account/auth/callback${back.search}`)
        .set("Cookie", nonceCookie(started))
        .expect(400);
      assert.match(again.text, /<title>Not done<\/title>/);
      assert.match(again.text, /already used.* Try again\.<\/p>/);
      const result = await helper
        .request()
        .get("/test-account/auth/result")
        .query({ state: back.searchParams.get("state"), nonce: started.body.nonce });
      assert.equal(result.body.refreshToken, fake.refreshToken);
    });

    it("logs a failed exchange with the text of its catalog and answers Google's code", async () => {
      const started = await helper
        .request()
        .post("/test-account/auth/start")
        .send({ ...typed, clientSecret: "GOCSPX-wrong-secret-9", redirectUri: GOOGLE })
        .expect(200);
      const google = await fetch(started.body.url, { redirect: "manual" });
      const back = google.headers.get("location") as string;
      const res = await helper
        .request()
        .post("/test-account/auth/exchange")
        .send({ url: back, nonce: started.body.nonce })
        .expect(502);
      assert.equal(res.body.code, "invalid_client");
      assert.ok(
        logLines().some((l) => l.startsWith("test-account: failed: ")),
        logLines().join("\n"),
      );
    });

    it("lists cameras of a node of its type only, and closes a typed account after listing", async () => {
      const deployed = await helper.request().get("/test-account/t1/cameras").expect(200);
      assert.deepEqual(deployed.body, { cameras: ["deployed"] });
      const other = await helper.request().get("/test-account/nope/cameras").expect(404);
      assert.deepEqual(other.body, { error: "Deploy the test account.", code: "NOT_DEPLOYED" });
      const typedList = await helper.request().post("/test-account/cameras").send(typed).expect(200);
      assert.deepEqual(typedList.body, { cameras: ["typed"] });
      assert.deepEqual(closed, ["typed"]);
      // Not an error from Google: a 500, in words.
      const broken = await helper.request().post("/test-account/cameras").send({}).expect(500);
      assert.deepEqual(broken.body, { error: "no client id", code: "ERROR" });
    });
  });

  describe("the callback page", () => {
    it("escapes its words and the state it hands over, and closes only after a success", () => {
      const failed = callbackPage(
        { ok: false, state: "s</script><script>alert(1)", error: "x" },
        { title: "<b>T</b>", text: "Tom & <i>Jerry</i>" },
      );
      assert.ok(failed.includes("<title>&lt;b&gt;T&lt;/b&gt;</title>"), failed);
      assert.ok(failed.includes('<p id="message">Tom &amp; &lt;i&gt;Jerry&lt;/i&gt;</p>'), failed);
      assert.ok(failed.includes('"state":"s\\u003c/script>\\u003cscript>alert(1)"'), failed);
      assert.equal(failed.match(/<script>/g)?.length, 1, "one script: the page's own");
      assert.ok(!failed.includes("window.close"));
      const done = callbackPage({ ok: true, state: "abc" }, { title: "OK", text: "fine" });
      assert.match(done, /data-ok="true"/);
      assert.match(done, /window\.close\(\)/);
      // Not one of ours: nothing is posted to the opener.
      assert.ok(!callbackPage({ ok: false }, { title: "No", text: "no" }).includes("postMessage"));
    });
  });

  describe("nest-account's texts", () => {
    const messages = catalog("nest-account");
    let texts: ReturnType<typeof withCatalog>;
    const flow = [{ id: "acc", type: "nest-account", name: "Home", projectId: FAKE_DEFAULTS.projectId }];
    beforeEach(() => {
      texts = withCatalog(builtNode("nest-account"), messages);
    });
    afterEach(() => assert.deepEqual(texts.missing, [], "keys the catalog lacks"));

    it("come from its catalog: the 404 of the picker, the callback page, the log", async () => {
      await helper.load(texts.node, flow, { acc: FAKE_CREDENTIALS });
      const res = await helper.request().get("/nest-restream/accounts/nope/cameras").expect(404);
      assert.equal(res.body.error, "No deployed nest-account with that id: deploy it first.");

      const callback = "http://127.0.0.1:1880/nest-restream/auth/callback";
      const started = await helper
        .request()
        .post("/nest-restream/auth/start")
        .send({
          id: "acc",
          projectId: FAKE_DEFAULTS.projectId,
          clientId: FAKE_DEFAULTS.clientId,
          clientSecret: "__PWRD__",
          redirectUri: callback,
        })
        .expect(200);
      const google = await fetch(started.body.url, { redirect: "manual" });
      const back = new URL(google.headers.get("location") as string);
      const page = await helper
        .request()
        .get(`/nest-restream/auth/callback${back.search}`)
        .set("Cookie", nonceCookie(started))
        .expect(200);
      assert.match(page.text, /<h1 id="result" data-ok="true">Authorized<\/h1>/);
      assert.match(page.text, /go back to the account dialog, press Add \(or Update\), then Deploy/);
      const again = await helper
        .request()
        .get(`/nest-restream/auth/callback${back.search}`)
        .set("Cookie", nonceCookie(started))
        .expect(400);
      assert.match(again.text, /Authorization failed/);
      assert.match(again.text, /Go back to the Node-RED editor\./);
      assert.ok(
        logLines().includes(`nest-account: authorized Device Access project ${FAKE_DEFAULTS.projectId}`),
        logLines().join("\n"),
      );
    });

    it("warn in words when Google issues a new refresh token", async () => {
      fake.rotateRefreshToken = "keep-old";
      await helper.load(texts.node, flow, { acc: FAKE_CREDENTIALS });
      await helper.request().get("/nest-restream/accounts/acc/cameras").expect(200);
      assert.ok(
        logLines().some((l) => l.startsWith("Google issued a new refresh token for this account")),
        logLines().join("\n"),
      );
    });

    it("has no key that nothing uses", () => {
      // Keys are used whole (RED._("nest-account.…"), data-i18n) or by their last part under a prefix.
      const root = path.dirname(path.dirname(findSourceFile("nodes/nest-account.html", __dirname)));
      const sources = ["nodes", "nodes/lib", "resources"]
        .map((d) => path.join(root, d))
        .filter((d) => fs.existsSync(d))
        .flatMap((d) => fs.readdirSync(d).map((f) => path.join(d, f)))
        .filter((f) => /\.(ts|js|html)$/.test(f))
        .map((f) => fs.readFileSync(f, "utf8"))
        .join("\n");
      const unused = keys(messages).filter((k) => {
        const last = k.split(".").pop() as string;
        return !sources.includes(k) && !new RegExp(`[."'\`]${last}["'\`]`).test(sources);
      });
      assert.deepEqual(unused, []);
    });
  });
});
