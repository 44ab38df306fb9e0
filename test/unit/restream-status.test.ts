import assert from "node:assert/strict";
import { takeSnapshot, type RestreamSnapshot } from "../../src/ffmpeg/restream-snapshot";
import { restreamStatus } from "../../src/ffmpeg/restream-status";
import { secrets } from "../../src/redact";

function snap(over: Partial<RestreamSnapshot>): RestreamSnapshot {
  const stopped = takeSnapshot({
    state: "stopped",
    now: 0,
    url: null,
    run: null,
    restarts: 0,
    lastError: null,
    destinations: null,
    target: { target: "custom", url: "/tmp/rec/" },
    layout: null,
  });
  return { ...stopped, ...over };
}

describe("restream status", () => {
  it("stopped and starting carry nothing else", () => {
    assert.deepEqual(restreamStatus(snap({})), { state: "stopped" });
    assert.deepEqual(restreamStatus(snap({ state: "starting" })), { state: "starting" });
  });

  it("live: rounded figures (null when not reported) and the uptime as m:ss once it counts", () => {
    assert.deepEqual(restreamStatus(snap({ state: "live", fps: 14.6, bitrateKbps: 2047.7, uptimeS: 65 })), {
      state: "live",
      fps: 15,
      kbps: 2048,
      uptime: "1:05",
    });
    assert.deepEqual(restreamStatus(snap({ state: "live" })), {
      state: "live",
      fps: null,
      kbps: null,
      uptime: null,
    });
  });

  it("retrying and failed: the first line of the last error, redacted; null without one", () => {
    secrets.add("status-secret-42");
    const lastError = "ffmpeg exited with status 1 (key status-secret-42)\n[rtmp] Connection refused";
    assert.deepEqual(restreamStatus(snap({ state: "retrying", restarts: 3, lastError })), {
      state: "retrying",
      restarts: 3,
      reason: "ffmpeg exited with status 1 (key ***)",
    });
    assert.deepEqual(restreamStatus(snap({ state: "retrying", restarts: 1 })), {
      state: "retrying",
      restarts: 1,
      reason: null,
    });
    assert.deepEqual(restreamStatus(snap({ state: "failed", lastError: " \nsecond" })), {
      state: "failed",
      reason: null,
    });
    secrets.delete("status-secret-42");
  });

  it("a reason that starts with ffmpeg's URL: the cause first, then where", () => {
    const lastError =
      "rtmp://127.0.0.1:1935/live2/abcd-efgh-ijkl: Connection refused (ffmpeg exited with status 1)\ntail";
    assert.deepEqual(restreamStatus(snap({ state: "retrying", restarts: 2, lastError })), {
      state: "retrying",
      restarts: 2,
      reason: "Connection refused — rtmp://127.0.0.1:1935",
    });
    const hls =
      "https://a.upload.youtube.com/http_upload_hls?cid=k1234567&copy=0: Server returned 403 Forbidden";
    assert.deepEqual(restreamStatus(snap({ state: "failed", lastError: hls })), {
      state: "failed",
      reason: "Server returned 403 Forbidden — https://a.upload.youtube.com",
    });
  });
});
