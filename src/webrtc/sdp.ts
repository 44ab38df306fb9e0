/** SDP helpers for the WebRTC bridge: read what the camera answered, repair Nest's quirks, describe the local RTSP stream. */

export interface NegotiatedVideo {
  payloadType: number;
  /** Encoding name as answered (`H264`). */
  codec: string;
  clockRate: number;
  /** The answered `a=fmtp` parameters (for example `packetization-mode=1;profile-level-id=42e01f`). */
  fmtp?: string;
  /** The answer accepts `ccm fir` feedback. */
  fir: boolean;
  /** The answer accepts `nack pli` feedback. */
  pli: boolean;
}

export interface NegotiatedAudio {
  payloadType: number;
  /** Encoding name as answered (`opus`). */
  codec: string;
  clockRate: number;
  channels: number;
  fmtp?: string;
}

/** The payload types and codecs both sides agreed on; a kind is missing when the answer rejected it. */
export interface NegotiatedMedia {
  video?: NegotiatedVideo;
  audio?: NegotiatedAudio;
}

interface Section {
  kind: string;
  port: number;
  formats: number[];
  lines: string[];
}

export function sdpLines(sdp: string): string[] {
  return sdp.split(/\r\n|\r|\n/).filter((l) => l.length > 0);
}

function sections(sdp: string): Section[] {
  const out: Section[] = [];
  let current: Section | undefined;
  for (const line of sdpLines(sdp)) {
    const m = /^m=(\S+)\s+(\d+)(?:\/\d+)?\s+\S+\s*(.*)$/.exec(line);
    if (m) {
      current = {
        kind: m[1],
        port: Number(m[2]),
        formats: m[3]
          .split(/\s+/)
          .filter((f) => /^\d+$/.test(f))
          .map(Number),
        lines: [],
      };
      out.push(current);
    } else if (current) current.lines.push(line);
  }
  return out;
}

function attribute(section: Section, name: string, pt: number): string[] {
  const prefix = `a=${name}:${pt} `;
  return section.lines.filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length).trim());
}

/** Reads the negotiated H.264 and Opus payload types from an answer (or any SDP). */
export function parseNegotiatedMedia(sdp: string): NegotiatedMedia {
  const media: NegotiatedMedia = {};
  for (const s of sections(sdp)) {
    if (s.port === 0) continue;
    for (const pt of s.formats) {
      const rtpmap = attribute(s, "rtpmap", pt)[0];
      if (!rtpmap) continue;
      const [name, rate, channels] = rtpmap.split("/");
      const fmtp = attribute(s, "fmtp", pt)[0];
      const fb = attribute(s, "rtcp-fb", pt).map((f) => f.toLowerCase());
      if (s.kind === "video" && !media.video && /^h264$/i.test(name)) {
        media.video = {
          payloadType: pt,
          codec: name,
          clockRate: Number(rate) || 90000,
          fmtp,
          fir: fb.includes("ccm fir"),
          pli: fb.includes("nack pli"),
        };
      } else if (s.kind === "audio" && !media.audio && /^opus$/i.test(name)) {
        media.audio = {
          payloadType: pt,
          codec: name,
          clockRate: Number(rate) || 48000,
          channels: Number(channels) || 2,
          fmtp,
        };
      }
    }
  }
  return media;
}

/**
 * Repairs the answers Google sends for Nest cameras so a standard stack accepts them:
 * - `a=sendrecv` for media we offered receive-only becomes `a=sendonly` (RFC 3264);
 * - ICE candidates without a foundation (`a=candidate: 1 udp …`) get one;
 * - line endings become CRLF, with a final one.
 */
export function fixNestAnswer(answerSdp: string): string {
  const out: string[] = [];
  let kind = "";
  let n = 0;
  for (const line of sdpLines(answerSdp)) {
    if (line.startsWith("m=")) kind = line.slice(2).split(" ")[0];
    if ((kind === "audio" || kind === "video") && line === "a=sendrecv") {
      out.push("a=sendonly");
      continue;
    }
    const cand = /^a=candidate:\s+(\d+\s+\S+\s+\d+\s.*)$/.exec(line);
    if (cand) {
      out.push(`a=candidate:nest${++n} ${cand[1]}`);
      continue;
    }
    out.push(line);
  }
  return out.join("\r\n") + "\r\n";
}

export interface RtspSdpOptions {
  /** Address written in `o=` (the server's bind address). */
  host: string;
  /** Stream name for `s=`. */
  name: string;
  sessionId: number;
  video?: { payloadType: number; fmtp?: string; spropParameterSets?: string; profileLevelId?: string };
  /** `encoding`: the rtpmap encoding name (default "opus"; "MPEG4-GENERIC" for an RTSP camera's AAC). */
  audio?: { payloadType: number; clockRate: number; channels: number; fmtp?: string; encoding?: string };
}

/** Builds the SDP the local RTSP server answers DESCRIBE with: video `trackID=0`, audio `trackID=1`. */
export function buildRtspSdp(o: RtspSdpOptions): string {
  const ip6 = o.host.includes(":");
  const lines = [
    "v=0",
    `o=- ${o.sessionId} 1 IN ${ip6 ? "IP6" : "IP4"} ${o.host}`,
    `s=${o.name.replace(/[\r\n]/g, " ") || "-"}`,
    `c=IN ${ip6 ? "IP6 ::" : "IP4 0.0.0.0"}`,
    "t=0 0",
    "a=tool:node-red-contrib-nest-restream",
    "a=control:*",
    "a=range:npt=now-",
  ];
  if (o.video) {
    const pt = o.video.payloadType;
    const params = fmtpParams(o.video.fmtp);
    params.set("packetization-mode", "1");
    if (o.video.profileLevelId) params.set("profile-level-id", o.video.profileLevelId);
    params.delete("level-asymmetry-allowed");
    params.delete("sprop-parameter-sets");
    if (o.video.spropParameterSets) params.set("sprop-parameter-sets", o.video.spropParameterSets);
    lines.push(
      `m=video 0 RTP/AVP ${pt}`,
      `a=rtpmap:${pt} H264/90000`,
      `a=fmtp:${pt} ${[...params].map(([k, v]) => `${k}=${v}`).join(";")}`,
      "a=control:trackID=0",
    );
  }
  if (o.audio) {
    const pt = o.audio.payloadType;
    const encoding = o.audio.encoding ?? "opus";
    lines.push(
      `m=audio 0 RTP/AVP ${pt}`,
      `a=rtpmap:${pt} ${encoding}/${o.audio.clockRate}/${o.audio.channels}`,
    );
    if (o.audio.fmtp) lines.push(`a=fmtp:${pt} ${o.audio.fmtp}`);
    lines.push("a=control:trackID=1");
  }
  return lines.join("\r\n") + "\r\n";
}

function fmtpParams(fmtp: string | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of (fmtp ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) map.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return map;
}
