/**
 * youtube-captions' core: what messages mean in text and clock mode, the clock posting once per
 * interval until "stop", the URL from youtube-live, and the time format.
 */
import assert from "node:assert/strict";
import {
  CaptionInputError,
  captionText,
  formatClock,
  parseCaptionInput,
} from "../../src/youtube/caption-input";
import type { CaptionResult } from "../../src/youtube/caption-poster";
import { CaptionsController, type CaptionsSettings } from "../../src/youtube/captions-controller";
import type { FakeCaptions } from "../fixtures/fake-google/captions";
import type { FakeGoogleTransport } from "../fixtures/fake-google/transport";
import { captionEndpoint } from "../support/youtube-transport";
import { flush, type FakeClock } from "../support/fake-clock";

const CID = "clock-key-0000-1111";
const URL_ = `https://captions.example.test/closedcaption?cid=${CID}`;
const code = (c: string) => (err: unknown) => err instanceof CaptionInputError && err.code === c;

describe("youtube-captions input", () => {
  it("text mode: a string (or number) is a caption, line breaks become <br>", () => {
    assert.deepEqual(parseCaptionInput("text", { payload: "  Hello\nworld \r\n\nagain " }), {
      action: "caption",
      text: "Hello<br>world<br>again",
    });
    assert.deepEqual(parseCaptionInput("text", { payload: 42 }), { action: "caption", text: "42" });
    assert.equal(captionText("a<br/>b"), "a<br>b");
  });

  it("text mode: objects, empty text, booleans and null are refused with their kind", () => {
    assert.throws(() => parseCaptionInput("text", { payload: { text: "x" } }), code("notText"));
    assert.throws(() => parseCaptionInput("text", { payload: ["x"] }), code("notText"));
    assert.throws(() => parseCaptionInput("text", { payload: null }), code("notText"));
    assert.throws(() => parseCaptionInput("text", { payload: true }), code("notText"));
    assert.throws(() => parseCaptionInput("text", { payload: " \n " }), code("empty"));
    assert.throws(() => parseCaptionInput("text", {}), code("notText"));
  });

  it("msg.captions.url must be an http(s) caption URL with a cid, and is never echoed", () => {
    for (const bad of [
      "rtmp://a.rtmp.youtube.com/live2/key",
      "http://x/closedcaption",
      "ftp://h/?cid=k",
      7,
      {},
    ]) {
      assert.throws(
        () => parseCaptionInput("text", { payload: "hi", captions: { url: bad } }),
        (err: unknown) => code("badUrl")(err) && !String((err as CaptionInputError).got).includes("live2"),
      );
    }
    assert.deepEqual(parseCaptionInput("text", { payload: "hi", captions: { url: ` ${URL_} ` } }), {
      action: "caption",
      text: "hi",
      url: URL_,
    });
  });

  it("text mode: youtube-live's stream messages only set the URL", () => {
    const msg = { payload: "rtsps://cam/x?auth=t", stream: { event: "started" }, captions: { url: URL_ } };
    assert.deepEqual(parseCaptionInput("text", msg), { action: "url", url: URL_ });
  });

  it("clock mode: start/stop words, booleans and youtube-live's stream events", () => {
    const p = (msg: object) => parseCaptionInput("clock", msg).action;
    assert.equal(p({ payload: "start" }), "start");
    assert.equal(p({ payload: true }), "start");
    assert.equal(p({ payload: "ON" }), "start");
    assert.equal(p({ payload: "stop" }), "stop");
    assert.equal(p({ payload: false }), "stop");
    assert.equal(p({ payload: null }), "stop");
    assert.equal(p({ payload: "rtsps://cam", stream: { event: "started" } }), "start");
    assert.equal(p({ payload: "rtsps://cam", stream: { event: "extended" } }), "start");
    assert.equal(p({ payload: null, stream: { event: "stopped" } }), "stop");
    assert.throws(() => p({ payload: "go" }), code("notCommand"));
  });

  it("formats the local time with YYYY MM DD HH mm ss SSS and [literals]", () => {
    const d = new Date(2026, 0, 2, 3, 4, 5, 6);
    assert.equal(formatClock(d.getTime(), "HH:mm:ss"), "03:04:05");
    assert.equal(
      formatClock(d.getTime(), "[Porch] DD.MM.YYYY HH:mm:ss.SSS"),
      "Porch 02.01.2026 03:04:05.006",
    );
  });
});

describe("CaptionsController", () => {
  let clock: FakeClock;
  let transport: FakeGoogleTransport;
  let captions: FakeCaptions;
  let controller: CaptionsController | undefined;

  beforeEach(() => ({ clock, transport, captions } = captionEndpoint(CID)));
  afterEach(() => controller?.close());

  function make(settings: Partial<CaptionsSettings>): CaptionsController {
    controller = new CaptionsController(
      { mode: "text", everySeconds: 1, timeFormat: "HH:mm:ss", ...settings },
      { http: transport, clock, random: () => 0 },
    );
    return controller;
  }

  it('clock mode posts the local time once per interval and stops on "stop"', async () => {
    const c = make({ mode: "clock", everySeconds: 2, url: URL_ });
    const results: CaptionResult[] = [];
    c.on("result", (r: CaptionResult) => results.push(r));
    assert.equal(await c.input({ payload: "start" }), null);
    await clock.advance(9_999);
    assert.equal(captions.posts.length, 5, "at 0, 2, 4, 6 and 8 s");
    assert.deepEqual(
      captions.posts.map((p) => p.at - captions.posts[0].at),
      [0, 2_000, 4_000, 6_000, 8_000],
    );
    assert.equal(captions.posts[1].captions[0].text, formatClock(captions.posts[1].at, "HH:mm:ss"));
    await c.input({ payload: "start" });
    await clock.advance(1);
    assert.equal(captions.posts.length, 6, "a second start does not start a second clock");
    await c.input({ payload: "stop" });
    await clock.advance(10_000);
    assert.equal(captions.posts.length, 6);
    assert.equal(clock.timers, 0);
    await flush();
    assert.deepEqual(
      results.map((r) => [r.seq, r.ok]),
      [1, 2, 3, 4, 5, 6].map((s) => [s, true]),
    );
    assert.equal(c.status().running, false);
  });

  it('clock mode follows youtube-live: its URL, started by a stream message, stopped by "stopped"', async () => {
    const c = make({ mode: "clock" });
    await assert.rejects(c.input({ payload: "start" }), code("noUrl"));
    await c.input({ payload: "rtsps://cam", stream: { event: "started" }, captions: { url: URL_ } });
    await clock.advance(2_500);
    assert.equal(captions.posts.length, 3);
    await c.input({ payload: null, stream: { event: "stopped" } });
    await clock.advance(5_000);
    assert.equal(captions.posts.length, 3);
  });

  it("text mode: each message is a caption, resolved with its result; no URL is a clear error", async () => {
    const c = make({});
    await assert.rejects(c.input({ payload: "hi" }), code("noUrl"));
    const r = await c.input({ payload: "hi\nthere", captions: { url: URL_ } });
    assert.deepEqual(r && [r.seq, r.text, r.ok], [1, "hi<br>there", true]);
    const r2 = await c.input({ payload: "again" });
    assert.equal(r2?.seq, 2);
    assert.equal(c.status().sent, 2);
  });
});
