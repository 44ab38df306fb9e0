/**
 * Keeps one outgoing RTP stream continuous while its source changes: when a new WebRTC session
 * replaces the old one, the camera's new sender has another SSRC and random sequence numbers and
 * timestamps. Readers of the local RTSP server (ffmpeg) would see a jump of hours in the
 * timestamps; instead every packet is rewritten to one stable SSRC and payload type, sequence
 * numbers continue by one, and timestamps continue by the wall-clock time that passed between the
 * last packet of the old source and the first of the new one (so audio and video stay in step).
 */
export class RtpContinuity {
  private inSsrc?: number;
  private seqOffset = 0;
  private tsOffset = 0;
  private lastOutSeq?: number;
  private lastOutTs?: number;
  private lastAt = 0;
  /** Number of source switches seen (the first source is not a switch). */
  switches = 0;

  constructor(
    /** RTP clock rate of this stream (90000 video, 48000 Opus). */
    readonly clockRate: number,
    /** Payload type written into every packet. */
    readonly payloadType: number,
    /** SSRC written into every packet. */
    readonly ssrc: number = (Math.random() * 0xffffffff) >>> 0,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when this packet comes from another source than the previous one. */
  isNewSource(packet: Buffer): boolean {
    return packet.length >= 12 && packet.readUInt32BE(8) !== this.inSsrc;
  }

  /** Returns a rewritten copy of a raw RTP packet (or the packet itself, rewritten, with `inPlace`). */
  rewrite(packet: Buffer, inPlace = false): Buffer {
    if (packet.length < 12) return packet;
    const out = inPlace ? packet : Buffer.from(packet);
    const ssrc = out.readUInt32BE(8);
    const seq = out.readUInt16BE(2);
    const ts = out.readUInt32BE(4);
    const now = this.now();
    if (ssrc !== this.inSsrc) {
      if (this.lastOutSeq !== undefined && this.lastOutTs !== undefined) {
        const gap = Math.max(1, Math.round(((now - this.lastAt) * this.clockRate) / 1000));
        this.seqOffset = (this.lastOutSeq + 1 - seq) & 0xffff;
        this.tsOffset = (this.lastOutTs + gap - ts) >>> 0;
        this.switches++;
      }
      this.inSsrc = ssrc;
    }
    const outSeq = (seq + this.seqOffset) & 0xffff;
    const outTs = (ts + this.tsOffset) >>> 0;
    out[1] = (out[1] & 0x80) | (this.payloadType & 0x7f);
    out.writeUInt16BE(outSeq, 2);
    out.writeUInt32BE(outTs, 4);
    out.writeUInt32BE(this.ssrc, 8);
    // Keep the newest position only when moving forward (late retransmissions do not rewind it).
    if (this.lastOutSeq === undefined || ((outSeq - this.lastOutSeq) & 0xffff) < 0x8000) {
      this.lastOutSeq = outSeq;
      this.lastOutTs = outTs;
      this.lastAt = now;
    }
    return out;
  }
}
