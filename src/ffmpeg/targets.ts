/**
 * Where a restream goes: the nest-restream `target` (design section 3) resolved to ffmpeg muxers.
 *
 * A destination is one ffmpeg output (format, muxer options, URL or path). One destination is
 * written as a plain output; several are fanned out from one input through the tee muxer, so the
 * camera's single RTSP session feeds them all (design section 5: one Nest URL = one client).
 */
import { redact, secrets } from "../redact";
import { RestreamRefusal } from "./refusal";
import type { TlsTrust } from "./tls-trust";

export const TARGET_KINDS = ["youtube-rtmps", "youtube-rtmp", "youtube-hls", "custom"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export const YOUTUBE_RTMPS_URL = "rtmps://a.rtmps.youtube.com:443/live2";
export const YOUTUBE_RTMP_URL = "rtmp://a.rtmp.youtube.com/live2";
export const YOUTUBE_HLS_URL = "https://a.upload.youtube.com/http_upload_hls";
/**
 * The media playlist name appended to YouTube's `file=` parameter. YouTube ingests media
 * playlists (not master playlists); ffmpeg's hls muxer derives the segment names from it
 * (`file=out0.ts`, `file=out1.ts`, …), each PUT to the same endpoint with its own `file=`.
 */
export const YOUTUBE_HLS_PLAYLIST = "out.m3u8";
/** File name pattern used when a custom target is a directory. */
export const DEFAULT_RECORDING_PATTERN = "cam-%Y%m%d-%H%M%S.mkv";
/** Without `segmentSeconds`, a recording rolls over to a new file every hour (the editor's default too). */
export const DEFAULT_FILE_SEGMENT_SECONDS = 3600;

/** One destination as configured (a nest-restream node, `msg.target`, or an additional output). */
export interface TargetConfig {
  /** Default "youtube-rtmps". */
  target?: TargetKind | string;
  /** Server URL (YouTube targets: overrides the ingest server; custom: the destination itself). */
  url?: string;
  /** YouTube stream key (appended to the URL, never shown); also appended to custom rtmp(s) URLs. */
  streamKey?: string;
  /** File recordings: start a new file every N seconds. */
  segmentSeconds?: number;
  /**
   * With several outputs: "abort" stops the whole ffmpeg when this output fails (and the
   * supervisor restarts it), "ignore" lets the other outputs carry on. Default: "abort" for the
   * first (main) output, "ignore" for additional ones.
   */
  onFail?: "abort" | "ignore";
}

export type DestinationKind = "rtmp" | "rtsp" | "srt" | "hls" | "file";

/** A resolved ffmpeg output. `url` may hold the stream key: never log it unredacted. */
export interface Destination {
  kind: DestinationKind;
  /** ffmpeg muxer name (`-f`). */
  format: string;
  /** Muxer options in order, written `-key value` (or `key=value` inside a tee slave). */
  options: [string, string][];
  url: string;
  onFail: "abort" | "ignore";
  /** Reached over TLS (rtmps://, rtsps://). */
  tls?: boolean;
  /** ffmpeg checks the server's certificate (rtmps:// only: its RTSP and HLS muxers take no TLS options). */
  verified?: boolean;
}

/**
 * Why a destination does not resolve. `kind` (a TARGET_KINDS value) is the target the text names;
 * `got`, what came instead, masked and cut.
 */
export const TARGET_ERROR_CODES = [
  "onFail",
  "streamKeyChars",
  "youtubeServer",
  "youtubeKey",
  "customNeedsUrl",
  "unknownTarget",
  "hlsServer",
  "hlsKey",
  "hlsFile",
  "segmentSeconds",
  "urlSpaces",
  "customScheme",
  "notFilePath",
  "recordingExt",
  "keyOtherServer",
  "keyOtherDestination",
  "caFileMissing",
] as const;
export type TargetErrorCode = (typeof TARGET_ERROR_CODES)[number];

export class TargetError extends RestreamRefusal<TargetErrorCode> {
  constructor(code: TargetErrorCode, params: Record<string, string> = {}) {
    super(code, params);
    this.name = "TargetError";
  }
}

const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const WINDOWS_PATH = /^[A-Za-z]:[\\/]/;

/** Resolves one configured destination. Throws TargetError saying what is accepted. */
export function resolveTarget(config: TargetConfig, role: "main" | "additional" = "main"): Destination {
  const kind = (config.target ?? "youtube-rtmps") || "youtube-rtmps";
  const onFail = config.onFail ?? (role === "main" ? "abort" : "ignore");
  if (onFail !== "abort" && onFail !== "ignore") {
    throw new TargetError("onFail", { got: describe(String(onFail)) });
  }
  const url = config.url?.trim() || undefined;
  const key = config.streamKey?.trim() || undefined;
  if (key !== undefined) {
    if (/[\s/?#&|[\]]/.test(key)) {
      throw new TargetError("streamKeyChars");
    }
    secrets.add(key);
  }

  switch (kind) {
    case "youtube-rtmps":
    case "youtube-rtmp": {
      const server = url ?? (kind === "youtube-rtmps" ? YOUTUBE_RTMPS_URL : YOUTUBE_RTMP_URL);
      if (!/^rtmps?:\/\//i.test(server)) {
        throw new TargetError("youtubeServer", { kind, got: describe(server) });
      }
      if (!key) throw new TargetError("youtubeKey", { kind });
      return rtmp(joinPath(server, key), onFail);
    }
    case "youtube-hls": {
      return hls(youtubeHlsUrl(url, key), onFail, true);
    }
    case "custom": {
      if (!url) throw new TargetError("customNeedsUrl");
      return customTarget(url, key, config.segmentSeconds, onFail);
    }
    default:
      throw new TargetError("unknownTarget", { got: describe(String(kind)) });
  }
}

/** The main target plus any additional outputs, in order. */
export function resolveOutputs(main: TargetConfig, additional: readonly TargetConfig[] = []): Destination[] {
  return [resolveTarget(main, "main"), ...additional.map((t) => resolveTarget(t, "additional"))];
}

function youtubeHlsUrl(url: string | undefined, key: string | undefined): string {
  let base = url ?? YOUTUBE_HLS_URL;
  if (!/^https?:\/\//i.test(base)) {
    throw new TargetError("hlsServer", { kind: "youtube-hls", got: describe(base) });
  }
  if (!/[?&]cid=/.test(base)) {
    if (!key) throw new TargetError("hlsKey", { kind: "youtube-hls" });
    base += `${base.includes("?") ? "&" : "?"}cid=${encodeURIComponent(key)}&copy=0&file=`;
  }
  // The ingestion address YouTube hands out ends with "file=": the playlist name goes there.
  if (/[?&]file=$/.test(base)) return base + YOUTUBE_HLS_PLAYLIST;
  if (!/[?&]file=/.test(base)) return `${base}&file=${YOUTUBE_HLS_PLAYLIST}`;
  if (!/[?&]file=[^&]*\.m3u8(&|$)/.test(base)) {
    throw new TargetError("hlsFile", { kind: "youtube-hls" });
  }
  return base;
}

function customTarget(
  url: string,
  key: string | undefined,
  segmentSeconds: number | undefined,
  onFail: "abort" | "ignore",
): Destination {
  if (segmentSeconds !== undefined && !(Number.isFinite(segmentSeconds) && segmentSeconds >= 1)) {
    throw new TargetError("segmentSeconds", { got: describe(String(segmentSeconds)) });
  }
  const scheme = URL_SCHEME.exec(url)?.[1]?.toLowerCase();
  if (/\s/.test(url) && scheme) throw new TargetError("urlSpaces", { got: describe(url) });
  switch (scheme) {
    case "rtmp":
    case "rtmps":
      return rtmp(key ? joinPath(url, key) : url, onFail);
    case "rtsp":
    case "rtsps":
      return {
        kind: "rtsp",
        format: "rtsp",
        options: [["rtsp_transport", "tcp"]],
        url,
        onFail,
        ...(scheme === "rtsps" ? { tls: true } : {}),
      };
    case "srt":
      return { kind: "srt", format: "mpegts", options: [], url, onFail };
    case "http":
    case "https":
      return hls(url, onFail, false);
    case "file":
      return fileTarget(decodeURIComponent(url.replace(/^file:\/\//i, "")), segmentSeconds, onFail);
    case undefined:
      return fileTarget(url, segmentSeconds, onFail);
    default:
      throw new TargetError("customScheme", { scheme });
  }
}

function rtmp(url: string, onFail: "abort" | "ignore"): Destination {
  // Live: no duration/filesize to seek back and patch at the end.
  const options: [string, string][] = [["flvflags", "no_duration_filesize"]];
  return {
    kind: "rtmp",
    format: "flv",
    options,
    url,
    onFail,
    ...(/^rtmps:/i.test(url) ? { tls: true } : {}),
  };
}

/**
 * The destinations with ffmpeg's certificate check on for `rtmps://` ones (`-tls_verify 1 -ca_file`;
 * the tee muxer passes the same options to its output). ffmpeg's RTSP muxer opens its TLS connection
 * without options (and a tee output refuses them), and its HLS muxer has none: `rtsps://` and
 * `https://` stay unchecked. Unchanged when verification is off or no CA file is known.
 */
export function verifyingTls(dests: readonly Destination[], trust: TlsTrust | undefined): Destination[] {
  const caFile = trust?.off ? undefined : trust?.caFile;
  return dests.map((d) =>
    d.kind === "rtmp" && d.tls && caFile
      ? { ...d, verified: true, options: [...d.options, ["tls_verify", "1"], ["ca_file", caFile]] }
      : d,
  );
}

function hls(url: string, onFail: "abort" | "ignore", youtube: boolean): Destination {
  const options: [string, string][] = [
    ["method", "PUT"],
    ["http_persistent", "1"],
    ["hls_time", "2"],
    ["hls_list_size", "5"],
  ];
  if (youtube) {
    // Segment numbers keep rising across ffmpeg restarts (seconds since the epoch at start), so
    // a reconnect never re-sends out0.ts; no ENDLIST so a restart does not end the broadcast.
    options.push(["hls_start_number_source", "epoch"], ["hls_flags", "omit_endlist"]);
  }
  return { kind: "hls", format: "hls", options, url, onFail };
}

const EXTENSIONS: Record<string, { format: string; options: [string, string][] }> = {
  mkv: { format: "matroska", options: [] },
  mp4: { format: "mp4", options: [["movflags", "+frag_keyframe+empty_moov+default_base_moof"]] },
  mov: { format: "mov", options: [["movflags", "+frag_keyframe+empty_moov+default_base_moof"]] },
  ts: { format: "mpegts", options: [] },
  flv: { format: "flv", options: [] },
};

/**
 * A recording on disk. Always through the segment muxer with strftime names, so a restart after
 * a dropped camera session starts a new file instead of overwriting the last one, and a killed
 * ffmpeg leaves playable files (Matroska as is; MP4 fragmented). A name without a `%` conversion
 * gets `-%Y%m%d-%H%M%S` before its extension.
 */
function fileTarget(
  path: string,
  segmentSeconds: number | undefined,
  onFail: "abort" | "ignore",
): Destination {
  if (!path || path.includes("\0")) throw new TargetError("notFilePath", { got: describe(path) });
  let pattern = path;
  if (/[\\/]$/.test(pattern)) pattern += DEFAULT_RECORDING_PATTERN;
  const dot = pattern.lastIndexOf(".");
  const slash = Math.max(pattern.lastIndexOf("/"), pattern.lastIndexOf("\\"));
  const ext = dot > slash ? pattern.slice(dot + 1).toLowerCase() : "";

  if (ext === "m3u8") {
    // A local HLS playlist (for a preview player): the hls muxer, rolling window.
    return {
      kind: "file",
      format: "hls",
      options: [
        ["hls_time", "2"],
        ["hls_list_size", "5"],
        ["hls_flags", "delete_segments+omit_endlist"],
      ],
      url: pattern,
      onFail,
    };
  }
  const container = EXTENSIONS[ext];
  if (!container) {
    throw new TargetError("recordingExt", { got: describe(path) });
  }
  if (!/%[YmdHMSjsFT]/.test(pattern)) {
    pattern = `${pattern.slice(0, dot)}-%Y%m%d-%H%M%S${pattern.slice(dot)}`;
  }
  if (WINDOWS_PATH.test(path)) pattern = pattern.replace(/\\/g, "/");
  const options: [string, string][] = [
    ["segment_time", String(segmentSeconds ?? DEFAULT_FILE_SEGMENT_SECONDS)],
    ["strftime", "1"],
    ["reset_timestamps", "1"],
    ["segment_format", container.format],
  ];
  if (container.options.length > 0) {
    options.push(["segment_format_options", container.options.map(([k, v]) => `${k}=${v}`).join(":")]);
  }
  return { kind: "file", format: "segment", options, url: pattern, onFail };
}

/** OBS's and YouTube's convention: server + "/" + key, even after a query (`live2?backup=1/KEY`). */
function joinPath(server: string, key: string): string {
  return `${server.replace(/\/+$/, "")}/${key}`;
}

function describe(value: string): string {
  // Masked before it is cut: a cut secret would no longer match and show its first part.
  const clean = redact(value);
  return JSON.stringify(clean.length > 120 ? clean.slice(0, 117) + "..." : clean);
}

/** ffmpeg output arguments for one destination written directly (no tee). */
export function outputArgs(dest: Destination): string[] {
  const args = ["-f", dest.format];
  for (const [k, v] of dest.options) args.push(`-${k}`, v);
  args.push(dest.url);
  return args;
}

/**
 * Escapes text for ffmpeg's av_get_token: a backslash before every special character.
 * The tee muxer unescapes twice: once splitting slaves on `|`, once splitting each slave's
 * `[key=value:…]` options, so option values are escaped for both levels.
 */
export function escapeToken(text: string, specials: string): string {
  let out = "";
  for (const ch of text)
    out += specials.includes(ch) || ch === "\\" || ch === "'" || /\s/.test(ch) ? `\\${ch}` : ch;
  return out;
}

/** The `-f tee` output string: `[f=flv:onfail=ignore:…]url|[f=segment:…]path`. */
export function teeSpec(dests: readonly Destination[]): string {
  return dests
    .map((d) => {
      const opts = [["f", d.format], ["onfail", d.onFail], ...d.options]
        .map(([k, v]) => `${k}=${escapeToken(v, ":]|[")}`)
        .join(":");
      // Level 1 (the slave list) for the whole slave; option values were escaped for level 2 above.
      return escapeToken(`[${opts}]`, "|") + escapeToken(d.url, "|[]");
    })
    .join("|");
}

/**
 * Whether an extra output's URL seems to carry a stream key or password in plain text (which the
 * flow would export): a password before `@`, a key-like query parameter, or an rtmp(s) path with a
 * stream name after the application (`rtmp://host/app/KEY`). Such keys belong in the extraKeys credential.
 */
export function keyInUrl(url: string): boolean {
  const text = url.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(text)) return true;
  if (/[?&](key|streamkey|stream_key|cid|passphrase|password|pass|auth|token|secret)=[^&]/i.test(text))
    return true;
  const rtmp = /^rtmps?:\/\/[^/?#]+((?:\/[^/?#]*)*)/i.exec(text);
  return !!rtmp && (rtmp[1] ?? "").split("/").filter(Boolean).length >= 2;
}

/** A destination as it may be shown (key and tokens masked). */
export function describeDestination(dest: Destination): string {
  return redact(dest.url);
}
