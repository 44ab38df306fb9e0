/**
 * StreamController: the nest-stream node's commands applied in order to real CameraStreams (RTSP
 * cameras on FakeSdmRunners, one per camera) on a FakeClock.
 */
import assert from "node:assert/strict";
import { deviceId as shortDeviceId } from "../../src/nest/sdm-types";
import { CameraStream } from "../../src/stream/camera-stream";
import { StreamController, NO_DEVICE_MESSAGE } from "../../src/stream/stream-controller";
import type { CameraUrlEvent, StreamState } from "../../src/stream/stream-state";
import { FakeClock } from "../support/fake-clock";
import { cameraDevice, FakeSdmRunner, PROJECT } from "../fixtures/fake-google/sdm-runner";

const FRONT = "cam-front";
const GARDEN = "cam-garden";

function setup(options: { deviceId?: string; create?: (id: string) => CameraStream } = {}) {
  const clock = new FakeClock();
  const runners: Record<string, FakeSdmRunner> = {
    [FRONT]: new FakeSdmRunner(clock, { device: cameraDevice({ id: FRONT, customName: "Front" }) }),
    [GARDEN]: new FakeSdmRunner(clock, { device: cameraDevice({ id: GARDEN, customName: "Garden" }) }),
  };
  const created: string[] = [];
  const controller = new StreamController({
    deviceId: options.deviceId ?? FRONT,
    create:
      options.create ??
      ((id) => {
        created.push(id);
        const sdm = runners[shortDeviceId(id)] ?? new FakeSdmRunner(clock);
        return new CameraStream({ sdm, deviceId: id, clock, random: () => 0.5 });
      }),
  });
  const urls: CameraUrlEvent[] = [];
  const states: StreamState[] = [];
  const failures: string[] = [];
  controller.on("url", (e) => urls.push(e));
  controller.on("state", (s) => states.push(s));
  controller.on("failure", (f) => failures.push(f));
  const events = () => urls.map((u) => `${u.event} ${u.deviceId}`);
  const live = (id: string) => runners[id].liveStreams().length;
  return { clock, runners, controller, urls, states, failures, created, events, live };
}

describe("StreamController", () => {
  it("starts the configured camera, and stops it", async () => {
    const { clock, controller, events, live, states } = setup();
    await controller.command({ action: "start" });
    await clock.advance(0);
    assert.deepEqual(events(), [`started ${FRONT}`]);
    assert.equal(controller.state.state, "live");
    assert.equal(live(FRONT), 1);
    await controller.command({ action: "stop" });
    assert.deepEqual(events(), [`started ${FRONT}`, `stopped ${FRONT}`]);
    assert.equal(states[states.length - 1].state, "stopped");
    assert.equal(live(FRONT), 0);
  });

  it("a switch of camera sends the old camera's stopped first, then starts the new one", async () => {
    const { clock, controller, events, live, created } = setup();
    await controller.command({ action: "start" });
    await clock.advance(0);
    await controller.command({ action: "start", deviceId: GARDEN });
    await clock.advance(0);
    assert.deepEqual(events(), [`started ${FRONT}`, `stopped ${FRONT}`, `started ${GARDEN}`]);
    assert.deepEqual(created, [FRONT, GARDEN]);
    assert.equal(live(FRONT), 0);
    assert.equal(live(GARDEN), 1);
    assert.equal(controller.stream?.shortDeviceId, GARDEN);
    await controller.close();
  });

  it("a stop that arrives during a camera switch is applied after it, never lost", async () => {
    const { clock, controller, events, live, states } = setup();
    await controller.command({ action: "start" });
    await clock.advance(0);
    const switched = controller.command({ action: "start", deviceId: GARDEN });
    const stopped = controller.command({ action: "stop" });
    await Promise.all([switched, stopped]);
    await clock.run(10_000);
    assert.deepEqual(events(), [`started ${FRONT}`, `stopped ${FRONT}`]);
    assert.equal(live(FRONT) + live(GARDEN), 0);
    assert.equal(states[states.length - 1].state, "stopped");
  });

  it("a stop that arrives during a restart is applied after it", async () => {
    const { clock, controller, events, live, runners } = setup();
    await controller.command({ action: "start" });
    await clock.advance(0);
    const stop = runners[FRONT].hold("StopRtspStream");
    const restarted = controller.command({ action: "restart" });
    const stopped = controller.command({ action: "stop" });
    await clock.advance(0);
    assert.deepEqual(events(), [`started ${FRONT}`, `stopped ${FRONT}`]);
    stop.release();
    await Promise.all([restarted, stopped]);
    await clock.run(10_000);
    assert.equal(live(FRONT), 0);
    assert.equal(controller.state.state, "stopped");
    assert.equal(controller.stream?.running, false);
  });

  it("restart makes a new session of the same camera; a start of the running camera is harmless", async () => {
    const { clock, controller, events, runners, created } = setup();
    await controller.command({ action: "start" });
    await clock.advance(0);
    await controller.command({ action: "start", deviceId: `${PROJECT}/devices/${FRONT}` });
    await clock.advance(0);
    assert.deepEqual(events(), [`started ${FRONT}`]);
    await controller.command({ action: "restart" });
    await clock.advance(0);
    assert.deepEqual(events(), [`started ${FRONT}`, `stopped ${FRONT}`, `started ${FRONT}`]);
    assert.equal(runners[FRONT].commands("GenerateRtspStream").length, 2);
    assert.deepEqual(created, [FRONT]);
    await controller.close();
  });

  it("no camera to start: rejects with what to do and shows it as the error", async () => {
    const { controller, states } = setup({ deviceId: " " });
    await assert.rejects(controller.command({ action: "start" }), { message: NO_DEVICE_MESSAGE });
    assert.deepEqual(states, [{ state: "error", reason: NO_DEVICE_MESSAGE }]);
    const custom = new StreamController({
      create: () => assert.fail("no camera"),
      noDeviceMessage: "keine Kamera",
    });
    await assert.rejects(custom.command({ action: "restart" }), { message: "keine Kamera" });
  });

  it("a stream that cannot be made is the error; a later command still works", async () => {
    let refuse = true;
    const clock = new FakeClock();
    const { controller, states, events } = setup({
      create: (id) => {
        if (refuse) throw new Error("no account");
        return new CameraStream({ sdm: new FakeSdmRunner(clock), deviceId: id, clock });
      },
    });
    await assert.rejects(controller.command({ action: "start" }), /no account/);
    assert.deepEqual(states, [{ state: "error", reason: "no account" }]);
    refuse = false;
    await controller.command({ action: "start", deviceId: "AVPHwEuBfnPOnTqzVDT9" });
    await clock.advance(0);
    assert.deepEqual(events(), ["started AVPHwEuBfnPOnTqzVDT9"]);
    await controller.close();
  });

  it("reports a stream that ends in error as a failure, and another camera can be started", async () => {
    const { clock, controller, failures, events } = setup();
    await controller.command({ action: "start", deviceId: "cam-nowhere" });
    await clock.advance(0);
    assert.equal(failures.length, 1);
    assert.match(failures[0], /cam-nowhere/);
    assert.equal(controller.state.state, "error");
    await controller.command({ action: "start", deviceId: GARDEN });
    await clock.advance(0);
    assert.deepEqual(events(), [`started ${GARDEN}`]);
    await controller.close();
  });

  it("close() waits for the command in flight, stops the stream and ignores later commands", async () => {
    const { clock, controller, events, live, runners, created } = setup();
    const lookup = runners[FRONT].hold("device");
    const started = controller.command({ action: "start" });
    await clock.advance(0);
    const closed = controller.close();
    await controller.command({ action: "start", deviceId: GARDEN });
    lookup.release();
    await started;
    await closed;
    await clock.run(10_000);
    assert.deepEqual(created, [FRONT]);
    assert.deepEqual(events(), []);
    assert.equal(live(FRONT) + live(GARDEN), 0);
    assert.equal(controller.stream, undefined);
  });
});
