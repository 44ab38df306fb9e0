import assert from "node:assert/strict";
import { parseRestreamInput, RestreamInputError } from "../../src/ffmpeg/restream-input";
import { refusalText } from "../support/catalog";

const URL1 = "rtsps://edge.example:443/sdm_live_stream/abc?auth=tok1";

describe("parseRestreamInput", () => {
  it("plays a URL, or a URL from started/restarted", () => {
    assert.deepEqual(parseRestreamInput({ payload: URL1 }), { command: { action: "play", url: URL1 } });
    assert.deepEqual(parseRestreamInput({ payload: URL1, stream: { event: "started" } }).command, {
      action: "play",
      url: URL1,
    });
    // A recovery by nest-stream switches a running restream, but never starts one that was stopped.
    assert.deepEqual(parseRestreamInput({ payload: URL1, stream: { event: "restarted" } }).command, {
      action: "switch",
      url: URL1,
    });
    assert.deepEqual(parseRestreamInput({ payload: "/media/in.mkv" }).command, {
      action: "play",
      url: "/media/in.mkv",
    });
  });

  it("passes on that a WebRTC camera's stream carries Opus", () => {
    assert.deepEqual(
      parseRestreamInput({ payload: URL1, stream: { event: "started", protocol: "WEB_RTC" } }),
      {
        command: { action: "play", url: URL1 },
        inputAudio: { codec: "opus" },
      },
    );
    assert.equal(
      parseRestreamInput({ payload: URL1, stream: { event: "started", protocol: "RTSP" } }).inputAudio,
      undefined,
    );
  });

  it("only updates the kept URL on extended", () => {
    assert.deepEqual(parseRestreamInput({ payload: URL1, stream: { event: "extended" } }).command, {
      action: "update-url",
      url: URL1,
    });
  });

  it("stops on null, false, 'stop' and the stopped event; starts on 'start'", () => {
    for (const payload of [null, false, "stop", " STOP "]) {
      assert.deepEqual(parseRestreamInput({ payload }).command, { action: "stop" });
    }
    assert.deepEqual(parseRestreamInput({ payload: null, stream: { event: "stopped" } }).command, {
      action: "stop",
    });
    assert.deepEqual(parseRestreamInput({ payload: "start" }).command, { action: "start" });
  });

  it("asks for the newest picture on 'snapshot'", () => {
    for (const payload of ["snapshot", " Snapshot "]) {
      assert.deepEqual(parseRestreamInput({ payload }).command, { action: "snapshot" });
    }
  });

  it("takes msg.target alone or with a URL", () => {
    assert.deepEqual(parseRestreamInput({ target: { url: "rtmp://h/live2", streamKey: "k-1" } }), {
      command: { action: "none" },
      target: { url: "rtmp://h/live2", streamKey: "k-1" },
    });
    assert.deepEqual(parseRestreamInput({ payload: URL1, target: { streamKey: "k" } }).target, {
      streamKey: "k",
    });
    // youtube-live names the kind of its ingest.
    assert.deepEqual(
      parseRestreamInput({
        target: { target: "youtube-hls", url: "https://h/x?cid=k&copy=0&file=", streamKey: "k" },
      }).target,
      { target: "youtube-hls", url: "https://h/x?cid=k&copy=0&file=", streamKey: "k" },
    );
  });

  it("rejects everything else with what is accepted, without echoing secrets", () => {
    const bad: unknown[] = [
      { payload: 42 },
      { payload: "go" },
      { payload: {} },
      { payload: URL1, stream: { event: "bogus" } },
      { payload: URL1, stream: "started" },
      { target: "rtmp://x" },
      { target: { url: "nope" } },
      { target: { streamKey: "has space" } },
      { target: { target: "twitch" } },
      {},
    ];
    for (const msg of bad) {
      assert.throws(
        () => parseRestreamInput(msg as Record<string, unknown>),
        (e: unknown) =>
          e instanceof RestreamInputError &&
          refusalText("nest-restream", e).includes('"start", "stop", "snapshot", null or false') &&
          !refusalText("nest-restream", e).includes("tok1") &&
          !e.message.includes("tok1"),
        JSON.stringify(msg),
      );
    }
  });
});
