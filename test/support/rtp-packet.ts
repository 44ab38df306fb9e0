/** Builds the small RTP packets the local-stream unit tests feed in: a 12-byte header and one NAL header byte. */

/** An RTP packet of this SSRC, sequence number, timestamp and payload type, its payload starting with `nalType`. */
export function rtp(ssrc: number, seq: number, ts: number, nalType: number, pt = 96): Buffer {
  const p = Buffer.alloc(16);
  p[0] = 0x80;
  p[1] = pt;
  p.writeUInt16BE(seq, 2);
  p.writeUInt32BE(ts >>> 0, 4);
  p.writeUInt32BE(ssrc, 8);
  p[12] = nalType;
  return p;
}
