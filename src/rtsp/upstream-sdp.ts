/**
 * Reads the SDP an RTSP Nest camera (Google's edge) answers DESCRIBE with: the H.264 video track
 * and the audio track (AAC as MPEG4-GENERIC, or whatever it sends), with their payload types,
 * `a=fmtp` parameters and control URLs resolved against the Content-Base the way ffmpeg does
 * (a relative control is appended after a "/", so a base that carries `?auth=…` keeps it).
 */
import { sdpLines } from "../webrtc/sdp";

export interface UpstreamTrack {
  kind: "video" | "audio";
  payloadType: number;
  /** Encoding name as the camera wrote it (`H264`, `MPEG4-GENERIC`). */
  encoding: string;
  clockRate: number;
  /** Audio channels (1 when not given). */
  channels: number;
  /** The `a=fmtp` parameters, as given. */
  fmtp?: string;
  /** Where SETUP for this track goes. */
  controlUrl: string;
}

export interface UpstreamMedia {
  video?: UpstreamTrack;
  audio?: UpstreamTrack;
  /** Where an aggregate PLAY goes (the session's control URL). */
  controlUrl: string;
}

/** The longest SDP line kept (longer lines are ignored: a hostile server's, not a camera's). */
const MAX_LINE = 4096;

export function resolveControl(base: string, control: string | undefined): string {
  // Request lines are built from it: visible characters only, else the base.
  if (control === undefined || control === "" || control === "*" || !/^[\x21-\x7e]{1,4096}$/.test(control))
    return base;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(control)) return control;
  return base.endsWith("/") ? base + control : `${base}/${control}`;
}

export function parseUpstreamSdp(sdp: string, base: string): UpstreamMedia {
  let sessionControl: string | undefined;
  interface Section {
    kind: string;
    formats: number[];
    rtpmap: Map<number, string>;
    fmtp: Map<number, string>;
    control?: string;
    port: number;
  }
  const sections: Section[] = [];
  let current: Section | undefined;
  for (const line of sdpLines(sdp)) {
    if (line.length > MAX_LINE) continue;
    const m = /^m=(\S+)\s+(\d+)(?:\/\d+)?\s+\S+\s*(.*)$/.exec(line);
    if (m) {
      current = {
        kind: m[1].toLowerCase(),
        port: Number(m[2]),
        formats: m[3]
          .split(/\s+/)
          .filter((f) => /^\d{1,3}$/.test(f))
          .map(Number),
        rtpmap: new Map(),
        fmtp: new Map(),
      };
      sections.push(current);
      continue;
    }
    const a = /^a=([a-z-]+):(.*)$/i.exec(line);
    if (!a) continue;
    const [, name, value] = a;
    if (name.toLowerCase() === "control") {
      if (current) current.control = value.trim();
      else sessionControl = value.trim();
      continue;
    }
    if (!current) continue;
    const pv = /^(\d{1,3})\s+(.*)$/.exec(value);
    if (!pv) continue;
    if (name.toLowerCase() === "rtpmap") current.rtpmap.set(Number(pv[1]), pv[2].trim());
    else if (name.toLowerCase() === "fmtp") current.fmtp.set(Number(pv[1]), pv[2].trim());
  }
  const sessionUrl = resolveControl(base, sessionControl);
  const media: UpstreamMedia = { controlUrl: sessionUrl };
  for (const s of sections) {
    if (s.kind !== "video" && s.kind !== "audio") continue;
    if (media[s.kind]) continue;
    for (const pt of s.formats) {
      if (pt > 127) continue;
      const rtpmap = s.rtpmap.get(pt);
      if (!rtpmap) continue;
      const [encoding, rate, channels] = rtpmap.split("/");
      if (!/^[A-Za-z0-9._-]{1,32}$/.test(encoding ?? "")) continue;
      if (s.kind === "video" && !/^h264$/i.test(encoding)) continue;
      const clockRate = Number(rate);
      if (!Number.isInteger(clockRate) || clockRate <= 0 || clockRate > 1_000_000) continue;
      const ch = channels === undefined ? 1 : Number(channels);
      media[s.kind] = {
        kind: s.kind,
        payloadType: pt,
        encoding,
        clockRate,
        channels: Number.isInteger(ch) && ch > 0 && ch <= 8 ? ch : 1,
        fmtp: s.fmtp.get(pt),
        controlUrl: resolveControl(base, s.control),
      };
      break;
    }
  }
  return media;
}
