/**
 * How the stream keeper reads the SDM client's typed errors: which ones are worth retrying, which
 * mean "this stream's token is gone, start a new one", and which are configuration problems that
 * only the user can fix (codes the adapter words from its catalog: they name the camera and say what
 * to do).
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
import { CodedError } from "../coded-error";
import { errorMessage } from "../redact";
import { streamReason, type StreamReason } from "./stream-reason";

/** Which call failed: the device lookup, GenerateRtspStream or ExtendRtspStream. */
export type StreamPhase = "lookup" | "generate" | "extend";

export type ErrorVerdict =
  /** Worth trying again later; `reason` says why (a code the adapter words, masked). */
  | { kind: "retry"; reason: StreamReason; offline: boolean }
  /** The stream (its extension token) is gone: start a new stream. */
  | { kind: "rejected"; reason: StreamReason }
  /** Only the user can fix it: stop with state "error" and this refusal. */
  | { kind: "fatal"; error: StreamConfigError };

/**
 * What only the user can fix, what stopped a stream unexpectedly, and the warnings of the local
 * RTSP server: a camera served beyond loopback without a password, the default port taken by
 * another program.
 */
export const STREAM_CONFIG_CODES = [
  "notFound",
  "permissionDenied",
  "credentials",
  "rtspRejected",
  "rtspUnsupported",
  "notACamera",
  "notAnCamera",
  "webRtcOnly",
  "rtspOnly",
  "noProtocol",
  "noProtocolListed",
  "rtspServerInUse",
  "rtspServer",
  "alreadyServed",
  "noDeviceData",
  "exposed",
  "portFellBack",
  "unexpectedStop",
  "keeperStopped",
  "streamFailed",
] as const;
export type StreamConfigCode = (typeof STREAM_CONFIG_CODES)[number];

/**
 * A configuration problem found before or while streaming (the keeper stops in state "error"), as a
 * code and its parameters: the adapter words it from its catalog (`nest-stream.errors.<code>`); the
 * message is a developer's fallback.
 */
export class StreamConfigError extends CodedError<StreamConfigCode> {
  constructor(code: StreamConfigCode, params: Record<string, string> = {}) {
    super("nest-stream", code, params);
    this.name = "StreamConfigError";
  }
}

/** `camera` is the display name when known, else the device id. */
export function classifyError(err: unknown, phase: StreamPhase, camera: string): ErrorVerdict {
  const detail = errorMessage(err);
  const fatal = (code: StreamConfigCode): ErrorVerdict => ({
    kind: "fatal",
    error: new StreamConfigError(code, { camera, detail }),
  });
  if (err instanceof NotFoundError) return fatal("notFound");
  if (err instanceof PermissionDeniedError) return fatal("permissionDenied");
  if (
    err instanceof InvalidGrantError ||
    err instanceof InvalidClientError ||
    err instanceof CredentialsError
  ) {
    return fatal("credentials");
  }
  if (err instanceof InvalidArgumentError) {
    if (phase === "extend") return { kind: "rejected", reason: streamReason("tokenRejected", { detail }) };
    return fatal("rtspRejected");
  }
  if (err instanceof FailedPreconditionError) {
    if (phase === "generate" && /not supported|unsupported/i.test(err.message))
      return fatal("rtspUnsupported");
    if (isCameraOffline(err)) {
      return {
        kind: "retry",
        offline: true,
        reason: streamReason("cameraOffline", { camera }),
      };
    }
    return { kind: "retry", offline: false, reason: streamReason("cameraUnavailable", { detail }) };
  }
  if (err instanceof RateLimitedError) {
    return { kind: "retry", offline: false, reason: streamReason("rateLimited") };
  }
  if (err instanceof UnauthenticatedError) {
    return { kind: "retry", offline: false, reason: streamReason("tokenRefused", { detail }) };
  }
  if (err instanceof TransientGoogleError || err instanceof GoogleError) {
    return { kind: "retry", offline: false, reason: streamReason("googleError", { detail }) };
  }
  return { kind: "retry", offline: false, reason: streamReason("failed", { detail }) };
}

/** "sdm.devices.types.THERMOSTAT" → "thermostat". */
export function deviceTypeName(type: string): string {
  const last = (type || "").split(".").pop() || "unknown device";
  return last.replace(/_/g, " ").toLowerCase();
}

/** A device that is not a camera, named by its type (the catalog's "a" or "an" before it). */
export function notACamera(camera: string, type: string): StreamConfigError {
  const kind = deviceTypeName(type);
  return new StreamConfigError(/^[aeiou]/.test(kind) ? "notAnCamera" : "notACamera", { camera, kind });
}

/** The camera lists only WEB_RTC but RTSP was asked for (forced in the node, or a bare StreamKeeper). */
export function webRtcOnly(camera: string): StreamConfigError {
  return new StreamConfigError("webRtcOnly", { camera });
}

/** The camera lists only RTSP but WebRTC was forced in the node. */
export function rtspOnly(camera: string): StreamConfigError {
  return new StreamConfigError("rtspOnly", { camera });
}

/** The camera lists neither protocol (or none this package knows). */
export function noProtocol(camera: string, protocols: readonly string[]): StreamConfigError {
  return protocols.length
    ? new StreamConfigError("noProtocol", { camera, protocols: protocols.join(", ") })
    : new StreamConfigError("noProtocolListed", { camera });
}

/** The local RTSP server that serves WebRTC cameras could not listen. */
export function rtspServerError(camera: string, host: string, port: number, err: unknown): StreamConfigError {
  const code = (err as { code?: unknown } | null)?.code;
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  return code === "EADDRINUSE"
    ? new StreamConfigError("rtspServerInUse", { camera, where })
    : new StreamConfigError("rtspServer", { camera, where, error: errorMessage(err) });
}

/** The lookup answered without a device. */
export function noDeviceData(camera: string): StreamConfigError {
  return new StreamConfigError("noDeviceData", { camera });
}

/** The warning of a camera served beyond loopback without a password. */
export function exposedWarning(host: string): StreamConfigError {
  return new StreamConfigError("exposed", { host });
}

/** The default RTSP port is taken: WebRTC cameras are served on another (a warning). */
export function portFellBack(port: number, actual: number): StreamConfigError {
  return new StreamConfigError("portFellBack", { port: String(port), actual: String(actual) });
}
