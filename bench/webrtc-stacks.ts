/**
 * Receive-only WebRTC peers for the WebRTC benchmark's stack comparison: what receiving one camera
 * costs Node on werift (what the bridge is built on) and on node-datachannel (libdatachannel, a native
 * stack: ICE, DTLS and SRTP in C++ threads, each RTP packet handed to JavaScript), each peer doing
 * nothing but count packets; and what SRTP decryption alone costs in Node's crypto. Together with the
 * bare-UDP floor they show how low any bridge whose packets reach JavaScript can go on a machine.
 */
import * as crypto from "node:crypto";
import { RTCPeerConnection } from "werift";
import { fixNestAnswer } from "../src/webrtc/sdp";
import { offerCodecs } from "../src/webrtc/webrtc-session";
import { until } from "../test/fixtures/ports";

/** Asks the fake camera to answer an offer. */
export type Answerer = (offerSdp: string) => Promise<string>;

export interface ReceivingPeer {
  /** RTP packets received so far (audio and video). */
  readonly packets: number;
  close(): Promise<void>;
}

/** A werift peer offering what the bridge offers (audio, video, the data channel), counting RTP. */
export async function weriftReceiver(answer: Answerer): Promise<ReceivingPeer> {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", codecs: offerCodecs() });
  const audio = pc.addTransceiver("audio", { direction: "recvonly" });
  const video = pc.addTransceiver("video", { direction: "recvonly" });
  pc.createDataChannel("dataSendChannel", { id: 1 });
  const peer = { packets: 0, close: () => pc.close() };
  for (const t of [audio, video])
    t.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => peer.packets++));
  await pc.setLocalDescription(await pc.createOffer());
  await until(() => pc.iceGatheringState === "complete", 10_000, "werift's ICE gathering");
  const offer = pc.localDescription?.sdp;
  if (!offer) throw new Error("werift produced no offer");
  await pc.setRemoteDescription({ type: "answer", sdp: fixNestAnswer(await answer(offer)) });
  await until(() => pc.connectionState === "connected", 10_000, "werift's connection");
  return peer;
}

/**
 * A node-datachannel peer with the same offer (Opus, H.264 packetization-mode 1, the data channel)
 * and libdatachannel's RTCP receiving session (receiver reports, keyframe requests), counting RTP.
 * States are polled: libdatachannel can fire a state callback before it is delivered to JavaScript.
 */
export async function datachannelReceiver(answer: Answerer): Promise<ReceivingPeer> {
  // A development dependency, loaded only when the comparison runs.
  const ndc = await import("node-datachannel");
  const pc = new ndc.PeerConnection("bench", { iceServers: [] });
  const audio = new ndc.Audio("0", "RecvOnly");
  audio.addOpusCodec(111);
  const video = new ndc.Video("1", "RecvOnly");
  video.addH264Codec(102, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
  const peer = {
    packets: 0,
    close: async () => pc.close(),
  };
  for (const media of [audio, video]) {
    const track = pc.addTrack(media);
    track.setMediaHandler(new ndc.RtcpReceivingSession());
    track.onMessage((m) => {
      // RTCP (payload types 200–207 once the marker bit is masked) arrives here too: count RTP only.
      const pt = m[1] & 0x7f;
      if (pt < 72 || pt > 79) peer.packets++;
    });
  }
  pc.createDataChannel("dataSendChannel", { id: 1 });
  pc.setLocalDescription();
  await until(() => pc.gatheringState() === "complete", 10_000, "libdatachannel's ICE gathering");
  const offer = pc.localDescription()?.sdp;
  if (!offer) throw new Error("libdatachannel produced no offer");
  pc.setRemoteDescription(fixNestAnswer(await answer(offer)), "answer");
  await until(() => pc.state() === "connected", 10_000, "libdatachannel's connection");
  return peer;
}

/**
 * Microseconds of CPU that SRTP's AES-128-CM decryption plus HMAC-SHA1 authentication of one
 * 1,200-byte packet costs in Node's crypto (the cheapest any JavaScript SRTP can be), over `n` packets.
 */
export function srtpMicroseconds(n = 20_000): number {
  const key = crypto.randomBytes(16);
  const authKey = crypto.randomBytes(20);
  const packet = crypto.randomBytes(1200);
  const iv = Buffer.alloc(16);
  const from = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    iv.writeUInt32BE(i, 10);
    crypto.createHmac("sha1", authKey).update(packet.subarray(0, 1190)).digest();
    const decipher = crypto.createDecipheriv("aes-128-ctr", key, iv);
    decipher.update(packet.subarray(12, 1190));
    decipher.final();
  }
  const used = process.cpuUsage(from);
  return (used.user + used.system) / n;
}
