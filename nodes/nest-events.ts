/**
 * nest-events node: wires an EventReader (src/nest: pulls the account's Pub/Sub subscription, one
 * event per session and type, images within their life) to Node-RED: settings and start/stop in,
 * one message per event, status and log out.
 */
import { errorMessage, redact } from "../src/redact";
import type { EventOutput, EventReader, ReaderStatus } from "../src/nest/event-reader";
import { eventStatusView, parseEventsCommand, type EventStatusKey } from "../src/nest/event-status";
import { parseEventTypes } from "../src/nest/events";
import type { NestAccountNode } from "./nest-account";
import type { Node, RED } from "./red-types";

interface NestEventsConfig {
  id: string;
  name?: string;
  account?: string;
  subscription?: string;
  /** Empty: every camera. */
  deviceId?: string;
  /** Which of motion, person, sound, chime, clip; empty or absent: all. */
  events?: string[] | string;
  /** Width of event images; 0: none. Default 640. */
  imageWidth?: number | string;
  /** Pull from deploy (default true); else only after "start". */
  startOnDeploy?: boolean;
}

module.exports = function register(RED: RED) {
  const t = (key: string, vars?: Record<string, string>) => RED._(`nest-events.${key}`, vars);

  function NestEventsNode(this: Node, config: NestEventsConfig) {
    RED.nodes.createNode(this, config);
    const accountNode = config.account ? (RED.nodes.getNode(config.account) as NestAccountNode | null) : null;
    const show = (s: ReaderStatus) =>
      this.status(eventStatusView(s, (key: EventStatusKey, vars) => t(`status.${key}`, vars)));
    let reader: EventReader | undefined;
    let releaseAccount: (() => void) | undefined;
    let setupError: string | undefined;

    try {
      if (!accountNode) throw new Error(t("errors.noAccount"));
      const width =
        config.imageWidth === undefined || config.imageWidth === "" ? 640 : Number(config.imageWidth);
      if (!Number.isFinite(width) || width < 0) throw new Error(t("errors.imageWidth"));
      const account = accountNode.account();
      reader = account.eventReader({
        subscription: config.subscription ?? "",
        deviceId: config.deviceId,
        types: parseEventTypes(config.events),
        imageWidth: Math.round(width),
        // A redeployed node knows what it sent before: the messages then in flight come again.
        memoryKey: this.id,
      });
      releaseAccount = account.retain();
    } catch (err) {
      setupError = errorMessage(err);
    }

    if (reader) {
      reader.on("event", (out: EventOutput) => {
        const { event, image } = out;
        this.send({
          payload: event.type,
          topic: event.deviceId,
          event: { ...event },
          ...(image ? { image } : {}),
        });
      });
      let logged: string | undefined;
      reader.on("status", (s: ReaderStatus) => {
        show(s);
        // Logged once per new error, not at every try.
        if (s.state === "error" && s.error && s.error !== logged) this.error(redact(s.error));
        logged = s.state === "error" ? s.error : undefined;
      });
      reader.on("warning", (text: string) => this.warn(redact(text)));
      show(reader.status);
    } else if (!accountNode) {
      this.status({ fill: "red", shape: "ring", text: t("status.noAccount") });
      this.error(setupError ?? t("errors.noAccount"));
    } else {
      show({ state: "error", error: setupError });
      this.error(setupError ?? "");
    }

    this.on("input", async (msg, _send, done) => {
      const command = parseEventsCommand(msg.payload);
      if (!command) {
        const got = typeof msg.payload === "string" ? msg.payload : typeof msg.payload;
        done(new Error(t("errors.input", { got: redact(String(got)).slice(0, 40) })));
        return;
      }
      if (!reader) {
        done(new Error(setupError ?? t("errors.noAccount")));
        return;
      }
      if (command === "start") reader.start();
      else await reader.stop();
      done();
    });

    this.on("close", (_removed, done) => {
      const closing = reader;
      reader = undefined;
      void (closing ? closing.stop() : Promise.resolve()).then(() => {
        releaseAccount?.();
        done();
      });
    });

    if (reader && config.startOnDeploy !== false) reader.start();
  }

  RED.nodes.registerType("nest-events", NestEventsNode);
};
