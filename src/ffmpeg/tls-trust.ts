/**
 * Which certificates ffmpeg checks an `rtmps://` destination's against: ffmpeg checks none by default
 * (`tls_verify` 0), so anyone on the path could pose as YouTube and take the stream key. The node's
 * CA file, else the system's bundle, unless the node turned the check off.
 */
import fs from "node:fs";

/** Where distributions keep their CA bundle (Debian, Ubuntu, Alpine, Arch; Fedora, RHEL; openSUSE; macOS). */
export const SYSTEM_CA_FILES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/ca-bundle.pem",
  "/etc/ssl/cert.pem",
] as const;

export interface TlsTrust {
  /** The PEM file ffmpeg verifies against; undefined: none found, rtmps:// goes unverified. */
  caFile?: string;
  /** Set when the node named a file that is not there (the destination is then misconfigured). */
  missing?: string;
  /** The node turned the check off (a server whose certificate cannot be had). */
  off?: boolean;
}

/** The configured file (checked), else the first system bundle that exists; nothing when `verify` is false. */
export function tlsTrust(
  options: { caFile?: string; verify?: boolean },
  exists: (file: string) => boolean = fs.existsSync,
): TlsTrust {
  if (options.verify === false) return { off: true };
  const file = options.caFile?.trim();
  if (file) return exists(file) ? { caFile: file } : { missing: file };
  return { caFile: SYSTEM_CA_FILES.find((f) => exists(f)) };
}
