/**
 * The one device lookup and the one set of camera checks of a stream: is it a camera, and which
 * protocol it streams with. CameraStream runs them once per start; a StreamKeeper used on its own
 * (without a device given) runs the same ones.
 */
import type { CameraInfo, SdmDevice, StreamProtocol } from "../nest/sdm-types";
import { classifyError, noDeviceData, noProtocol, notACamera, rtspOnly, webRtcOnly } from "./stream-messages";
import { secondsParam, streamReason, type StreamReason } from "./stream-reason";

/** The nest-stream node's `protocol` setting. */
export type ProtocolChoice = "auto" | "RTSP" | "WEB_RTC";
export const PROTOCOL_CHOICES: readonly ProtocolChoice[] = ["auto", "RTSP", "WEB_RTC"];

/**
 * The protocol a camera is streamed with: the forced one if it lists it, else RTSP when listed,
 * else WEB_RTC. Throws StreamConfigError (with what to do) when nothing fits.
 */
export function chooseProtocol(info: CameraInfo, choice: ProtocolChoice = "auto"): StreamProtocol {
  const has = (p: StreamProtocol) => info.protocols.includes(p);
  switch (choice) {
    case "RTSP":
      if (has("RTSP")) return "RTSP";
      throw has("WEB_RTC") ? webRtcOnly(info.displayName) : noProtocol(info.displayName, info.protocols);
    case "WEB_RTC":
      if (has("WEB_RTC")) return "WEB_RTC";
      throw has("RTSP") ? rtspOnly(info.displayName) : noProtocol(info.displayName, info.protocols);
    default:
      if (has("RTSP")) return "RTSP";
      if (has("WEB_RTC")) return "WEB_RTC";
      throw noProtocol(info.displayName, info.protocols);
  }
}

/** The camera checks: a camera, streamable with `choice`. Throws StreamConfigError with what to do. */
export function checkCamera(info: CameraInfo, choice: ProtocolChoice): StreamProtocol {
  if (!info.isCamera) throw notACamera(info.displayName, info.type);
  return chooseProtocol(info, choice);
}

/** What the caller of lookUpDevice decides: timing, cancellation and how it reports. */
export interface LookupHooks {
  /** The delay before the next try after `err` (retryDelay with the caller's Backoff). */
  delay(err: unknown): number;
  /** Waits (abortable); rejecting abandons the lookup. */
  wait(ms: number): Promise<void>;
  /** After each settled request or wait: throws to abandon the lookup (a cancelled run). */
  check(): void;
  /** A retry is coming: `reason` says why and when. */
  retrying(why: StreamReason): void;
  /** Runs the request (a StreamKeeper tracks it as the command in flight). Default: as is. */
  request?(work: () => Promise<SdmDevice | undefined>): Promise<SdmDevice | undefined>;
}

/**
 * The device, looked up until it answers: transient failures are retried (hooks.delay, which
 * honours Retry-After); what the user must fix throws StreamConfigError.
 */
export async function lookUpDevice(
  sdm: { device(id: string): Promise<SdmDevice> },
  shortDeviceId: string,
  label: () => string,
  hooks: LookupHooks,
): Promise<SdmDevice> {
  const request = hooks.request ?? ((work) => work());
  for (;;) {
    let device: SdmDevice | undefined;
    try {
      device = await request(() => sdm.device(shortDeviceId));
    } catch (err) {
      hooks.check();
      const verdict = classifyError(err, "lookup", label());
      if (verdict.kind === "fatal") throw verdict.error;
      const delay = hooks.delay(err);
      hooks.retrying(streamReason("nextTry", { seconds: secondsParam(delay) }, verdict.reason));
      await hooks.wait(delay);
      hooks.check();
      continue;
    }
    hooks.check();
    if (!device || typeof device !== "object") throw noDeviceData(label());
    return device;
  }
}
