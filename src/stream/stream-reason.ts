/**
 * Why a stream is retrying (or renewing while it extends), as a code and its parameters: the adapter
 * words it from its catalog (`nest-stream.reasons.<code>`); Google's own words (`detail`) stay data
 * inside a placeholder, and a reason that wraps another (`cause`) is worded first, into `__cause__`.
 */
import { redact, redactParams } from "../redact";

export const STREAM_REASON_CODES = [
  // classifyError
  "cameraOffline",
  "cameraUnavailable",
  "rateLimited",
  "tokenRefused",
  "googleError",
  "tokenRejected",
  "failed",
  // the RTSP stream keeper and the device lookup
  "expiredBeforeExtend",
  "newStream",
  "extendTooLate",
  "extendRetry",
  "nextTry",
  // the WebRTC session
  "webrtcNextSession",
  "webrtcExtendRefused",
  "webrtcExtendRetry",
  "webrtcExtendFailed",
  "webrtcLost",
  "webrtcNoMedia",
  "webrtcConnectionLost",
  "webrtcConnectionState",
  "webrtcChannelClosed",
  // the local relay of an RTSP camera
  "relayOpenFailed",
  "relayEnded",
] as const;
export type StreamReasonCode = (typeof STREAM_REASON_CODES)[number];

export interface StreamReason {
  code: StreamReasonCode;
  /** What the text fills in (`__name__`), masked. */
  params: Readonly<Record<string, string>>;
  /** The reason this one wraps, worded into `__cause__`. */
  cause?: StreamReason;
}

/** A reason, its parameters masked. */
export function streamReason(
  code: StreamReasonCode,
  params: Record<string, string> = {},
  cause?: StreamReason,
): StreamReason {
  const reason: StreamReason = { code, params: redactParams(params) };
  if (cause) reason.cause = cause;
  return reason;
}

/** The reason masked again (a secret may have become known since). */
export function redactReason(reason: StreamReason): StreamReason {
  return streamReason(reason.code, { ...reason.params }, reason.cause && redactReason(reason.cause));
}

/** Words a reason with `text` (the node's catalog: `nest-stream.reasons.<code>`), its cause first. */
export function reasonText(
  reason: StreamReason,
  text: (code: StreamReasonCode, params: Record<string, string>) => string,
): string {
  const params: Record<string, string> = { ...reason.params };
  if (reason.cause) params.cause = reasonText(reason.cause, text);
  return redact(text(reason.code, params));
}

/** Whole seconds for a `__seconds__` placeholder: 1500 → "2". */
export function secondsParam(ms: number): string {
  return String(Math.max(0, Math.round(ms / 1000)));
}

/** The warnings of a stream that do not change its state (nest-stream.warnings.<code>, the camera named). */
export const STREAM_WARNING_CODES = [
  "noAnswer",
  "stopTimeout",
  "stopFailed",
  "clockSkew",
  "stoppingFailed",
  "otherTracks",
  "configured",
] as const;
export type StreamWarningCode = (typeof STREAM_WARNING_CODES)[number];

/** A warning as a code and its parameters (masked); `camera` names the camera. */
export interface StreamWarning {
  code: StreamWarningCode;
  params: Readonly<Record<string, string>>;
}

/** A warning, its parameters masked. */
export function streamWarning(code: StreamWarningCode, params: Record<string, string> = {}): StreamWarning {
  return { code, params: redactParams(params) };
}

/** Words a warning with `text` (the node's catalog: `nest-stream.warnings.<code>`), masked. */
export function warningText(
  warning: StreamWarning,
  text: (code: StreamWarningCode, params: Record<string, string>) => string,
): string {
  return redact(text(warning.code, { ...warning.params }));
}
