/**
 * RtspRelay (serve: "local" for RTSP cameras) on a fake clock, with a scripted keeper, scripted
 * upstream clients and a recording local server: one upstream connection across extends, an
 * immediate reconnect with the newest URL after a drop (then backoff), a new stream switched to
 * behind the same local URL, packets rewritten onto one timeline, video resumed at a keyframe.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { RtspClient, RtspClientOptions, UpstreamMedia } from "../../src/rtsp/rtsp-client";
import { RtspRelay } from "../../src/rtsp/rtsp-relay";
import type { StreamKeeper, StreamUrlEvent } from "../../src/stream/stream-keeper";
import type { CameraUrlEvent, StreamState } from "../../src/stream/stream-state";
import type { LocalRtspServer, RtspStreamSource, TrackKind } from "../../src/webrtc/rtsp-server";
import { withCredentials, type RtspCredentials } from "../../src/webrtc/rtsp-auth";
import { FakeClock, flush } from "../support/fake-clock";
import { rtp } from "../support/rtp-packet";
import { whyText } from "../support/stream-reasons";

const MEDIA: UpstreamMedia = {
  controlUrl: "rtsps://edge/x",
  video: {
    kind: "video",
    payloadType: 96,
    encoding: "H264",
    clockRate: 90000,
    channels: 1,
    fmtp: "packetization-mode=1;sprop-parameter-sets=Z0IAHqtAUB7I,aM4xsg==",
    controlUrl: "rtsps://edge/x/stream=0",
  },
  audio: {
    kind: "audio",
    payloadType: 97,
    encoding: "MPEG4-GENERIC",
    clockRate: 48000,
    channels: 1,
    fmtp: "streamtype=5;mode=AAC-hbr;config=1188",
    controlUrl: "rtsps://edge/x/stream=1",
  },
};

class FakeKeeper extends EventEmitter {
  started = 0;
  stopped = 0;
  start(): void {
    this.started++;
  }
  async stop(): Promise<void> {
    this.stopped++;
    this.emitUrl("stopped", null);
  }
  emitUrl(event: StreamUrlEvent["event"], url: string | null): void {
    this.emit("url", {
      event,
      url,
      expiresAt: url ? "2026-01-01T00:05:00.000Z" : null,
      deviceId: "cam-1",
      camera: "Front",
      protocol: "RTSP",
    } satisfies StreamUrlEvent);
  }
}

/** What a later session of the camera may answer: other payload types, AAC config and sprop. */
const OTHER_MEDIA: UpstreamMedia = {
  controlUrl: "rtsps://edge/y",
  video: {
    ...MEDIA.video!,
    payloadType: 98,
    fmtp: "packetization-mode=1;sprop-parameter-sets=Z2QAKKzZQHgCJ+X/,aOvjyyLA",
    controlUrl: "rtsps://edge/y/stream=0",
  },
  audio: {
    ...MEDIA.audio!,
    payloadType: 99,
    fmtp: "streamtype=5;mode=AAC-hbr;config=1190",
    controlUrl: "rtsps://edge/y/stream=1",
  },
};

class FakeClient extends EventEmitter {
  closed = false;
  result: "ok" | "fail" | "hang" = "ok";
  /** What this upstream session answers to DESCRIBE. */
  media: UpstreamMedia = MEDIA;
  private resolveOpen?: (m: UpstreamMedia) => void;
  constructor(readonly url: string) {
    super();
  }
  open(): Promise<UpstreamMedia> {
    if (this.result === "fail") return Promise.reject(new Error("401 Unauthorized"));
    if (this.result === "hang") return new Promise((r) => (this.resolveOpen = r));
    return Promise.resolve(this.media);
  }
  finishOpen(): void {
    this.resolveOpen?.(this.media);
  }
  close(): void {
    this.closed = true;
  }
  drop(reason = "the camera's RTSP server closed the connection"): void {
    this.emit("close", reason);
  }
  rtp(kind: "video" | "audio", packet: Buffer): void {
    this.emit("rtp", kind, packet);
  }
}

class FakeServer {
  source?: RtspStreamSource;
  readonly sent: { kind: TrackKind; packet: Buffer }[] = [];
  readyCalls = 0;
  removed = 0;
  addStream(_path: string, source: RtspStreamSource): void {
    this.source = source;
  }
  removeStream(): void {
    this.removed++;
  }
  url(path: string): string {
    return `rtsp://127.0.0.1:8554/${path}`;
  }
  readerUrl(path: string): string {
    return withCredentials(this.url(path), this.source?.credentials);
  }
  readerCount(): number {
    return 1;
  }
  send(_path: string, kind: TrackKind, packet: Buffer): void {
    this.sent.push({ kind, packet });
  }
  ready(): void {
    this.readyCalls++;
  }
}

function setup(options: { nextResult?: FakeClient["result"]; credentials?: RtspCredentials } = {}) {
  const mode: { next: FakeClient["result"]; media: UpstreamMedia } = {
    next: options.nextResult ?? "ok",
    media: MEDIA,
  };
  const clock = new FakeClock();
  const keeper = new FakeKeeper();
  const server = new FakeServer();
  const clients: FakeClient[] = [];
  const opened: RtspClientOptions[] = [];
  const relay = new RtspRelay({
    keeper: keeper as unknown as StreamKeeper,
    server: server as unknown as LocalRtspServer,
    path: "cam-1",
    deviceId: "cam-1",
    clock,
    random: () => 0,
    reconnect: { initialMs: 500, maxMs: 4000 },
    credentials: options.credentials,
    createClient: (o) => {
      opened.push(o);
      const c = new FakeClient(o.url);
      c.result = mode.next;
      c.media = mode.media;
      clients.push(c);
      return c as unknown as RtspClient;
    },
  });
  const urls: CameraUrlEvent[] = [];
  const states: StreamState[] = [];
  relay.on("url", (e) => urls.push(e));
  relay.on("state", (s) => states.push(s));
  return { clock, keeper, server, clients, opened, relay, urls, states, mode };
}

describe("RtspRelay (serve: local, fake clock)", () => {
  it("opens one upstream connection and keeps it across extends; the local URL never changes", async () => {
    const { clock, keeper, server, clients, relay, urls, states } = setup();
    relay.start();
    assert.equal(keeper.started, 1);
    keeper.emitUrl("started", "rtsps://edge/x?auth=token-1");
    await clock.advance(0);
    assert.equal(clients.length, 1);
    assert.equal(clients[0].url, "rtsps://edge/x?auth=token-1");
    assert.deepEqual(
      urls.map((u) => [u.event, u.url, u.protocol]),
      [["started", "rtsp://127.0.0.1:8554/cam-1", "RTSP"]],
    );
    assert.equal(server.readyCalls, 1);
    assert.equal(states.at(-1)?.state, "live");
    const desc = server.source?.describe();
    assert.equal(desc?.audio?.encoding, "MPEG4-GENERIC");
    assert.equal(desc?.audio?.fmtp, "streamtype=5;mode=AAC-hbr;config=1188");
    assert.equal(desc?.video?.spropParameterSets, "Z0IAHqtAUB7I,aM4xsg==");

    keeper.emitUrl("extended", "rtsps://edge/x?auth=token-2");
    keeper.emitUrl("extended", "rtsps://edge/x?auth=token-3");
    await clock.advance(10_000);
    assert.equal(clients.length, 1, "no reconnect on an extend");
    assert.equal(clients[0].closed, false);
    assert.deepEqual(
      urls.map((u) => [u.event, u.url]),
      [
        ["started", "rtsp://127.0.0.1:8554/cam-1"],
        ["extended", "rtsp://127.0.0.1:8554/cam-1"],
        ["extended", "rtsp://127.0.0.1:8554/cam-1"],
      ],
    );
    for (const u of urls) assert.doesNotMatch(JSON.stringify(u), /auth=|token-/);

    await relay.stop();
    assert.equal(keeper.stopped, 1);
    assert.equal(clients[0].closed, true);
    assert.equal(server.removed, 1);
    assert.deepEqual(urls.at(-1), {
      event: "stopped",
      url: null,
      expiresAt: null,
      deviceId: "cam-1",
      camera: "Front",
      protocol: "RTSP",
    });
    assert.equal(states.at(-1)?.state, "stopped");
  });

  it("serves its path with the credentials it was given, and announces the URL with them", async () => {
    const credentials = { user: "frigate", password: "p@ss word" };
    const { clock, keeper, server, relay, urls } = setup({ credentials });
    relay.start();
    assert.deepEqual(server.source?.credentials, credentials);
    keeper.emitUrl("started", "rtsps://edge/x?auth=token-1");
    await clock.advance(0);
    assert.deepEqual(
      urls.map((u) => u.url),
      ["rtsp://frigate:p%40ss%20word@127.0.0.1:8554/cam-1"],
    );
    assert.equal(relay.url, urls[0].url);
    await relay.stop();
  });

  it("a dropped upstream reconnects at once with the newest URL; packets continue on one timeline from a keyframe", async () => {
    const { clock, keeper, server, clients, relay, urls, states } = setup();
    relay.start();
    keeper.emitUrl("started", "rtsps://edge/x?auth=token-1");
    await clock.advance(0);
    clients[0].rtp("video", rtp(111, 1000, 90_000, 5));
    clients[0].rtp("video", rtp(111, 1001, 96_000, 1));
    clients[0].rtp("audio", rtp(222, 50, 48_000, 0, 97));
    keeper.emitUrl("extended", "rtsps://edge/x?auth=token-2");
    await clock.advance(200);

    clients[0].drop();
    assert.equal(states.at(-1)?.state, "retrying");
    assert.match(whyText(states.at(-1)?.why), /local readers stay connected/);
    await clock.advance(0);
    assert.equal(clients.length, 2, "reconnected at once");
    assert.equal(clients[1].url, "rtsps://edge/x?auth=token-2", "with the newest token");
    assert.equal(states.at(-1)?.state, "live");

    // The new session: other SSRC, sequence and timestamps. Video waits for a keyframe.
    clients[1].rtp("video", rtp(999, 7, 5_000, 1));
    clients[1].rtp("video", rtp(999, 8, 11_000, 7));
    clients[1].rtp("video", rtp(999, 9, 11_000, 5));
    clients[1].rtp("audio", rtp(888, 3, 1_000, 0, 97));
    const video = server.sent.filter((s) => s.kind === "video").map((s) => s.packet);
    const audio = server.sent.filter((s) => s.kind === "audio").map((s) => s.packet);
    assert.equal(video.length, 4, "the non-keyframe packet before the SPS was dropped");
    assert.deepEqual(
      new Set(video.map((p) => p.readUInt32BE(8))).size,
      1,
      "one SSRC for readers across the switch",
    );
    assert.deepEqual(
      video.map((p) => p.readUInt16BE(2)),
      [0, 1, 2, 3].map((i) => (video[0].readUInt16BE(2) + i) & 0xffff),
      "sequence numbers continue",
    );
    const ts = video.map((p) => p.readUInt32BE(4));
    assert.ok((ts[2] - ts[1]) >>> 0 > 0 && (ts[2] - ts[1]) >>> 0 < 90_000, "timestamps move forward");
    assert.equal(new Set(audio.map((p) => p.readUInt32BE(8))).size, 1);
    assert.deepEqual(
      urls.map((u) => u.event),
      ["started", "extended"],
      "readers are never told to reconnect",
    );

    // A second drop right away: the newest URL is refused now, so reconnects back off.
    clients[1].drop();
    await clock.advance(0);
    assert.equal(clients.length, 2, "the second drop waits (backoff)");
    await clock.advance(500);
    assert.equal(clients.length, 3);
    await relay.stop();
  });

  it("refused opens retry with backoff until one plays; a new stream ('restarted') is switched to behind the same URL", async () => {
    const { clock, keeper, clients, relay, urls, states, mode } = setup({ nextResult: "fail" });
    relay.start();
    keeper.emitUrl("started", "rtsps://edge/x?auth=token-1");
    await clock.advance(0);
    assert.equal(clients.length, 1);
    assert.equal(urls.length, 0, "no URL before the upstream plays");
    assert.equal(states.at(-1)?.state, "retrying");
    assert.match(whyText(states.at(-1)?.why), /401 Unauthorized.*next try in 1 s/);
    await clock.advance(499);
    assert.equal(clients.length, 1);
    await clock.advance(1);
    assert.equal(clients.length, 2);
    await clock.advance(999);
    assert.equal(clients.length, 2, "the second retry waits longer");
    await clock.advance(1);
    assert.equal(clients.length, 3);

    // Google's stream was lost: the keeper makes a new one. The relay opens it at once.
    mode.next = "ok";
    keeper.emitUrl("restarted", "rtsps://edge/y?auth=token-9");
    await clock.advance(0);
    assert.equal(clients.length, 4, "at once, not after the backoff");
    assert.equal(clients[3].url, "rtsps://edge/y?auth=token-9");
    await flush();
    assert.deepEqual(
      urls.map((u) => u.event),
      ["started"],
    );
    await relay.stop();
    assert.equal(clock.timers, 0, "no timer left");
  });

  it("a new stream ('restarted') while readers play: switched behind the same URL, one SSRC and timeline, the first SDP kept", async () => {
    const { clock, keeper, server, clients, relay, urls, mode } = setup();
    relay.start();
    keeper.emitUrl("started", "rtsps://edge/x?auth=token-1");
    await clock.advance(0);
    clients[0].rtp("video", rtp(111, 500, 90_000, 5));
    clients[0].rtp("video", rtp(111, 501, 93_000, 1));
    clients[0].rtp("audio", rtp(222, 70, 48_000, 0, 97));
    const sdp = JSON.stringify(server.source?.describe());
    assert.match(sdp, /Z0IAHqtAUB7I,aM4xsg==/, "SPS/PPS advertised");
    assert.match(sdp, /config=1188/, "the AAC config advertised");
    await clock.advance(1_000);

    // Google's stream was lost and the keeper made a new one: a new session, other SSRC and numbering,
    // and an SDP of its own (other payload types, AAC config and sprop) that readers never see.
    mode.media = OTHER_MEDIA;
    keeper.emitUrl("restarted", "rtsps://edge/y?auth=token-7");
    await clock.advance(0);
    assert.ok(clients[0].closed, "the old upstream connection is closed");
    assert.equal(clients.length, 2);
    assert.equal(clients[1].url, "rtsps://edge/y?auth=token-7");
    await flush();
    clients[1].rtp("video", rtp(4242, 9, 7_000, 1, 98)); // before a keyframe: held back
    // The new session's in-band SPS (the camera's, as in the first SDP): the keyframe starts.
    const sps = Buffer.from("Z0IAHqtAUB7I", "base64");
    clients[1].rtp("video", Buffer.concat([rtp(4242, 10, 10_000, 7, 98).subarray(0, 12), sps]));
    clients[1].rtp("video", rtp(4242, 11, 10_000, 5, 98));
    clients[1].rtp("audio", rtp(4343, 1, 2_000, 0, 99));

    assert.equal(server.removed, 0, "the local path stays: readers are not disconnected");
    assert.equal(JSON.stringify(server.source?.describe()), sdp, "the SDP readers got stays valid");
    const video = server.sent.filter((s) => s.kind === "video").map((s) => s.packet);
    const audio = server.sent.filter((s) => s.kind === "audio").map((s) => s.packet);
    assert.equal(video.length, 4, "the packet before the new session's keyframe was dropped");
    assert.deepEqual(
      [...video.map((p) => p[1] & 0x7f), ...audio.map((p) => p[1] & 0x7f)],
      [96, 96, 96, 96, 97, 97],
      "packets carry the payload types the readers' SDP advertised",
    );
    assert.equal(new Set(video.map((p) => p.readUInt32BE(8))).size, 1, "one video SSRC across the switch");
    assert.equal(new Set(audio.map((p) => p.readUInt32BE(8))).size, 1, "one audio SSRC across the switch");
    assert.deepEqual(
      video.map((p) => p.readUInt16BE(2)),
      [0, 1, 2, 3].map((i) => (video[0].readUInt16BE(2) + i) & 0xffff),
      "sequence numbers continue",
    );
    const step = (video[2].readUInt32BE(4) - video[1].readUInt32BE(4)) >>> 0;
    assert.ok(step > 0 && step < 10 * 90_000, `the timeline moves forward (${step})`);
    assert.deepEqual(
      urls.map((u) => [u.event, u.url]),
      [
        ["started", "rtsp://127.0.0.1:8554/cam-1"],
        ["extended", "rtsp://127.0.0.1:8554/cam-1"],
      ],
      "readers are never told to reconnect, and the URL does not change",
    );
    await relay.stop();
  });

  it("the keeper's live waits for the upstream; a stop during a slow open closes that connection", async () => {
    const { clock, keeper, clients, relay, urls, states } = setup({ nextResult: "hang" });
    relay.start();
    keeper.emit("state", { state: "starting", camera: "Front" });
    keeper.emitUrl("started", "rtsps://edge/x?auth=token-1");
    keeper.emit("state", { state: "live", camera: "Front", expiresAt: "2026-01-01T00:05:00.000Z" });
    await clock.advance(0);
    assert.deepEqual(
      states.map((s) => s.state),
      ["starting"],
      "not live before the camera's stream plays",
    );
    const stopping = relay.stop();
    clients[0].finishOpen();
    await stopping;
    await flush();
    assert.equal(clients[0].closed, true);
    assert.equal(urls.length, 0);
  });
});
