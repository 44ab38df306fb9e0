/**
 * nest-stream node: translates messages to a CameraStream (RTSP via the stream keeper, or WebRTC via
 * the local bridge) and its URL events to messages and status.
 */
import { systemClock } from "../src/clock";
import { formatDuration, truncate } from "../src/format";
import { deviceId as shortDeviceId } from "../src/nest/sdm-types";
import { errorMessage, redact } from "../src/redact";
import {
  CameraStream,
  DEFAULT_RTSP_HOST,
  PROTOCOL_CHOICES,
  protocolLabel,
  type CameraStreamState,
  type CameraUrlEvent,
  type ProtocolChoice,
} from "../src/stream/camera-stream";
import { parseStreamCommand } from "../src/stream/stream-command";
import type { NestAccountNode } from "./nest-account";
import type { Node, NodeStatus, RED } from "./red-types";

interface NestStreamConfig {
  id: string;
  name?: string;
  account?: string;
  deviceId?: string;
  startOnDeploy?: boolean;
  /** "auto" (default; also for flows saved before the setting existed), "RTSP" or "WEB_RTC". */
  protocol?: string;
  /** Bind address of the local RTSP server for WebRTC cameras (default 127.0.0.1). */
  rtspHost?: string;
  /** Its port: empty = 8554 (or a free port when 8554 is taken), 0 = any free port. */
  rtspPort?: string | number;
}

/** The node's protocol setting; anything unknown is "auto". */
function protocolSetting(value: unknown): ProtocolChoice {
  return PROTOCOL_CHOICES.includes(value as ProtocolChoice) ? (value as ProtocolChoice) : "auto";
}

/** The RTSP port setting: undefined for the default, else 0–65535; throws on anything else. */
function portSetting(value: unknown): number | undefined {
  const text = value === undefined || value === null ? "" : String(value).trim();
  if (text === "") return undefined;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new Error(
      `nest-stream: the RTSP port must be a number from 0 to 65535 (0 = any free port) or empty for 8554, ` +
        `not "${truncate(text, 20)}".`,
    );
  }
  return port;
}

/** How often the "live, m:ss left" status is refreshed. */
const STATUS_TICK_MS = 15_000;

module.exports = function register(RED: RED) {
  function NestStreamNode(this: Node, config: NestStreamConfig) {
    RED.nodes.createNode(this, config);
    const accountNode = config.account ? (RED.nodes.getNode(config.account) as NestAccountNode | null) : null;
    const configuredDevice = (config.deviceId ?? "").trim();
    const protocol = protocolSetting(config.protocol);
    const rtspHost = (config.rtspHost ?? "").trim() || DEFAULT_RTSP_HOST;
    let keeper: CameraStream | undefined;
    let lastState: CameraStreamState = { state: "stopped" };
    let tick: NodeJS.Timeout | undefined;
    let releaseAccount: (() => void) | undefined;
    let closed = false;
    // Node-RED does not wait for an async input handler: commands run one after another here, so a
    // "stop" that arrives during a restart or a camera switch is applied after it, never lost.
    let queue: Promise<void> = Promise.resolve();
    const inOrder = (command: () => Promise<void>): Promise<void> => {
      const run = queue.then(() => (closed ? undefined : command()));
      queue = run.catch(() => undefined);
      return run;
    };

    const showStatus = () => {
      this.status(statusFor(lastState));
    };
    const setState = (state: CameraStreamState) => {
      lastState = state;
      showStatus();
      if (tick) clearInterval(tick);
      tick = undefined;
      if (state.state === "live") {
        tick = setInterval(showStatus, STATUS_TICK_MS);
        tick.unref();
      }
    };
    setState({ state: "stopped" });

    const newKeeper = (deviceId: string): CameraStream => {
      if (!accountNode)
        throw new Error("nest-stream has no nest-account: open the node and choose or add an account.");
      const rtspPort = portSetting(config.rtspPort);
      const account = accountNode.account();
      releaseAccount ??= account.retain();
      const k = new CameraStream({
        // The stream keepers schedule their own retries (they know the stream's deadline).
        sdm: account.sdm.singleTry,
        deviceId,
        protocol,
        clock: systemClock,
        webrtc: { host: rtspHost, port: rtspPort },
        // The states carry what the user must see; this is the WebRTC sessions' progress, for the log.
        log: (level, message) =>
          level === "warn" ? this.warn(redact(message)) : this.debug(redact(message)),
      });
      k.on("url", (ev: CameraUrlEvent) => {
        if (k !== keeper) return;
        this.send({ payload: ev.url, topic: ev.deviceId, stream: { ...ev } });
      });
      k.on("state", (state: CameraStreamState) => {
        if (k !== keeper) return;
        setState(state);
        if (state.state === "error" && state.reason) this.error(redact(state.reason));
      });
      k.on("warning", (text: string) => this.warn(redact(text)));
      return k;
    };

    const start = async (deviceId: string, restart: boolean) => {
      if (keeper && shortDeviceId(keeper.deviceId) !== shortDeviceId(deviceId)) {
        // Another camera: the old stream's "stopped" goes out (readers stop) before the new one starts.
        await keeper.stop();
        keeper = undefined;
      }
      if (!keeper) {
        keeper = newKeeper(deviceId);
        keeper.start();
      } else if (restart) {
        await keeper.restart();
      } else {
        keeper.start();
      }
    };

    this.on("input", async (msg, _send, done) => {
      let command;
      try {
        command = parseStreamCommand(msg.payload, msg.deviceId);
      } catch (err) {
        done(err as Error);
        return;
      }
      try {
        await inOrder(async () => {
          if (command.action === "stop") {
            await keeper?.stop();
            return;
          }
          const deviceId = command.deviceId ?? configuredDevice;
          if (!deviceId) {
            throw new Error(
              'nest-stream has no camera: set a device id in the node or send msg.deviceId with "start".',
            );
          }
          await start(deviceId, command.action === "restart");
        });
        done();
      } catch (err) {
        const message = errorMessage(err);
        if (!keeper) setState({ state: "error", reason: message });
        done(new Error(message));
      }
    });

    this.on("close", (_removed, done) => {
      closed = true;
      if (tick) clearInterval(tick);
      // After a command in flight; CameraStream.stop() is bounded in time (best effort
      // StopRtspStream / StopWebRtcStream), so this stays inside Node-RED's close timeout.
      queue
        .then(async () => {
          const k = keeper;
          keeper = undefined;
          await k?.stop();
        })
        .catch(() => undefined)
        .then(() => {
          releaseAccount?.();
          done();
        });
    });

    if (!accountNode) {
      this.status({ fill: "red", shape: "ring", text: "no account" });
    } else if (config.startOnDeploy && configuredDevice) {
      try {
        keeper = newKeeper(configuredDevice);
        keeper.start();
      } catch (err) {
        const message = errorMessage(err);
        setState({ state: "error", reason: message });
        this.error(message);
      }
    }
  }

  RED.nodes.registerType("nest-stream", NestStreamNode);
};

function statusFor(s: CameraStreamState): NodeStatus {
  const camera = s.camera ? `${s.camera}: ` : "";
  const via = s.protocol ? ` (${protocolLabel(s.protocol)})` : "";
  switch (s.state) {
    case "live": {
      const left = s.expiresAt ? Date.parse(s.expiresAt) - Date.now() : NaN;
      const text = Number.isFinite(left) ? `live${via}, ${formatDuration(left)} left` : `live${via}`;
      return { fill: "green", shape: "dot", text: truncate(camera + text) };
    }
    case "starting":
      return { fill: "yellow", shape: "ring", text: truncate(`${camera}starting${via}`) };
    case "extending":
      return { fill: "green", shape: "ring", text: truncate(`${camera}extending${via}`) };
    case "retrying":
      return {
        fill: "yellow",
        shape: "ring",
        text: truncate(`${camera}retrying: ${redact(s.reason ?? "")}`),
      };
    case "error":
      return { fill: "red", shape: "dot", text: truncate(redact(s.reason ?? "error")) };
    default:
      return { fill: "grey", shape: "ring", text: "stopped" };
  }
}
