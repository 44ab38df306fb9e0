/**
 * CameraStream: one device lookup, the protocol picked from the camera's traits (or forced), and a
 * StreamKeeper or a WebRtcBridge driven behind the same events. SDM on a FakeClock (FakeSdmRunner);
 * the WebRTC bridge is a stand-in except in the last test, which runs the real bridge against the
 * fake WebRTC camera (synthetic media, no ffmpeg) on loopback.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import * as net from "node:net";
import { NotFoundError, TransientGoogleError } from "../../src/google/errors";
import type { SdmCommandName, SdmCommands, StreamProtocol } from "../../src/nest/sdm-types";
import {
  CameraStream,
  chooseProtocol,
  type CameraStreamOptions,
  type CameraStreamState,
  type CameraUrlEvent,
  type ProtocolChoice,
} from "../../src/stream/camera-stream";
import { LocalRtspServer } from "../../src/webrtc/rtsp-server";
import { RtspServerPool } from "../../src/webrtc/rtsp-server-pool";
import type { WebRtcBridge, WebRtcBridgeOptions } from "../../src/webrtc/webrtc-bridge";
import type { RtspRelay, RtspRelayOptions } from "../../src/rtsp/rtsp-relay";
import { createFakeSdm, createFakeWebRtcCamera } from "../fixtures/fake-webrtc-camera";
import { freePort } from "../fixtures/ports";
import { FakeClock } from "../support/fake-clock";
import {
  cameraDevice,
  DEVICE_ID,
  FakeSdmRunner,
  PROJECT,
  thermostatDevice,
} from "../fixtures/fake-google/sdm-runner";
import { untilWithin } from "../support/wait";
import { refusalText, wordedAs } from "../support/catalog";
import { warnText, whyText } from "../support/stream-reasons";

const SECOND = 1000;
const MINUTE = 60 * SECOND;

const until = untilWithin(5_000, 5);

/** Stands in for WebRtcBridge: registers its path on the server it is given, emits what the test says. */
class FakeBridge extends EventEmitter {
  starts = 0;
  stops = 0;
  /** Real milliseconds stop() takes before it lets go of its path (a StopWebRtcStream in flight). */
  static stopDelayMs = 0;
  constructor(readonly options: WebRtcBridgeOptions) {
    super();
  }
  get path(): string {
    return this.options.path ?? "";
  }
  start(): void {
    this.starts++;
    this.options.server?.addStream(this.path, { describe: () => undefined });
    this.emit("state", { state: "starting", camera: this.options.displayName });
  }
  async stop(): Promise<void> {
    this.stops++;
    if (FakeBridge.stopDelayMs) await new Promise((r) => setTimeout(r, FakeBridge.stopDelayMs));
    this.options.server?.removeStream(this.path);
    this.emit("url", { event: "stopped", url: null, expiresAt: null, protocol: "WEB_RTC" });
    this.emit("state", { state: "stopped", camera: this.options.displayName });
  }
  live(expiresAt: string): void {
    this.emit("state", { state: "live", expiresAt, camera: this.options.displayName });
    this.emit("url", {
      event: "started",
      url: this.options.server?.url(this.path) ?? null,
      expiresAt,
      deviceId: "bridge-id",
      camera: this.options.displayName,
      protocol: "WEB_RTC",
    });
  }
  fail(reason: string): void {
    this.emit("state", { state: "error", reason, camera: this.options.displayName });
    this.emit("url", { event: "stopped", url: null, expiresAt: null, protocol: "WEB_RTC" });
  }
}

interface Setup {
  clock: FakeClock;
  sdm: FakeSdmRunner;
  stream: CameraStream;
  pool: RtspServerPool;
  bridges: FakeBridge[];
  urls: CameraUrlEvent[];
  states: CameraStreamState[];
  warnings: string[];
}

const open: CameraStream[] = [];

function setup(
  options: {
    protocols?: StreamProtocol[];
    protocol?: ProtocolChoice;
    device?: ReturnType<typeof cameraDevice>;
    pool?: RtspServerPool;
    stream?: Partial<CameraStreamOptions>;
  } = {},
): Setup {
  const clock = new FakeClock();
  const sdm = new FakeSdmRunner(clock, {
    device: options.device ?? cameraDevice({ protocols: options.protocols ?? ["RTSP"] }),
  });
  const pool = options.pool ?? new RtspServerPool();
  const bridges: FakeBridge[] = [];
  const stream = new CameraStream({
    sdm,
    deviceId: `${PROJECT}/devices/${DEVICE_ID}`,
    protocol: options.protocol,
    clock,
    random: () => 0.5,
    webrtc: { port: 0, servers: pool },
    // The error states in the words users read: the node's catalog.
    errorText: (err: unknown) => refusalText("nest-stream", err),
    createBridge: (o) => {
      const b = new FakeBridge(o);
      bridges.push(b);
      return b as unknown as WebRtcBridge;
    },
    ...options.stream,
  });
  open.push(stream);
  const urls: CameraUrlEvent[] = [];
  const states: CameraStreamState[] = [];
  const warnings: string[] = [];
  stream.on("url", (e) => urls.push(e));
  stream.on("state", (s) => states.push(s));
  stream.on("warning", (w) => warnings.push(warnText(w)));
  return { clock, sdm, stream, pool, bridges, urls, states, warnings };
}

describe("CameraStream", function () {
  this.timeout(20_000);

  afterEach(async () => {
    for (const s of open.splice(0)) await s.stop();
  });

  describe("chooseProtocol", () => {
    const info = (protocols: StreamProtocol[]) => ({
      id: "x",
      name: "x",
      displayName: "Porch",
      type: "sdm.devices.types.CAMERA",
      isCamera: true,
      protocols,
      videoCodecs: [],
      audioCodecs: [],
    });
    it("auto prefers RTSP when listed, else WEB_RTC; a forced protocol must be listed", () => {
      assert.equal(chooseProtocol(info(["RTSP"])), "RTSP");
      assert.equal(chooseProtocol(info(["WEB_RTC", "RTSP"])), "RTSP");
      assert.equal(chooseProtocol(info(["WEB_RTC"])), "WEB_RTC");
      assert.equal(chooseProtocol(info(["WEB_RTC", "RTSP"]), "WEB_RTC"), "WEB_RTC");
      assert.equal(chooseProtocol(info(["RTSP"]), "RTSP"), "RTSP");
      assert.throws(
        () => chooseProtocol(info(["WEB_RTC"]), "RTSP"),
        wordedAs("nest-stream", /offers only WebRTC.*"auto" or "WebRTC"/),
      );
      assert.throws(
        () => chooseProtocol(info(["RTSP"]), "WEB_RTC"),
        wordedAs("nest-stream", /offers only RTSP.*"auto" or "RTSP"/),
      );
      assert.throws(
        () => chooseProtocol(info([])),
        wordedAs("nest-stream", /no live stream protocol.*lists none/),
      );
    });
  });

  describe("RTSP cameras", () => {
    it("drives a StreamKeeper with the device it looked up: one lookup, RTSP events, protocol in the states", async () => {
      const { clock, sdm, stream, bridges, urls, states } = setup({ protocols: ["RTSP"] });
      stream.start();
      await clock.advance(0);
      assert.equal(sdm.commands("device").length, 1);
      assert.equal(sdm.commands("GenerateRtspStream").length, 1);
      assert.equal(bridges.length, 0);
      assert.equal(stream.protocol, "RTSP");
      assert.equal(urls.length, 1);
      assert.equal(urls[0].event, "started");
      assert.equal(urls[0].protocol, "RTSP");
      assert.equal(urls[0].deviceId, DEVICE_ID);
      assert.equal(urls[0].camera, "Front door");
      assert.match(urls[0].url ?? "", /^rtsps:\/\/.*\/sdm_live_stream\//);
      assert.deepEqual(states[0], { state: "starting" });
      assert.deepEqual(states[1], { state: "starting", camera: "Front door", protocol: "RTSP" });
      assert.deepEqual(states.at(-1), {
        state: "live",
        expiresAt: urls[0].expiresAt,
        camera: "Front door",
        protocol: "RTSP",
      });

      // An hour: extends go on; the device is never looked up again.
      await clock.run(60 * MINUTE, 10 * SECOND);
      assert.equal(sdm.commands("ExtendRtspStream").length, 15);
      assert.equal(sdm.commands("device").length, 1);
      assert.ok(urls.slice(1).every((u) => u.event === "extended" && u.protocol === "RTSP"));
      assert.ok(sdm.isAlive(stream.url));

      await stream.stop();
      assert.equal(sdm.commands("StopRtspStream").length, 1);
      assert.deepEqual(urls.at(-1), {
        event: "stopped",
        url: null,
        expiresAt: null,
        deviceId: DEVICE_ID,
        camera: "Front door",
        protocol: "RTSP",
      });
      assert.deepEqual(states.at(-1), { state: "stopped", camera: "Front door" });
      assert.equal(clock.timers, 0);
    });

    it("auto picks RTSP for a camera that lists both protocols", async () => {
      const { clock, stream, bridges, urls } = setup({ protocols: ["WEB_RTC", "RTSP"] });
      stream.start();
      await clock.advance(0);
      assert.equal(bridges.length, 0);
      assert.equal(urls[0].protocol, "RTSP");
    });

    it("forcing RTSP on a WebRTC-only camera is a clear error; nothing is sent", async () => {
      const { clock, sdm, stream, bridges, urls, states } = setup({
        protocols: ["WEB_RTC"],
        protocol: "RTSP",
      });
      stream.start();
      await clock.advance(MINUTE);
      assert.deepEqual(states.at(-1), {
        state: "error",
        camera: "Front door",
        reason:
          'Camera "Front door" offers only WebRTC, so it cannot stream via RTSP: set Protocol to "auto" or ' +
          '"WebRTC" in the nest-stream node.',
      });
      assert.equal(sdm.commands().length, 0);
      assert.equal(bridges.length, 0);
      assert.equal(urls.length, 0);
      assert.equal(stream.running, false);
      assert.equal(clock.timers, 0);
    });
  });

  describe("WebRTC cameras", () => {
    it("drives a WebRtcBridge on a shared local server: one lookup, no RTSP command, protocol in the states", async () => {
      const { clock, sdm, stream, pool, bridges, urls, states } = setup({ protocols: ["WEB_RTC"] });
      stream.start();
      await until(() => bridges.length === 1, "the bridge");
      const bridge = bridges[0];
      assert.equal(bridge.starts, 1);
      assert.equal(bridge.options.deviceId, DEVICE_ID);
      assert.equal(bridge.options.path, DEVICE_ID);
      assert.equal(bridge.options.displayName, "Front door");
      assert.equal(bridge.options.sdm, sdm);
      assert.equal(bridge.options.clock, clock);
      assert.ok(bridge.options.server?.isListening);
      assert.equal(pool.size, 1);
      assert.equal(sdm.commands("device").length, 1);
      assert.equal(sdm.commands().length, 0);
      assert.deepEqual(
        states.map((s) => s.state),
        ["starting", "starting"],
      );
      assert.equal(states[1].protocol, "WEB_RTC");

      const expiresAt = new Date(clock.now() + 5 * MINUTE).toISOString();
      bridge.live(expiresAt);
      assert.deepEqual(states.at(-1), {
        state: "live",
        expiresAt,
        camera: "Front door",
        protocol: "WEB_RTC",
      });
      assert.equal(urls.length, 1);
      assert.equal(urls[0].protocol, "WEB_RTC");
      assert.equal(urls[0].event, "started");
      assert.match(urls[0].url ?? "", new RegExp(`^rtsp://127\\.0\\.0\\.1:\\d+/${DEVICE_ID}$`));
      assert.equal(stream.url, urls[0].url);

      await stream.stop();
      assert.equal(bridge.stops, 1);
      assert.equal(pool.size, 0, "the server was given back");
      // One stopped URL and one stopped state, from CameraStream (the bridge's own are not forwarded).
      assert.deepEqual(
        urls.map((u) => u.event),
        ["started", "stopped"],
      );
      assert.equal(urls[1].protocol, "WEB_RTC");
      assert.equal(urls[1].camera, "Front door");
      assert.equal(states.filter((s) => s.state === "stopped").length, 1);
    });

    it("forcing WebRTC uses the bridge for a camera that lists both; on an RTSP-only camera it is an error", async () => {
      const both = setup({ protocols: ["RTSP", "WEB_RTC"], protocol: "WEB_RTC" });
      both.stream.start();
      await until(() => both.bridges.length === 1, "the bridge");
      assert.equal(both.sdm.commands().length, 0);

      const rtspOnly = setup({ protocols: ["RTSP"], protocol: "WEB_RTC" });
      rtspOnly.stream.start();
      await rtspOnly.clock.advance(0);
      assert.match(rtspOnly.states.at(-1)?.reason ?? "", /offers only RTSP, not WebRTC/);
      assert.equal(rtspOnly.states.at(-1)?.state, "error");
      assert.equal(rtspOnly.bridges.length, 0);
    });

    it("a bridge error ends the run (stopped URL, server given back); start() again makes a new bridge", async () => {
      const { stream, pool, bridges, urls, states, sdm } = setup({ protocols: ["WEB_RTC"] });
      stream.start();
      await until(() => bridges.length === 1, "the bridge");
      bridges[0].live(new Date(Date.now() + MINUTE).toISOString());
      bridges[0].fail('Camera "Front door": permission denied');
      assert.deepEqual(
        urls.map((u) => u.event),
        ["started", "stopped"],
      );
      assert.deepEqual(states.at(-1), {
        state: "error",
        reason: 'Camera "Front door": permission denied',
        camera: "Front door",
        protocol: "WEB_RTC",
      });
      assert.equal(stream.running, false);
      await until(() => bridges[0].stops === 1 && pool.size === 0, "the bridge disposed");
      assert.equal(states.at(-1)?.state, "error", "the bridge's stop is not reported");

      stream.start();
      await until(() => bridges.length === 2, "a new bridge");
      assert.equal(sdm.commands("device").length, 2);
      assert.equal(bridges[1].starts, 1);
    });

    it("start() right after an error waits for the failed bridge to let go of its path", async () => {
      const { stream, bridges, states, pool } = setup({ protocols: ["WEB_RTC"] });
      FakeBridge.stopDelayMs = 200;
      try {
        stream.start();
        await until(() => bridges.length === 1, "the bridge");
        bridges[0].fail("the camera went away");
        stream.start();
        await until(() => bridges.length === 2, "a new bridge");
        assert.equal(bridges[0].stops, 1);
        assert.ok(!states.slice(-3).some((s) => /already served/.test(s.reason ?? "")));
        assert.equal(bridges[1].starts, 1);
        assert.equal(states.at(-1)?.state, "starting");
        // The failed run gave its (ephemeral-port) server back; the new run listens afresh.
        assert.equal(pool.size, 1);
        assert.ok(bridges[1].options.server?.isListening);
      } finally {
        FakeBridge.stopDelayMs = 0;
      }
    });

    it("two streams of the same camera on one server: the second is refused with what to do", async () => {
      const pool = new RtspServerPool();
      const a = setup({ protocols: ["WEB_RTC"], pool });
      const b = setup({ protocols: ["WEB_RTC"], pool });
      a.stream.start();
      await until(() => a.bridges.length === 1, "the first bridge");
      b.stream.start();
      await until(() => b.states.at(-1)?.state === "error", "the second refused");
      assert.match(
        b.states.at(-1)?.reason ?? "",
        /already served at rtsp:\/\/127\.0\.0\.1:\d+\/.*one nest-stream node per camera/,
      );
      assert.equal(b.bridges.length, 0);
      assert.equal(pool.size, 1);
      await a.stream.stop();
      assert.equal(pool.size, 0);
    });

    it("an explicit port in use is an error naming it; the default port falls back to a free one with a warning", async () => {
      const busy = net.createServer();
      await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
      const busyPort = (busy.address() as net.AddressInfo).port;
      try {
        const explicit = setup({ protocols: ["WEB_RTC"] });
        const s1 = new CameraStream({
          sdm: explicit.sdm,
          deviceId: DEVICE_ID,
          clock: explicit.clock,
          webrtc: { port: busyPort, servers: explicit.pool },
          errorText: (err: unknown) => refusalText("nest-stream", err),
        });
        open.push(s1);
        const states: CameraStreamState[] = [];
        s1.on("state", (s) => states.push(s));
        s1.start();
        await until(() => states.at(-1)?.state === "error", "the error");
        assert.match(
          states.at(-1)?.reason ?? "",
          new RegExp(
            `could not listen on 127\\.0\\.0\\.1:${busyPort} \\(the port is in use by another program\\)\\. ` +
              "Set another RTSP port in the nest-stream node \\(0 = any free port\\)",
          ),
        );

        // The default port (8554) is mapped onto the busy one here, so the test never touches 8554.
        const pool = new RtspServerPool(
          (o) => new LocalRtspServer({ ...o, port: o.port === 8554 ? busyPort : o.port }),
        );
        const fallback = setup({ protocols: ["WEB_RTC"], pool, stream: { webrtc: { servers: pool } } });
        fallback.stream.start();
        await until(() => fallback.bridges.length === 1, "the bridge");
        const port = fallback.bridges[0].options.server?.port ?? 0;
        assert.ok(port > 0 && port !== busyPort);
        assert.equal(fallback.warnings.length, 1);
        assert.match(
          fallback.warnings[0],
          new RegExp(
            `^Camera "Front door": RTSP port 8554 is in use by another program, so WebRTC cameras are served on port ${port} instead`,
          ),
        );
      } finally {
        busy.close();
      }
    });
  });

  describe("lookup and lifecycle", () => {
    it("an unexpected failure stops in state error, worded from the catalog with the camera and why", async () => {
      const { stream, states } = setup({
        protocols: ["WEB_RTC"],
        stream: {
          createBridge: () => {
            throw new Error("bridge exploded");
          },
        },
      });
      stream.start();
      await until(() => states.at(-1)?.state === "error", "the error");
      assert.equal(
        states.at(-1)?.reason,
        'Camera "Front door": the stream stopped on an unexpected error: bridge exploded',
      );
    });

    it("retries a failed lookup with backoff, says so, then streams", async () => {
      const { clock, sdm, stream, states, urls } = setup();
      sdm.fail("device", new TransientGoogleError("backend error", 503));
      stream.start();
      await clock.advance(0);
      assert.equal(states.at(-1)?.state, "retrying");
      assert.match(whyText(states.at(-1)?.why), /backend error.*next try in \d+ s/);
      assert.equal(states.at(-1)?.protocol, undefined);
      await clock.advance(2 * SECOND);
      assert.equal(sdm.commands("device").length, 2);
      assert.equal(urls[0]?.event, "started");
    });

    it("an unknown device or a device that is not a camera is an error", async () => {
      const missing = setup();
      missing.sdm.fail("device", new NotFoundError("Device not found."));
      missing.stream.start();
      await missing.clock.advance(0);
      assert.equal(missing.states.at(-1)?.state, "error");
      assert.match(missing.states.at(-1)?.reason ?? "", /was not found.*Check the device id/);

      const thermostat = setup({ device: thermostatDevice() as ReturnType<typeof cameraDevice> });
      thermostat.stream.start();
      await thermostat.clock.advance(0);
      assert.match(thermostat.states.at(-1)?.reason ?? "", /is a thermostat, not a camera/);
      assert.equal(thermostat.sdm.commands().length, 0);
    });

    it("stop() while the lookup is retried leaves nothing behind", async () => {
      const { clock, sdm, stream, states, bridges } = setup({ protocols: ["WEB_RTC"] });
      sdm.fail("device", new TransientGoogleError("backend error", 503));
      stream.start();
      await clock.advance(0);
      await stream.stop();
      await clock.advance(10 * MINUTE);
      assert.equal(sdm.commands("device").length, 1);
      assert.equal(bridges.length, 0);
      assert.deepEqual(states.at(-1), { state: "stopped" });
      assert.equal(clock.timers, 0);
    });

    it("restart() stops and starts again with a new lookup and a new session", async () => {
      const { clock, sdm, stream, urls } = setup();
      stream.start();
      await clock.advance(0);
      await stream.restart();
      await clock.advance(0);
      assert.deepEqual(
        urls.map((u) => u.event),
        ["started", "stopped", "started"],
      );
      assert.equal(sdm.commands("device").length, 2);
      assert.equal(sdm.commands("GenerateRtspStream").length, 2);
      assert.equal(sdm.commands("StopRtspStream").length, 1);
    });

    it('serve "local": an RTSP camera is driven by an RtspRelay on the shared local server; WebRTC cameras stay bridged', async () => {
      const relays: RtspRelayOptions[] = [];
      const makeRelay = (o: RtspRelayOptions) => {
        relays.push(o);
        const relay = new EventEmitter() as EventEmitter & { start(): void; stop(): Promise<void> };
        relay.start = () => o.server.addStream(o.path, { describe: () => undefined });
        relay.stop = async () => o.server.removeStream(o.path);
        return relay as unknown as RtspRelay;
      };
      const rtsp = setup({ protocols: ["RTSP"], stream: { serve: "local", createRelay: makeRelay } });
      rtsp.stream.start();
      await until(() => relays.length === 1, "the relay");
      assert.equal(relays[0].path, DEVICE_ID);
      assert.equal(relays[0].deviceId, DEVICE_ID);
      assert.equal(relays[0].displayName, "Front door");
      assert.ok(relays[0].server.isListening);
      assert.ok(relays[0].server.hasStream(DEVICE_ID));
      assert.equal(rtsp.pool.size, 1);
      assert.equal(
        rtsp.sdm.commands("GenerateRtspStream").length,
        0,
        "the relay's keeper is not started here",
      );
      await rtsp.stream.stop();
      assert.equal(rtsp.pool.size, 0, "the server was given back");

      const webrtc = setup({ protocols: ["WEB_RTC"], stream: { serve: "local", createRelay: makeRelay } });
      webrtc.stream.start();
      await until(() => webrtc.bridges.length === 1, "the bridge");
      assert.equal(relays.length, 1);

      const direct = setup({ protocols: ["RTSP"], stream: { createRelay: makeRelay } });
      direct.stream.start();
      await until(() => direct.sdm.commands("GenerateRtspStream").length === 1, "the direct keeper's stream");
      assert.equal(relays.length, 1, "direct is the default");
      assert.throws(
        () => new CameraStream({ sdm: rtsp.sdm, deviceId: "x", serve: "proxy" as "local" }),
        /"direct" or "local"/,
      );
    });

    it("hands the credentials to the relay and the bridge; beyond loopback without them it warns", async () => {
      const credentials = { user: "frigate", password: "secret-pass" };
      const relays: RtspRelayOptions[] = [];
      const makeRelay = (o: RtspRelayOptions) => {
        relays.push(o);
        const relay = new EventEmitter() as EventEmitter & { start(): void; stop(): Promise<void> };
        relay.start = () =>
          o.server.addStream(o.path, { describe: () => undefined, credentials: o.credentials });
        relay.stop = async () => o.server.removeStream(o.path);
        return relay as unknown as RtspRelay;
      };
      const rtsp = setup({
        protocols: ["RTSP"],
        stream: { serve: "local", createRelay: makeRelay, webrtc: { port: 0, host: "0.0.0.0", credentials } },
      });
      rtsp.stream.start();
      await until(() => relays.length === 1, "the relay");
      assert.deepEqual(relays[0].credentials, credentials);
      assert.match(relays[0].server.readerUrl(DEVICE_ID), /^rtsp:\/\/frigate:secret-pass@127\.0\.0\.1:\d+\//);
      assert.deepEqual(rtsp.warnings, [], "a password: no warning");
      await rtsp.stream.stop();

      const bridged = setup({
        protocols: ["WEB_RTC"],
        stream: { webrtc: { port: 0, host: "0.0.0.0", credentials } },
      });
      bridged.stream.start();
      await until(() => bridged.bridges.length === 1, "the bridge");
      assert.deepEqual(bridged.bridges[0].options.credentials, credentials);
      assert.deepEqual(bridged.warnings, []);
      await bridged.stream.stop();

      const exposed = setup({ protocols: ["WEB_RTC"], stream: { webrtc: { port: 0, host: "0.0.0.0" } } });
      exposed.stream.start();
      await until(() => exposed.bridges.length === 1, "the bridge");
      assert.equal(exposed.warnings.length, 1);
      assert.match(
        exposed.warnings[0],
        /listens on 0\.0\.0\.0, beyond this machine, and this camera has no password/,
      );
      const loopback = setup({ protocols: ["WEB_RTC"] });
      loopback.stream.start();
      await until(() => loopback.bridges.length === 1, "the bridge");
      assert.deepEqual(loopback.warnings, [], "loopback needs no password");
    });

    it("rejects a missing device id and an unknown protocol", () => {
      const sdm = new FakeSdmRunner(new FakeClock());
      assert.throws(() => new CameraStream({ sdm, deviceId: " " }), /needs a device id/);
      assert.throws(
        () => new CameraStream({ sdm, deviceId: "x", protocol: "HLS" as ProtocolChoice }),
        /"auto", "RTSP" or "WEB_RTC"/,
      );
    });
  });

  describe("RtspServerPool", () => {
    it("shares one server per address, closes it with the last lease, and reopens a fixed port at once", async () => {
      const port = await freePort();
      const pool = new RtspServerPool();
      const [a, b] = await Promise.all([pool.acquire({ port }), pool.acquire({ port })]);
      assert.equal(a.server, b.server);
      assert.equal(a.server.port, port);
      assert.equal(a.fellBack, false);
      const other = await pool.acquire({ port: 0 });
      assert.notEqual(other.server, a.server);
      assert.equal(pool.size, 2);
      await a.release();
      await a.release(); // once only
      assert.ok(b.server.isListening);
      const closing = b.release();
      // A new lease of the same address waits for the old server to let go of the port.
      const again = await pool.acquire({ port });
      await closing;
      assert.notEqual(again.server, b.server);
      assert.equal(again.server.port, port);
      assert.ok(again.server.isListening);
      await Promise.all([again.release(), other.release()]);
      assert.equal(pool.size, 0);
    });
  });

  describe("with the real WebRtcBridge", () => {
    it("serves a WebRTC-only camera at rtsp://127.0.0.1:<port>/<id> and gives the server back on stop", async () => {
      const camera = createFakeWebRtcCamera({ media: "synthetic" });
      const clock = new FakeClock();
      const lookups = new FakeSdmRunner(clock, { device: cameraDevice({ protocols: ["WEB_RTC"] }) });
      const webrtc = createFakeSdm(camera);
      const sdm = {
        device: (id: string) => lookups.device(id),
        execute: <C extends SdmCommandName>(id: string, command: C, params: SdmCommands[C]["params"]) =>
          webrtc.execute(id, command, params),
      };
      const pool = new RtspServerPool();
      const stream = new CameraStream({ sdm, deviceId: DEVICE_ID, webrtc: { port: 0, servers: pool } });
      open.push(stream);
      const urls: CameraUrlEvent[] = [];
      stream.on("url", (u) => urls.push(u));
      try {
        stream.start();
        await until(() => urls.length > 0, "the URL", 10_000);
        assert.equal(urls[0].event, "started");
        assert.equal(urls[0].protocol, "WEB_RTC");
        assert.equal(urls[0].camera, "Front door");
        assert.match(urls[0].url ?? "", new RegExp(`^rtsp://127\\.0\\.0\\.1:\\d+/${DEVICE_ID}$`));
        assert.equal(webrtc.count("GenerateWebRtcStream"), 1);
        assert.equal(lookups.commands("device").length, 1);
        assert.equal(stream.state.state, "live");
        assert.equal(stream.state.protocol, "WEB_RTC");
        await stream.stop();
        assert.equal(webrtc.count("StopWebRtcStream"), 1);
        assert.equal(pool.size, 0);
        assert.equal(urls.at(-1)?.event, "stopped");
      } finally {
        await stream.stop();
        await camera.stop();
      }
    });
  });
});
