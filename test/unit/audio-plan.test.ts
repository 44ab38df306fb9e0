import assert from "node:assert/strict";
import { AudioPlanner, MAX_REPLANS, audioPlan } from "../../src/ffmpeg/audio-plan";
import { parseStreamLine, type InputLayout } from "../../src/ffmpeg/progress";
import { resolveOutputs } from "../../src/ffmpeg/targets";

const youtube = resolveOutputs({ target: "youtube-rtmps", streamKey: "key-123456" });
const mkv = resolveOutputs({ target: "custom", url: "/tmp/rec/cam.mkv" });
const VIDEO = "  Stream #0:0: Video: h264 (Main), yuv420p(progressive), 1920x1080, 15 fps, 15 tbr, 90k tbn";

function layout(audio: string | null): InputLayout {
  const video = parseStreamLine(VIDEO);
  const a = audio ? parseStreamLine(`  Stream #0:1: Audio: ${audio}, 48000 Hz, stereo, fltp`) : null;
  return { video, audio: a, streams: [video, a].filter((s) => s !== null) };
}

describe("audio plan", () => {
  it("a mode other than auto is the plan, whatever the input", () => {
    assert.equal(audioPlan("copy", null), "copy");
    assert.equal(audioPlan("aac", { codec: "aac" }), "encode");
    assert.equal(audioPlan("silent", { codec: "opus" }), "silence");
    assert.equal(audioPlan("none", undefined), "none");
    const planner = new AudioPlanner("copy");
    assert.equal(planner.next(youtube).plan, "copy");
    assert.equal(planner.check(layout(null), "copy", youtube), null, "never a replan");
  });

  it("refuses an unknown mode, saying which are accepted", () => {
    // @ts-expect-error: a mode a flow could still send
    assert.throws(() => audioPlan("loud"), /audio must be one of auto, copy, aac, silent, none; got "loud"/);
  });

  it("probes first; the source's hint (a WebRTC camera's Opus) is used until a listing is known", () => {
    const planner = new AudioPlanner();
    assert.deepEqual(planner.next(youtube), { plan: "probe", inputAudio: undefined, inputFps: undefined });
    planner.setHint({ codec: "opus" });
    planner.setHint(undefined); // no news changes nothing
    assert.deepEqual(planner.next(youtube), {
      plan: "encode",
      inputAudio: { codec: "opus" },
      inputFps: undefined,
    });
    planner.remember("rtsp://cam/a", layout("aac (LC)"));
    assert.deepEqual(planner.next(youtube), { plan: "copy", inputAudio: { codec: "aac" }, inputFps: 15 });
  });

  it("the last listing is the guess for any session; layoutOf answers for its own session only", () => {
    const planner = new AudioPlanner();
    planner.remember("rtsp://cam/a", layout(null));
    assert.equal(planner.next(youtube).plan, "silence", "a new session starts from the last listing");
    assert.equal(planner.layoutOf("rtsp://cam/a")?.audio, null);
    assert.equal(planner.layoutOf("rtsp://cam/b"), null);
  });

  it("a listing that matches the running plan keeps it, saying what the probe run turned out to do", () => {
    const planner = new AudioPlanner();
    assert.deepEqual(planner.check(layout("aac (LC)"), "probe", youtube), { keep: "copy" });
    assert.deepEqual(planner.check(layout("opus"), "probe", mkv), { keep: "copy" }, "Matroska carries Opus");
    assert.deepEqual(planner.check(layout("opus"), "encode", youtube), { keep: "encode" });
    assert.deepEqual(planner.check(layout(null), "silence", youtube), { keep: "silence" });
  });

  it("a listing that does not match asks for an immediate restart, at most MAX_REPLANS times per start", () => {
    const planner = new AudioPlanner();
    const none = planner.check(layout(null), "probe", youtube);
    assert.deepEqual(none, {
      replan: "the input has no audio: restarting at once with a silent audio track",
    });
    const opus = planner.check(layout("opus"), "probe", youtube);
    assert.deepEqual(opus, {
      replan: "the input's audio is opus: restarting at once to re-encode it to AAC",
    });
    assert.equal(MAX_REPLANS, 2);
    assert.equal(planner.check(layout("aac (LC)"), "silence", youtube), null, "no third replan");
    planner.resetReplans();
    assert.deepEqual(planner.check(layout("aac (LC)"), "silence", youtube), {
      replan: "the input's audio is aac: restarting at once to copy it",
    });
  });
});
