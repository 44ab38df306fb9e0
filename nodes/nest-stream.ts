/**
 * nest-stream node: wires a StreamController (src/stream: the commands, in order, to the camera's
 * CameraStream) to Node-RED: settings and messages in, URL messages, status and log out.
 */
import fs from "node:fs";
import { systemClock } from "../src/clock";
import { errorMessage, redact, secrets } from "../src/redact";
import {
  CameraStream,
  DEFAULT_RTSP_HOST,
  PROTOCOL_CHOICES,
  SERVE_CHOICES,
  type ProtocolChoice,
  type ServeChoice,
} from "../src/stream/camera-stream";
import { parseStreamCommand, StreamCommandError } from "../src/stream/stream-command";
import { StreamController } from "../src/stream/stream-controller";
import { StreamConfigError } from "../src/stream/stream-messages";
import { rtspCredentialsSetting, rtspPortSetting, StreamSettingError } from "../src/stream/stream-settings";
import { sharedStreamHandover } from "../src/stream/stream-handover";
import { reasonText, warningText } from "../src/stream/stream-reason";
import { StreamStatus } from "../src/stream/stream-status";
import { encodeUserinfo, isLoopbackHost, type RtspCredentials } from "../src/webrtc/rtsp-auth";
import { flowStops, type FlowStops } from "./lib/flow-stops";
import type { NestAccountNode } from "./nest-account";
import type { Node, RED } from "./red-types";

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
  /** RTSP cameras: "direct" (default; also for flows saved before the setting) or "local". */
  serve?: string;
}

interface NestStreamCredentials {
  /** User name and password readers of the local RTSP server must give for this camera (both or neither). */
  rtspUser?: string;
  rtspPassword?: string;
}

/**
 * Extra certificate authorities (a PEM file) trusted for the camera's rtsps:// connection of
 * `serve: "local"`, besides the system's: `NEST_RESTREAM_RTSPS_CA_FILE` (tests, TLS proxies).
 */
function rtspsCa(): Buffer | undefined {
  const file = process.env.NEST_RESTREAM_RTSPS_CA_FILE;
  if (!file) return undefined;
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

/** The runtimes (their flow-stop watchers) whose final stop already stops the parked sessions. */
const stopsWatched = new WeakSet<FlowStops>();

module.exports = function register(RED: RED) {
  const t = (key: string, vars?: Record<string, string>) => RED._(`nest-stream.${key}`, vars);
  // A deploy hands live RTSP sessions to the new nodes; Node-RED stopping for good stops them.
  const stops = flowStops(RED);
  if (!stopsWatched.has(stops)) {
    stopsWatched.add(stops);
    stops.onFinalStop(() => void sharedStreamHandover.stopAll());
  }

  /** A refused setting in the catalog's words. */
  const settingError = (err: unknown): Error =>
    err instanceof StreamSettingError
      ? new Error(t(`errors.${err.code}`, err.got === undefined ? undefined : { got: err.got }))
      : (err as Error);

  /** A configuration problem of the camera, or the exposed-server warning, in the catalog's words. */
  const errorText = (err: unknown): string =>
    err instanceof StreamConfigError ? t(`errors.${err.code}`, { ...err.params }) : errorMessage(err);

  function NestStreamNode(this: Node, config: NestStreamConfig) {
    RED.nodes.createNode(this, config);
    const nodeCredentials = this.credentials as NestStreamCredentials | undefined;
    // Masked wherever it might show, also as it is written in URLs.
    const password = nodeCredentials?.rtspPassword || undefined;
    const maskedValues = password ? [password, encodeUserinfo(password)] : [];
    secrets.add(...maskedValues);
    let credentialsError: string | undefined;
    let rtspAuth: RtspCredentials | undefined;
    try {
      rtspAuth = rtspCredentialsSetting(nodeCredentials?.rtspUser, nodeCredentials?.rtspPassword);
    } catch (err) {
      credentialsError = settingError(err).message;
    }
    const rtspHost = (config.rtspHost ?? "").trim() || DEFAULT_RTSP_HOST;
    const accountNode = config.account ? (RED.nodes.getNode(config.account) as NestAccountNode | null) : null;
    // Anything unknown is "auto".
    const protocol = PROTOCOL_CHOICES.find((p) => p === config.protocol) ?? ("auto" satisfies ProtocolChoice);
    const serve = SERVE_CHOICES.find((s) => s === config.serve) ?? ("direct" satisfies ServeChoice);
    // Beyond loopback without a password: the status says so while the local server serves the camera.
    const exposed = !rtspAuth && !isLoopbackHost(rtspHost);
    const status = new StreamStatus({
      text: (key, vars) => t(`status.${key}`, vars),
      why: (why) => reasonText(why, (code, params) => t(`reasons.${code}`, params)),
      show: (s) => this.status(s),
      exposed: (state) => exposed && (serve === "local" || state.protocol === "WEB_RTC"),
    });
    let releaseAccount: (() => void) | undefined;

    const controller = new StreamController({
      deviceId: config.deviceId,
      noDeviceMessage: t("errors.noDevice"),
      create: (deviceId) => {
        if (!accountNode) throw new Error(t("errors.noAccount"));
        if (credentialsError) throw new Error(credentialsError);
        let port: number | undefined;
        try {
          port = rtspPortSetting(config.rtspPort);
        } catch (err) {
          throw settingError(err);
        }
        const account = accountNode.account();
        releaseAccount ??= account.retain();
        return new CameraStream({
          // The stream keepers schedule their own retries (they know the stream's deadline).
          sdm: account.sdm.singleTry,
          deviceId,
          protocol,
          serve,
          local: { client: { ca: rtspsCa() } },
          clock: systemClock,
          webrtc: { host: rtspHost, port, credentials: rtspAuth },
          // A redeploy hands the live session to this node's successor (same project, camera, credentials).
          handover: {
            scope: account.sessionScope,
            fingerprint: account.credentialsFingerprint,
            hold: () => account.linger(),
          },
          // The states carry what the user must see; this is the WebRTC sessions' progress, for the log.
          errorText,
          log: (level, message) =>
            level === "warn" ? this.warn(redact(message)) : this.debug(redact(message)),
        });
      },
    });
    controller.on("url", (ev) => this.send({ payload: ev.url, topic: ev.deviceId, stream: { ...ev } }));
    controller.on("state", (state) => status.update(state));
    controller.on("failure", (reason) => this.error(redact(reason)));
    controller.on("warning", (w) =>
      this.warn(warningText(w, (code, params) => t(`warnings.${code}`, params))),
    );
    status.update(controller.state);

    this.on("input", async (msg, _send, done) => {
      try {
        await controller.command(parseStreamCommand(msg.payload, msg.deviceId));
        done();
      } catch (err) {
        done(
          err instanceof StreamCommandError ? new Error(t("errors.input", { got: err.got })) : (err as Error),
        );
      }
    });

    this.on("close", (removed, done) => {
      status.close();
      // After a command in flight; the stop is bounded in time (best effort StopRtspStream /
      // StopWebRtcStream), so this stays inside Node-RED's close timeout. Closed for a deploy that
      // keeps the node: an RTSP camera's live session is parked for the new node (30 s at most).
      const park = !removed && stops.replacing();
      void controller.close({ park }).then(() => {
        releaseAccount?.();
        for (const v of maskedValues) secrets.delete(v);
        done();
      });
    });

    if (!accountNode) status.noAccount();
    else if (config.startOnDeploy && (config.deviceId ?? "").trim()) {
      controller.command({ action: "start" }).catch((err: unknown) => this.error(errorMessage(err)));
    }
  }

  RED.nodes.registerType("nest-stream", NestStreamNode, {
    credentials: { rtspUser: { type: "text" }, rtspPassword: { type: "password" } },
  });
};
