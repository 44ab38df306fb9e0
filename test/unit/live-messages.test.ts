import assert from "node:assert/strict";
import type { LiveTarget } from "../../src/youtube/live-broadcaster";
import { LiveMessages } from "../../src/youtube/live-messages";

const first: LiveTarget = {
  target: "youtube-rtmps",
  url: "rtmps://a.rtmps.youtube.com/live2",
  streamKey: "key-1",
};
const second: LiveTarget = { ...first, streamKey: "key-2" };
const urlMsg = () => ({
  payload: "rtsp://127.0.0.1:8554/cam",
  stream: { event: "started", camera: "Front door" },
  topic: "cam",
});

describe("youtube-live messages", () => {
  it("passes the stream message on with the broadcast's target, and the caption URL while there is one", () => {
    const broadcast: { captionsUrl?: string } = {};
    const messages = new LiveMessages(() => broadcast.captionsUrl);
    assert.deepEqual(messages.passOn(urlMsg(), first), { ...urlMsg(), target: first });
    const captions = "http://upload.youtube.com/closedcaption?cid=abc";
    broadcast.captionsUrl = captions;
    assert.deepEqual(messages.passOn(urlMsg(), first), {
      ...urlMsg(),
      target: first,
      captions: { url: captions },
    });
    assert.deepEqual(messages.status({ state: "live" }), {
      payload: { state: "live" },
      captions: { url: captions },
    });
  });

  it("sends the last stream message again, marked restarted, when the stream key changes", () => {
    const messages = new LiveMessages(() => undefined);
    assert.equal(messages.retarget(second), undefined, "nothing to send before a stream message");
    messages.passOn(urlMsg(), first);
    const again = messages.retarget(second);
    assert.deepEqual(again, {
      ...urlMsg(),
      target: second,
      stream: { event: "restarted", camera: "Front door" },
    });
    assert.equal(messages.retarget(first)?.target, first, "each new key goes on the last message");
  });

  it("forgets the stream once a message ends it (no target)", () => {
    const messages = new LiveMessages(() => undefined);
    messages.passOn(urlMsg(), first);
    const stop = { payload: null, stream: { event: "stopped" } };
    assert.equal(messages.passOn(stop, null), stop, "passed on as is");
    assert.equal(messages.retarget(second), undefined);
  });
});
