/**
 * The nest-stream node's settings of its local RTSP server, checked: the port and the readers' user
 * and password. A refusal is a code the adapter words from its catalog (`nest-stream.errors.<code>`).
 */
import { truncate } from "../format";
import type { RtspCredentials } from "../webrtc/rtsp-auth";

export const STREAM_SETTING_CODES = ["rtspPort", "rtspCredentials", "rtspUser"] as const;
export type StreamSettingCode = (typeof STREAM_SETTING_CODES)[number];

export class StreamSettingError extends Error {
  constructor(
    readonly code: StreamSettingCode,
    /** The setting as given, cut (never a password). */
    readonly got?: string,
  ) {
    super(`nest-stream: ${code}${got === undefined ? "" : ` (got ${got})`}`);
    this.name = "StreamSettingError";
  }
}

/** The RTSP port setting: undefined for the default, else 0–65535; throws "rtspPort" on anything else. */
export function rtspPortSetting(value: unknown): number | undefined {
  const text = value === undefined || value === null ? "" : String(value).trim();
  if (text === "") return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 65535)
    throw new StreamSettingError("rtspPort", truncate(text, 20));
  return Number(text);
}

/**
 * The local server's credentials of a camera: undefined when neither is set; throws "rtspCredentials"
 * when only one is, "rtspUser" when the user name cannot be sent (a colon, which Basic cannot carry, or
 * control characters) or the password has control characters.
 */
export function rtspCredentialsSetting(
  user: string | undefined,
  password: string | undefined,
): RtspCredentials | undefined {
  const u = user ?? "";
  const p = password ?? "";
  if (u === "" && p === "") return undefined;
  if (u === "" || p === "") throw new StreamSettingError("rtspCredentials");
  // eslint-disable-next-line no-control-regex
  if (/[:\x00-\x1f\x7f]/.test(u) || /[\x00-\x1f\x7f]/.test(p)) throw new StreamSettingError("rtspUser");
  return { user: u, password: p };
}
