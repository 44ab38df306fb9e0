import assert from "node:assert/strict";
import {
  ClosedError,
  CredentialsError,
  InvalidClientError,
  InvalidGrantError,
  TransientGoogleError,
  UnauthenticatedError,
} from "../../src/google/errors";
import { SdmClient } from "../../src/nest/sdm-client";
import { TokenKeeper, validateCredentials, type TokenKeeperOptions } from "../../src/google/token-keeper";
import { secrets } from "../../src/redact";
import { drive, driveToError } from "../support/drive";
import { FakeClock } from "../support/fake-clock";
import {
  FAKE,
  FAKE_CREDENTIALS,
  FakeGoogleTransport,
  SDM_URL,
  TOKEN_URL,
  json,
  oauthError,
  sdmError,
  type FakeGoogleOptions,
} from "../fixtures/fake-google/transport";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function setup(google: Partial<FakeGoogleOptions> = {}, keeper: Partial<TokenKeeperOptions> = {}) {
  const clock = new FakeClock();
  const fake = new FakeGoogleTransport({ clock, ...google });
  const tokens = new TokenKeeper({
    credentials: FAKE_CREDENTIALS,
    account: "nest-account",
    tokenUrl: TOKEN_URL,
    clock,
    http: fake,
    random: () => 0.5,
    ...keeper,
  });
  const sdm = new SdmClient({ projectId: FAKE.projectId, tokens, baseUrl: SDM_URL, clock, http: fake });
  return { clock, fake, tokens, sdm };
}

/**
 * Calls the SDM API every `everyMs` for `totalMs` and returns how long each call took. With
 * latency L on the fake, a call that had to wait for a refresh takes 2L instead of L.
 */
async function callSdmRegularly(
  { clock, sdm }: ReturnType<typeof setup>,
  totalMs: number,
  everyMs: number,
): Promise<number[]> {
  const durations: number[] = [];
  for (let t = 0; t < totalMs; t += everyMs) {
    const start = clock.now();
    const call = sdm.device("cam-1").then(() => durations.push(clock.now() - start));
    await clock.advance(everyMs);
    await call;
  }
  return durations;
}

describe("TokenKeeper", () => {
  let keepers: TokenKeeper[] = [];
  afterEach(() => {
    for (const k of keepers) k.close();
    keepers = [];
  });
  const track = <T extends { tokens: TokenKeeper }>(s: T): T => {
    keepers.push(s.tokens);
    return s;
  };

  it("refreshes with the documented form POST and caches the token", async () => {
    const { fake, tokens } = track(setup());
    const first = await tokens.accessToken();
    assert.match(first, /^ya29\./);
    assert.equal(await tokens.accessToken(), first);
    assert.equal(fake.count("token"), 1);
    const req = fake.requests[0];
    assert.equal(req.method, "POST");
    assert.equal(req.url, TOKEN_URL);
    assert.deepEqual(req.form, {
      grant_type: "refresh_token",
      client_id: FAKE.clientId,
      client_secret: FAKE.clientSecret,
      refresh_token: FAKE.refreshToken,
    });
  });

  describe("credential checks (before any request)", () => {
    const good = {
      clientId: FAKE.clientId,
      clientSecret: FAKE.clientSecret,
      refreshToken: FAKE.refreshToken,
    };
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["missing client id", { ...good, clientId: undefined }, /has no client ID/],
      ["blank secret", { ...good, clientSecret: "   " }, /has no client secret/],
      ["everything missing", {}, /has no client ID, client secret or refresh token/],
      [
        "space inside the refresh token",
        { ...good, refreshToken: "1//0abc def" },
        /refresh token with spaces/,
      ],
      ["line break inside the secret", { ...good, clientSecret: "GOCSPX-a\nb" }, /client secret with spaces/],
    ];
    for (const [title, credentials, message] of cases) {
      it(`rejects ${title} with a CredentialsError and no request`, () => {
        const clock = new FakeClock();
        const fake = new FakeGoogleTransport({ clock });
        assert.throws(
          () => new TokenKeeper({ credentials, tokenUrl: TOKEN_URL, clock, http: fake }),
          (e: unknown) =>
            e instanceof CredentialsError && message.test(e.message) && !e.message.includes("GOCSPX"),
        );
        assert.equal(fake.requests.length, 0);
      });
    }

    it("accepts a client id of any shape and trims pasted whitespace", () => {
      const c = validateCredentials({
        clientId: " my-client ",
        clientSecret: "s3cr3t\n",
        refreshToken: "\t1//0x",
      });
      assert.deepEqual(c, { clientId: "my-client", clientSecret: "s3cr3t", refreshToken: "1//0x" });
    });
  });

  it("serves 50 concurrent callers with exactly one refresh", async () => {
    const { clock, fake, tokens } = track(setup({ latencyMs: 300 }));
    const all = Promise.all(Array.from({ length: 50 }, () => tokens.accessToken()));
    const got = await drive(clock, all, MINUTE, 100);
    assert.equal(new Set(got).size, 1);
    assert.equal(fake.count("token"), 1);
  });

  it("keeps a 3600 s token fresh for a simulated day: never an expired token, callers never wait", async function () {
    this.timeout(60_000);
    const s = track(setup({ tokenLifetimeS: 3599, latencyMs: 200 }));
    await drive(s.clock, s.tokens.accessToken());
    const durations = await callSdmRegularly(s, 24 * HOUR, 30_000);
    assert.equal(durations.length, 2880);
    assert.deepEqual(s.fake.violations, []);
    assert.equal(s.fake.requests.filter((r) => r.route !== "token" && r.status !== 200).length, 0);
    // Proactive refreshes (every 3599 s - 5 min) mean no SDM call ever waited for one.
    assert.ok(
      durations.every((d) => d === 200),
      `slow calls: ${durations.filter((d) => d !== 200).length}`,
    );
    const refreshes = s.fake.count("token");
    assert.ok(refreshes >= 26 && refreshes <= 28, `refreshes: ${refreshes}`);
    assert.equal(s.tokens.refreshes, refreshes);
  });

  it("handles a 60 s token lifetime: refreshes at half-life, never sends an expired token", async function () {
    this.timeout(30_000);
    const s = track(setup({ tokenLifetimeS: 60, latencyMs: 200 }));
    await drive(s.clock, s.tokens.accessToken());
    const durations = await callSdmRegularly(s, HOUR, 5_000);
    assert.deepEqual(s.fake.violations, []);
    assert.ok(durations.every((d) => d === 200));
    const refreshes = s.fake.count("token");
    // The margin is min(5 min, 30 s): one refresh about every 30 s.
    assert.ok(refreshes >= 115 && refreshes <= 125, `refreshes: ${refreshes}`);
  });

  it("refreshes a 3600 s token 5 minutes ahead on its own, with no caller", async () => {
    const { clock, fake, tokens } = track(setup({ tokenLifetimeS: 3600 }));
    const events: unknown[] = [];
    tokens.on("token", (e) => events.push(e));
    const first = await tokens.accessToken();
    await clock.advance(55 * MINUTE - 1);
    assert.equal(fake.count("token"), 1);
    await clock.advance(1);
    assert.equal(fake.count("token"), 2);
    assert.notEqual(await tokens.accessToken(), first);
    assert.equal(fake.count("token"), 2);
    // The event says when, never what.
    assert.equal(events.length, 2);
    assert.deepEqual(Object.keys(events[0] as object).sort(), ["expiresAt", "lifetimeMs"]);
    assert.ok(!JSON.stringify(events).includes("ya29"));
  });

  it("recovers from a burst of 5xx, network failures and timeouts with growing backoff", async () => {
    const { clock, fake, tokens } = track(setup({}, { maxAttempts: 6, timeoutMs: 10_000 }));
    fake.script(
      "token",
      sdmError(503, "UNAVAILABLE", "The service is currently unavailable."),
      json(500, "<html>Internal error</html>"),
      "network",
      "timeout",
      json(502, "Bad Gateway"),
    );
    const start = clock.now();
    const token = await drive(clock, tokens.accessToken(), 10 * MINUTE, 100);
    assert.match(token, /^ya29\./);
    assert.equal(fake.count("token"), 6);
    const gaps = fake.requests.slice(1).map((r, i) => r.at - fake.requests[i].at);
    // Backoff (jitter 0.5, random 0.5) 750, 1500, 3000, then the 10 s timeout + 6000, then 12000.
    assert.deepEqual(gaps, [750, 1500, 3000, 16_000, 12_000]);
    assert.ok(clock.now() - start >= 33_000);
  });

  it("gives up after maxAttempts transient failures, and the next caller tries again", async () => {
    const { clock, fake, tokens } = track(setup({}, { maxAttempts: 3 }));
    const fail = sdmError(500, "INTERNAL", "Internal error.");
    fake.script("token", fail, fail, fail);
    const err = await driveToError(clock, tokens.accessToken());
    assert.ok(err instanceof TransientGoogleError, String(err));
    assert.equal(fake.count("token"), 3);
    assert.match(await tokens.accessToken(), /^ya29\./);
  });

  it("honours Retry-After from a rate-limited token endpoint", async () => {
    const { clock, fake, tokens } = track(setup());
    fake.script("token", json(429, { error: "rate_limit_exceeded" }, { "retry-after": "20" }));
    await drive(clock, tokens.accessToken(), MINUTE, 500);
    assert.equal(fake.requests[1].at - fake.requests[0].at, 20_000);
  });

  it("surfaces invalid_grant with the re-authorize and Testing/In production advice, without retrying", async () => {
    const { fake, tokens } = track(setup({ refreshToken: "1//0some-other-refresh-token-value" }));
    const err = await tokens.accessToken().then(
      () => assert.fail("expected invalid_grant"),
      (e: unknown) => e as Error,
    );
    assert.ok(err instanceof InvalidGrantError);
    assert.equal(err.code, "invalid_grant");
    assert.match(err.message, /Token has been expired or revoked/);
    assert.match(err.message, /Authorize the nest-account again/);
    assert.match(err.message, /7 days/);
    assert.match(err.message, /"Testing"/);
    assert.match(err.message, /"In production"/);
    assert.equal(fake.count("token"), 1);
    // Dead credentials stay dead: no more requests until the node is reconfigured.
    await assert.rejects(tokens.accessToken(), InvalidGrantError);
    assert.equal(fake.count("token"), 1);
  });

  it("surfaces invalid_client without retrying", async () => {
    const { fake, tokens } = track(setup({ clientSecret: "GOCSPX-the-real-one" }));
    await assert.rejects(
      tokens.accessToken(),
      (e: unknown) => e instanceof InvalidClientError && /client ID and client secret/.test(e.message),
    );
    assert.equal(fake.count("token"), 1);
  });

  it("keeps a new refresh token from Google, emits it, and uses it next time", async () => {
    const { clock, fake, tokens } = track(setup({ tokenLifetimeS: 3600 }));
    const rotated: string[] = [];
    tokens.on("refresh-token", (t: string) => rotated.push(t));
    fake.rotateRefreshTokenTo = "1//0rotated-refresh-token-zyxwvutsrq";
    await tokens.accessToken();
    assert.deepEqual(rotated, ["1//0rotated-refresh-token-zyxwvutsrq"]);
    assert.equal(tokens.refreshToken, "1//0rotated-refresh-token-zyxwvutsrq");
    assert.ok(secrets.values().includes("1//0rotated-refresh-token-zyxwvutsrq"));
    await clock.advance(HOUR);
    assert.equal(fake.count("token"), 2);
    assert.equal(fake.requests[1].form?.refresh_token, "1//0rotated-refresh-token-zyxwvutsrq");
    assert.equal(fake.requests[1].status, 200);
  });

  describe("withToken", () => {
    it("on 401 refreshes once and retries once", async () => {
      const { fake, tokens } = track(setup());
      const seen: string[] = [];
      const first = await tokens.accessToken();
      const result = await tokens.withToken(async (token) => {
        seen.push(token);
        if (seen.length === 1) throw new UnauthenticatedError();
        return "ok";
      });
      assert.equal(result, "ok");
      assert.equal(seen.length, 2);
      assert.equal(seen[0], first);
      assert.notEqual(seen[1], first);
      assert.equal(fake.count("token"), 2);
    });

    it("lets a second 401 through: no loop", async () => {
      const { fake, tokens } = track(setup());
      let calls = 0;
      await assert.rejects(
        tokens.withToken(async () => {
          calls++;
          throw new UnauthenticatedError();
        }),
        UnauthenticatedError,
      );
      assert.equal(calls, 2);
      assert.equal(fake.count("token"), 2);
    });

    it("recovers SDM calls after Google revokes the token server side, with one refresh for many callers", async () => {
      const { fake, sdm, tokens } = track(setup());
      await sdm.device("cam-1");
      fake.revokeAccessTokens();
      const results = await Promise.all(Array.from({ length: 10 }, () => sdm.device("cam-1")));
      assert.equal(results.length, 10);
      assert.equal(fake.count("token"), 2);
      assert.equal(tokens.refreshes, 2);
      assert.deepEqual(fake.violations, []);
    });

    it("does not retry other errors", async () => {
      const { tokens } = track(setup());
      let calls = 0;
      await assert.rejects(
        tokens.withToken(async () => {
          calls++;
          throw new Error("boom");
        }),
        /boom/,
      );
      assert.equal(calls, 1);
    });
  });

  it("invalidate() makes the next caller refresh", async () => {
    const { fake, tokens } = track(setup());
    const first = await tokens.accessToken();
    tokens.invalidate();
    assert.notEqual(await tokens.accessToken(), first);
    assert.equal(fake.count("token"), 2);
  });

  it("close() cancels the timer and abandons a refresh waiting to retry", async () => {
    const { clock, fake, tokens } = track(setup());
    await tokens.accessToken();
    assert.equal(clock.timers, 1);
    tokens.invalidate();
    fake.script("token", sdmError(503, "UNAVAILABLE", "Unavailable."));
    const pending = tokens.accessToken();
    await clock.advance(0);
    assert.equal(clock.timers, 1); // the backoff sleep
    tokens.close();
    await assert.rejects(pending, ClosedError);
    assert.equal(clock.timers, 0);
    await assert.rejects(tokens.accessToken(), ClosedError);
    await clock.advance(HOUR);
    assert.equal(fake.count("token"), 2);
  });

  it("warns when a proactive refresh fails and tries again while the token lasts", async () => {
    const { clock, fake, tokens } = track(setup({ tokenLifetimeS: 3600 }, { maxAttempts: 2 }));
    const warnings: string[] = [];
    tokens.on("warning", (w: string) => warnings.push(w));
    await tokens.accessToken();
    const fail = sdmError(500, "INTERNAL", "Internal error.");
    fake.script("token", fail, fail);
    await clock.advance(55 * MINUTE + 5_000);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /ahead of time/);
    await clock.advance(MINUTE);
    assert.equal(fake.requests.at(-1)?.status, 200);
    assert.deepEqual(fake.violations, []);
  });

  it("never puts a secret in an error message", async () => {
    const messages: string[] = [];
    const issued: string[] = [];
    const collect = (e: unknown) =>
      messages.push(e instanceof Error ? `${e.message}\n${e.stack}` : String(e));

    // Google (or a proxy) echoing credentials back in error bodies.
    const s1 = track(setup({}, { maxAttempts: 1 }));
    issued.push(await s1.tokens.accessToken());
    s1.tokens.invalidate();
    s1.fake.script(
      "token",
      json(
        500,
        `upstream said refresh_token=${FAKE.refreshToken}&client_secret=${FAKE.clientSecret} ${issued[0]}`,
      ),
    );
    await s1.tokens.accessToken().catch(collect);
    s1.fake.script(
      "token",
      oauthError(400, "invalid_grant", `Bad token ${FAKE.refreshToken} for secret ${FAKE.clientSecret}`),
    );
    await s1.tokens.accessToken().catch(collect);

    // A network error whose text includes a URL with a stream token and a bearer header.
    const s2 = track(setup({}, { maxAttempts: 1 }));
    s2.fake.request = async () => {
      throw new Error(`connect failed for rtsps://h/x?auth=stream-secret-token Bearer ${FAKE.clientSecret}`);
    };
    await s2.tokens.accessToken().catch(collect);

    // Credential errors.
    try {
      new TokenKeeper({
        credentials: { clientId: "a b", clientSecret: FAKE.clientSecret, refreshToken: " " },
        tokenUrl: TOKEN_URL,
      });
    } catch (e) {
      collect(e);
    }

    assert.equal(messages.length, 4);
    for (const m of messages) {
      for (const secret of [FAKE.clientSecret, FAKE.refreshToken, ...issued, "stream-secret-token"]) {
        assert.ok(!m.includes(secret), `secret in: ${m}`);
      }
      assert.ok(!/auth=(?!\*\*\*)/.test(m), `auth= in: ${m}`);
    }
  });
});
