/**
 * Receive-only WebRTC peers for the WebRTC benchmark's stack comparison: what receiving one camera
 * costs Node on werift (what the bridge is built on) and on node-datachannel (libdatachannel, a native
 * stack: ICE, DTLS and SRTP in C++ threads, each RTP packet handed to JavaScript), each peer doing
 * nothing but count packets; and what SRTP decryption alone costs in Node's crypto. Together with the
 * bare-UDP floor they show how low any bridge whose packets reach JavaScript can go on a machine.
 * Each peer runs in a fresh process of its own (`measureStack`), so neither stack's threads, sockets
 * or garbage weigh on the other's figure.
 */
import { fork } from "node:child_process";
import * as crypto from "node:crypto";
import { RTCPeerConnection } from "werift";
import { fixNestAnswer } from "../src/webrtc/sdp";
import { offerCodecs } from "../src/webrtc/webrtc-media";
import { delay } from "../test/fixtures/ports";
import { waitFor } from "../test/support/wait";

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
  await waitFor(() => pc.iceGatheringState === "complete", 10_000, "werift's ICE gathering");
  const offer = pc.localDescription?.sdp;
  if (!offer) throw new Error("werift produced no offer");
  await pc.setRemoteDescription({ type: "answer", sdp: fixNestAnswer(await answer(offer)) });
  await waitFor(() => pc.connectionState === "connected", 10_000, "werift's connection");
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
  await waitFor(() => pc.gatheringState() === "complete", 10_000, "libdatachannel's ICE gathering");
  const offer = pc.localDescription()?.sdp;
  if (!offer) throw new Error("libdatachannel produced no offer");
  pc.setRemoteDescription(fixNestAnswer(await answer(offer)), "answer");
  await waitFor(() => pc.state() === "connected", 10_000, "libdatachannel's connection");
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

export type StackName = "werift" | "node-datachannel";

export interface StackRun {
  name: StackName;
  /** Node CPU of the peer's process minus its own idle baseline, % of one core. */
  pct: number;
  /** RTP packets a second that reached JavaScript. */
  rate: number;
  /** CPU ms per 1,000 packets. */
  perThousand: number;
}

type StackMessage =
  | { op: "offer"; sdp: string }
  | { op: "answer"; sdp: string }
  | { op: "result"; run: StackRun }
  | { op: "error"; error: string };

const RECEIVERS: Record<StackName, (answer: Answerer) => Promise<ReceivingPeer>> = {
  werift: weriftReceiver,
  "node-datachannel": datachannelReceiver,
};

/**
 * Runs one receive-only peer in a child process: its idle baseline (5 s at most), the peer opened
 * (offers answered here by `answer`), `warmupMs`, then `windowS` measured.
 */
export function measureStack(
  name: StackName,
  answer: Answerer,
  windowS: number,
  warmupMs: number,
): Promise<StackRun> {
  const child = fork(__filename, ["--stack", name, String(windowS), String(warmupMs)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise<StackRun>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      if (child.connected) child.disconnect();
    };
    // Its idle baseline, connecting, the warm-up and the window, with room to spare.
    const timer = setTimeout(
      () => {
        child.kill("SIGKILL");
        settle(() => reject(new Error(`${name}: no result in time`)));
      },
      (2 * windowS + 30) * 1000 + warmupMs,
    );
    child.on("message", (m: StackMessage) => {
      if (m.op === "offer") {
        answer(m.sdp).then(
          (sdp) => child.send({ op: "answer", sdp } satisfies StackMessage),
          (err: unknown) => settle(() => reject(err instanceof Error ? err : new Error(String(err)))),
        );
      } else if (m.op === "result") settle(() => resolve(m.run));
      else if (m.op === "error") settle(() => reject(new Error(`${name}: ${m.error}`)));
    });
    child.on("exit", (code) => settle(() => reject(new Error(`the ${name} process exited (${code})`))));
  });
}

async function stackChild(name: StackName, windowS: number, warmupMs: number): Promise<void> {
  const send = (m: StackMessage) => process.send?.(m);
  const answers: ((sdp: string) => void)[] = [];
  process.on("message", (m: StackMessage) => {
    if (m.op === "answer") answers.shift()?.(m.sdp);
  });
  const cpuOver = async (seconds: number) => {
    const from = process.cpuUsage();
    const at = performance.now();
    await delay(seconds * 1000);
    const used = process.cpuUsage(from);
    return { s: (used.user + used.system) / 1e6, wall: (performance.now() - at) / 1000 };
  };
  try {
    const idle = await cpuOver(Math.min(windowS, 5));
    const peer = await RECEIVERS[name](
      (sdp) =>
        new Promise<string>((resolve) => {
          answers.push(resolve);
          send({ op: "offer", sdp });
        }),
    );
    await delay(warmupMs);
    const from = peer.packets;
    const busy = await cpuOver(windowS);
    const received = peer.packets - from;
    await peer.close();
    const s = busy.s - (idle.s / idle.wall) * busy.wall;
    send({
      op: "result",
      run: {
        name,
        pct: (100 * s) / busy.wall,
        rate: received / busy.wall,
        perThousand: (1e6 * s) / Math.max(1, received),
      },
    });
  } catch (err) {
    send({ op: "error", error: err instanceof Error ? err.message : String(err) });
  }
  process.once("disconnect", () => process.exit(0));
}

if (require.main === module && process.argv[2] === "--stack") {
  void stackChild(process.argv[3] as StackName, Number(process.argv[4]), Number(process.argv[5]));
}
