/**
 * What every stream driver (RTSP: StreamKeeper; WebRTC: WebRtcBridge) and the CameraStream that
 * drives them report: one state type, one URL event type, one driver interface.
 */
import type { StreamProtocol } from "../nest/sdm-types";
import type { StreamReason, StreamWarning } from "./stream-reason";

export type StreamStateName = "starting" | "live" | "extending" | "retrying" | "stopped" | "error";

/** Payload of the `state` event, for the node's status line. Never holds a secret. */
export interface StreamState {
  state: StreamStateName;
  /** Why it stopped (error): worded by the caller's catalog, redacted, names the camera and what to do. */
  reason?: string;
  /** Why it is retrying (or renewing while it extends): a code the adapter words, masked. */
  why?: StreamReason;
  /** ISO expiry of the current stream (live, extending, retrying while the stream still runs). */
  expiresAt?: string;
  /** The camera's display name, once known. */
  camera?: string;
  /** The protocol in use, once the device has been looked up (CameraStream). */
  protocol?: StreamProtocol;
}

/** Why a `url` event was sent (design section 3, `msg.stream.event`). */
export type StreamUrlEventName = "started" | "extended" | "restarted" | "stopped";

/** Payload of the `url` event: one each time the usable URL changes (`msg.stream`). */
export interface CameraUrlEvent<P extends StreamProtocol = StreamProtocol> {
  /**
   * "started": a new session; "extended": same session, new token in the URL (a running reader need
   * not reconnect); "restarted": a new session replaced a failed one (readers must reconnect);
   * "stopped": no usable URL any more.
   */
  event: StreamUrlEventName;
  /** The URL for new connections, or null when stopped. */
  url: string | null;
  /** ISO time the stream expires, or null when stopped. */
  expiresAt: string | null;
  /** Short device id. */
  deviceId: string;
  /** The camera's display name (the device id until it is known). */
  camera: string;
  protocol: P;
}

/** The `url` event a driver sends for its camera (`url` and `expiresAt` null when stopped). */
export function cameraUrlEvent<P extends StreamProtocol>(
  from: { deviceId: string; camera: string; protocol: P },
  event: StreamUrlEventName,
  url: string | null,
  expiresAt: string | null,
): CameraUrlEvent<P> {
  return { event, url, expiresAt, deviceId: from.deviceId, camera: from.camera, protocol: from.protocol };
}

export interface StreamDriverEvents {
  url: [CameraUrlEvent];
  state: [StreamState];
  /** Something went wrong that did not change the state (a failed best-effort stop). Redacted. */
  warning: [StreamWarning];
}

/** One protocol's stream lifecycle, as CameraStream drives it. */
export interface StreamDriver {
  /** Starts; harmless while running; never throws (problems surface as states). */
  start(): void;
  /** Stops (best effort at Google, bounded in time); never rejects. */
  stop(): Promise<void>;
  on(event: "url", listener: (ev: CameraUrlEvent) => void): this;
  on(event: "state", listener: (ev: StreamState) => void): this;
  on(event: "warning", listener: (warning: StreamWarning) => void): this;
  removeAllListeners(event?: keyof StreamDriverEvents): this;
}
