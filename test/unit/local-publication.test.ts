/**
 * LocalPublication against a recording server: the stream registered with its credentials and
 * onPlay, the first session's tracks advertised and kept, DESCRIBE only once announced (with the
 * SPS/PPS of the moment), packets rewritten onto one SSRC and numbering per track across sessions,
 * and a close that forgets everything for the next open.
 */
import assert from "node:assert/strict";
import { ParameterSets } from "../../src/webrtc/h264";
import { LocalPublication, type PublishedMedia } from "../../src/webrtc/local-publication";
import type { LocalRtspServer, RtspStreamSource, TrackKind } from "../../src/webrtc/rtsp-server";
import { rtp } from "../support/rtp-packet";

class FakeServer {
  readonly sources = new Map<string, RtspStreamSource>();
  readonly sent: { path: string; kind: TrackKind; packet: Buffer }[] = [];
  readonly readyCalls: string[] = [];
  readonly removed: string[] = [];
  addStream(path: string, source: RtspStreamSource): void {
    this.sources.set(path, source);
  }
  removeStream(path: string): void {
    this.removed.push(path);
    this.sources.delete(path);
  }
  ready(path: string): void {
    this.readyCalls.push(path);
  }
  send(path: string, kind: TrackKind, packet: Buffer): void {
    this.sent.push({ path, kind, packet });
  }
}

const RTSP_CAMERA: PublishedMedia = {
  video: { payloadType: 96, clockRate: 90000, fmtp: "packetization-mode=1" },
  audio: {
    payloadType: 97,
    clockRate: 48000,
    channels: 1,
    fmtp: "streamtype=5;mode=AAC-hbr;config=1188",
    encoding: "MPEG4-GENERIC",
  },
};

const WEBRTC_CAMERA: PublishedMedia = {
  video: { payloadType: 102, clockRate: 90000, fmtp: "packetization-mode=1;profile-level-id=42e01f" },
  audio: { payloadType: 111, clockRate: 48000, channels: 2, fmtp: "minptime=10;useinbandfec=1" },
};

function setup(extra: { onPlay?: () => void } = {}) {
  const server = new FakeServer();
  const params = new ParameterSets();
  const publication = new LocalPublication({
    server: server as unknown as LocalRtspServer,
    path: "cam-1",
    parameterSets: () => params,
    credentials: { user: "u", password: "p" },
    ...extra,
  });
  return { server, params, publication };
}

describe("LocalPublication", () => {
  it("registers the stream with its credentials; onPlay only when given", () => {
    const plain = setup();
    plain.publication.open();
    const source = plain.server.sources.get("cam-1");
    assert.ok(source);
    assert.deepEqual(source.credentials, { user: "u", password: "p" });
    assert.equal("onPlay" in source, false);
    let plays = 0;
    const withPlay = setup({ onPlay: () => plays++ });
    withPlay.publication.open();
    withPlay.server.sources.get("cam-1")?.onPlay?.();
    assert.equal(plays, 1);
  });

  it("describes nothing until tracks are advertised and announced, then the first session's tracks", () => {
    const { server, params, publication } = setup();
    publication.open();
    const source = server.sources.get("cam-1");
    assert.equal(source?.describe(), undefined, "nothing advertised");
    assert.equal(publication.advertise(RTSP_CAMERA), true);
    assert.equal(source?.describe(), undefined, "advertised, not announced: DESCRIBE waits");
    assert.equal(publication.announced, false);
    assert.deepEqual(server.readyCalls, []);
    publication.announce();
    assert.equal(publication.announced, true);
    assert.deepEqual(server.readyCalls, ["cam-1"], "waiting DESCRIBEs woken");
    assert.deepEqual(source?.describe(), {
      video: {
        payloadType: 96,
        fmtp: "packetization-mode=1",
        spropParameterSets: undefined,
        profileLevelId: undefined,
      },
      audio: RTSP_CAMERA.audio, // encoding name included
    });
    // The parameter sets are read at each DESCRIBE.
    params.observe(Buffer.from([0x18, 0, 4, 0x67, 0x4d, 0x00, 0x1f, 0, 2, 0x68, 0xee]));
    assert.equal(source?.describe()?.video?.spropParameterSets, "Z00AHw==,aO4=");
    assert.equal(source?.describe()?.video?.profileLevelId, "4d001f");
    // A later session's tracks are not taken: readers keep the first ones.
    assert.equal(publication.advertise(WEBRTC_CAMERA), false);
    assert.equal(publication.tracks, RTSP_CAMERA);
    assert.equal(source?.describe()?.video?.payloadType, 96);
  });

  it("describes Opus audio without an encoding name (the SDP's default) and a video-only stream", () => {
    const webrtc = setup();
    webrtc.publication.open();
    webrtc.publication.advertise(WEBRTC_CAMERA);
    webrtc.publication.announce();
    assert.deepEqual(webrtc.publication.describe()?.audio, {
      payloadType: 111,
      clockRate: 48000,
      channels: 2,
      fmtp: "minptime=10;useinbandfec=1",
    });
    const videoOnly = setup();
    videoOnly.publication.open();
    videoOnly.publication.advertise({ video: RTSP_CAMERA.video });
    videoOnly.publication.announce();
    assert.equal(videoOnly.publication.has("video"), true);
    assert.equal(videoOnly.publication.has("audio"), false);
    assert.deepEqual(Object.keys(videoOnly.publication.describe() ?? {}), ["video"]);
    videoOnly.publication.send("audio", rtp(9, 1, 1, 0x65, 97));
    assert.equal(videoOnly.server.sent.length, 0, "no audio track: no audio sent");
  });

  it("sends each track on one SSRC and one numbering across sessions, with the advertised payload type", () => {
    const { server, publication } = setup();
    publication.open();
    assert.equal(publication.has("video"), false);
    publication.send("video", rtp(1, 10, 1000, 0x65, 96));
    assert.equal(server.sent.length, 0, "nothing advertised: nothing sent");
    publication.advertise(RTSP_CAMERA);
    publication.announce();
    const first = rtp(1, 65535, 4_000_000_000, 0x65, 96);
    publication.send("video", first);
    publication.send("audio", rtp(5, 100, 0, 0x65, 97));
    // A new session: other SSRCs, other numbering, another payload type.
    publication.send("video", rtp(2, 31000, 123, 0x65, 120));
    publication.send("audio", rtp(6, 7, 99, 0x65, 121));
    const video = server.sent.filter((s) => s.kind === "video").map((s) => s.packet);
    const audio = server.sent.filter((s) => s.kind === "audio").map((s) => s.packet);
    assert.equal(server.sent[0]?.packet, first, "rewritten in place");
    assert.ok(server.sent.every((s) => s.path === "cam-1"));
    assert.equal(video.length, 2);
    assert.equal(audio.length, 2);
    assert.equal(video[1]?.readUInt32BE(8), video[0]?.readUInt32BE(8), "one video SSRC");
    assert.equal(audio[1]?.readUInt32BE(8), audio[0]?.readUInt32BE(8), "one audio SSRC");
    assert.equal(video[0]?.readUInt16BE(2), 65535);
    assert.equal(video[1]?.readUInt16BE(2), 0, "video sequence continues by one");
    assert.equal(audio[1]?.readUInt16BE(2), 101, "audio sequence continues by one");
    assert.deepEqual(
      video.map((p) => p[1]),
      [96, 96],
    );
    assert.deepEqual(
      audio.map((p) => p[1]),
      [97, 97],
    );
  });

  it("close removes the stream and forgets its tracks; the next open starts afresh", () => {
    const { server, publication } = setup();
    publication.open();
    publication.advertise(RTSP_CAMERA);
    publication.announce();
    publication.close();
    assert.deepEqual(server.removed, ["cam-1"]);
    assert.equal(server.sources.has("cam-1"), false);
    assert.equal(publication.announced, false);
    assert.equal(publication.tracks, undefined);
    assert.equal(publication.has("video"), false);
    publication.open();
    assert.equal(server.sources.get("cam-1")?.describe(), undefined);
    assert.equal(publication.advertise(WEBRTC_CAMERA), true, "a new first session");
    publication.announce();
    assert.equal(publication.describe()?.video?.payloadType, 102);
  });
});
