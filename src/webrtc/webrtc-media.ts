/**
 * What the WebRTC session's media looks like on the wire, apart from the session itself: the codecs
 * offered to a camera, the RTCP keyframe request (FIR) werift does not export, and an RTP packet's
 * bytes as received.
 */
import { PictureLossIndication, RTCRtpCodecParameters, type RtpPacket } from "werift";

/** The codecs this bridge offers a camera (also what the benchmark's bare werift peer offers). */
export function offerCodecs(): { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] } {
  return { audio: audioCodecs(), video: videoCodecs() };
}

/** The offer's video codecs: H.264 packetization-mode 1, constrained baseline first, then main and high. */
function videoCodecs(): RTCRtpCodecParameters[] {
  const feedback = () => [
    { type: "ccm", parameter: "fir" },
    { type: "nack" },
    { type: "nack", parameter: "pli" },
    { type: "goog-remb" },
  ];
  return ["42e01f", "42001f", "4d001f", "64001f"].map(
    (profile) =>
      new RTCRtpCodecParameters({
        mimeType: "video/H264",
        clockRate: 90000,
        rtcpFeedback: feedback(),
        parameters: `level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${profile}`,
      }),
  );
}

function audioCodecs(): RTCRtpCodecParameters[] {
  // Lower-case "opus": Google's answerer is picky about the encoding name's case.
  return [
    new RTCRtpCodecParameters({
      mimeType: "audio/opus",
      clockRate: 48000,
      channels: 2,
      parameters: "minptime=10;useinbandfec=1",
    }),
  ];
}

/**
 * RTCP FIR (RFC 5104 4.3.1, payload-specific feedback FMT 4). werift can send it but does not
 * export its class, so this is the same wire format: sender SSRC, media SSRC 0, then one FCI entry
 * (target SSRC, sequence number, 3 reserved bytes).
 */
export class FullIntraRequest extends PictureLossIndication {
  constructor(
    senderSsrc: number,
    private readonly target: number,
    private readonly seq: number,
  ) {
    super({ senderSsrc, mediaSsrc: 0 });
    this.count = 4;
    this.length = 4;
  }
  override serialize(): Buffer<ArrayBuffer> {
    const b = Buffer.alloc(16);
    b.writeUInt32BE(this.senderSsrc >>> 0, 0);
    b.writeUInt32BE(0, 4);
    b.writeUInt32BE(this.target >>> 0, 8);
    b[12] = this.seq & 0xff;
    return b;
  }
}

/**
 * The packet's bytes as received: werift's payload is a view into the decrypted datagram, which
 * nothing else uses once the packet is delivered, so the whole packet is the view around it and
 * need not be serialized again (an allocation and a copy per packet). Checked against the parsed
 * header; anything unexpected falls back to serializing.
 */
export function rawPacket(rtp: RtpPacket): Buffer {
  const { header, payload } = rtp;
  const start = payload.byteOffset - header.payloadOffset;
  const length = header.payloadOffset + payload.length + (header.padding ? header.paddingSize : 0);
  if (start >= 0 && start + length <= payload.buffer.byteLength) {
    const raw = Buffer.from(payload.buffer, start, length);
    if (
      raw[0] >> 6 === 2 &&
      (raw[1] & 0x7f) === header.payloadType &&
      raw.readUInt16BE(2) === header.sequenceNumber &&
      raw.readUInt32BE(4) === header.timestamp >>> 0 &&
      raw.readUInt32BE(8) === header.ssrc >>> 0
    ) {
      return raw;
    }
  }
  return rtp.serialize();
}
