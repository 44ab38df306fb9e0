/**
 * How the stream keeper reads the SDM client's typed errors: which ones are worth retrying, which
 * mean "this stream's token is gone, start a new one", and which are configuration problems that
 * only the user can fix (with a message that names the camera and says what to do).
 */
import {
  CredentialsError,
  FailedPreconditionError,
  GoogleError,
  InvalidArgumentError,
  InvalidClientError,
  InvalidGrantError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitedError,
  TransientGoogleError,
  UnauthenticatedError,
} from "../google/errors";
import { isCameraOffline } from "../nest/sdm-errors";
import { errorMessage } from "../redact";

/** Which call failed: the device lookup, GenerateRtspStream or ExtendRtspStream. */
export type StreamPhase = "lookup" | "generate" | "extend";

export type ErrorVerdict =
  /** Worth trying again later; `reason` is a short, redacted text for the status line. */
  | { kind: "retry"; reason: string; offline: boolean }
  /** The stream (its extension token) is gone: start a new stream. */
  | { kind: "rejected"; reason: string }
  /** Only the user can fix it: stop with state "error" and this message. */
  | { kind: "fatal"; message: string };

/** A configuration problem found before or while streaming (the keeper stops in state "error"). */
export class StreamConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StreamConfigError";
  }
}

const SHARE_ADVICE =
  "and that the camera was shared with your Device Access project when the nest-account was authorized " +
  "(authorize the account again and tick this camera)";

/** `camera` is the display name when known, else the device id. */
export function classifyError(err: unknown, phase: StreamPhase, camera: string): ErrorVerdict {
  const detail = errorMessage(err);
  const cam = `"${camera}"`;
  if (err instanceof NotFoundError) {
    return {
      kind: "fatal",
      message: `Camera ${cam} was not found (${detail}). Check the device id in the nest-stream node, ${SHARE_ADVICE}.`,
    };
  }
  if (err instanceof PermissionDeniedError) {
    return {
      kind: "fatal",
      message:
        `Google denied access to camera ${cam} (${detail}). Check the Device Access project ID of the ` +
        `nest-account, ${SHARE_ADVICE}.`,
    };
  }
  if (
    err instanceof InvalidGrantError ||
    err instanceof InvalidClientError ||
    err instanceof CredentialsError
  ) {
    return { kind: "fatal", message: `Camera ${cam}: ${detail}` };
  }
  if (err instanceof InvalidArgumentError) {
    if (phase === "extend") return { kind: "rejected", reason: `extension token rejected (${detail})` };
    return {
      kind: "fatal",
      message:
        `Google rejected the RTSP stream request for camera ${cam} (${detail}). If this camera offers only ` +
        `WebRTC, set Protocol to "auto" or "WebRTC" in the nest-stream node.`,
    };
  }
  if (err instanceof FailedPreconditionError) {
    if (phase === "generate" && /not supported|unsupported/i.test(err.message)) {
      return {
        kind: "fatal",
        message:
          `Camera ${cam} cannot give an RTSP live stream (${detail}). If it offers only WebRTC, set Protocol ` +
          `to "auto" or "WebRTC" in the nest-stream node.`,
      };
    }
    if (isCameraOffline(err)) {
      return {
        kind: "retry",
        offline: true,
        reason: `camera offline: check that ${cam} is online in the Google Home app`,
      };
    }
    return { kind: "retry", offline: false, reason: `camera unavailable (${detail})` };
  }
  if (err instanceof RateLimitedError) {
    return { kind: "retry", offline: false, reason: "rate limited by Google" };
  }
  if (err instanceof UnauthenticatedError) {
    return { kind: "retry", offline: false, reason: `Google refused the access token (${detail})` };
  }
  if (err instanceof TransientGoogleError || err instanceof GoogleError) {
    return { kind: "retry", offline: false, reason: `Google error: ${detail}` };
  }
  return { kind: "retry", offline: false, reason: detail };
}

/** "sdm.devices.types.THERMOSTAT" → "thermostat". */
export function deviceTypeName(type: string): string {
  const last = (type || "").split(".").pop() || "unknown device";
  return last.replace(/_/g, " ").toLowerCase();
}

export function notACameraMessage(camera: string, type: string): string {
  const kind = deviceTypeName(type);
  const article = /^[aeiou]/.test(kind) ? "an" : "a";
  return `Device "${camera}" is ${article} ${kind}, not a camera: pick a camera in the nest-stream node.`;
}

/** The camera lists only WEB_RTC but RTSP was asked for (forced in the node, or a bare StreamKeeper). */
export function webRtcOnlyMessage(camera: string): string {
  return (
    `Camera "${camera}" offers only WebRTC, so it cannot stream via RTSP: set Protocol to "auto" or ` +
    `"WebRTC" in the nest-stream node.`
  );
}

/** The camera lists only RTSP but WebRTC was forced in the node. */
export function rtspOnlyMessage(camera: string): string {
  return (
    `Camera "${camera}" offers only RTSP, not WebRTC: set Protocol to "auto" or "RTSP" in the ` +
    `nest-stream node.`
  );
}

/** The camera lists neither protocol (or none this package knows). */
export function noProtocolMessage(camera: string, protocols: readonly string[]): string {
  const listed = protocols.length ? `it lists ${protocols.join(", ")}` : "it lists none";
  return `Camera "${camera}" offers no live stream protocol this node can use (RTSP or WebRTC; ${listed}).`;
}

/** The local RTSP server that serves WebRTC cameras could not listen. */
export function rtspServerMessage(camera: string, host: string, port: number, err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const why = code === "EADDRINUSE" ? "the port is in use by another program" : errorMessage(err);
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  return (
    `Camera "${camera}": the local RTSP server for WebRTC cameras could not listen on ${where} (${why}). ` +
    `Set another RTSP port in the nest-stream node (0 = any free port), or check the bind address.`
  );
}

/** Seconds for a status line: 1500 → "2 s", 90000 → "90 s". */
export function seconds(ms: number): string {
  return `${Math.max(0, Math.round(ms / 1000))} s`;
}
