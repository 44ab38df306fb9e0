import assert from "node:assert/strict";
import { parseStreamLine } from "../../src/ffmpeg/progress";
import {
  describeStream,
  restreamPayload,
  takeSnapshot,
  type SnapshotParts,
} from "../../src/ffmpeg/restream-snapshot";
import { resolveOutputs } from "../../src/ffmpeg/targets";

const KEY = "snap-key-1234-5678";
const T0 = Date.UTC(2026, 0, 1);

function parts(over: Partial<SnapshotParts> = {}): SnapshotParts {
  return {
    state: "stopped",
    now: T0,
    url: null,
    run: null,
    restarts: 0,
    lastError: null,
    destinations: null,
    target: { target: "youtube-rtmps", streamKey: KEY },
    layout: null,
    ...over,
  };
}

describe("restream snapshot", () => {
  it("before the first play: no URL, no figures, the configured target redacted", () => {
    const s = takeSnapshot(parts());
    assert.deepEqual(s, {
      state: "stopped",
      url: null,
      fps: null,
      bitrateKbps: null,
      frames: null,
      speed: null,
      uptimeS: 0,
      restarts: 0,
      lastError: null,
      pid: null,
      target: "rtmps://a.rtmps.youtube.com:443/live2/***",
      audio: null,
      input: null,
    });
  });

  it("a target that does not resolve is null, not an error", () => {
    assert.equal(takeSnapshot(parts({ target: { target: "youtube-rtmps" } })).target, null);
  });

  it("while live: the run's figures, its uptime in whole seconds, the URL's token masked", () => {
    const video = parseStreamLine("  Stream #0:0: Video: h264 (Main), yuv420p, 1920x1080, 15 fps, 15 tbr");
    const audio = parseStreamLine("  Stream #0:1: Audio: aac (LC), 48000 Hz, stereo, fltp");
    const s = takeSnapshot(
      parts({
        state: "live",
        now: T0 + 12_900,
        url: "rtsps://cam.example/stream?auth=tok-abcdef-123",
        run: {
          pid: 4242,
          plan: "copy",
          liveSince: T0,
          sample: {
            frames: 180,
            fps: 15,
            bitrateKbps: 2048,
            totalSize: 1,
            outTimeUs: 12_000_000,
            speed: 1,
            dupFrames: 0,
            dropFrames: 0,
            end: false,
          },
        },
        restarts: 2,
        destinations: resolveOutputs({ target: "custom", url: "/tmp/rec/" }),
        layout: { video, audio, streams: [] },
      }),
    );
    assert.equal(s.url, "rtsps://cam.example/stream?auth=***");
    assert.equal(s.uptimeS, 12);
    assert.equal(s.frames, 180);
    assert.equal(s.restarts, 2);
    assert.equal(s.pid, 4242);
    assert.equal(s.audio, "copy");
    assert.equal(s.target, "/tmp/rec/cam-%Y%m%d-%H%M%S.mkv");
    assert.deepEqual(s.input, { video: "h264 1920x1080 15 fps", audio: "aac 48000 Hz" });
    // Uptime counts only while live.
    assert.equal(
      takeSnapshot(parts({ state: "retrying", run: { pid: 1, plan: "copy", liveSince: T0, sample: null } }))
        .uptimeS,
      0,
    );
  });

  it("the payload is the snapshot without its internals (pid, target, audio, input)", () => {
    const s = takeSnapshot(parts({ lastError: "boom" }));
    const internals = ["pid", "target", "audio", "input"];
    const p = restreamPayload(s);
    assert.deepEqual(p, Object.fromEntries(Object.entries(s).filter(([k]) => !internals.includes(k))));
    assert.equal(p.lastError, "boom");
  });

  it("describes a stream by codec, size, rate", () => {
    assert.equal(describeStream(null), null);
    assert.equal(
      describeStream(parseStreamLine("  Stream #0:1: Audio: opus, 48000 Hz, stereo")),
      "opus 48000 Hz",
    );
  });
});
