/** nest-stream node: translates messages to a StreamKeeper and its URL events to messages and status. */
import { systemClock } from "../src/clock";
import { formatDuration, truncate } from "../src/format";
import { redact } from "../src/redact";
import { parseStreamCommand } from "../src/stream/stream-command";
import { StreamKeeper, type StreamState, type StreamUrlEvent } from "../src/stream/stream-keeper";
import type { NestAccountNode } from "./nest-account";
import type { Node, NodeStatus, RED } from "./red-types";

interface NestStreamConfig {
  id: string;
  name?: string;
  account?: string;
  deviceId?: string;
  startOnDeploy?: boolean;
}

/** How often the "live, m:ss left" status is refreshed. */
const STATUS_TICK_MS = 15_000;

module.exports = function register(RED: RED) {
  function NestStreamNode(this: Node, config: NestStreamConfig) {
    RED.nodes.createNode(this, config);
    const accountNode = config.account ? (RED.nodes.getNode(config.account) as NestAccountNode | null) : null;
    const configuredDevice = (config.deviceId ?? "").trim();
    let keeper: StreamKeeper | undefined;
    let lastState: StreamState = { state: "stopped" };
    let tick: NodeJS.Timeout | undefined;
    let releaseAccount: (() => void) | undefined;

    const showStatus = () => {
      this.status(statusFor(lastState));
    };
    const setState = (state: StreamState) => {
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

    const newKeeper = (deviceId: string): StreamKeeper => {
      if (!accountNode)
        throw new Error("nest-stream has no nest-account: open the node and choose or add an account.");
      const account = accountNode.account();
      releaseAccount ??= account.retain();
      const k = new StreamKeeper({ sdm: account.sdm, deviceId, clock: systemClock });
      k.on("url", (ev: StreamUrlEvent) => {
        if (k !== keeper) return;
        this.send({ payload: ev.url, topic: ev.deviceId, stream: { ...ev } });
      });
      k.on("state", (state: StreamState) => {
        if (k !== keeper) return;
        setState(state);
        if (state.state === "error" && state.reason) this.error(redact(state.reason));
      });
      k.on("warning", (text: string) => this.warn(redact(text)));
      return k;
    };

    const start = async (deviceId: string, restart: boolean) => {
      if (keeper && keeper.deviceId !== deviceId) {
        const old = keeper;
        keeper = undefined;
        await old.stop();
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
        if (command.action === "stop") {
          await keeper?.stop();
        } else {
          const deviceId = command.deviceId ?? configuredDevice;
          if (!deviceId) {
            throw new Error(
              'nest-stream has no camera: set a device id in the node or send msg.deviceId with "start".',
            );
          }
          await start(deviceId, command.action === "restart");
        }
        done();
      } catch (err) {
        const message = redact(err instanceof Error ? err.message : String(err));
        if (!keeper) setState({ state: "error", reason: message });
        done(new Error(message));
      }
    });

    this.on("close", (_removed, done) => {
      if (tick) clearInterval(tick);
      const k = keeper;
      keeper = undefined;
      // StreamKeeper.stop() is bounded in time (best effort StopRtspStream).
      (k ? k.stop() : Promise.resolve())
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
        const message = redact(err instanceof Error ? err.message : String(err));
        setState({ state: "error", reason: message });
        this.error(message);
      }
    }
  }

  RED.nodes.registerType("nest-stream", NestStreamNode);
};

function statusFor(s: StreamState): NodeStatus {
  const camera = s.camera ? `${s.camera}: ` : "";
  switch (s.state) {
    case "live": {
      const left = s.expiresAt ? Date.parse(s.expiresAt) - Date.now() : NaN;
      const text = Number.isFinite(left) ? `live, ${formatDuration(left)} left` : "live";
      return { fill: "green", shape: "dot", text: truncate(camera + text) };
    }
    case "starting":
      return { fill: "yellow", shape: "ring", text: truncate(camera + "starting") };
    case "extending":
      return { fill: "green", shape: "ring", text: truncate(camera + "extending") };
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
