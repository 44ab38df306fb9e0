/**
 * The one device lookup and the one set of camera checks (camera-check.ts), on a FakeClock.
 */
import assert from "node:assert/strict";
import { Backoff } from "../../src/backoff";
import { sleep } from "../../src/clock";
import { NotFoundError, RateLimitedError, TransientGoogleError } from "../../src/google/errors";
import { retryDelay } from "../../src/google/retry";
import { describeDevice } from "../../src/nest/sdm-types";
import { checkCamera, lookUpDevice, type LookupHooks } from "../../src/stream/camera-check";
import { StreamConfigError } from "../../src/stream/stream-messages";
import { whyText } from "../support/stream-reasons";
import { FakeClock } from "../support/fake-clock";
import { cameraDevice, DEVICE_ID, FakeSdmRunner, thermostatDevice } from "../fixtures/fake-google/sdm-runner";
import { refusalText, wordedAs } from "../support/catalog";

describe("camera checks", () => {
  describe("checkCamera", () => {
    it("gives the protocol to stream with", () => {
      assert.equal(
        checkCamera(describeDevice(cameraDevice({ protocols: ["RTSP", "WEB_RTC"] })), "auto"),
        "RTSP",
      );
      assert.equal(checkCamera(describeDevice(cameraDevice({ protocols: ["WEB_RTC"] })), "auto"), "WEB_RTC");
      assert.equal(
        checkCamera(describeDevice(cameraDevice({ protocols: ["RTSP", "WEB_RTC"] })), "WEB_RTC"),
        "WEB_RTC",
      );
    });

    it("refuses what is not a camera, or a protocol the camera does not offer, saying what to do", () => {
      assert.throws(
        () => checkCamera(describeDevice(thermostatDevice()), "auto"),
        (e: Error) =>
          e instanceof StreamConfigError &&
          /Hallway/.test(refusalText("nest-stream", e)) &&
          /not a camera/i.test(refusalText("nest-stream", e)),
      );
      assert.throws(
        () => checkCamera(describeDevice(cameraDevice({ protocols: ["WEB_RTC"] })), "RTSP"),
        (e: Error) =>
          e instanceof StreamConfigError &&
          /set Protocol to "auto" or "WebRTC"/.test(refusalText("nest-stream", e)),
      );
      assert.throws(
        () => checkCamera(describeDevice(cameraDevice({ protocols: [] })), "auto"),
        (e: Error) => e instanceof StreamConfigError && /Front door/.test(refusalText("nest-stream", e)),
      );
    });
  });

  describe("lookUpDevice", () => {
    function setup() {
      const clock = new FakeClock();
      const sdm = new FakeSdmRunner(clock);
      const backoff = new Backoff({ initialMs: 2_000, maxMs: 120_000, random: () => 0.5 });
      const reasons: string[] = [];
      let cancelled = false;
      const hooks: LookupHooks = {
        delay: (err) => retryDelay(backoff, err),
        wait: (ms) => sleep(clock, ms),
        check: () => {
          if (cancelled) throw new Error("cancelled");
        },
        retrying: (reason) => reasons.push(whyText(reason)),
      };
      return { clock, sdm, hooks, reasons, cancel: () => (cancelled = true) };
    }

    it("retries transient failures with backoff, honouring Retry-After, and says why and when", async () => {
      const { clock, sdm, hooks, reasons } = setup();
      sdm.fail(
        "device",
        new TransientGoogleError("backend unavailable"),
        new RateLimitedError("slow down", 30_000),
      );
      const found = lookUpDevice(sdm, DEVICE_ID, () => DEVICE_ID, hooks);
      await clock.advance(0);
      assert.equal(sdm.commands("device").length, 1);
      await clock.run(60_000);
      const device = await found;
      assert.equal(device.name.split("/").pop(), DEVICE_ID);
      assert.equal(sdm.commands("device").length, 3);
      assert.equal(reasons.length, 2);
      assert.match(reasons[0], /next try in \d+ s/);
      assert.match(reasons[1], /next try in 30 s/);
      const [, second, third] = sdm.commands("device");
      assert.ok(third.at - second.at >= 30_000);
    });

    it("a device that is not there is a configuration error, at once", async () => {
      const { sdm, hooks, reasons } = setup();
      sdm.fail("device", new NotFoundError("Device not found."));
      await assert.rejects(
        lookUpDevice(sdm, DEVICE_ID, () => "Porch", hooks),
        (e: Error) => e instanceof StreamConfigError && /Porch/.test(refusalText("nest-stream", e)),
      );
      assert.deepEqual(reasons, []);
    });

    it("no device data is a configuration error; a cancelled lookup stops retrying", async () => {
      const { clock, sdm, hooks, cancel } = setup();
      const empty = { device: async () => undefined as never };
      await assert.rejects(
        lookUpDevice(empty, DEVICE_ID, () => "Porch", hooks),
        wordedAs("nest-stream", /Camera "Porch": no device data/),
      );
      sdm.fail("device", new TransientGoogleError("backend unavailable"));
      const found = lookUpDevice(sdm, DEVICE_ID, () => "Porch", hooks);
      const outcome = found.then(
        () => "found",
        (e: Error) => e.message,
      );
      await clock.advance(0);
      cancel();
      await clock.run(60_000);
      assert.equal(await outcome, "cancelled");
      assert.equal(sdm.commands("device").length, 1);
    });
  });
});
