/**
 * youtube-account and youtube-live in a real Node-RED (4 or 5) against the fake Google's YouTube over
 * HTTP: a camera session's first URL makes and binds a broadcast and goes on with msg.target, the
 * broadcast goes live when YouTube reads the stream active, a stop completes it, bad input changes
 * nothing, and no key, caption URL or token shows anywhere.
 */
import assert from "node:assert/strict";
import { FakeGoogle, FAKE_DEFAULTS } from "../fixtures/fake-google";
import { builtNode, collect, helper, nodeRedMajor, startServer, stopServer } from "../support/node-red";
import { assertNoSecrets } from "../support/secrets";
import { waitFor } from "../support/wait";

const nodes = [builtNode("youtube-account"), builtNode("youtube-live")];
const YOUTUBE_SCOPE = "https://www.googleapis.com/auth/youtube";
const CAMERA_URL = "rtsps://edge.test:443/sdm_live_stream/s-1?auth=camera-token-123";

interface LiveMsg {
  payload: unknown;
  target?: { target: string; url: string; streamKey: string };
  captions?: { url: string };
  stream?: unknown;
}
interface StatusMsg {
  payload: {
    state: string;
    broadcastId: string | null;
    watchUrl: string | null;
    quotaUsed: number;
    error?: string;
  };
  captions?: { url: string };
}

describe(`youtube-live node (Node-RED ${nodeRedMajor})`, function () {
  this.timeout(60_000);
  let fake: FakeGoogle;
  let refreshToken: string;

  before(async () => {
    fake = await FakeGoogle.start({
      youtube: { activeAfterMs: 300, liveStartingMs: 300, rtmpsBase: "rtmps://ingest.test/live2" },
    });
    refreshToken = fake.issueRefreshToken({ scope: YOUTUBE_SCOPE });
    await startServer(fake.env());
  });
  after(async () => {
    await stopServer();
    await fake.stop();
  });
  afterEach(() => helper.unload());

  const credentials = {
    yt: { clientId: FAKE_DEFAULTS.clientId, clientSecret: FAKE_DEFAULTS.clientSecret, refreshToken: "" },
  };
  function flow(live: Record<string, unknown> = {}) {
    return [
      { id: "yt", type: "youtube-account", name: "Channel", dailyQuota: 10000 },
      {
        id: "live",
        type: "youtube-live",
        account: "yt",
        title: "{camera} live",
        captions: true,
        wires: [["out"], ["state"]],
        ...live,
      },
      { id: "out", type: "helper" },
      { id: "state", type: "helper" },
    ];
  }
  const started = {
    payload: CAMERA_URL,
    stream: { event: "started", camera: "Front door", url: CAMERA_URL },
  };

  it("makes a broadcast on the first URL, passes msg.target on, goes live, and completes on stop", async () => {
    await helper.load(nodes, flow(), { yt: { ...credentials.yt, refreshToken } });
    const out = collect<LiveMsg>("out");
    const states = collect<StatusMsg>("state");
    const live = helper.getNode("live");
    live.receive(started);
    const first = await waitFor(() => out[0], 10_000, "the stream message on output 1");
    assert.equal(first.payload, CAMERA_URL);
    const [stream] = fake.youtube.streams();
    const key = stream.cdn?.ingestionInfo?.streamName ?? "";
    assert.deepEqual(first.target, {
      target: "youtube-rtmps",
      url: "rtmps://ingest.test/live2",
      streamKey: key,
    });
    assert.equal(first.captions?.url, stream.contentDetails?.closedCaptionsIngestionUrl);
    const [b] = fake.youtube.broadcasts();
    assert.equal(b.snippet?.title, "Front door live");
    assert.equal(b.status?.privacyStatus, "unlisted");
    assert.equal(b.contentDetails?.boundStreamId, stream.id);

    // An extend passes through with the same destination, and costs no YouTube call.
    const calls = fake.youtube.calls.length;
    live.receive({ payload: CAMERA_URL, stream: { event: "extended", camera: "Front door" } });
    await waitFor(() => out[1], 5_000, "the extended message");
    assert.deepEqual(out[1].target, first.target);
    assert.equal(fake.youtube.calls.length, calls);

    fake.youtube.ingest(key, true);
    const liveState = await waitFor(() => states.find((s) => s.payload.state === "live"), 20_000, "live");
    assert.equal(liveState.payload.watchUrl, `https://www.youtube.com/watch?v=${b.id}`);
    assert.ok(liveState.payload.quotaUsed > 0);

    live.receive({ payload: null, stream: { event: "stopped" } });
    await waitFor(() => out[2], 5_000, "the stop passed on");
    assert.equal(out[2].payload, null);
    await waitFor(() => states.some((s) => s.payload.state === "complete"), 10_000, "complete");
    assert.equal(fake.youtube.broadcasts()[0].status?.lifeCycleStatus, "complete");
    // The ledger counts what YouTube counts.
    assert.equal(states.at(-1)?.payload.quotaUsed, fake.youtube.unitsUsed());

    const texts = [
      ...out.map((m) => ({ ...m, target: undefined, captions: undefined })),
      ...states.map((s) => s.payload),
      ...(helper.log().args as unknown[][]).map((a) => a[0]),
    ];
    assertNoSecrets(texts, [
      key,
      stream.contentDetails?.closedCaptionsIngestionUrl,
      refreshToken,
      FAKE_DEFAULTS.clientSecret,
    ]);
  });

  it("refuses a message it does not know, says what it accepts, and makes nothing", async () => {
    await helper.load(nodes, flow(), { yt: { ...credentials.yt, refreshToken } });
    const live = helper.getNode("live");
    const before = fake.youtube.calls.length;
    const errors: string[] = [];
    live.on("call:error", (call: { args: unknown[] }) => errors.push(String(call.args[0])));
    live.receive({ payload: { url: CAMERA_URL } });
    live.receive({ payload: CAMERA_URL });
    await waitFor(() => errors.length === 2, 5_000, "two errors");
    for (const e of errors) assert.match(e, /youtube-live accepts nest-stream's messages/);
    assert.equal(fake.youtube.calls.length, before);
  });

  it("says why when YouTube refuses, and passes nothing on", async () => {
    fake.youtube.liveStreamingEnabled = false;
    try {
      await helper.load(nodes, flow({ id: "live", account: "yt" }), {
        yt: { ...credentials.yt, refreshToken },
      });
      const out = collect<LiveMsg>("out");
      const states = collect<StatusMsg>("state");
      helper.getNode("live").receive(started);
      const err = await waitFor(
        () => states.find((s) => s.payload.state === "error"),
        10_000,
        "an error state",
      );
      assert.match(err.payload.error ?? "", /Live streaming is not enabled on this YouTube channel/);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(out.length, 0);
    } finally {
      fake.youtube.liveStreamingEnabled = true;
    }
  });

  it("without credentials says what to enter, and sends nothing to Google", async () => {
    await helper.load(nodes, flow(), { yt: { clientId: "", clientSecret: "", refreshToken: "" } });
    const live = helper.getNode("live");
    const before = fake.calls.length;
    const errors: string[] = [];
    live.on("call:error", (call: { args: unknown[] }) => errors.push(String(call.args[0])));
    live.receive(started);
    await waitFor(() => errors.length === 1, 5_000, "the error");
    assert.match(errors[0], /youtube-account has no client ID, client secret or refresh token/);
    assert.equal(fake.calls.length, before);
  });
});
