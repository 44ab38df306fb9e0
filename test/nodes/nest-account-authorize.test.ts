import assert from "node:assert/strict";
import { FAKE_DEFAULTS, FakeGoogle, PUBSUB_SCOPE, SDM_SCOPE } from "../fixtures/fake-google";
import { builtNode, helper, nodeRedMajor, startServer, stopServer } from "../support/node-red";
import { nonceCookie } from "../support/authorize-cookie";
import { assertNoSecrets } from "../support/secrets";
import { ACCOUNT_CREDENTIALS, accountNode as accountConfig } from "../support/flows";
import { ADMIN_ROUTES } from "../support/admin-routes";

const accountNode = builtNode("nest-account");
const CALLBACK = "http://127.0.0.1:1880/nest-restream/auth/callback";
const GOOGLE = "https://www.google.com";

interface Started {
  url: string;
  state: string;
  nonce: string;
  redirectUri: string;
  expiresAt: string;
}

describe(`nest-account Authorize endpoints (Node-RED ${nodeRedMajor})`, function () {
  let fake: FakeGoogle;
  /** Every text an endpoint answered, to check for secrets at the end of each test. */
  let answers: string[];
  /** Codes Google issued during the test. */
  let codes: string[];
  /** What this "browser" and "editor" keep of each authorization they started: the cookie, the nonce. */
  let cookies: Map<string, string>;
  let nonces: Map<string, string>;

  before(async () => {
    fake = await FakeGoogle.start({ rateLimits: false, autoApprove: true });
    await startServer(fake.env());
  });
  after(async () => {
    await stopServer();
    await fake.stop();
  });
  beforeEach(() => {
    answers = [];
    codes = [];
    cookies = new Map();
    nonces = new Map();
    fake.autoApprove = true;
    fake.denyAuthorization = false;
  });
  afterEach(async function () {
    // Whatever happened, neither the client secret nor a code surfaced in an answer or a log line.
    const logs = (helper.log().args as unknown[][]).map((a) => a[0]);
    assertNoSecrets([...answers, ...logs], [FAKE_DEFAULTS.clientSecret, "GOCSPX-wrong-secret-7", ...codes]);
    await helper.unload();
    fake.clearCalls();
    fake.clearFaults();
  });

  const flow = [accountConfig({ name: "Home" })];
  const credentials = ACCOUNT_CREDENTIALS;
  const typed = {
    projectId: FAKE_DEFAULTS.projectId,
    clientId: FAKE_DEFAULTS.clientId,
    clientSecret: FAKE_DEFAULTS.clientSecret,
  };

  async function start(body: Record<string, unknown>, status = 200) {
    const res = await helper.request().post("/nest-restream/auth/start").send(body).expect(status);
    answers.push(res.text);
    if (status === 200) {
      nonces.set(res.body.state, res.body.nonce);
      if (res.headers["set-cookie"]) cookies.set(res.body.state, nonceCookie(res));
    }
    return res;
  }

  /** Opens Google's page the way the browser would; the fake approves and redirects. */
  async function visitGoogle(url: string): Promise<URL> {
    const res = await fetch(url, { redirect: "manual" });
    assert.equal(res.status, 302, await res.text());
    const back = new URL(res.headers.get("location") as string);
    const code = back.searchParams.get("code");
    if (code) codes.push(code);
    return back;
  }

  /** Google's redirect as the browser follows it, with the cookies it has for the callback. */
  async function callback(
    back: URL,
    status: number,
    cookie = cookies.get(back.searchParams.get("state") ?? ""),
  ) {
    const req = helper.request().get(`/nest-restream/auth/callback${back.search}`);
    if (cookie) req.set("Cookie", cookie);
    const res = await req.expect(status).expect("Content-Type", /text\/html/);
    answers.push(res.text);
    return res;
  }

  async function result(state: string, status = 200, nonce = nonces.get(state)) {
    const res = await helper
      .request()
      .get("/nest-restream/auth/result")
      .query({ state, nonce })
      .expect(status);
    answers.push(res.text);
    return res;
  }

  /** The pasted address, sent with the nonce the editor kept for its state. */
  async function exchange(url: string, status: number, nonce = nonces.get(stateOf(url))) {
    const res = await helper
      .request()
      .post("/nest-restream/auth/exchange")
      .send({ url, nonce })
      .expect(status);
    answers.push(res.text);
    return res;
  }

  const stateOf = (url: string) => /[?&]state=([A-Za-z0-9_-]+)/.exec(url)?.[1] ?? "";
  const tokenCalls = () => fake.calls.filter((c) => c.endpoint === "token").length;

  it("sets a nonce cookie for the callback: HttpOnly, SameSite=Lax, the callback's path, short-lived", async () => {
    await helper.load(accountNode, flow, credentials);
    const res = await start({ ...typed, redirectUri: CALLBACK });
    const set = ([] as string[]).concat(res.headers["set-cookie"] as string | string[]);
    assert.equal(set.length, 1, String(set));
    const attrs = (set[0] ?? "").split(/;\s*/);
    assert.match(attrs[0] ?? "", /^nr-authorize-[A-Za-z0-9_-]{16}=[A-Za-z0-9_-]{43}$/);
    assert.ok(attrs.includes("HttpOnly"), String(set));
    assert.ok(attrs.includes("SameSite=Lax"), String(set));
    assert.ok(attrs.includes("Path=/nest-restream/auth/callback"), String(set));
    assert.ok(attrs.includes("Max-Age=600"), String(set));
    assert.ok(!(attrs[0] ?? "").includes(res.body.nonce), "the editor's nonce is not the cookie's");
    // The pasted-address way has no callback: no cookie, the editor's nonce binds it.
    const pasted = await start({ ...typed, redirectUri: GOOGLE });
    assert.equal(pasted.headers["set-cookie"], undefined);
    assert.match(pasted.body.nonce, /^[A-Za-z0-9_-]{43}$/);
  });

  it("refuses a callback whose state comes without its browser's cookie; nothing goes to Google", async () => {
    await helper.load(accountNode, flow, credentials);
    const started = (await start({ ...typed, redirectUri: CALLBACK })).body as Started;
    const back = await visitGoogle(started.url);
    // A leaked state followed in another browser: no cookie, or the cookie of another authorization.
    const other = (await start({ ...typed, redirectUri: CALLBACK })).body as Started;
    for (const cookie of [
      "",
      cookies.get(other.state) ?? "",
      `${(cookies.get(started.state) ?? "").split("=")[0]}=x`,
    ]) {
      const page = await callback(back, 403, cookie);
      assert.match(page.text, /data-ok="false"/);
      assert.match(page.text, /not started in this browser/);
      assert.match(page.text, /nothing was exchanged/);
      assert.ok(!page.text.includes("postMessage(m"), "no message to an opener");
    }
    assert.equal(tokenCalls(), 0, "no exchange at Google");
    // The browser that started it still can, once; its cookie is then cleared.
    const page = await callback(back, 200);
    assert.match(String(page.headers["set-cookie"]), /Max-Age=0/);
    assert.equal(tokenCalls(), 1);
    // The outcome goes to the editor that started it only.
    assert.equal((await result(started.state, 403, other.nonce)).body.code, "STATE_NOT_BOUND");
    assert.equal((await result(started.state, 403, "")).body.code, "STATE_NOT_BOUND");
    assert.equal((await result(started.state)).body.refreshToken, fake.refreshToken);
  });

  it("refuses a pasted address without the nonce of the editor that started it; nothing goes to Google", async () => {
    await helper.load(accountNode, flow, credentials);
    const started = (await start({ ...typed, redirectUri: GOOGLE })).body as Started;
    const back = await visitGoogle(started.url);
    const other = (await start({ ...typed, redirectUri: GOOGLE })).body as Started;
    for (const nonce of ["", "x".repeat(43), other.nonce]) {
      const res = await exchange(back.href, 403, nonce);
      assert.equal(res.body.code, "STATE_NOT_BOUND");
      assert.match(res.body.error, /another editor session or user/);
      assert.ok(!JSON.stringify(res.body).includes("refreshToken"));
    }
    assert.equal(tokenCalls(), 0, "no exchange at Google");
    const res = await exchange(back.href, 200);
    assert.equal(res.body.refreshToken, fake.refreshToken);
  });

  it("registers exactly the admin routes the adminAuth e2e test sends, a guard before each but the callbacks", async () => {
    // Whether Node-RED refuses them without the permission is shown with real requests to a real
    // Node-RED with adminAuth: test/e2e/admin-auth.e2e.test.ts. Here: that its list is complete.
    await helper.load([accountNode, builtNode("youtube-account")], flow, credentials);
    const stack = (
      helper._httpAdmin as {
        _router: {
          stack: { route?: { path: string; methods: Record<string, boolean>; stack: unknown[] } }[];
        };
      }
    )._router.stack;
    const registered = stack
      .filter((l) => l.route?.path.startsWith("/nest-restream/"))
      .map((l) => {
        const r = l.route as { path: string; methods: Record<string, boolean>; stack: unknown[] };
        const method = Object.keys(r.methods)[0].toUpperCase();
        // needsPermission adds one handler in front of the route's own.
        return `${method} ${r.path} ${r.stack.length === 2 ? "guarded" : "open"}`;
      });
    assert.deepEqual(
      registered.sort(),
      ADMIN_ROUTES.map((r) => `${r.method} ${r.path} ${r.permission ? "guarded" : "open"}`).sort(),
    );
  });

  it("builds Google's Device Access URL for a deployed account, taking unchanged passwords from it", async () => {
    await helper.load(accountNode, flow, credentials);
    const res = await start({
      id: "acc",
      projectId: FAKE_DEFAULTS.projectId,
      clientId: FAKE_DEFAULTS.clientId,
      clientSecret: "__PWRD__",
      redirectUri: CALLBACK,
    });
    const body = res.body as Started;
    const url = new URL(body.url);
    assert.equal(url.origin + url.pathname, `${fake.url}/partnerconnections/${FAKE_DEFAULTS.projectId}/auth`);
    assert.equal(url.searchParams.get("redirect_uri"), CALLBACK);
    assert.equal(url.searchParams.get("access_type"), "offline");
    assert.equal(url.searchParams.get("prompt"), "consent");
    assert.equal(url.searchParams.get("client_id"), FAKE_DEFAULTS.clientId);
    assert.equal(url.searchParams.get("response_type"), "code");
    assert.equal(url.searchParams.get("scope"), SDM_SCOPE);
    assert.equal(url.searchParams.get("state"), body.state);
    assert.match(body.state, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(body.redirectUri, CALLBACK);
    assert.ok(Date.parse(body.expiresAt) > Date.now());
  });

  it("authorizes through the editor's callback: the page hands over, the editor collects the token once", async () => {
    // Not deployed: everything typed in the dialog.
    const started = (await start({ ...typed, redirectUri: CALLBACK })).body as Started;
    const back = await visitGoogle(started.url);
    assert.equal(back.origin + back.pathname, CALLBACK);
    assert.equal(back.searchParams.get("state"), started.state);

    assert.deepEqual((await result(started.state)).body, { status: "pending" });
    const page = await callback(back, 200);
    assert.match(page.text, /id="result" data-ok="true"/);
    assert.match(page.text, /postMessage/);
    assert.ok(page.text.includes(started.state), "the page names the state for the opener");
    assert.ok(!page.text.includes(fake.refreshToken), "the page never carries the token");
    assert.equal(page.headers["cache-control"], "no-store");
    assert.equal(page.headers["referrer-policy"], "no-referrer");

    const done = (await result(started.state)).body as { status: string; ok: boolean; refreshToken: string };
    assert.equal(done.status, "done");
    assert.equal(done.ok, true);
    assert.equal(done.refreshToken, fake.refreshToken);
    const tokenCalls = fake.calls.filter((c) => c.endpoint === "token");
    assert.deepEqual(
      tokenCalls.map((c) => c.grantType),
      ["authorization_code"],
    );

    // Collected once; the callback cannot be replayed.
    assert.equal((await result(started.state, 400)).body.code, "STATE_USED");
    const replay = await callback(back, 400);
    assert.match(replay.text, /already used/);
    assert.equal(fake.calls.filter((c) => c.endpoint === "token").length, 1);

    // The token works.
    const cams = await helper
      .request()
      .post("/nest-restream/cameras")
      .send({ ...typed, refreshToken: done.refreshToken })
      .expect(200);
    assert.ok((cams.body.cameras as { id: string }[]).some((c) => c.id === "cam-front"));
  });

  it("authorizes with a pasted www.google.com address", async () => {
    await helper.load(accountNode, flow, credentials);
    const started = (await start({ id: "acc", ...typed, clientSecret: "__PWRD__", redirectUri: GOOGLE }))
      .body as Started;
    const back = await visitGoogle(started.url);
    assert.equal(back.origin, GOOGLE);
    // Pasted with the clutter a copy from the address bar may bring.
    const res = await exchange(`  ${back.href}\n`, 200);
    assert.equal(res.body.refreshToken, fake.refreshToken);
    assert.equal(res.body.scope, SDM_SCOPE);
    assert.equal(res.headers["cache-control"], "no-store");
    // A state works once.
    const again = await exchange(back.href, 400);
    assert.equal(again.body.code, "STATE_USED");
    assert.match(again.body.error, /already used/);
    assert.equal((await result(started.state, 400)).body.code, "STATE_USED");
  });

  it("also asks for the Pub/Sub scope when Camera events is ticked, and the token carries it", async () => {
    const started = (await start({ ...typed, redirectUri: GOOGLE, pubsub: true })).body as Started;
    const url = new URL(started.url);
    assert.equal(url.searchParams.get("scope"), `${SDM_SCOPE} ${PUBSUB_SCOPE}`);
    const back = await visitGoogle(started.url);
    const res = await exchange(back.href, 200);
    assert.equal(res.body.scope, `${SDM_SCOPE} ${PUBSUB_SCOPE}`);
    // Unticked (false, as the dialog sends it): the SDM scope alone.
    const plain = (await start({ ...typed, redirectUri: GOOGLE, pubsub: false })).body as Started;
    assert.equal(new URL(plain.url).searchParams.get("scope"), SDM_SCOPE);
  });

  it("refuses unknown states and addresses without a code in words", async () => {
    const unknown = await exchange(`${GOOGLE}/?state=${"A".repeat(43)}&code=4/0fake-nothing`, 400);
    assert.equal(unknown.body.code, "STATE_UNKNOWN");
    assert.match(unknown.body.error, /Press Authorize again/);
    const noState = await exchange(`${GOOGLE}/?code=4/0fake-nothing`, 400);
    assert.equal(noState.body.code, "STATE_MISSING");
    const junk = await exchange("hello", 400);
    assert.equal(junk.body.code, "BAD_REDIRECT_URL");
    const page = await callback(new URL(`${CALLBACK}?state=${"B".repeat(43)}&code=4/0x`), 400);
    assert.match(page.text, /data-ok="false"/);
    assert.match(page.text, /unknown here/);
    assert.ok(!page.text.includes("postMessage(m"), "no message for a state that is not ours");
    assert.equal((await result("C".repeat(43), 400)).body.code, "STATE_UNKNOWN");
    assert.equal(fake.calls.filter((c) => c.endpoint === "token").length, 0);
  });

  it("checks the fields before anything goes to Google", async () => {
    const missing = await start(
      { projectId: "", clientId: FAKE_DEFAULTS.clientId, redirectUri: CALLBACK },
      400,
    );
    assert.equal(missing.body.code, "MISSING_FIELDS");
    assert.match(missing.body.error, /Project ID and Client secret/);
    const slashed = await start({ ...typed, projectId: "enterprises/x", redirectUri: CALLBACK }, 400);
    assert.match(slashed.body.error, /Project ID has spaces, line breaks or slashes/);
    const badUri = await start({ ...typed, redirectUri: "urn:ietf:wg:oauth:2.0:oob" }, 400);
    assert.equal(badUri.body.code, "BAD_REDIRECT_URI");
    // An account that is not deployed has no stored secret to stand in for the placeholder.
    const placeholder = await start(
      { id: "nope", ...typed, clientSecret: "__PWRD__", redirectUri: CALLBACK },
      400,
    );
    assert.match(placeholder.body.error, /Client secret/);
    assert.equal(fake.calls.length, 0);
  });

  it("reports a denied authorization on the page and to the editor", async () => {
    fake.denyAuthorization = true;
    const started = (await start({ ...typed, redirectUri: CALLBACK })).body as Started;
    const back = await visitGoogle(started.url);
    assert.equal(back.searchParams.get("error"), "access_denied");
    const page = await callback(back, 400);
    assert.match(page.text, /Access was not granted/);
    const res = (await result(started.state)).body as {
      status: string;
      ok: boolean;
      code: string;
      error: string;
    };
    assert.equal(res.status, "done");
    assert.equal(res.ok, false);
    assert.equal(res.code, "access_denied");
    assert.match(res.error, /allow access/);
    assert.equal(fake.calls.filter((c) => c.endpoint === "token").length, 0);
  });

  it("reports a wrong client secret as invalid_client without the secret", async () => {
    const started = (await start({ ...typed, clientSecret: "GOCSPX-wrong-secret-7", redirectUri: GOOGLE }))
      .body as Started;
    const back = await visitGoogle(started.url);
    const res = await exchange(back.href, 502);
    assert.equal(res.body.code, "invalid_client");
    assert.match(res.body.error, /client ID and client secret/);
  });

  it("reports a code that was already used as invalid_grant", async () => {
    const first = (await start({ ...typed, redirectUri: GOOGLE })).body as Started;
    const second = (await start({ ...typed, redirectUri: GOOGLE })).body as Started;
    const back = await visitGoogle(first.url);
    await exchange(back.href, 200);
    // The same code again, under a fresh state.
    back.searchParams.set("state", second.state);
    const res = await exchange(back.href, 502);
    assert.equal(res.body.code, "invalid_grant");
    assert.match(res.body.error, /already used or has expired/);
  });

  it("reports a redirect URI mismatch with the exact URI to register", async () => {
    const viaGoogle = (await start({ ...typed, redirectUri: GOOGLE })).body as Started;
    const viaCallback = (await start({ ...typed, redirectUri: CALLBACK })).body as Started;
    const back = await visitGoogle(viaGoogle.url);
    // A code issued for www.google.com, exchanged under an authorization that registered the callback.
    back.searchParams.set("state", viaCallback.state);
    const res = await exchange(back.href, 502);
    assert.equal(res.body.code, "redirect_uri_mismatch");
    assert.ok(res.body.error.includes(`Add exactly ${CALLBACK}`), res.body.error);
  });

  it("shows Google's error page for an unregistered redirect URI (nothing comes back)", async () => {
    fake.allowedRedirectUris = [GOOGLE];
    try {
      const started = (await start({ ...typed, redirectUri: CALLBACK })).body as Started;
      const res = await fetch(started.url, { redirect: "manual" });
      assert.equal(res.status, 400);
      assert.match(await res.text(), /redirect_uri_mismatch/);
      assert.deepEqual((await result(started.state)).body, { status: "pending" });
    } finally {
      fake.allowedRedirectUris = undefined;
    }
  });
});
