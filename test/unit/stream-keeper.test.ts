import assert from "node:assert/strict";
import {
  CredentialsError,
  InvalidArgumentError,
  InvalidGrantError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitedError,
  TransientGoogleError,
  UnauthenticatedError,
} from "../../src/google/errors";
import {
  StreamKeeper,
  withStreamToken,
  type StreamKeeperOptions,
  type StreamState,
  type StreamUrlEvent,
} from "../../src/stream/stream-keeper";
import { secrets } from "../../src/redact";
import { FakeClock, flush } from "../support/fake-clock";
import {
  cameraDevice,
  DEVICE_ID,
  FakeSdmRunner,
  PROJECT,
  thermostatDevice,
  tokenOf,
  type FakeCall,
} from "../fixtures/fake-google/sdm-runner";
import { assertNoSecrets as assertNoneIn } from "../support/secrets";
import { refusalText } from "../support/catalog";
import { warnText, whyText } from "../support/stream-reasons";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const LIFETIME = 5 * MINUTE;

function setup(
  options: {
    lifetimeMs?: number;
    device?: ReturnType<typeof cameraDevice>;
    keeper?: Partial<StreamKeeperOptions>;
  } = {},
) {
  const clock = new FakeClock();
  const sdm = new FakeSdmRunner(clock, { lifetimeMs: options.lifetimeMs, device: options.device });
  const keeper = new StreamKeeper({
    sdm,
    deviceId: DEVICE_ID,
    clock,
    random: () => 0.5,
    // The error states in the words users read: the node's catalog.
    errorText: (err: unknown) => refusalText("nest-stream", err),
    ...options.keeper,
  });
  const urls: StreamUrlEvent[] = [];
  const states: StreamState[] = [];
  const warnings: string[] = [];
  keeper.on("url", (e) => urls.push(e));
  keeper.on("state", (s) => states.push(s));
  keeper.on("warning", (w) => warnings.push(warnText(w)));
  /** Runs `ms` of fake time in steps, checking the advertised URL is alive at every step. */
  const runLive = async (ms: number, step = 5 * SECOND) => {
    for (let t = 0; t < ms; t += step) {
      await clock.advance(Math.min(step, ms - t));
      assert.ok(keeper.url, `no URL advertised at +${clock.now() - t0}ms`);
      assert.ok(sdm.isAlive(keeper.url), `advertised stream not alive at +${clock.now() - t0}ms`);
      assert.equal(urls[urls.length - 1].url, keeper.url);
    }
  };
  const t0 = clock.now();
  return { clock, sdm, keeper, urls, states, warnings, runLive, t0 };
}

function extendToken(call: FakeCall): string {
  return (call.params as { streamExtensionToken: string }).streamExtensionToken;
}

/** No secret issued by the fake appears in any text the keeper handed out. */
function assertNoSecrets(sdm: FakeSdmRunner, states: StreamState[], warnings: string[]): void {
  const texts = [...states.map((s) => JSON.stringify(s)), ...warnings];
  assertNoneIn(texts, sdm.allTokens());
  for (const text of texts) assert.doesNotMatch(text, /auth=(?!\*\*\*)/);
}

describe("StreamKeeper", () => {
  describe("a simulated day", () => {
    it("keeps one stream alive all day with one extend per lifetime, newest tokens throughout", async function () {
      this.timeout(60_000);
      const { clock, sdm, keeper, urls, states, warnings, runLive, t0 } = setup();
      keeper.start();
      await clock.advance(0);
      assert.equal(urls.length, 1);
      assert.deepEqual(
        { ...urls[0], url: "…", expiresAt: "…" },
        {
          event: "started",
          url: "…",
          expiresAt: "…",
          deviceId: DEVICE_ID,
          camera: "Front door",
          protocol: "RTSP",
        },
      );
      assert.equal(urls[0].expiresAt, new Date(t0 + LIFETIME).toISOString());
      assert.deepEqual(states.at(-1), { state: "live", expiresAt: urls[0].expiresAt, camera: "Front door" });

      await runLive(DAY);

      // Extends come when a minute is left: every 4 minutes of a 5-minute stream, so exactly
      // DAY / 4 min = 360 of them, and never a second generate.
      const extendPeriod = LIFETIME - MINUTE;
      assert.equal(sdm.commands("GenerateRtspStream").length, 1);
      assert.equal(sdm.commands("device").length, 1);
      const extends_ = sdm.commands("ExtendRtspStream");
      assert.equal(extends_.length, DAY / extendPeriod);
      assert.equal(sdm.commands().length, 1 + DAY / extendPeriod);
      extends_.forEach((call, i) => {
        assert.equal(call.at, t0 + (i + 1) * extendPeriod, `extend ${i} at the wrong time`);
        assert.equal(call.outcome, "ok");
      });

      // Every extend used the extension token of the answer before it.
      const stream = sdm.streams[0];
      assert.deepEqual(extends_.map(extendToken), stream.extensionTokens.slice(0, -1));

      // Every URL carried the newest streamToken; extends are announced as "extended".
      assert.equal(urls.length, 1 + extends_.length);
      assert.ok(urls.slice(1).every((u) => u.event === "extended"));
      assert.deepEqual(
        urls.map((u) => tokenOf(u.url)),
        stream.streamTokens,
      );
      assert.ok(
        urls.every((u) => u.url!.startsWith(`rtsps://stream-ue1-delta.dropcam.com:443/sdm_live_stream/`)),
      );
      assert.equal(urls.at(-1)!.expiresAt, new Date(stream.expiresAt).toISOString());

      // States: live ↔ extending only.
      assert.deepEqual(new Set(states.map((s) => s.state)), new Set(["starting", "live", "extending"]));

      await keeper.stop();
      assert.equal(sdm.commands("StopRtspStream").length, 1);
      assert.equal(extendToken(sdm.commands("StopRtspStream")[0]), stream.extensionTokens.at(-1));
      assert.equal(clock.timers, 0);
      assert.deepEqual(sdm.liveStreams(), []);
      assert.deepEqual(warnings, []);
      assertNoSecrets(sdm, states, warnings);
      // The dead tokens are dropped from the process-wide redaction registry (it must not grow all day).
      const registered = new Set(secrets.values());
      assert.ok(sdm.allTokens().every((t) => !registered.has(t)));
    });

    it("scales the extend lead to short-lived streams (20 s) and still never lapses", async () => {
      const { clock, sdm, keeper, runLive } = setup({ lifetimeMs: 20 * SECOND });
      keeper.start();
      await clock.advance(0);
      await runLive(HOUR, SECOND);
      // A quarter of 20 s = 5 s lead: an extend every 15 s.
      assert.equal(sdm.commands("ExtendRtspStream").length, HOUR / (15 * SECOND));
      assert.equal(sdm.commands("GenerateRtspStream").length, 1);
      await keeper.stop();
      assert.equal(clock.timers, 0);
    });

    it("does not trust an expiresAt further away than a stream lives (local clock behind Google's)", async () => {
      const { clock, sdm, keeper, runLive, t0, warnings } = setup();
      sdm.reportSkewMs = 10 * MINUTE;
      keeper.start();
      await clock.advance(0);
      await runLive(HOUR);
      assert.equal(sdm.commands("GenerateRtspStream").length, 1);
      assert.equal(sdm.commands("ExtendRtspStream")[0].at, t0 + 4 * MINUTE);
      assert.equal(sdm.commands("ExtendRtspStream").length, 15);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /off by minutes from this system's clock: check the system time/);
      await keeper.stop();
    });
  });

  describe("recovering a failed extend", () => {
    it("retries a transient (5xx) extend failure and carries on with the same stream", async () => {
      const { clock, sdm, keeper, urls, states, runLive, t0 } = setup();
      sdm.fail("ExtendRtspStream", new TransientGoogleError("SDM API answered 503 Service Unavailable", 503));
      keeper.start();
      await clock.advance(0);
      await runLive(30 * MINUTE);
      const extends_ = sdm.commands("ExtendRtspStream");
      assert.equal(extends_[0].outcome, "TransientGoogleError");
      assert.equal(extends_[1].outcome, "ok");
      // Backoff 2 s with jitter (random 0.5, jitter 0.5 → 1.5 s).
      assert.equal(extends_[1].at - extends_[0].at, 1500);
      assert.equal(extendToken(extends_[1]), extendToken(extends_[0]));
      assert.equal(sdm.commands("GenerateRtspStream").length, 1);
      assert.ok(!urls.some((u) => u.event === "restarted"));
      const retrying = states.find((s) => s.state === "retrying")!;
      assert.match(whyText(retrying.why), /extend failed.*503.*next try in 2 s, stream still live/);
      assert.ok(retrying.expiresAt);
      // The next extend is armed from the new expiry, not from a fixed period.
      assert.equal(extends_[2].at, extends_[1].at + 4 * MINUTE);
      assert.ok(t0 < extends_[0].at);
      await keeper.stop();
      assert.equal(clock.timers, 0);
    });

    it("generates a new stream (restarted) when the extension token is rejected", async () => {
      const { clock, sdm, keeper, urls, states, runLive } = setup();
      sdm.fail("ExtendRtspStream", new InvalidArgumentError("Stream extension token expired."));
      keeper.start();
      await clock.advance(0);
      await runLive(20 * MINUTE);
      assert.equal(sdm.commands("GenerateRtspStream").length, 2);
      const events = urls.map((u) => u.event);
      assert.deepEqual(events.slice(0, 2), ["started", "restarted"]);
      assert.notEqual(sdm.streamOf(urls[1].url), sdm.streamOf(urls[0].url));
      // No retrying the rejected token, no stopping the dead session: one extend, then generate.
      const first = sdm
        .commands()
        .slice(0, 3)
        .map((c) => c.command);
      assert.deepEqual(first, ["GenerateRtspStream", "ExtendRtspStream", "GenerateRtspStream"]);
      assert.ok(
        states.some(
          (s) => s.state === "retrying" && /token rejected.*starting a new stream/.test(whyText(s.why)),
        ),
      );
      assert.equal(sdm.commands("StopRtspStream").length, 0);
      await keeper.stop();
    });

    it("waits for Retry-After on a 429 and then extends", async () => {
      const { clock, sdm, keeper, urls, states, runLive } = setup();
      sdm.fail(
        "ExtendRtspStream",
        new RateLimitedError("Rate limited for the ExecuteDeviceCommand API for the user.", 20 * SECOND),
      );
      keeper.start();
      await clock.advance(0);
      await runLive(10 * MINUTE, SECOND);
      const extends_ = sdm.commands("ExtendRtspStream");
      assert.equal(extends_[0].outcome, "RateLimitedError");
      assert.equal(extends_[1].outcome, "ok");
      assert.equal(extends_[1].at - extends_[0].at, 20 * SECOND);
      assert.equal(sdm.commands("GenerateRtspStream").length, 1);
      assert.ok(
        states.some((s) => s.state === "retrying" && /rate limited.*next try in 20 s/.test(whyText(s.why))),
      );
      assert.deepEqual(
        urls.map((u) => u.event),
        ["started", "extended", "extended"],
      );
      await keeper.stop();
    });

    it("starts a new stream before the old one expires when extends keep failing", async () => {
      const { clock, sdm, keeper, urls, states, runLive, t0 } = setup();
      const failUntil = t0 + LIFETIME;
      sdm.fail(
        "ExtendRtspStream",
        ...Array.from(
          { length: 20 },
          () => (call: FakeCall) =>
            call.at < failUntil ? new TransientGoogleError("socket hang up") : undefined,
        ),
      );
      keeper.start();
      await clock.advance(0);
      await runLive(30 * MINUTE, SECOND);
      const failed = sdm.commands("ExtendRtspStream").filter((c) => c.outcome !== "ok");
      // Backoff 1.5, 3, 6, 12, 24 s from the first try at 4:00; the next (48 s) would not fit
      // before the 10 s safety margin, so the keeper generates at 4:46.5 instead.
      assert.deepEqual(
        failed.map((c) => c.at - t0),
        [240_000, 241_500, 244_500, 250_500, 262_500, 286_500],
      );
      const generates = sdm.commands("GenerateRtspStream");
      assert.equal(generates.length, 2);
      assert.equal(generates[1].at - t0, 286_500);
      assert.equal(urls[1].event, "restarted");
      assert.ok(
        states.some((s) =>
          /could not extend the stream in time \(Google error: socket hang up\)/.test(whyText(s.why)),
        ),
      );
      await keeper.stop();
      assert.equal(clock.timers, 0);
    });

    it("retries an extend after UNAUTHENTICATED (token refresh is the client's job)", async () => {
      const { clock, sdm, keeper, runLive } = setup();
      sdm.fail("ExtendRtspStream", new UnauthenticatedError());
      keeper.start();
      await clock.advance(0);
      await runLive(10 * MINUTE);
      assert.equal(sdm.commands("GenerateRtspStream").length, 1);
      assert.deepEqual(
        sdm.commands("ExtendRtspStream").map((c) => c.outcome),
        ["UnauthenticatedError", "ok", "ok"],
      );
      await keeper.stop();
    });

    it("stops with an error (and a stopped URL) when access is revoked mid-stream, then sends nothing", async () => {
      const { clock, sdm, keeper, urls, states } = setup();
      sdm.fail("ExtendRtspStream", new PermissionDeniedError("The caller does not have permission"));
      keeper.start();
      await clock.advance(5 * MINUTE);
      const error = states.at(-1)!;
      assert.equal(error.state, "error");
      assert.match(
        error.reason!,
        /^Google denied access to camera "Front door".*authorize the account again/,
      );
      assert.equal(urls.at(-1)!.event, "stopped");
      assert.equal(urls.at(-1)!.url, null);
      const count = sdm.calls.length;
      await clock.advance(HOUR);
      assert.equal(sdm.calls.length, count);
      assert.equal(clock.timers, 0);
      assert.equal(keeper.running, false);
    });
  });

  describe("starting", () => {
    it("retries an offline camera with backoff, says so, and goes live when it is back", async () => {
      const { clock, sdm, keeper, urls, states } = setup();
      sdm.offline = true;
      keeper.start();
      await clock.advance(10 * MINUTE);
      assert.equal(urls.length, 0);
      const retrying = states.filter((s) => s.state === "retrying");
      assert.ok(retrying.length > 3);
      assert.match(
        whyText(retrying[0].why),
        /^camera offline: check that "Front door" is online in the Google Home app; next try in 2 s$/,
      );
      assert.equal(retrying[0].camera, "Front door");
      const gaps = sdm
        .commands("GenerateRtspStream")
        .map((c, i, all) => (i ? c.at - all[i - 1].at : 0))
        .slice(1);
      assert.deepEqual(gaps.slice(0, 7), [1500, 3000, 6000, 12000, 24000, 48000, 90000]);
      sdm.offline = false;
      await clock.advance(2 * MINUTE);
      assert.equal(urls.length, 1);
      assert.equal(urls[0].event, "started");
      assert.ok(sdm.isAlive(keeper.url));
      assert.equal(states.at(-1)!.state, "live");
      await keeper.stop();
      assert.equal(clock.timers, 0);
    });

    it("retries transient failures of the lookup and of generate, and honours a 429 on generate", async () => {
      const { clock, sdm, keeper, urls, states, t0 } = setup();
      sdm.fail("device", new TransientGoogleError("connect ECONNREFUSED"));
      sdm.fail("GenerateRtspStream", new RateLimitedError("Rate limited", 30 * SECOND));
      keeper.start();
      await clock.advance(MINUTE);
      assert.equal(sdm.commands("device").length, 2);
      const generates = sdm.commands("GenerateRtspStream");
      assert.equal(generates.length, 2);
      assert.equal(generates[1].at - generates[0].at, 30 * SECOND);
      assert.ok(generates[0].at > t0);
      assert.equal(urls[0].event, "started");
      assert.ok(states.some((s) => /ECONNREFUSED/.test(whyText(s.why))));
      await keeper.stop();
    });

    it("refuses a WebRTC-only camera with a clear error and sends no command", async () => {
      const { clock, sdm, keeper, urls, states } = setup({
        device: cameraDevice({ protocols: ["WEB_RTC"] }),
      });
      keeper.start();
      await clock.advance(HOUR);
      assert.deepEqual(states.at(-1), {
        state: "error",
        camera: "Front door",
        reason:
          'Camera "Front door" offers only WebRTC, so it cannot stream via RTSP: set Protocol to "auto" or ' +
          '"WebRTC" in the nest-stream node.',
      });
      assert.equal(sdm.commands().length, 0);
      assert.equal(sdm.commands("device").length, 1);
      assert.equal(urls.length, 0);
      assert.equal(clock.timers, 0);
      assert.equal(keeper.running, false);
    });

    it("refuses an unknown device, naming it and saying to check the id and the sharing", async () => {
      const { clock, sdm, keeper, states } = setup();
      sdm.fail("device", new NotFoundError("Device enterprises/p/devices/x not found."));
      keeper.start();
      await clock.advance(HOUR);
      const error = states.at(-1)!;
      assert.equal(error.state, "error");
      assert.match(error.reason!, new RegExp(`^Camera "${DEVICE_ID}" was not found`));
      assert.match(error.reason!, /check the device id/i);
      assert.match(error.reason!, /shared .* when the nest-account was authorized/);
      assert.equal(sdm.calls.length, 1);
      assert.equal(clock.timers, 0);
    });

    it("refuses a device that is not a camera, saying what it is", async () => {
      const { clock, sdm, keeper, states } = setup({ device: thermostatDevice() });
      keeper.start();
      await clock.advance(HOUR);
      assert.deepEqual(states.at(-1), {
        state: "error",
        camera: "Hallway",
        reason: 'Device "Hallway" is a thermostat, not a camera: pick a camera in the nest-stream node.',
      });
      assert.equal(sdm.commands().length, 0);
      assert.equal(clock.timers, 0);
    });

    it("stops on credential errors, passing on what to do", async () => {
      for (const err of [
        new InvalidGrantError("Token has been expired or revoked.", "nest-account"),
        new CredentialsError("No refresh token: authorize the account."),
      ]) {
        const { clock, sdm, keeper, states } = setup();
        sdm.fail("GenerateRtspStream", err);
        keeper.start();
        await clock.advance(HOUR);
        const error = states.at(-1)!;
        assert.equal(error.state, "error");
        assert.ok(error.reason!.startsWith('Camera "Front door": '));
        assert.ok(
          error.reason!.includes(
            err instanceof InvalidGrantError ? "Authorize the nest-account again" : "authorize the account",
          ),
        );
        assert.equal(sdm.commands().length, 1);
        assert.equal(clock.timers, 0);
      }
    });

    it("takes the full device name and talks to the client with the short id", async () => {
      const clock = new FakeClock();
      const sdm = new FakeSdmRunner(clock);
      const keeper = new StreamKeeper({ sdm, deviceId: `${PROJECT}/devices/${DEVICE_ID}`, clock });
      const urls: StreamUrlEvent[] = [];
      keeper.on("url", (u) => urls.push(u));
      keeper.start();
      await clock.advance(0);
      assert.equal(keeper.deviceId, `${PROJECT}/devices/${DEVICE_ID}`);
      assert.ok(sdm.calls.every((c) => c.deviceId === DEVICE_ID));
      assert.equal(urls[0].deviceId, DEVICE_ID);
      await keeper.stop();
      assert.throws(() => new StreamKeeper({ sdm, deviceId: "  ", clock }), /needs a device id/);
    });

    it("treats a second start as harmless", async () => {
      const { clock, sdm, keeper, urls } = setup();
      keeper.start();
      keeper.start();
      await clock.advance(0);
      keeper.start();
      await clock.advance(MINUTE);
      assert.equal(sdm.commands("device").length, 1);
      assert.equal(sdm.commands("GenerateRtspStream").length, 1);
      assert.equal(urls.length, 1);
      await keeper.stop();
    });
  });

  describe("stopping", () => {
    it("stops with the newest extension token, cancels every timer and reports stopped", async () => {
      const { clock, sdm, keeper, urls, states, warnings } = setup();
      keeper.start();
      await clock.advance(13 * MINUTE);
      assert.equal(sdm.commands("ExtendRtspStream").length, 3);
      await keeper.stop();
      const stop = sdm.commands("StopRtspStream");
      assert.equal(stop.length, 1);
      assert.equal(extendToken(stop[0]), sdm.streams[0].extensionTokens.at(-1));
      assert.equal(stop[0].outcome, "ok");
      assert.equal(clock.timers, 0);
      assert.deepEqual(urls.at(-1), {
        event: "stopped",
        url: null,
        expiresAt: null,
        deviceId: DEVICE_ID,
        camera: "Front door",
        protocol: "RTSP",
      });
      assert.deepEqual(states.at(-1), { state: "stopped", camera: "Front door" });
      assert.equal(keeper.url, null);
      assert.deepEqual(warnings, []);
      const count = sdm.calls.length;
      await clock.advance(HOUR);
      assert.equal(sdm.calls.length, count);
      // A second stop is a no-op.
      await keeper.stop();
      assert.equal(sdm.calls.length, count);
      assert.equal(urls.filter((u) => u.event === "stopped").length, 1);
    });

    it("stops the stream a generate in flight brings back", async () => {
      const { clock, sdm, keeper, urls, states } = setup();
      const gate = sdm.hold("GenerateRtspStream");
      keeper.start();
      await clock.advance(0);
      assert.equal(sdm.commands("GenerateRtspStream").length, 1);
      const stopped = keeper.stop();
      assert.equal(states.at(-1)!.state, "stopped");
      gate.release();
      await stopped;
      assert.equal(sdm.streams.length, 1);
      assert.deepEqual(sdm.liveStreams(), []);
      assert.equal(extendToken(sdm.commands("StopRtspStream")[0]), sdm.streams[0].extensionTokens[0]);
      assert.equal(urls.length, 0);
      assert.equal(states.at(-1)!.state, "stopped");
      assert.equal(clock.timers, 0);
    });

    it("gives up waiting for a device lookup without a warning: a lookup brings no stream to stop", async () => {
      const { clock, sdm, keeper, urls, states, warnings } = setup();
      const gate = sdm.hold("device");
      keeper.start();
      await clock.advance(0);
      assert.equal(sdm.commands("device").length, 1);
      const stopped = keeper.stop();
      await clock.advance(5 * SECOND);
      await stopped;
      assert.deepEqual(warnings, []);
      assert.equal(states.at(-1)!.state, "stopped");
      gate.release();
      await flush();
      assert.equal(sdm.commands("GenerateRtspStream").length, 0);
      assert.equal(urls.length, 0);
      assert.equal(clock.timers, 0);
    });

    it("stops a stream that comes back only after stop() gave up waiting", async () => {
      const { clock, sdm, keeper, urls, warnings } = setup();
      const gate = sdm.hold("GenerateRtspStream");
      keeper.start();
      await clock.advance(0);
      const stopped = keeper.stop();
      await clock.advance(5 * SECOND);
      await stopped;
      assert.match(warnings[0], /GenerateRtspStream had not answered when the stream was stopped/);
      assert.equal(clock.timers, 0);
      gate.release();
      await flush();
      assert.equal(sdm.commands("StopRtspStream").length, 1);
      assert.deepEqual(sdm.liveStreams(), []);
      assert.equal(urls.length, 0);
    });

    it("stops with the token an extend in flight brings back", async () => {
      const { clock, sdm, keeper } = setup();
      keeper.start();
      await clock.advance(0);
      const gate = sdm.hold("ExtendRtspStream");
      await clock.advance(4 * MINUTE);
      assert.equal(sdm.commands("ExtendRtspStream").length, 1);
      const stopped = keeper.stop();
      gate.release();
      await stopped;
      const stream = sdm.streams[0];
      assert.equal(stream.extensionTokens.length, 2);
      assert.equal(extendToken(sdm.commands("StopRtspStream")[0]), stream.extensionTokens[1]);
      assert.equal(sdm.commands("StopRtspStream")[0].outcome, "ok");
      assert.deepEqual(sdm.liveStreams(), []);
    });

    it("stops while retrying without sending anything more", async () => {
      const { clock, sdm, keeper, states } = setup();
      sdm.offline = true;
      keeper.start();
      await clock.advance(MINUTE);
      const count = sdm.calls.length;
      await keeper.stop();
      assert.equal(sdm.calls.length, count);
      assert.equal(states.at(-1)!.state, "stopped");
      assert.equal(clock.timers, 0);
    });

    it("bounds a StopRtspStream that does not answer and reports it as a warning", async () => {
      const { clock, sdm, keeper, warnings } = setup();
      keeper.start();
      await clock.advance(MINUTE);
      sdm.hold("StopRtspStream");
      const stopped = keeper.stop();
      let done = false;
      void stopped.then(() => (done = true));
      await clock.advance(4999);
      assert.equal(done, false);
      await clock.advance(1);
      assert.equal(done, true);
      assert.match(
        warnings[0],
        /^Camera "Front door": StopRtspStream did not answer within 5 s; the stream ends on its own by /,
      );
      assert.equal(clock.timers, 0);
    });

    it("swallows a failed StopRtspStream but reports it, redacted", async () => {
      const { clock, sdm, keeper, states, warnings } = setup();
      keeper.start();
      await clock.advance(MINUTE);
      const url = keeper.url!;
      sdm.fail("StopRtspStream", new TransientGoogleError(`upstream reset while stopping ${url}`));
      await keeper.stop();
      assert.equal(warnings.length, 1);
      assert.match(
        warnings[0],
        /StopRtspStream failed \(upstream reset while stopping rtsps:\/\/.*auth=\*\*\*\); the stream ends/,
      );
      assertNoSecrets(sdm, states, warnings);
    });

    it("restart() stops the session and starts a new one", async () => {
      const { clock, sdm, keeper, urls } = setup();
      keeper.start();
      await clock.advance(MINUTE);
      await keeper.restart();
      await clock.advance(0);
      assert.deepEqual(
        urls.map((u) => u.event),
        ["started", "stopped", "started"],
      );
      assert.equal(sdm.commands("StopRtspStream").length, 1);
      assert.equal(sdm.commands("GenerateRtspStream").length, 2);
      assert.equal(sdm.liveStreams().length, 1);
      assert.ok(sdm.isAlive(keeper.url));
      await keeper.stop();
      assert.equal(clock.timers, 0);
    });

    it("can start again after an error", async () => {
      const { clock, sdm, keeper, states } = setup();
      sdm.fail("device", new NotFoundError("not found"));
      keeper.start();
      await clock.advance(0);
      assert.equal(states.at(-1)!.state, "error");
      keeper.start();
      await clock.advance(0);
      assert.equal(states.at(-1)!.state, "live");
      await keeper.stop();
      assert.deepEqual(states.at(-1), { state: "stopped", camera: "Front door" });
    });
  });

  describe("secrets", () => {
    it("never puts a stream or extension token in a state reason or a warning", async () => {
      const { clock, sdm, keeper, states, warnings } = setup();
      // Errors that echo the token they were given, and the URL.
      sdm.fail(
        "ExtendRtspStream",
        (call) => new TransientGoogleError(`bad gateway for token ${extendToken(call)} and ${keeper.url}`),
        (call) => new InvalidArgumentError(`token ${extendToken(call)} rejected`),
      );
      keeper.start();
      await clock.advance(20 * MINUTE);
      assert.ok(states.some((s) => whyText(s.why).includes("bad gateway for token ***")));
      assert.ok(states.some((s) => whyText(s.why).includes("token *** rejected")));
      sdm.fail("StopRtspStream", (call) => new TransientGoogleError(`could not stop ${extendToken(call)}`));
      await keeper.stop();
      assert.equal(warnings.length, 1);
      assertNoSecrets(sdm, states, warnings);
    });
  });

  describe("withStreamToken", () => {
    it("replaces the auth= query parameter, or adds one", () => {
      const base = "rtsps://stream-ue1-delta.dropcam.com:443/sdm_live_stream/CjY5Y3?auth=OLD.tok";
      assert.equal(
        withStreamToken(base, "NEW.tok"),
        "rtsps://stream-ue1-delta.dropcam.com:443/sdm_live_stream/CjY5Y3?auth=NEW.tok",
      );
      assert.equal(withStreamToken("rtsps://h/p?a=1&auth=x&b=2", "y"), "rtsps://h/p?a=1&auth=y&b=2");
      assert.equal(withStreamToken("rtsps://h/p", "y"), "rtsps://h/p?auth=y");
      assert.equal(withStreamToken("rtsps://h/p?a=1", "y&z"), "rtsps://h/p?a=1&auth=y%26z");
    });
  });
});
