/**
 * Which certificates ffmpeg checks a TLS destination's (rtmps://, rtsps://) against: ffmpeg verifies
 * none by default (`tls_verify` 0), so anyone on the path could pose as YouTube and take the stream
 * key. The node's CA file, else the system's bundle; verified, ffmpeg also checks the host name.
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
  /** The PEM file ffmpeg verifies against; undefined: none found, TLS destinations go unverified. */
  caFile?: string;
  /** Set when the node named a file that is not there (the destination is then misconfigured). */
  missing?: string;
}

/** The configured file (checked), else the first system bundle that exists. */
export function tlsTrust(configured?: string, exists: (file: string) => boolean = fs.existsSync): TlsTrust {
  const file = configured?.trim();
  if (file) return exists(file) ? { caFile: file } : { missing: file };
  return { caFile: SYSTEM_CA_FILES.find((f) => exists(f)) };
}

/** What a node whose CA file is not there is told (a configuration error: nothing is published). */
export function caFileMissing(file: string): string {
  return (
    `the CA file ${file} does not exist: give the path of a PEM file with the certificates to trust, ` +
    "or leave it empty to use the system's"
  );
}
