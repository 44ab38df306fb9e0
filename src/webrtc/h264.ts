/**
 * Just enough H.264 (RFC 6184) packet inspection for the WebRTC bridge: find keyframes and the
 * in-band parameter sets (SPS/PPS) in RTP payloads, so the bridge knows when a keyframe request
 * was answered and can put `sprop-parameter-sets` into the SDP of its local RTSP server.
 */

export const NAL_IDR = 5;
export const NAL_SPS = 7;
export const NAL_PPS = 8;
const STAP_A = 24;
const FU_A = 28;

/** Offset and length of the payload of a raw RTP packet (after CSRCs, header extension; without padding). */
export function rtpPayloadBounds(packet: Buffer): { offset: number; end: number } | undefined {
  if (packet.length < 12 || packet[0] >> 6 !== 2) return undefined;
  const cc = packet[0] & 0x0f;
  let offset = 12 + cc * 4;
  if (packet[0] & 0x10) {
    if (packet.length < offset + 4) return undefined;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  let end = packet.length;
  if (packet[0] & 0x20) end -= packet[packet.length - 1];
  if (offset > end) return undefined;
  return { offset, end };
}

/** The RTP payload of a raw packet (a view, not a copy), or an empty buffer when malformed. */
export function rtpPayload(packet: Buffer): Buffer {
  const b = rtpPayloadBounds(packet);
  return b ? packet.subarray(b.offset, b.end) : Buffer.alloc(0);
}

/**
 * The NAL units that start in this H.264 RTP payload, as `{ type, nal? }`: `nal` is the whole NAL
 * unit when the packet holds it entirely (single NAL or STAP-A); for the first fragment of a FU-A
 * only the type is known.
 */
export function nalUnitsStarting(payload: Buffer): { type: number; nal?: Buffer }[] {
  if (payload.length < 1) return [];
  const type = payload[0] & 0x1f;
  if (type >= 1 && type <= 23) return [{ type, nal: payload }];
  if (type === STAP_A) {
    const out: { type: number; nal?: Buffer }[] = [];
    let i = 1;
    while (i + 2 <= payload.length) {
      const size = payload.readUInt16BE(i);
      i += 2;
      if (size === 0 || i + size > payload.length) break;
      const nal = payload.subarray(i, i + size);
      out.push({ type: nal[0] & 0x1f, nal });
      i += size;
    }
    return out;
  }
  if (type === FU_A && payload.length >= 2 && payload[1] & 0x80) return [{ type: payload[1] & 0x1f }];
  return [];
}

/** True when this H.264 RTP payload starts a keyframe (an IDR slice, or SPS that precede one). */
export function startsKeyframe(payload: Buffer): boolean {
  // Called for every video packet: the same walk as nalUnitsStarting, without allocating.
  if (payload.length < 1) return false;
  const type = payload[0] & 0x1f;
  if (type >= 1 && type <= 23) return type === NAL_IDR || type === NAL_SPS;
  if (type === STAP_A) {
    let i = 1;
    while (i + 2 <= payload.length) {
      const size = payload.readUInt16BE(i);
      i += 2;
      if (size === 0 || i + size > payload.length) break;
      const t = payload[i] & 0x1f;
      if (t === NAL_IDR || t === NAL_SPS) return true;
      i += size;
    }
    return false;
  }
  if (type === FU_A && payload.length >= 2 && payload[1] & 0x80) {
    const t = payload[1] & 0x1f;
    return t === NAL_IDR || t === NAL_SPS;
  }
  return false;
}

/** True when this payload may carry a whole SPS or PPS (single NAL unit of that type, or STAP-A). */
function mayCarryParameterSets(payload: Buffer): boolean {
  if (payload.length < 1) return false;
  const type = payload[0] & 0x1f;
  return type === NAL_SPS || type === NAL_PPS || type === STAP_A;
}

/** Holds the newest SPS and PPS seen in band. */
export class ParameterSets {
  sps?: Buffer;
  pps?: Buffer;

  /** Looks at one RTP payload; returns true when the SPS or PPS changed. */
  observe(payload: Buffer): boolean {
    // Most packets are slices or their fragments: skip them before building any list.
    if (!mayCarryParameterSets(payload)) return false;
    let changed = false;
    for (const { type, nal } of nalUnitsStarting(payload)) {
      if (!nal) continue;
      if (type === NAL_SPS && !(this.sps && this.sps.equals(nal))) {
        this.sps = Buffer.from(nal);
        changed = true;
      } else if (type === NAL_PPS && !(this.pps && this.pps.equals(nal))) {
        this.pps = Buffer.from(nal);
        changed = true;
      }
    }
    return changed;
  }

  /** `sprop-parameter-sets` value (base64 SPS,PPS) when both are known. */
  get spropParameterSets(): string | undefined {
    if (!this.sps || !this.pps) return undefined;
    return `${this.sps.toString("base64")},${this.pps.toString("base64")}`;
  }

  /** `profile-level-id` (6 hex digits) from the SPS when known. */
  get profileLevelId(): string | undefined {
    if (!this.sps || this.sps.length < 4) return undefined;
    return this.sps.subarray(1, 4).toString("hex");
  }
}
