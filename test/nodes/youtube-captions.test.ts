/**
 * youtube-captions end to end: the built node in a real Node-RED posts over HTTP to the fake
 * Google's caption endpoint (the URL a fake YouTube stream hands out), in text and clock mode,
 * with a server clock off from ours, an injected 503, bad input, a redeploy, and the URL masked.
 */
import assert from "node:assert/strict";
import { FakeGoogle, serveCaptions, type FakeCaptions } from "../fixtures/fake-google";
import { FakeYouTube, type LiveStreamResource } from "../fixtures/fake-google/youtube";
import {
  builtNode,
  collect,
  doneNodes,
  handledNodes,
  helper,
  nodeRedMajor,
  startServer,
  stopServer,
} from "../support/node-red";
import { assertNoSecrets } from "../support/secrets";
import { waitFor } from "../support/wait";
import type { CaptionResult } from "../../src/youtube/caption-poster";

const captionsNode = builtNode("youtube-captions");

interface Status {
  fill?: string;
  shape?: string;
  text?: string;
}
interface TestNode {
  receive(msg: object): void;
  status: { args: Status[][] };
  error: { args: unknown[][] };
  warn: { args: unknown[][] };
}
interface OutMsg {
  payload: CaptionResult;
  topic?: string;
}

describe(`youtube-captions node (Node-RED ${nodeRedMajor})`, function () {
  this.timeout(20_000);
  let google: FakeGoogle;
  let youtube: FakeYouTube;
  let captions: FakeCaptions;
  let keyCount = 0;

  before(async () => {
    google = await FakeGoogle.start();
    youtube = new FakeYouTube();
    captions = serveCaptions(google, youtube);
    await startServer(google.env());
  });
  after(async () => {
    await stopServer();
    await google.stop();
  });
  beforeEach(() => {
    captions.offsetMs = 0;
    captions.posts.length = 0;
    google.clearFaults();
  });
  afterEach(() => helper.unload());

  /** A new stream on the fake YouTube: its caption ingestion URL, which points at the fake endpoint. */
  function newCaptionUrl(): string {
    const reply = youtube.handle({
      method: "POST",
      path: "/liveStreams",
      query: new URLSearchParams({ part: "snippet,cdn,contentDetails" }),
      body: {
        snippet: { title: `captions test ${++keyCount}` },
        cdn: { ingestionType: "rtmp", resolution: "variable", frameRate: "variable" },
        contentDetails: { isReusable: true },
      },
    });
    assert.equal(reply.status, 200, reply.body);
    const url = (JSON.parse(reply.body) as LiveStreamResource).contentDetails?.closedCaptionsIngestionUrl;
    assert.ok(url?.startsWith(`${google.url}/closedcaption?cid=`), url);
    return url ?? "";
  }

  /** Messages the node has finished with (done() without an error), in order. */
  let handled: object[] = [];

  async function load(config: object, url?: string): Promise<OutMsg[]> {
    await helper.load(
      [captionsNode, ...doneNodes()],
      [
        { id: "cap", type: "youtube-captions", name: "", wires: [["out"]], ...config },
        { id: "out", type: "helper" },
        ...handledNodes("cap"),
      ],
      url ? { cap: { url } } : {},
    );
    handled = collect<object>("cap-handled");
    return collect<OutMsg>("out");
  }
  const node = () => helper.getNode("cap") as TestNode;
  const statuses = () => node().status.args.map((a) => a[0]);
  const errors = () => node().error.args.map(([e]) => (e instanceof Error ? e.message : String(e)));
  const cidOf = (url: string) => new URL(url).searchParams.get("cid") ?? "";

  it("text mode: each msg.payload becomes a caption on YouTube, with the result on the output", async () => {
    const url = newCaptionUrl();
    const msgs = await load({ mode: "text" }, url);
    node().receive({ payload: "Hello\nfrom the porch", topic: "t" });
    await waitFor(() => msgs.length === 1, 5000, "the result");
    const r = msgs[0].payload;
    assert.deepEqual(Object.keys(r).sort(), ["ok", "sentAt", "seq", "serverTime", "text"]);
    assert.deepEqual([r.seq, r.text, r.ok], [1, "Hello<br>from the porch", true]);
    assert.equal(msgs[0].topic, "t", "the message goes on with the result as its payload");
    assert.equal(captions.posts.length, 1);
    const post = captions.posts[0];
    assert.equal(post.cid, cidOf(url));
    assert.match(post.contentType, /^text\/plain/);
    assert.match(post.body, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\nHello<br>from the porch\n$/);
    assert.ok(Math.abs(Date.parse(r.sentAt) - Date.now()) < 5000);
    assert.ok(r.serverTime);
    const last = statuses()[statuses().length - 1];
    assert.equal(last.fill, "green");
    assert.match(last.text ?? "", /^#1 Hello from the porch/);
  });

  it("follows a server clock 90 s ahead after one reply, and retries a 503 with the same seq", async () => {
    captions.offsetMs = 90_000;
    const url = newCaptionUrl();
    const msgs = await load({}, url);
    node().receive({ payload: "one" });
    await waitFor(() => msgs.length === 1, 5000, "the first result");
    assert.equal(msgs[0].payload.ok, true);
    assert.deepEqual(
      captions.posts.map((p) => [p.seq, p.call.status]),
      [
        [1, 400],
        [1, 200],
      ],
    );
    assert.ok(Math.abs(Date.parse(msgs[0].payload.sentAt) - (Date.now() + 90_000)) < 5000);
    google.fail(503, 1, { on: "captions" });
    node().receive({ payload: "two" });
    await waitFor(() => msgs.length === 2, 5000, "the second result");
    assert.equal(msgs[1].payload.ok, true);
    assert.deepEqual(
      captions.posts.slice(2).map((p) => [p.seq, p.call.status]),
      [
        [2, 503],
        [2, 200],
      ],
      "no skew correction needed any more; the 503 is retried with the same seq",
    );
  });

  it('clock mode: youtube-live\'s message brings the URL and starts the clock; "stop" stops it', async () => {
    const url = newCaptionUrl();
    const msgs = await load({ mode: "clock", everySeconds: 1, timeFormat: "[Porch] HH:mm:ss" });
    node().receive({ payload: "start" });
    await waitFor(() => errors().length === 1, 2000, "the no-URL error");
    assert.match(errors()[0], /has no caption URL/);
    node().receive({
      payload: "rtsps://stream.example/x?auth=secret-token-1",
      stream: { event: "started" },
      target: {},
      captions: { url },
    });
    await waitFor(() => msgs.length >= 2, 5000, "two clock captions");
    const done = handled.length;
    node().receive({ payload: "stop" });
    // The stop handled: the clock is off (its status says so) and every post made has been answered.
    // That no tick comes later however long one waits: the controller's unit test, on a fake clock
    // (no timer left after "stop").
    await waitFor(() => handled.length > done, 5000, "the stop handled");
    // Every post the fake received has its output message (a post still on its way is not counted here;
    // the seq check below holds for whatever arrived).
    await waitFor(() => msgs.length === captions.posts.length, 5000, "every received post answered");
    assert.ok(captions.posts.every((p) => /^Porch \d\d:\d\d:\d\d$/.test(p.captions[0].text)));
    assert.deepEqual(
      msgs.map((m) => m.payload.seq),
      msgs.map((_, i) => i + 1),
    );
    assert.match(statuses()[statuses().length - 1].text ?? "", /clock stopped/);
  });

  it("refuses bad input with the catalog's words, and never shows the URL", async () => {
    const url = newCaptionUrl();
    const msgs = await load({}, url);
    node().receive({ payload: { text: "hi" } });
    node().receive({ payload: "   " });
    node().receive({
      payload: "x",
      captions: { url: "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop" },
    });
    await waitFor(() => errors().length === 3, 2000, "three errors");
    assert.match(errors()[0], /takes a string in msg\.payload; got a object/);
    assert.match(errors()[1], /empty text/);
    assert.match(errors()[2], /not a caption ingestion URL/);
    assert.equal(captions.posts.length, 0);
    node().receive({ payload: "ok" });
    await waitFor(() => msgs.length === 1, 5000, "the result");
    const logs = (helper.log().args as unknown[][]).map((a) => a[0]);
    const everything = [...statuses(), ...errors(), ...msgs, ...node().warn.args, ...logs];
    assertNoSecrets(everything, [url, cidOf(url), "abcd-efgh-ijkl-mnop"]);
  });

  it("a caption URL the server does not know: the caption is dropped, counted and masked", async () => {
    const url = `${google.url}/closedcaption?cid=not-a-stream-key-42`;
    const msgs = await load({}, url);
    node().receive({ payload: "nobody" });
    await waitFor(() => msgs.length === 1, 5000, "the result");
    assert.equal(msgs[0].payload.ok, false);
    const last = statuses()[statuses().length - 1];
    assert.equal(last.fill, "red");
    assert.match(last.text ?? "", /^#1 failed \(1 so far\): YouTube caption/);
    assert.match(msgs[0].payload.error ?? "", /Unknown cid/);
    assertNoSecrets([...statuses(), ...msgs], [url, "not-a-stream-key-42"]);
  });

  it("seq goes on for the same URL after a redeploy", async () => {
    const url = newCaptionUrl();
    let msgs = await load({}, url);
    node().receive({ payload: "before" });
    await waitFor(() => msgs.length === 1, 5000, "the first result");
    await helper.unload();
    msgs = await load({}, url);
    node().receive({ payload: "after" });
    await waitFor(() => msgs.length === 1, 5000, "the result after the redeploy");
    assert.equal(msgs[0].payload.seq, 2);
    assert.deepEqual(
      captions.posts.map((p) => p.seq),
      [1, 2],
    );
  });
});
