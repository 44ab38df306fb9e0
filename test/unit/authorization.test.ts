import assert from "node:assert/strict";
import {
  AuthorizationError,
  flowUrl,
  GOOGLE_REDIRECT_URI,
  isLocalReason,
  validateRedirectUri,
} from "../../src/google/authorization";
import { parseRedirectUrl, redirectError, redirectParams } from "../../src/google/authorization-redirect";
import { AuthorizationStates } from "../../src/google/authorization-states";
import { exchangeCode } from "../../src/google/code-exchange";
import {
  authorizationUrl,
  PUBSUB_SCOPE,
  SDM_SCOPE,
  validateAuthorizationInput,
  type DeviceAccessAuthorization as PendingAuthorization,
} from "../../src/nest/authorization";
import type { HttpRequest, HttpResponse, HttpTransport } from "../../src/google/http";
import { FAKE_DEFAULTS, FakeGoogle } from "../fixtures/fake-google";
import { FakeClock } from "../support/fake-clock";
import { assertNoSecrets } from "../support/secrets";

const MINUTE = 60_000;
const CALLBACK = "http://127.0.0.1:1880/nest-restream/auth/callback";

function pending(over: Partial<PendingAuthorization> = {}): PendingAuthorization {
  return {
    projectId: FAKE_DEFAULTS.projectId,
    clientId: FAKE_DEFAULTS.clientId,
    clientSecret: FAKE_DEFAULTS.clientSecret,
    redirectUri: CALLBACK,
    ...over,
  };
}

/** Asserts that `fn` throws an AuthorizationError with this reason, and returns it. */
function throwsReason(fn: () => unknown, reason: string): AuthorizationError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AuthorizationError, `expected an AuthorizationError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    return err;
  }
  assert.fail(`expected ${reason}`);
}

async function rejectsReason(p: Promise<unknown>, reason: string): Promise<AuthorizationError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AuthorizationError, `expected an AuthorizationError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    return err;
  }
  assert.fail(`expected ${reason}`);
}

/** A transport that answers from a script and records what was sent. */
class ScriptedTransport implements HttpTransport {
  readonly sent: HttpRequest[] = [];
  constructor(private readonly answer: HttpResponse | Error) {}
  async request(req: HttpRequest): Promise<HttpResponse> {
    this.sent.push(req);
    if (this.answer instanceof Error) throw this.answer;
    return this.answer;
  }
}

const oauth = (status: number, error: string, description?: string): HttpResponse => ({
  status,
  headers: { "content-type": "application/json" },
  data: { error, ...(description ? { error_description: description } : {}) },
});

describe("authorization", () => {
  describe("authorizationUrl", () => {
    it("also asks for the Pub/Sub scope when the account reads camera events, and only then", () => {
      const base = {
        partnerAuthUrl: "https://nestservices.google.com/partnerconnections",
        projectId: "p-1",
        clientId: "c-1",
        redirectUri: GOOGLE_REDIRECT_URI,
        state: "s".repeat(43),
      };
      assert.equal(
        new URL(authorizationUrl({ ...base, pubsub: true })).searchParams.get("scope"),
        `${SDM_SCOPE} ${PUBSUB_SCOPE}`,
      );
      assert.equal(
        new URL(authorizationUrl({ ...base, pubsub: false })).searchParams.get("scope"),
        SDM_SCOPE,
      );
      const input = { projectId: "p-1", clientId: "c-1", clientSecret: "s-1", redirectUri: CALLBACK };
      assert.equal(validateAuthorizationInput({ ...input, pubsub: true }).pubsub, true);
      assert.equal(validateAuthorizationInput({ ...input, pubsub: "true" }).pubsub, true);
      assert.equal(validateAuthorizationInput({ ...input, pubsub: false }).pubsub, undefined);
    });

    it("builds the Device Access URL with offline access, consent, the SDM scope and the state", () => {
      const url = new URL(
        authorizationUrl({
          partnerAuthUrl: "https://nestservices.google.com/partnerconnections/",
          projectId: "f5b6c2a1-0000-4000-8000-1234567890ab",
          clientId: "123-abc.apps.googleusercontent.com",
          redirectUri: GOOGLE_REDIRECT_URI,
          state: "s".repeat(43),
        }),
      );
      assert.equal(url.origin, "https://nestservices.google.com");
      assert.equal(url.pathname, "/partnerconnections/f5b6c2a1-0000-4000-8000-1234567890ab/auth");
      assert.deepEqual(Object.fromEntries(url.searchParams), {
        redirect_uri: "https://www.google.com",
        access_type: "offline",
        prompt: "consent",
        client_id: "123-abc.apps.googleusercontent.com",
        response_type: "code",
        scope: SDM_SCOPE,
        state: "s".repeat(43),
      });
      // The parameters come in the order of Google's guide.
      assert.deepEqual(
        [...url.searchParams.keys()],
        ["redirect_uri", "access_type", "prompt", "client_id", "response_type", "scope", "state"],
      );
    });

    it("builds Google's standard URL from the same flow for other scopes", () => {
      const url = new URL(
        flowUrl(
          {
            authorizeUrl: "https://accounts.google.com/o/oauth2/v2/auth",
            scopes: ["https://www.googleapis.com/auth/youtube", "openid"],
            extraParams: { include_granted_scopes: "true" },
          },
          { clientId: "c-1", redirectUri: GOOGLE_REDIRECT_URI, state: "t".repeat(43) },
        ),
      );
      assert.equal(url.origin + url.pathname, "https://accounts.google.com/o/oauth2/v2/auth");
      assert.equal(url.searchParams.get("scope"), "https://www.googleapis.com/auth/youtube openid");
      assert.equal(url.searchParams.get("access_type"), "offline");
      assert.equal(url.searchParams.get("prompt"), "consent");
      assert.equal(url.searchParams.get("include_granted_scopes"), "true");
      assert.equal([...url.searchParams.keys()].at(-1), "include_granted_scopes");
    });

    it("encodes the redirect URI and never carries the client secret", () => {
      const text = authorizationUrl({
        partnerAuthUrl: "http://127.0.0.1:9/partnerconnections",
        projectId: "p-1",
        clientId: "c",
        redirectUri: CALLBACK,
        state: "x".repeat(20),
      });
      assert.match(text, /redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A1880%2Fnest-restream%2Fauth%2Fcallback&/);
      assert.ok(!text.includes("secret"));
    });
  });

  describe("input checks", () => {
    it("accepts http(s) redirect URIs and refuses the rest", () => {
      assert.equal(validateRedirectUri(` ${CALLBACK} `), CALLBACK);
      assert.equal(validateRedirectUri(GOOGLE_REDIRECT_URI), GOOGLE_REDIRECT_URI);
      for (const bad of [
        "",
        "www.google.com",
        "ftp://x/y",
        "https://x/#frag",
        "urn:ietf:wg:oauth:2.0:oob",
        42,
      ]) {
        throwsReason(() => validateRedirectUri(bad), "BAD_REDIRECT_URI");
      }
    });

    it("names the missing fields without echoing a value", () => {
      const err = throwsReason(
        () =>
          validateAuthorizationInput({
            projectId: " ",
            clientId: "",
            clientSecret: "",
            redirectUri: CALLBACK,
          }),
        "MISSING_FIELDS",
      );
      assert.match(err.message, /Project ID, Client ID and Client secret/);
      const spaced = throwsReason(
        () =>
          validateAuthorizationInput({
            projectId: "p-1",
            clientId: "abc def",
            clientSecret: "GOCSPX-top secret",
            redirectUri: CALLBACK,
          }),
        "MISSING_FIELDS",
      );
      assert.match(spaced.message, /Client ID and Client secret have spaces/);
      assertNoSecrets([spaced.message], ["GOCSPX-top secret", "abc def"]);
      const ok = validateAuthorizationInput({
        projectId: " p-1 ",
        clientId: " c-1 ",
        clientSecret: " s-1 ",
        redirectUri: CALLBACK,
        nodeId: "acc",
      });
      assert.deepEqual(ok, {
        projectId: "p-1",
        clientId: "c-1",
        clientSecret: "s-1",
        redirectUri: CALLBACK,
        nodeId: "acc",
      });
    });

    it("tells local problems from Google's refusals", () => {
      assert.ok(isLocalReason("STATE_EXPIRED"));
      assert.ok(isLocalReason("CREDENTIALS"));
      assert.ok(!isLocalReason("invalid_grant"));
      assert.ok(!isLocalReason("NO_REFRESH_TOKEN"));
    });
  });

  describe("AuthorizationStates", () => {
    const cookie = (s: { cookieNonce: string }) => ({ cookie: s.cookieNonce });
    const editor = (s: { editorNonce: string }, user?: string) => ({ editor: s.editorNonce, user });

    it("binds a state to the browser and editor user that started it (issue 13, item 9)", () => {
      const states = new AuthorizationStates({ clock: new FakeClock() });
      const a = states.create(pending(), "alice");
      assert.match(a.cookieNonce, /^[A-Za-z0-9_-]{43}$/);
      assert.match(a.editorNonce, /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(a.cookieNonce, a.editorNonce);
      // The state alone, a wrong or another authorization's nonce, the other kind of nonce, another user.
      const b = states.create(pending(), "alice");
      for (const proof of [
        { cookie: undefined },
        { cookie: "" },
        { cookie: b.cookieNonce },
        { cookie: a.editorNonce },
        { editor: undefined, user: "alice" },
        { editor: a.cookieNonce, user: "alice" },
        { editor: a.editorNonce, user: "mallory" },
        { editor: a.editorNonce, user: undefined },
      ]) {
        const err = throwsReason(() => states.take(a.state, proof), "STATE_NOT_BOUND");
        assert.equal(err.httpStatus, 403);
        assert.match(err.message, /nothing was exchanged/);
        throwsReason(() => states.poll(a.state, proof), "STATE_NOT_BOUND");
      }
      // Refusals leave the state to whoever started it.
      assert.ok(states.isOpen(a.state));
      assert.deepEqual(states.poll(a.state, editor(a, "alice")), { status: "pending" });
      assert.equal(states.take(a.state, cookie(a)).clientSecret, FAKE_DEFAULTS.clientSecret);
      assert.equal(states.take(b.state, editor(b, "alice")).clientSecret, FAKE_DEFAULTS.clientSecret);
    });

    it("creates unguessable states that work exactly once", () => {
      const states = new AuthorizationStates({ clock: new FakeClock() });
      const a = states.create(pending());
      const b = states.create(pending());
      assert.match(a.state, /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(a.state, b.state);
      assert.deepEqual(states.take(a.state, cookie(a)), pending());
      const used = throwsReason(() => states.take(a.state, cookie(a)), "STATE_USED");
      assert.match(used.message, /Authorize again/);
      assert.equal(states.take(b.state, cookie(b)).clientSecret, FAKE_DEFAULTS.clientSecret);
    });

    it("refuses missing, malformed and unknown states in words", () => {
      const states = new AuthorizationStates({ clock: new FakeClock() });
      states.create(pending());
      throwsReason(() => states.take(undefined, { cookie: "x" }), "STATE_MISSING");
      throwsReason(() => states.take("", { cookie: "x" }), "STATE_MISSING");
      throwsReason(() => states.take("<script>", { cookie: "x" }), "STATE_UNKNOWN");
      const unknown = throwsReason(() => states.take("A".repeat(43), { cookie: "x" }), "STATE_UNKNOWN");
      assert.match(unknown.message, /Press Authorize again/);
    });

    it("expires a state after its lifetime", async () => {
      const clock = new FakeClock();
      const states = new AuthorizationStates({ clock, ttlMs: 10 * MINUTE });
      const started = states.create(pending());
      const { state, expiresAt } = started;
      assert.equal(expiresAt, clock.now() + 10 * MINUTE);
      await clock.advance(10 * MINUTE - 1);
      assert.ok(states.isOpen(state));
      await clock.advance(1);
      assert.ok(!states.isOpen(state));
      const err = throwsReason(() => states.take(state, cookie(started)), "STATE_EXPIRED");
      assert.match(err.message, /within 10 minutes/);
      throwsReason(() => states.poll(state, editor(started)), "STATE_EXPIRED");
      // Long after, it is forgotten altogether.
      await clock.advance(30 * MINUTE);
      throwsReason(() => states.take(state, cookie(started)), "STATE_UNKNOWN");
    });

    it("hands the outcome of an exchange to one poll", async () => {
      const clock = new FakeClock();
      const states = new AuthorizationStates({ clock });
      const started = states.create(pending());
      const { state } = started;
      assert.deepEqual(states.poll(state, editor(started)), { status: "pending" });
      states.take(state, cookie(started));
      assert.deepEqual(states.poll(state, editor(started)), { status: "pending" });
      states.settle(state, { ok: true, refreshToken: "1//new-token" });
      assert.deepEqual(states.poll(state, editor(started)), {
        status: "done",
        ok: true,
        refreshToken: "1//new-token",
      });
      throwsReason(() => states.poll(state, editor(started)), "STATE_USED");
      throwsReason(() => states.take(state, cookie(started)), "STATE_USED");
    });

    it("keeps an outcome past the state's expiry until the editor collects it", async () => {
      const clock = new FakeClock();
      const states = new AuthorizationStates({ clock, ttlMs: 10 * MINUTE });
      const started = states.create(pending());
      const { state } = started;
      await clock.advance(9 * MINUTE);
      states.take(state, cookie(started));
      states.settle(state, { ok: false, error: "Access was not granted", code: "access_denied" });
      await clock.advance(5 * MINUTE);
      const poll = states.poll(state, editor(started));
      assert.equal(poll.status, "done");
      assert.equal(poll.status === "done" && !poll.ok && poll.code, "access_denied");
    });

    it("gives up polling an exchange that never ended", async () => {
      const clock = new FakeClock();
      const states = new AuthorizationStates({ clock, ttlMs: 10 * MINUTE });
      const started = states.create(pending());
      const { state } = started;
      states.take(state, cookie(started));
      await clock.advance(10 * MINUTE + 59_000);
      assert.deepEqual(states.poll(state, editor(started)), { status: "pending" });
      await clock.advance(1_000);
      throwsReason(() => states.poll(state, editor(started)), "STATE_EXPIRED");
    });

    it("keeps at most `max` open authorizations, dropping the oldest", () => {
      const states = new AuthorizationStates({ clock: new FakeClock(), max: 2 });
      const first = states.create(pending()).state;
      const second = states.create(pending()).state;
      const third = states.create(pending()).state;
      assert.equal(states.open, 2);
      throwsReason(() => states.take(first, { cookie: "x" }), "STATE_UNKNOWN");
      assert.ok(states.isOpen(second) && states.isOpen(third));
    });

    it("draws a new state when the random source repeats itself", () => {
      const values = [Buffer.alloc(32, 1), Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
      const states = new AuthorizationStates({
        clock: new FakeClock(),
        random: () => values.shift() as Buffer,
      });
      const a = states.create(pending()).state;
      const b = states.create(pending()).state;
      assert.notEqual(a, b);
    });
  });

  describe("the redirect back", () => {
    const code = "4/0AfJohXk-abc_DEF";
    const state = "S".repeat(43);

    it("reads a pasted address in the shapes people paste", () => {
      const full = `https://www.google.com/?state=${state}&code=${encodeURIComponent(code)}&scope=${encodeURIComponent(SDM_SCOPE)}`;
      const want = { code, state, error: undefined, errorDescription: undefined, scope: SDM_SCOPE };
      assert.deepEqual(parseRedirectUrl(full), want);
      assert.deepEqual(parseRedirectUrl(`  "${full}"\n`), want);
      assert.deepEqual(parseRedirectUrl(`<${full}>`), want);
      assert.deepEqual(parseRedirectUrl(full.replace("https://", "")), want);
      assert.deepEqual(parseRedirectUrl(full.slice(full.indexOf("?"))), want);
      assert.deepEqual(parseRedirectUrl(full.slice(full.indexOf("?") + 1)), want);
      assert.deepEqual(parseRedirectUrl(`https://www.google.com/#state=${state}&code=${code}`).code, code);
      assert.equal(parseRedirectUrl(`${CALLBACK}?code=${code}&state=${state}`).state, state);
    });

    it("reads an error redirect", () => {
      const params = parseRedirectUrl(`https://www.google.com/?error=access_denied&state=${state}`);
      assert.equal(params.error, "access_denied");
      assert.equal(params.state, state);
      const err = redirectError(params);
      assert.equal(err.reason, "access_denied");
      assert.match(err.message, /allow access/);
      assert.equal(redirectError({ error: "server_error" }).reason, "AUTHORIZATION_FAILED");
    });

    it("refuses an address without a code in words", () => {
      for (const bad of ["", "https://www.google.com/", "hello", "https://www.google.com/?state=abc", 42]) {
        const err = throwsReason(() => parseRedirectUrl(bad), "BAD_REDIRECT_URL");
        assert.match(err.message, /copy the whole address/);
      }
    });

    it("reads the callback's query", () => {
      assert.deepEqual(redirectParams({ code: ["c1", "c2"], state: " s ", error: "" }), {
        code: "c1",
        state: "s",
        error: undefined,
        errorDescription: undefined,
        scope: undefined,
      });
    });
  });

  describe("exchangeCode", () => {
    let fake: FakeGoogle;
    before(async () => {
      fake = await FakeGoogle.start({ rateLimits: false });
    });
    after(async () => {
      await fake.stop();
    });

    /** Goes through the fake's authorization page (auto-approving) and returns the code. */
    async function authorize(redirectUri = GOOGLE_REDIRECT_URI): Promise<string> {
      const url = authorizationUrl({
        partnerAuthUrl: fake.env().NEST_RESTREAM_PARTNER_AUTH_URL,
        projectId: fake.projectId,
        clientId: fake.clientId,
        redirectUri,
        state: "T".repeat(43),
      });
      const res = await fetch(`${url}&auto=1`, { redirect: "manual" });
      assert.equal(res.status, 302);
      const back = parseRedirectUrl(res.headers.get("location"));
      assert.equal(back.state, "T".repeat(43));
      return back.code as string;
    }

    const exchange = (code: string, over: Partial<Parameters<typeof exchangeCode>[0]> = {}) =>
      exchangeCode({
        tokenUrl: `${fake.url}/token`,
        clientId: fake.clientId,
        clientSecret: fake.clientSecret,
        code,
        redirectUri: GOOGLE_REDIRECT_URI,
        ...over,
      });

    it("exchanges a code for a refresh token that works", async () => {
      const code = await authorize();
      const tokens = await exchange(code);
      assert.match(tokens.refreshToken, /^1\/\//);
      assert.equal(tokens.refreshToken, fake.refreshToken);
      assert.equal(tokens.scope, SDM_SCOPE);
      assert.ok(tokens.accessToken && fake.isAccessTokenValid(tokens.accessToken));
    });

    it("sends grant_type=authorization_code with the code, redirect URI and client", async () => {
      const http = new ScriptedTransport({
        status: 200,
        headers: {},
        data: { access_token: "ya29.x-123456", refresh_token: "1//r-1234567890", expires_in: 3599 },
      });
      const tokens = await exchangeCode({
        tokenUrl: "https://oauth2.example.test/token",
        clientId: "c-1",
        clientSecret: "GOCSPX-s-1",
        code: "4/0code-1",
        redirectUri: CALLBACK,
        http,
      });
      assert.equal(tokens.refreshToken, "1//r-1234567890");
      assert.equal(tokens.expiresIn, 3599);
      assert.equal(http.sent.length, 1);
      assert.equal(http.sent[0].method, "POST");
      assert.equal(http.sent[0].url, "https://oauth2.example.test/token");
      assert.deepEqual(http.sent[0].form, {
        grant_type: "authorization_code",
        code: "4/0code-1",
        redirect_uri: CALLBACK,
        client_id: "c-1",
        client_secret: "GOCSPX-s-1",
      });
    });

    it("turns a reused code into invalid_grant advice", async () => {
      const code = await authorize();
      await exchange(code);
      const err = await rejectsReason(exchange(code), "invalid_grant");
      assert.match(err.message, /already used or has expired/);
      assert.match(err.message, /Authorize again/);
      assertNoSecrets([err.message, err.stack], [code, fake.clientSecret]);
    });

    it("turns a wrong secret into invalid_client advice without the secret", async () => {
      const code = await authorize();
      const err = await rejectsReason(
        exchange(code, { clientSecret: "GOCSPX-wrong-secret-9" }),
        "invalid_client",
      );
      assert.match(err.message, /client ID and client secret/);
      assertNoSecrets([err.message, err.stack], ["GOCSPX-wrong-secret-9", code]);
    });

    it("turns a redirect URI mismatch into the exact URI to register", async () => {
      const code = await authorize(GOOGLE_REDIRECT_URI);
      const err = await rejectsReason(exchange(code, { redirectUri: CALLBACK }), "redirect_uri_mismatch");
      assert.ok(err.message.includes(`Add exactly ${CALLBACK}`), err.message);
      assertNoSecrets([err.message], [code]);
    });

    it("maps Google's answers without a refresh token, server errors and network failures", async () => {
      const base = {
        tokenUrl: "https://oauth2.example.test/token",
        clientId: "c-1",
        clientSecret: "GOCSPX-s-2",
        code: "4/0code-2",
        redirectUri: CALLBACK,
      };
      await rejectsReason(
        exchangeCode({
          ...base,
          http: new ScriptedTransport({ status: 200, headers: {}, data: { access_token: "ya29.a" } }),
        }),
        "NO_REFRESH_TOKEN",
      );
      const busy = await rejectsReason(
        exchangeCode({ ...base, http: new ScriptedTransport(oauth(503, "temporarily_unavailable")) }),
        "AUTHORIZATION_FAILED",
      );
      assert.ok(busy.transient);
      const net = await rejectsReason(
        exchangeCode({
          ...base,
          http: new ScriptedTransport(
            Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
          ),
        }),
        "AUTHORIZATION_FAILED",
      );
      assert.match(net.message, /Could not reach oauth2\.example\.test/);
      const denied = await rejectsReason(
        exchangeCode({
          ...base,
          http: new ScriptedTransport(oauth(400, "unauthorized_client", "Unauthorized")),
        }),
        "invalid_client",
      );
      const other = await rejectsReason(
        exchangeCode({
          ...base,
          http: new ScriptedTransport(
            oauth(400, "invalid_request", "Missing code_verifier. client_secret=GOCSPX-s-2"),
          ),
        }),
        "invalid_request",
      );
      assertNoSecrets(
        [busy.message, net.message, denied.message, other.message],
        ["GOCSPX-s-2", "4/0code-2"],
      );
    });

    it("cuts a page's words after masking them: a secret at the cut shows no part of itself", async () => {
      const secret = "plainSecretWithoutAnyShape-0123456789";
      // The page's text is cut at 200 characters, in the middle of the client secret.
      const page = `<html><body><p>${"e".repeat(190)}</p> ${secret} more</body></html>`;
      const err = await rejectsReason(
        exchangeCode({
          tokenUrl: "https://oauth2.example.test/token",
          clientId: "c-1",
          clientSecret: secret,
          code: "4/0code-3",
          redirectUri: CALLBACK,
          http: new ScriptedTransport({ status: 400, headers: {}, data: page }),
        }),
        "AUTHORIZATION_FAILED",
      );
      assert.match(err.message, /e{190}/);
      assert.doesNotMatch(err.message, /plainSecr/);
    });
  });
});
