/**
 * The caption poster against the fake Google's caption endpoint (in memory, on a fake clock): the
 * body and seq rules, the server's clock followed from its replies, skew corrected at once,
 * transient failures retried with the same seq while the caption is young, and strict order.
 */
import assert from "node:assert/strict";
import {
  CaptionPoster,
  captionTimestamp,
  serverTimeOf,
  type CaptionResult,
} from "../../src/youtube/caption-poster";
import type { FakeCaptions } from "../fixtures/fake-google/captions";
import type { FakeGoogleTransport } from "../fixtures/fake-google/transport";
import { captionEndpoint } from "../support/youtube-transport";
import { flush, type FakeClock } from "../support/fake-clock";
import { assertNoSecrets } from "../support/secrets";
import { errorMessage, redact } from "../../src/redact";

const CID = "abcd-efgh-ijkl-mnop-qrst";
const URL_ = `https://captions.example.test/closedcaption?cid=${CID}`;

describe("CaptionPoster", () => {
  let clock: FakeClock;
  let transport: FakeGoogleTransport;
  let captions: FakeCaptions;
  const posters: CaptionPoster[] = [];

  beforeEach(() => ({ clock, transport, captions } = captionEndpoint(CID)));
  afterEach(() => {
    for (const p of posters.splice(0)) p.close();
  });

  function poster(options: { url?: string; maxAgeMs?: number } = {}): CaptionPoster {
    const p = new CaptionPoster({ url: URL_, http: transport, clock, random: () => 0, ...options });
    posters.push(p);
    return p;
  }

  /** Posts and lets the fake clock run until the result is in. */
  async function settle<T>(promise: Promise<T>, maxMs = 60_000): Promise<T> {
    let done = false;
    void promise.then(() => (done = true));
    for (let t = 0; t < maxMs; t += 100) {
      await flush();
      if (done) break;
      await clock.advance(100);
    }
    assert.ok(done, "the caption was settled");
    return promise;
  }

  it("posts text/plain `YYYY-MM-DDTHH:MM:SS.mmm\\n<text>\\n` in UTC, seq 1, 2, 3 for new captions", async () => {
    const p = poster();
    const results: CaptionResult[] = [];
    for (const text of ["one", "two<br>lines", "three"]) {
      results.push(await settle(p.post(text)));
      await clock.advance(1234);
    }
    assert.deepEqual(
      captions.posts.map((x) => [x.seq, x.call.status]),
      [
        [1, 200],
        [2, 200],
        [3, 200],
      ],
    );
    const first = captions.posts[0];
    assert.match(first.contentType, /^text\/plain/);
    assert.equal(first.body, "2026-12-01T20:00:00.000\none\n");
    assert.equal(captions.posts[1].body, "2026-12-01T20:00:01.234\ntwo<br>lines\n");
    assert.deepEqual(results[0], {
      seq: 1,
      text: "one",
      sentAt: "2026-12-01T20:00:00.000Z",
      serverTime: "2026-12-01T20:00:00.000Z",
      ok: true,
    });
    assert.equal(p.stats().sent, 3);
  });

  it("follows a server clock 90 s ahead after one reply: the skew 400 is corrected at once, same seq", async () => {
    captions.offsetMs = 90_000;
    const p = poster();
    const first = await settle(p.post("hello"));
    assert.equal(first.ok, true);
    assert.deepEqual(
      captions.posts.map((x) => [x.seq, x.call.status]),
      [
        [1, 400],
        [1, 200],
      ],
    );
    assert.equal(captions.posts[1].at, captions.posts[0].at, "sent again at once, not after a backoff");
    assert.equal(p.offsetMs, 90_000);
    assert.equal(first.sentAt, "2026-12-01T20:01:30.000Z");
    await clock.advance(5_000);
    const second = await settle(p.post("world"));
    assert.equal(second.ok, true);
    assert.equal(captions.posts.length, 3, "the next caption needs no correction");
    assert.equal(captions.posts[2].captions[0].timestamp, captionTimestamp(captions.serverNow()));
  });

  it("learns the offset from every 200 too (a server 40 s behind: inside the window, then exact)", async () => {
    captions.offsetMs = -40_000;
    const p = poster();
    await settle(p.post("a"));
    assert.equal(captions.posts[0].call.status, 200);
    assert.equal(p.offsetMs, -40_000);
    captions.offsetMs = -45_000;
    await settle(p.post("b"));
    assert.equal(captions.posts[1].captions[0].timestamp, "2026-12-01T19:59:20.000");
    assert.equal(p.offsetMs, -45_000);
  });

  it("keeps the offset for the URL across a redeploy (a new poster)", async () => {
    captions.offsetMs = 120_000;
    const a = poster();
    await settle(a.post("a"));
    a.close();
    const b = poster();
    await settle(b.post("b"));
    assert.deepEqual(
      captions.posts.map((x) => [x.seq, x.call.status]),
      [
        [1, 400],
        [1, 200],
        [2, 200],
      ],
    );
  });

  it("retries a 503 with the same seq after 1 s, and the next caption gets the next seq", async () => {
    transport.google.fail(503, 1, { on: "captions" });
    const p = poster();
    const one = p.post("one");
    const two = p.post("two");
    const [r1, r2] = await settle(Promise.all([one, two]));
    assert.equal(r1.ok, true);
    assert.equal(r2.ok, true);
    assert.deepEqual(
      captions.posts.map((x) => [x.seq, x.call.status]),
      [
        [1, 503],
        [1, 200],
        [2, 200],
      ],
    );
    assert.equal(captions.posts[1].at - captions.posts[0].at, 1_000);
    assert.equal(captions.posts[1].body, captions.posts[0].body, "a retry sends the same caption");
  });

  it("retries network failures and 5xx at 1, 2, 4, 8, 8 s while the caption is under 30 s old, then drops and counts it", async () => {
    transport.google.fail(503, 10, { on: "captions" });
    transport.google.fail("network", 10, { on: "captions" });
    const p = poster();
    const r = await settle(p.post("lost"));
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /too old/);
    const start = captions.posts[0].at;
    assert.deepEqual(
      captions.posts.map((x) => x.at - start),
      [0, 1_000, 3_000, 7_000, 15_000, 23_000],
    );
    assert.ok(captions.posts.every((x) => x.seq === 1));
    assert.deepEqual([p.stats().sent, p.stats().dropped], [0, 1]);
    transport.google.clearFaults();
    const next = await settle(p.post("found"));
    assert.equal(next.seq, 2, "a dropped caption's seq is never reused");
    assert.equal(next.ok, true);
  });

  it("drops a caption YouTube refuses (unknown cid) at once, without retries, and masks the URL", async () => {
    const other = `https://captions.example.test/closedcaption?cid=unknown-key-123456`;
    const p = poster({ url: other });
    const r = await settle(p.post("x"));
    assert.equal(r.ok, false);
    assert.equal(captions.posts.length, 1);
    assertNoSecrets([r, errorMessage(r.error), redact(other)], ["unknown-key-123456"]);
  });

  it("sends one request at a time, in order, even when captions come faster than answers", async () => {
    transport.latencyMs = 300;
    let inFlight = 0;
    let most = 0;
    const inner = transport.request.bind(transport);
    transport.request = async (req) => {
      most = Math.max(most, ++inFlight);
      try {
        return await inner(req);
      } finally {
        inFlight--;
      }
    };
    const p = poster();
    const all = Promise.all(["a", "b", "c", "d"].map((t) => p.post(t)));
    const results = await settle(all);
    assert.equal(most, 1);
    assert.deepEqual(
      results.map((r) => r.seq),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      captions.posts.map((x) => x.captions[0].text),
      ["a", "b", "c", "d"],
    );
  });

  it("never reuses a seq or goes back: drops, a full queue, a redeploy and a second URL", async () => {
    const other = `https://captions.example.test/closedcaption?cid=second-key-abcdef`;
    captions.addKey("second-key-abcdef");
    transport.google.fail(503, 40, { on: "captions" });
    const a = poster();
    const pending = Array.from({ length: 25 }, (_, i) => a.post(`t${i}`));
    transport.google.clearFaults();
    await settle(Promise.all(pending));
    a.close();
    const b = poster();
    await settle(b.post("after redeploy"));
    const c = poster({ url: other });
    await settle(c.post("other url"));
    const seqs = captions.posts.filter((x) => x.cid === CID).map((x) => x.seq);
    for (let i = 1; i < seqs.length; i++)
      assert.ok(seqs[i] >= seqs[i - 1], `seq went back: ${seqs.join(",")}`);
    const firstTries = new Map<number, string>();
    for (const x of captions.posts.filter((y) => y.cid === CID)) {
      const text = x.captions[0].text;
      assert.equal(firstTries.get(x.seq) ?? text, text, `seq ${x.seq} reused for new text`);
      firstTries.set(x.seq, text);
    }
    assert.equal(seqs[seqs.length - 1], 26);
    assert.deepEqual(
      captions.posts.filter((x) => x.cid !== CID).map((x) => x.seq),
      [1],
      "seq counts per URL",
    );
    // 25 at once: one in flight, 20 waiting, the 4 oldest waiting ones pushed out.
    assert.equal(a.stats().dropped, 4, "what passed the queue's bound was dropped and counted");
  });

  it("reads the server time on a reply's first line", () => {
    assert.equal(serverTimeOf("2026-12-01T20:00:00.250\n"), Date.UTC(2026, 11, 1, 20, 0, 0, 250));
    assert.equal(serverTimeOf("<html>"), undefined);
    assert.equal(serverTimeOf(undefined), undefined);
  });
});
