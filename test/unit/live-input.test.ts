import assert from "node:assert/strict";
import { LiveInputError, parseLiveInput } from "../../src/youtube/live-input";

describe("youtube-live input", () => {
  const url = "rtsps://edge.test/sdm_live_stream/x?auth=t0k3n";

  it("reads nest-stream's URL messages with the camera's name and an optional title", () => {
    assert.deepEqual(parseLiveInput({ payload: url, stream: { event: "started", camera: "Front door" } }), {
      action: "url",
      event: "started",
      camera: "Front door",
    });
    assert.deepEqual(
      parseLiveInput({ payload: url, stream: { event: "extended", deviceId: "cam-1" }, title: " Party " }),
      { action: "url", event: "extended", camera: "cam-1", title: "Party" },
    );
  });

  it('ends on stopped, null, false and "stop"', () => {
    for (const msg of [
      { payload: null, stream: { event: "stopped" } },
      { payload: null },
      { payload: false },
      { payload: " stop " },
    ]) {
      assert.deepEqual(parseLiveInput(msg), { action: "end" });
    }
  });

  it("refuses anything else with what it accepts", () => {
    for (const msg of [
      { payload: { url } },
      { payload: "hello" },
      { payload: url },
      { payload: url, stream: { event: "paused" } },
      { payload: url, stream: { event: "started" }, title: 42 },
    ]) {
      assert.throws(
        () => parseLiveInput(msg),
        (err: unknown) =>
          err instanceof LiveInputError &&
          /youtube-live accepts nest-stream's messages/.test(err.message) &&
          /left as it is/.test(err.message),
      );
    }
  });
});
