/**
 * One camera's stream as the local RTSP server publishes it, whatever feeds it (the RTSP relay, the
 * WebRTC bridge): the first upstream session's tracks are the ones advertised from then on, each
 * advertised track keeps one RtpContinuity (stable SSRC, sequence numbers and timeline across
 * upstream sessions), and `describe()` answers the server's DESCRIBE from those tracks and the
 * camera's SPS/PPS.
 *
 * The feeder decides when the stream is announced (`announce()`: waiting DESCRIBEs wake) and which
 * packets go out (`send()`: rewritten in place onto the track's continuity).
 */
import { RtpContinuity } from "./rtp-continuity";
import type { RtspCredentials } from "./rtsp-auth";
import type { LocalRtspServer, RtspStreamDescription, TrackKind } from "./rtsp-server";

/** A video track as an upstream session negotiated it. */
export interface PublishedVideo {
  payloadType: number;
  clockRate: number;
  fmtp?: string;
}

/** An audio track as an upstream session negotiated it; `encoding` absent: Opus. */
export interface PublishedAudio {
  payloadType: number;
  clockRate: number;
  channels: number;
  fmtp?: string;
  encoding?: string;
}

/** An upstream session's tracks; a kind is missing when the session has none. */
export interface PublishedMedia {
  video?: PublishedVideo;
  audio?: PublishedAudio;
}

/** Where `describe()` reads the H.264 parameter sets (a ParameterSets, or nothing yet). */
export interface PublishedParameterSets {
  readonly spropParameterSets?: string;
  readonly profileLevelId?: string;
}

export interface LocalPublicationOptions {
  server: LocalRtspServer;
  /** Path of the stream on the server. */
  path: string;
  /** The camera's current SPS/PPS, read at each DESCRIBE. */
  parameterSets: () => PublishedParameterSets | undefined;
  /** User name and password readers must give (none: anyone who reaches the port). */
  credentials?: RtspCredentials;
  /** A reader started to play. */
  onPlay?: () => void;
}

export class LocalPublication {
  private advertisedMedia?: PublishedMedia;
  private video?: RtpContinuity;
  private audio?: RtpContinuity;
  private announcedFlag = false;

  constructor(private readonly options: LocalPublicationOptions) {}

  /** The advertised tracks (the first session's), once known. */
  get tracks(): PublishedMedia | undefined {
    return this.advertisedMedia;
  }

  /** True once `announce()` was called (since the last `open()`). */
  get announced(): boolean {
    return this.announcedFlag;
  }

  /** Adds the stream to the server, with nothing advertised yet (DESCRIBE waits). */
  open(): void {
    this.reset();
    const { server, path, credentials, onPlay } = this.options;
    server.addStream(path, {
      describe: () => this.describe(),
      ...(onPlay ? { onPlay } : {}),
      credentials,
    });
  }

  /** Removes the stream from the server (its readers are dropped) and forgets its tracks. */
  close(): void {
    this.options.server.removeStream(this.options.path);
    this.reset();
  }

  /**
   * Takes a session's tracks as the advertised ones when none are yet (true), each with a fresh
   * continuity; later sessions' tracks are not taken (false): readers keep the first ones.
   */
  advertise(media: PublishedMedia): boolean {
    if (this.advertisedMedia) return false;
    this.advertisedMedia = media;
    if (media.video) this.video = new RtpContinuity(media.video.clockRate, media.video.payloadType);
    if (media.audio) this.audio = new RtpContinuity(media.audio.clockRate, media.audio.payloadType);
    return true;
  }

  /** The stream can be described: `describe()` answers from now on, and waiting DESCRIBEs wake. */
  announce(): void {
    this.announcedFlag = true;
    this.options.server.ready(this.options.path);
  }

  /** True when a track of this kind is advertised. */
  has(kind: TrackKind): boolean {
    return (kind === "video" ? this.video : this.audio) !== undefined;
  }

  /**
   * Sends one packet of an upstream session to the readers of its track, rewritten in place onto the
   * track's continuity (the caller must not use it after); nothing when no such track is advertised.
   */
  send(kind: TrackKind, packet: Buffer): void {
    const continuity = kind === "video" ? this.video : this.audio;
    if (!continuity) return;
    this.options.server.send(this.options.path, kind, continuity.rewrite(packet, true));
  }

  /** What DESCRIBE announces: the advertised tracks, once announced (before: undefined, DESCRIBE waits). */
  describe(): RtspStreamDescription | undefined {
    const media = this.advertisedMedia;
    if (!media || !this.announcedFlag) return undefined;
    const params = this.options.parameterSets();
    const desc: RtspStreamDescription = {};
    if (media.video) {
      desc.video = {
        payloadType: media.video.payloadType,
        fmtp: media.video.fmtp,
        spropParameterSets: params?.spropParameterSets,
        profileLevelId: params?.profileLevelId,
      };
    }
    if (media.audio) {
      desc.audio = {
        payloadType: media.audio.payloadType,
        clockRate: media.audio.clockRate,
        channels: media.audio.channels,
        fmtp: media.audio.fmtp,
      };
      if (media.audio.encoding !== undefined) desc.audio.encoding = media.audio.encoding;
    }
    return desc;
  }

  private reset(): void {
    this.advertisedMedia = undefined;
    this.video = undefined;
    this.audio = undefined;
    this.announcedFlag = false;
  }
}
