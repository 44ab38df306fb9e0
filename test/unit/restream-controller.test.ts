import assert from "node:assert/strict";
import { mergeTarget, RestreamController, type RestreamConfig } from "../../src/ffmpeg/restream-controller";
import { RestreamInputError } from "../../src/ffmpeg/restream-input";
import { refusalText, wordedAs } from "../support/catalog";
import { FakeClock, flush } from "../support/fake-clock";
import { FakeSpawner, type FakeFfmpeg } from "../support/fake-ffmpeg";

const KEY = "ctrl-key-1111-2222";
const BASE = "rtsps://stream-ue1-delta.dropcam.com:443/sdm_live_stream/CiUAsession";
const URL1 = `${BASE}?auth=g.0.controllerTokenOne`;
const URL2 = `${BASE}?auth=g.0.controllerTokenTwo`;

function setup(config: RestreamConfig = { streamKey: KEY }) {
  const clock = new FakeClock();
  const spawner = new FakeSpawner();
  const c = RestreamController.fromConfig(config, {
    clock,
    spawn: spawner.spawn,
    random: () => 0,
    env: { FFMPEG_PATH: "/usr/bin/ffmpeg" },
  });
  return { c, r: c.restreamer, clock, spawner };
}

async function live(p: FakeFfmpeg): Promise<void> {
  p.listing("aac (LC)");
  p.progress();
  await flush();
}

const lastArg = (p: FakeFfmpeg) => p.args[p.args.length - 1];

describe("RestreamController", () => {
  it("builds the Restreamer from the node's settings: default target, key, audio, video, extra outputs", () => {
    const { c, spawner } = setup({
      streamKey: ` ${KEY} `,
      extraOutputs: "\n /tmp/rec/ \r\nrtmp://127.0.0.1/live/x\n",
      segmentSeconds: "600",
      video: "",
      audio: "",
      ffmpegPath: "  ",
    });
    assert.deepEqual(c.initialStatus(), { state: "stopped" });
    void c.handle({ payload: URL1 });
    const p = spawner.last;
    assert.equal(p.command, "/usr/bin/ffmpeg");
    assert.equal(p.args[p.args.indexOf("-c:v") + 1], "copy");
    assert.equal(p.args[p.args.indexOf("-f", p.args.indexOf("-max_muxing_queue_size")) + 1], "tee");
    const tee = lastArg(p) ?? "";
    assert.match(tee, /rtmps:\/\/a\.rtmps\.youtube\.com:443\/live2\/ctrl-key-1111-2222/);
    assert.match(tee, /segment_time=600/);
    assert.match(tee, /rtmp:\/\/127\.0\.0\.1\/live\/x/);
    assert.equal(c.restreamer.snapshot().audio, "probe", "audio auto");
  });

  it("says at once what is wrong with the configured destination", () => {
    const { c } = setup({ target: "youtube-rtmp" });
    const status = c.initialStatus();
    assert.equal(status.state, "misconfigured");
    const why = status.state === "misconfigured" ? refusalText("nest-restream", status.error) : "";
    assert.match(why, /youtube-rtmp needs a stream key/);
  });

  it("a URL plays; the same URL again changes nothing; another URL switches", async () => {
    const { c, spawner } = setup();
    await c.handle({ payload: URL1 });
    await live(spawner.last);
    await c.handle({ payload: URL1, stream: { event: "started" } });
    assert.equal(spawner.processes.length, 1);
    await c.handle({ payload: `${URL1}x`, stream: { event: "started" } });
    await flush();
    assert.equal(spawner.processes.length, 2);
  });

  it('"restarted" switches a running restream but only keeps the URL of a stopped one', async () => {
    const { c, r, spawner } = setup();
    await c.handle({ payload: URL1 });
    await live(spawner.last);
    await c.handle({ payload: URL2, stream: { event: "restarted" } });
    await flush();
    assert.equal(spawner.processes.length, 2);
    assert.equal(spawner.last.inputUrl, URL2);
    await c.handle({ payload: "stop" });
    assert.equal(r.state, "stopped");
    await c.handle({ payload: URL1, stream: { event: "restarted" } });
    assert.equal(spawner.processes.length, 2, "still stopped");
    await c.handle({ payload: "start" });
    assert.equal(spawner.processes.length, 3);
    assert.equal(spawner.last.inputUrl, URL1);
  });

  it('"extended" keeps the URL for the next reconnect and leaves the running ffmpeg alone', async () => {
    const { c, spawner } = setup();
    await c.handle({ payload: URL1 });
    const p = spawner.last;
    await live(p);
    await c.handle({ payload: URL2, stream: { event: "extended" } });
    assert.equal(spawner.processes.length, 1);
    assert.equal(p.stdinText, "");
    p.exit(1);
    await flush();
    assert.equal(spawner.last.inputUrl, URL2);
  });

  it("stop resolves once ffmpeg is gone; start before any URL rejects", async () => {
    const { c, r, spawner } = setup();
    await assert.rejects(c.handle({ payload: "start" }), wordedAs("nest-restream", /no stream URL yet/));
    await c.handle({ payload: URL1 });
    await live(spawner.last);
    await c.handle({ payload: false });
    assert.equal(r.state, "stopped");
    assert.equal(spawner.alive.length, 0);
    await c.handle({ payload: URL1 });
    await c.stop();
    assert.equal(spawner.alive.length, 0);
  });

  it("msg.target merges into the configured target; alone it only moves the destination", async () => {
    const { c, spawner } = setup({ target: "youtube-rtmp" });
    await c.handle({ target: { streamKey: KEY } });
    assert.equal(spawner.processes.length, 0, "a destination alone starts nothing");
    await c.handle({ payload: URL1 });
    assert.equal(lastArg(spawner.last), `rtmp://a.rtmp.youtube.com/live2/${KEY}`);
    await live(spawner.last);
    await c.handle({ target: { url: "rtmp://b.rtmp.youtube.com/live2?backup=1" } });
    await flush();
    assert.equal(spawner.processes.length, 2);
    assert.equal(lastArg(spawner.last), `rtmp://b.rtmp.youtube.com/live2?backup=1/${KEY}`, "the key stays");
  });

  it("a message with a bad destination or that is not understood changes nothing", async () => {
    const { c, spawner } = setup({ target: "custom", url: "/tmp/rec/" });
    await c.handle({ payload: URL1 });
    await live(spawner.last);
    await assert.rejects(
      c.handle({ payload: URL2, target: { url: "/tmp/rec/cam.avi" } }),
      wordedAs("nest-restream", /must end in \.mkv/),
    );
    await assert.rejects(c.handle({ payload: 7 }), (err: unknown) => {
      assert.ok(err instanceof RestreamInputError);
      return wordedAs("nest-restream", /^nest-restream accepts .*; got number 7\. The running restream/)(err);
    });
    await flush();
    assert.equal(spawner.processes.length, 1);
    assert.equal(spawner.last.inputUrl, URL1);
    await c.handle({ payload: URL2 });
    await flush();
    assert.match(lastArg(spawner.last) ?? "", /^\/tmp\/rec\//, "the configured target is still the one");
  });

  it("mergeTarget replaces what msg.target names and keeps the rest", () => {
    const configured = {
      target: "youtube-rtmps",
      url: "rtmps://x/live2",
      streamKey: KEY,
      segmentSeconds: 60,
    };
    assert.deepEqual(mergeTarget(configured, {}), configured);
    assert.deepEqual(mergeTarget(configured, { streamKey: "other-key-99" }), {
      ...configured,
      streamKey: "other-key-99",
    });
    // Another server gets the stored key only when the node opts in (issue 13, item 6).
    assert.throws(
      () => mergeTarget(configured, { url: "rtmp://y/live2" }),
      wordedAs("nest-restream", /another server \(y\)/),
    );
    assert.deepEqual(mergeTarget(configured, { url: "rtmp://y/live2" }, { keyForMessageServers: true }), {
      ...configured,
      url: "rtmp://y/live2",
    });
    assert.deepEqual(mergeTarget(configured, { url: "rtmps://x/backup" }), {
      ...configured,
      url: "rtmps://x/backup",
    });
    assert.deepEqual(mergeTarget(configured, { target: "youtube-hls", url: "https://h/x?cid=k&file=" }), {
      ...configured,
      target: "youtube-hls",
      url: "https://h/x?cid=k&file=",
    });
  });
});
