/**
 * youtube-account and youtube-live in a real Node-RED (4 or 5) against the fake Google's YouTube over
 * HTTP: a camera session's first URL makes and binds a broadcast and goes on with msg.target, the
 * broadcast goes live when YouTube reads the stream active, a stop completes it, bad input changes
 * nothing, and no key, caption URL or token shows anywhere.
 */
import assert from "node:assert/strict";
import { FakeGoogle, FAKE_DEFAULTS } from "../fixtures/fake-google";
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
import { LiveInputError, parseLiveInput } from "../../src/youtube/live-input";
import { builtCatalog, lookup } from "../support/catalog";
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

    // An extend passes through with the same destination, and costs no YouTube call (the loop's own
    // stream reads may land meanwhile).
    const notPolls = () => fake.youtube.calls.filter((c) => c.name !== "liveStreams.list").length;
    const calls = notPolls();
    live.receive({ payload: CAMERA_URL, stream: { event: "extended", camera: "Front door" } });
    await waitFor(() => out[1], 5_000, "the extended message");
    assert.deepEqual(out[1].target, first.target);
    assert.equal(notPolls(), calls);

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

    const statusTexts = (live as unknown as { status: { args: unknown[][] } }).status.args.map((a) => a[0]);
    const texts = [
      ...out.map((m) => ({ ...m, target: undefined, captions: undefined })),
      ...states.map((s) => s.payload),
      ...statusTexts,
      ...(helper.log().args as unknown[][]).map((a) => a[0]),
    ];
    // The status says the state and the day's units, as the ledger counts them.
    const liveStatus = (statusTexts as { text?: string }[]).find((x) => /^live \(/.test(x?.text ?? ""));
    assert.match(liveStatus?.text ?? "", /^live \(\w+\) · \d+ units today$/);
    const lastStatus = (statusTexts.at(-1) as { text?: string } | undefined)?.text ?? "";
    assert.equal(lastStatus, `ended · ${fake.youtube.unitsUsed()} units today`);
    const oauthTokens = fake.oauth.issuedTokens();
    assert.ok(oauthTokens.length >= 2, "an access token and the refresh token");
    assertNoSecrets(texts, [
      key,
      stream.contentDetails?.closedCaptionsIngestionUrl,
      new URL(stream.contentDetails?.closedCaptionsIngestionUrl ?? "http://x").searchParams.get("cid") ?? "",
      refreshToken,
      FAKE_DEFAULTS.clientSecret,
      ...oauthTokens,
    ]);
    // Output 1 carries the key and the caption URL by design (for nest-restream, youtube-captions), never a token.
    assertNoSecrets(out, [refreshToken, FAKE_DEFAULTS.clientSecret, ...oauthTokens]);
  });

  it("refuses a message it does not know, says what it accepts, and makes nothing", async () => {
    await helper.load(nodes, flow(), { yt: { ...credentials.yt, refreshToken } });
    const live = helper.getNode("live");
    const before = fake.youtube.calls.length;
    const errors: string[] = [];
    live.on("call:error", (call: { args: unknown[] }) => errors.push(String(call.args[0])));
    const refused = [{ payload: { url: CAMERA_URL } }, { payload: CAMERA_URL }];
    for (const msg of refused) live.receive(msg);
    await waitFor(() => errors.length === 2, 5_000, "two errors");
    for (const e of errors) assert.match(e, /youtube-live accepts nest-stream's messages/);
    // The words are the catalog's, with what came instead.
    const text = lookup(builtCatalog("youtube-live"), "youtube-live.error.input") ?? "";
    refused.forEach((msg, i) => {
      let got = "";
      try {
        parseLiveInput(msg);
      } catch (err) {
        got = err instanceof LiveInputError ? err.got : "";
      }
      assert.ok(got, "the core refuses it too");
      assert.equal(errors[i], `Error: ${text.replace("__got__", got)}`);
    });
    assert.equal(fake.youtube.calls.length, before);
  });

  it("says why when YouTube refuses, and passes nothing on", async () => {
    fake.youtube.liveStreamingEnabled = false;
    try {
      await helper.load(
        [...nodes, ...doneNodes()],
        [...flow({ id: "live", account: "yt" }), ...handledNodes("live")],
        { yt: { ...credentials.yt, refreshToken } },
      );
      const out = collect<LiveMsg>("out");
      const caught = collect<{ error: { message: string } }>("live-caught");
      const states = collect<StatusMsg>("state");
      helper.getNode("live").receive(started);
      const err = await waitFor(
        () => states.find((s) => s.payload.state === "error"),
        10_000,
        "an error state",
      );
      assert.match(err.payload.error ?? "", /Live streaming is not enabled on this YouTube channel/);
      // The message ends in done(err): once the catch node has it, anything sent for it has arrived.
      await waitFor(() => caught.length > 0, 10_000, "the message's error caught");
      assert.match(caught[0].error.message, /Live streaming is not enabled/);
      assert.equal(out.length, 0);
    } finally {
      fake.youtube.liveStreamingEnabled = true;
    }
  });

  it('a refresh token Google refused: re-authorize, with the 7-day "Testing" advice; nothing passed on', async () => {
    const revoked = fake.issueRefreshToken({ scope: YOUTUBE_SCOPE });
    fake.revokeRefreshToken(revoked);
    await helper.load(nodes, flow({ id: "live-grant" }), {
      yt: { ...credentials.yt, refreshToken: revoked },
    });
    const out = collect<LiveMsg>("out");
    const states = collect<StatusMsg>("state");
    const live = helper.getNode("live-grant");
    const errors: string[] = [];
    live.on("call:error", (call: { args: unknown[] }) => errors.push(String(call.args[0])));
    const before = fake.youtube.calls.length;
    live.receive(started);
    await waitFor(() => errors.length === 1, 10_000, "the refusal");
    const advice =
      /invalid_grant[\s\S]*Authorize the youtube-account again[\s\S]*7 days[\s\S]*"Testing"[\s\S]*"In production"/;
    assert.match(errors[0], advice);
    const err = await waitFor(() => states.find((x) => x.payload.state === "error"), 5_000, "an error state");
    assert.match(err.payload.error ?? "", advice);
    assert.equal(out.length, 0);
    assert.equal(fake.youtube.calls.length, before, "no YouTube call without a token");
    assertNoSecrets([...errors, ...states], [revoked, FAKE_DEFAULTS.clientSecret]);
  });

  it("a channel without permission (a token without the YouTube scope): says to authorize the channel's owner", async () => {
    const other = fake.issueRefreshToken({ scope: "https://www.googleapis.com/auth/sdm.service" });
    await helper.load(nodes, flow({ id: "live-perm" }), { yt: { ...credentials.yt, refreshToken: other } });
    const out = collect<LiveMsg>("out");
    const states = collect<StatusMsg>("state");
    const live = helper.getNode("live-perm");
    const errors: string[] = [];
    live.on("call:error", (call: { args: unknown[] }) => errors.push(String(call.args[0])));
    live.receive(started);
    await waitFor(() => errors.length === 1, 10_000, "the refusal");
    const advice = /may not do this on the channel: authorize again with the channel's owner/;
    assert.match(errors[0], advice);
    const err = await waitFor(() => states.find((x) => x.payload.state === "error"), 5_000, "an error state");
    assert.match(err.payload.error ?? "", advice);
    assert.equal(out.length, 0);
    assertNoSecrets([...errors, ...states], [other, ...fake.oauth.issuedTokens()]);
  });

  it("without an account says so in the status, and refuses messages saying to choose one", async () => {
    await helper.load(nodes, [{ id: "live", type: "youtube-live", wires: [[], []] }], {});
    const live = helper.getNode("live");
    const before = fake.calls.length;
    const status = (live as unknown as { status: { args: { text?: string }[][] } }).status;
    assert.equal(status.args[0]?.[0].text, "no youtube-account");
    const errors: string[] = [];
    live.on("call:error", (call: { args: unknown[] }) => errors.push(String(call.args[0])));
    live.receive(started);
    await waitFor(() => errors.length === 1, 5_000, "the refusal");
    assert.match(errors[0], /youtube-live has no youtube-account: open the node and choose or add one/);
    assert.equal(fake.calls.length, before);
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
  it("warns at deploy: rotateHours above 12 is clamped, ultra-low latency with captions falls back to low", async () => {
    await helper.load(
      nodes,
      flow({ id: "live-warn", rotateHours: 24, latency: "ultraLow", captions: true }),
      {
        yt: { ...credentials.yt, refreshToken },
      },
    );
    const logs = (helper.log().args as { level?: number; msg?: unknown }[][])
      .map((a) => a[0])
      .filter((e) => e && typeof e.msg === "string")
      .map((e) => String(e.msg));
    assert.ok(
      logs.some((m) => /rotateHours 24 is more than 12/.test(m)),
      logs.join("\n"),
    );
    assert.ok(
      logs.some((m) => /captions at ultra-low latency/.test(m)),
      logs.join("\n"),
    );
    const out = collect<LiveMsg>("out");
    helper.getNode("live-warn").receive(started);
    const first = await waitFor(() => out[0], 10_000, "the stream message on output 1");
    const stream = fake.youtube
      .streams()
      .find((s) => s.cdn?.ingestionInfo?.streamName === first.target?.streamKey);
    const b = fake.youtube.broadcasts().find((x) => x.contentDetails?.boundStreamId === stream?.id);
    assert.equal(b?.contentDetails?.latencyPreference, "low");
  });

  it("a stream deleted in YouTube Studio: the camera message goes out again with the new destination", async () => {
    await helper.load(nodes, flow({ id: "live-gone", captions: false }), {
      yt: { ...credentials.yt, refreshToken },
    });
    const out = collect<LiveMsg>("out");
    const live = helper.getNode("live-gone");
    live.receive(started);
    const first = await waitFor(() => out[0], 10_000, "the stream message on output 1");
    const gone = fake.youtube
      .streams()
      .find((s) => s.cdn?.ingestionInfo?.streamName === first.target?.streamKey);
    assert.ok(gone);
    fake.youtube.studioDeleteStream(gone.id);
    const again = await waitFor(() => out[1], 20_000, "the message sent again");
    assert.equal(again.payload, CAMERA_URL);
    assert.equal((again.stream as { event?: string }).event, "restarted");
    assert.notEqual(again.target?.streamKey, first.target?.streamKey);
    const fresh = fake.youtube
      .streams()
      .find((s) => s.cdn?.ingestionInfo?.streamName === again.target?.streamKey);
    assert.ok(fresh, "the new destination is the node's new stream");
    // The new destination goes out first (ffmpeg can start publishing), then the broadcast is bound.
    await waitFor(
      () => fake.youtube.broadcasts().find((x) => x.contentDetails?.boundStreamId === fresh.id),
      10_000,
      "a broadcast bound to the new stream",
    );
  });

  it("a redeploy waits for a YouTube step in flight before it finishes closing", async () => {
    await helper.load(nodes, flow({ id: "live-close", captions: false }), {
      yt: { ...credentials.yt, refreshToken },
    });
    const out = collect<LiveMsg>("out");
    helper.getNode("live-close").receive(started);
    await waitFor(() => out[0], 10_000, "the stream message on output 1");
    // The loop's next YouTube call is held by the fake until the test lets it go; the node closes
    // while it is in flight, and the call is answered only once the close has begun.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    fake.fail("delay", 1, { on: "youtube", until: held });
    await waitFor(() => fake.pendingFaults.length === 0, 15_000, "a YouTube call in flight");
    type Call = (typeof fake.calls)[number];
    const heldCall = fake.calls.find((c) => c.fault === "delay") as Call;
    const order: string[] = [];
    fake.on("call", (c: Call) => {
      if (c === heldCall) order.push("answered");
    });
    helper.getNode("live-close").on("close", () => {
      order.push("closing");
      // After this turn: a close that did not wait would be over by then.
      setImmediate(release);
    });
    await helper.unload();
    order.push("closed");
    assert.deepEqual(order, ["closing", "answered", "closed"], "the close waited for the call in flight");
  });
});
