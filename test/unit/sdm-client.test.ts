import assert from "node:assert/strict";
import { sleep } from "../../src/clock";
import { openNestAccount } from "../../src/nest/account";
import { CommandBudget } from "../../src/nest/command-budget";
import {
  CredentialsError,
  FailedPreconditionError,
  GoogleError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitedError,
  TransientGoogleError,
  UnauthenticatedError,
} from "../../src/google/errors";
import type { HttpResponse } from "../../src/google/http";
import { SdmClient, validateProjectId } from "../../src/nest/sdm-client";
import { InvalidDeviceIdError, isCameraOffline } from "../../src/nest/sdm-errors";
import { isRetryable } from "../../src/google/retry";
import { TokenKeeper } from "../../src/google/token-keeper";
import { drive, driveToError } from "../support/drive";
import { FakeClock, flush } from "../support/fake-clock";
import {
  FAKE,
  FAKE_CREDENTIALS,
  FakeGoogleTransport,
  SDM_URL,
  TOKEN_URL,
  camera,
  json,
  sdmError,
  thermostat,
} from "../fixtures/fake-google/transport";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const P = FAKE.projectId;

function setup(options: { cameras?: number; budgetLimit?: number; streamLifetimeS?: number } = {}) {
  const clock = new FakeClock();
  const devices = Array.from({ length: options.cameras ?? 2 }, (_, i) =>
    camera(`cam-${i + 1}`, `Room ${i + 1}`),
  );
  const fake = new FakeGoogleTransport({
    clock,
    devices: [...devices, thermostat("thermo-1")],
    streamLifetimeS: options.streamLifetimeS,
  });
  const tokens = new TokenKeeper({
    credentials: FAKE_CREDENTIALS,
    tokenUrl: TOKEN_URL,
    clock,
    http: fake,
    random: () => 0.5,
  });
  const sdm = new SdmClient({
    projectId: P,
    tokens,
    baseUrl: `${SDM_URL}/`,
    clock,
    http: fake,
    random: () => 0.5,
    budget: options.budgetLimit ? new CommandBudget({ clock, limit: options.budgetLimit }) : undefined,
  });
  return { clock, fake, tokens, sdm };
}

const executes = (fake: FakeGoogleTransport) => fake.requests.filter((r) => r.route === "execute");

describe("SdmClient", () => {
  let open: { tokens: TokenKeeper; sdm: SdmClient }[] = [];
  const track = <T extends { tokens: TokenKeeper; sdm: SdmClient }>(s: T): T => {
    open.push(s);
    return s;
  };
  afterEach(() => {
    for (const s of open) {
      s.tokens.close();
      s.sdm.budget.close();
    }
    open = [];
  });

  describe("devices", () => {
    it("lists the project's devices with a bearer token", async () => {
      const { fake, sdm } = track(setup());
      const devices = await sdm.devices();
      assert.deepEqual(
        devices.map((d) => d.name.split("/").pop()),
        ["cam-1", "cam-2", "thermo-1"],
      );
      const req = fake.requests.find((r) => r.route === "devices");
      assert.equal(req?.url, `${SDM_URL}/enterprises/${P}/devices`);
      assert.match(req?.token ?? "", /^ya29\./);
    });

    it("follows nextPageToken", async () => {
      const { fake, sdm } = track(setup());
      fake.script("devices", json(200, { devices: [camera("cam-9")], nextPageToken: "page 2" }));
      const devices = await sdm.devices();
      assert.equal(devices.length, 4);
      assert.match(fake.requests.at(-1)?.url ?? "", /\?pageToken=page%202$/);
    });

    it("reads one device by short id or full name", async () => {
      const { fake, sdm } = track(setup());
      assert.equal((await sdm.device("cam-2")).name, `enterprises/${P}/devices/cam-2`);
      assert.equal(
        (await sdm.device(` enterprises/${P}/devices/cam-1 `)).name,
        `enterprises/${P}/devices/cam-1`,
      );
      assert.equal(fake.requests.at(-1)?.url, `${SDM_URL}/enterprises/${P}/devices/cam-1`);
      await assert.rejects(sdm.device("nope"), NotFoundError);
    });

    it("rejects device ids it cannot use, before any request", async () => {
      const { fake, sdm } = track(setup());
      for (const bad of [
        "",
        "../x",
        "a b",
        "enterprises/other-project/devices/cam-1",
        `enterprises/${P}/devices/`,
      ]) {
        await assert.rejects(sdm.device(bad), InvalidDeviceIdError, bad);
        await assert.rejects(sdm.execute(bad, "GenerateRtspStream", {}), InvalidDeviceIdError, bad);
      }
      await assert.rejects(
        sdm.device("enterprises/other-project/devices/cam-1"),
        /belongs to Device Access project other-project/,
      );
      assert.equal(fake.requests.length, 0);
    });

    it("describes the cameras and leaves other devices out", async () => {
      const { fake, sdm } = track(setup());
      fake.addDevice(camera("cam-1", "Garden", "Front gate"));
      const cameras = await sdm.cameras();
      assert.deepEqual(
        cameras.map((c) => [c.id, c.displayName, c.room, c.protocols]),
        [
          ["cam-1", "Front gate", "Garden", ["RTSP"]],
          ["cam-2", "Room 2", "Room 2", ["RTSP"]],
        ],
      );
    });
  });

  describe("execute", () => {
    it("posts the full command name and returns results: generate, extend, stop", async () => {
      const { fake, sdm } = track(setup());
      const gen = await sdm.execute("cam-1", "GenerateRtspStream", {});
      assert.match(gen.streamUrls.rtspUrl, /^rtsps:\/\/.*\?auth=/);
      const ext = await sdm.execute("cam-1", "ExtendRtspStream", {
        streamExtensionToken: gen.streamExtensionToken,
      });
      assert.notEqual(ext.streamExtensionToken, gen.streamExtensionToken);
      assert.deepEqual(
        await sdm.execute("cam-1", "StopRtspStream", { streamExtensionToken: ext.streamExtensionToken }),
        {},
      );
      const [first] = executes(fake);
      assert.equal(first.method, "POST");
      assert.equal(first.url, `${SDM_URL}/enterprises/${P}/devices/cam-1:executeCommand`);
      assert.deepEqual(first.data, {
        command: "sdm.devices.commands.CameraLiveStream.GenerateRtspStream",
        params: {},
      });
      assert.equal(sdm.budget.stats().granted, 3);
    });

    describe("maps each SDM error envelope to its typed error, without retrying", () => {
      const cases: [string, HttpResponse, new (...args: never[]) => GoogleError][] = [
        [
          "400 FAILED_PRECONDITION",
          sdmError(400, "FAILED_PRECONDITION", "The camera is offline."),
          FailedPreconditionError,
        ],
        [
          "400 INVALID_ARGUMENT",
          sdmError(400, "INVALID_ARGUMENT", "Invalid stream extension token."),
          InvalidArgumentError,
        ],
        [
          "403 PERMISSION_DENIED",
          sdmError(403, "PERMISSION_DENIED", "The caller does not have permission"),
          PermissionDeniedError,
        ],
        ["404 NOT_FOUND", sdmError(404, "NOT_FOUND", "Device not found."), NotFoundError],
      ];
      for (const [title, answer, type] of cases) {
        it(title, async () => {
          const { fake, sdm } = track(setup());
          fake.script("execute", answer);
          const err = await sdm.execute("cam-1", "GenerateRtspStream", {}).catch((e: unknown) => e);
          assert.ok(err instanceof type, String(err));
          assert.ok(err instanceof GoogleError && !err.transient);
          assert.match(err.message, /GenerateRtspStream on camera cam-1 failed: /);
          assert.equal(executes(fake).length, 1);
        });
      }

      it("FAILED_PRECONDITION knows an offline camera", async () => {
        const { fake, sdm } = track(setup());
        fake.script("execute", sdmError(400, "FAILED_PRECONDITION", "The camera is offline."));
        const err = await sdm.execute("cam-1", "GenerateRtspStream", {}).catch((e: unknown) => e);
        assert.ok(err instanceof FailedPreconditionError && isCameraOffline(err));
      });
    });

    it("on 401 refreshes the token once and retries once; a second 401 surfaces", async () => {
      const { fake, sdm } = track(setup());
      const unauth = sdmError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
      fake.script("execute", unauth);
      await sdm.execute("cam-1", "GenerateRtspStream", {});
      assert.equal(executes(fake).length, 2);
      assert.equal(fake.count("token"), 2);
      assert.notEqual(executes(fake)[0].token, executes(fake)[1].token);

      fake.script("execute", unauth, unauth);
      await assert.rejects(sdm.execute("cam-1", "GenerateRtspStream", {}), UnauthenticatedError);
      assert.equal(executes(fake).length, 4);
      assert.equal(fake.count("token"), 3);
    });

    it("honours Retry-After in seconds on 429, pausing the whole budget", async () => {
      const { clock, fake, sdm } = track(setup());
      fake.script("execute", sdmError(429, "RESOURCE_EXHAUSTED", "Rate limited.", { "retry-after": "7" }));
      const first = sdm.execute("cam-1", "GenerateRtspStream", {});
      await flush();
      // Another camera's command, asked during the pause, waits for it too.
      const other = sdm.execute("cam-2", "GenerateRtspStream", {});
      await drive(clock, Promise.all([first, other]), MINUTE, 250);
      const [a, b, c] = executes(fake);
      assert.equal(a.status, 429);
      assert.equal(b.at - a.at, 7_000);
      assert.equal(c.at - a.at, 7_000);
      assert.equal(sdm.budget.stats().penalties, 1);
    });

    it("honours Retry-After as an HTTP date", async () => {
      const { clock, fake, sdm } = track(setup());
      const at = new Date(clock.now() + 12_000).toUTCString();
      fake.script("execute", sdmError(429, "RESOURCE_EXHAUSTED", "Rate limited.", { "retry-after": at }));
      await drive(clock, sdm.execute("cam-1", "GenerateRtspStream", {}), MINUTE, 250);
      const [a, b] = executes(fake);
      assert.equal(b.at - a.at, 12_000);
    });

    it("backs off exponentially on 429 without Retry-After, and gives up after a bounded number", async () => {
      const { clock, fake, sdm } = track(setup());
      const limited = sdmError(
        429,
        "RESOURCE_EXHAUSTED",
        "Rate limited for the ExecuteDeviceCommand API for the user.",
      );
      fake.script("execute", limited, limited, limited, limited);
      const err = await driveToError(clock, sdm.execute("cam-1", "GenerateRtspStream", {}), HOUR);
      assert.ok(err instanceof RateLimitedError);
      const times = executes(fake).map((r) => r.at);
      assert.equal(times.length, 4);
      assert.deepEqual(
        times.slice(1).map((t, i) => t - times[i]),
        [7_500, 15_000, 30_000],
      );
    });

    it("recovers from a burst of 5xx and network failures, bounded", async () => {
      const { clock, fake, sdm } = track(setup());
      fake.script("execute", sdmError(503, "UNAVAILABLE", "Unavailable."), "network", json(500, "oops"));
      const gen = await drive(clock, sdm.execute("cam-1", "GenerateRtspStream", {}), MINUTE, 250);
      assert.ok(gen.streamToken);
      assert.equal(executes(fake).length, 4);

      const fail = sdmError(500, "INTERNAL", "Internal error.");
      fake.script("execute", fail, fail, fail, fail);
      const err = await driveToError(clock, sdm.execute("cam-1", "GenerateRtspStream", {}), HOUR);
      assert.ok(err instanceof TransientGoogleError);
      assert.equal(executes(fake).length, 8);
      assert.ok(!isRetryable(err), "given up on: final for any loop above (no retries of retries)");
    });

    it("singleTry makes one try per call, yet a 429 still pauses the shared budget", async () => {
      const { clock, fake, sdm } = track(setup());
      const once = sdm.singleTry;
      assert.equal(once.budget, sdm.budget);
      fake.script("execute", sdmError(503, "UNAVAILABLE", "Unavailable."));
      const failed = await once.execute("cam-1", "GenerateRtspStream", {}).catch((e: unknown) => e);
      assert.ok(failed instanceof TransientGoogleError);
      assert.ok(isRetryable(failed), "the caller's own schedule may try again");
      assert.equal(executes(fake).length, 1);
      fake.script("execute", sdmError(429, "RESOURCE_EXHAUSTED", "Rate limited.", { "retry-after": "7" }));
      await assert.rejects(once.execute("cam-1", "GenerateRtspStream", {}), RateLimitedError);
      assert.equal(sdm.budget.stats().penalties, 1);
      // The retrying client waits for the pause too: Google's window is the project's.
      const start = clock.now();
      await drive(clock, sdm.execute("cam-2", "GenerateRtspStream", {}), MINUTE, 250);
      assert.ok((executes(fake).at(-1)?.at ?? 0) - start >= 6_000);
    });

    it("rejects an answer without the documented results", async () => {
      const { fake, sdm } = track(setup());
      fake.script("execute", json(200, { results: { streamToken: "x" } }));
      await assert.rejects(
        sdm.execute("cam-1", "GenerateRtspStream", {}),
        /no streamExtensionToken, expiresAt, streamUrls.rtspUrl/,
      );
    });

    it("abandons a command waiting for the budget when its signal aborts, sending nothing", async () => {
      const s = track(setup({ budgetLimit: 1 }));
      await s.sdm.budget.acquire();
      const controller = new AbortController();
      const pending = s.sdm.execute("cam-1", "GenerateRtspStream", {}, { signal: controller.signal });
      await flush();
      controller.abort(new Error("stream stopped"));
      await assert.rejects(pending, /stream stopped/);
      assert.equal(executes(s.fake).length, 0);
    });

    it("never puts a token or secret in an error message", async () => {
      const { fake, sdm, tokens } = track(setup());
      const token = await tokens.accessToken();
      fake.script(
        "execute",
        sdmError(
          400,
          "INVALID_ARGUMENT",
          `Bad request for rtsps://h/x?auth=abcdef123456 with Bearer ${token} and ${FAKE.clientSecret}`,
        ),
      );
      const err = (await sdm.execute("cam-1", "GenerateRtspStream", {}).catch((e: unknown) => e)) as Error;
      assert.ok(err instanceof InvalidArgumentError);
      for (const secret of [token, FAKE.clientSecret, "abcdef123456"])
        assert.ok(!err.message.includes(secret), err.message);
      assert.ok(!(err.stack ?? "").includes(token));
    });
  });

  it("keeps eight cameras under 10 commands per sliding minute for a simulated hour, dropping none", async function () {
    this.timeout(60_000);
    // The queue can hold a command past a 5-minute stream's life, and Google refuses extending or
    // stopping an expired stream: this test is about the budget, so its streams live 10 minutes.
    const { clock, fake, sdm } = track(setup({ cameras: 8, streamLifetimeS: 10 * 60 }));
    const t0 = clock.now();
    let issued = 0;
    let completed = 0;
    let maxQueued = 0;
    const waits: number[] = [];
    const run = async <T>(fn: () => Promise<T>): Promise<T> => {
      issued++;
      const asked = clock.now();
      const result = await fn();
      waits.push(clock.now() - asked);
      completed++;
      return result;
    };
    // Each camera: generate, extend every 4 minutes, a restart (stop + generate) at about 30 minutes
    // and, for half of them, an extra generate at 45 minutes (another session, e.g. a second flow).
    const cameraLoop = async (id: string, index: number) => {
      let ext = (await run(() => sdm.execute(id, "GenerateRtspStream", {}))).streamExtensionToken;
      let restarted = false;
      let extra = index % 2 === 1;
      while (clock.now() - t0 < HOUR) {
        await sleep(clock, 4 * MINUTE);
        maxQueued = Math.max(maxQueued, sdm.budget.stats().queued);
        if (!restarted && clock.now() - t0 >= 30 * MINUTE) {
          restarted = true;
          await run(() => sdm.execute(id, "StopRtspStream", { streamExtensionToken: ext }));
          ext = (await run(() => sdm.execute(id, "GenerateRtspStream", {}))).streamExtensionToken;
          continue;
        }
        if (extra && clock.now() - t0 >= 45 * MINUTE) {
          extra = false;
          void run(() => sdm.execute(id, "GenerateRtspStream", {}));
        }
        ext = (await run(() => sdm.execute(id, "ExtendRtspStream", { streamExtensionToken: ext })))
          .streamExtensionToken;
      }
    };
    const loops = Promise.all(Array.from({ length: 8 }, (_, i) => cameraLoop(`cam-${i + 1}`, i)));
    const sampler = (async () => {
      while (clock.now() - t0 < HOUR) {
        maxQueued = Math.max(maxQueued, sdm.budget.stats().queued);
        await sleep(clock, 1_000);
      }
    })();
    await drive(clock, Promise.all([loops, sampler]), 2 * HOUR, 1_000);
    await drive(
      clock,
      (async () => {
        while (completed < issued) await sleep(clock, 1_000);
      })(),
      10 * MINUTE,
    );

    const sent = executes(fake);
    assert.ok(issued > 130, `issued ${issued}`);
    assert.equal(completed, issued, "every command completed");
    assert.equal(sent.length, issued, "one request per command: nothing dropped, nothing retried");
    assert.ok(
      sent.every((r) => r.status === 200),
      "no 429 or other error",
    );
    assert.ok(fake.maxInWindow("execute", MINUTE) <= 10, `max per minute ${fake.maxInWindow("execute")}`);
    assert.equal(fake.maxInWindow("execute", MINUTE), 10, "the bursts did fill the budget");
    assert.ok(maxQueued > 0 && Math.max(...waits) > 0, "some commands had to queue");
    assert.deepEqual(fake.violations, []);
  });
});

describe("project id and account", () => {
  it("validates the project id", () => {
    assert.equal(validateProjectId(` ${P} `), P);
    for (const bad of ["", "  ", "a/b", "a b", undefined]) {
      assert.throws(() => validateProjectId(bad), CredentialsError);
    }
  });

  it("openNestAccount checks project and credentials without a request", () => {
    const clock = new FakeClock();
    const fake = new FakeGoogleTransport({ clock });
    const endpoints = { oauthTokenUrl: TOKEN_URL, sdmApiUrl: SDM_URL };
    assert.throws(
      () => openNestAccount({ ...FAKE, projectId: "x/y", endpoints, clock, http: fake }),
      /project ID is not valid/,
    );
    assert.throws(
      () => openNestAccount({ projectId: P, clientId: FAKE.clientId, endpoints, clock, http: fake }),
      (e: unknown) =>
        e instanceof CredentialsError && /has no client secret or refresh token/.test(e.message),
    );
    assert.equal(fake.requests.length, 0);
  });

  it("openNestAccount wires tokens, budget and SDM together, and close() leaves no timer", async () => {
    const clock = new FakeClock();
    const fake = new FakeGoogleTransport({ clock });
    const account = openNestAccount({
      projectId: P,
      ...FAKE_CREDENTIALS,
      endpoints: { oauthTokenUrl: TOKEN_URL, sdmApiUrl: SDM_URL },
      clock,
      http: fake,
    });
    const tokenEvents: unknown[] = [];
    account.on("token", (e) => tokenEvents.push(e));
    assert.equal((await account.sdm.cameras()).length, 1);
    assert.equal(account.sdm.budget, account.budget);
    assert.equal(tokenEvents.length, 1);
    account.close();
    assert.equal(clock.timers, 0);
  });
});
