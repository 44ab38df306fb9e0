/** The fake caption endpoint itself: YouTube's rules as section 5 states them, answered in memory. */
import assert from "node:assert/strict";
import { fakeRequest, FakeGoogle, type Reply } from "../fixtures/fake-google";
import { FakeCaptions } from "../fixtures/fake-google/captions";
import { FakeClock } from "../support/fake-clock";

describe("fake caption endpoint", () => {
  const clock = new FakeClock(Date.UTC(2026, 11, 1, 20, 0, 0));
  const google = new FakeGoogle({ clock });
  const captions = new FakeCaptions(clock).addKey("key-1");
  google.use(captions);

  async function post(query: string, body: string, type = "text/plain"): Promise<Reply> {
    const r = await google.dispatch(
      fakeRequest("POST", `http://x/closedcaption?${query}`, { "content-type": type }, body),
    );
    assert.ok(typeof r === "object");
    return r;
  }

  it("takes blocks of timestamp and text, and answers its time on the first line", async () => {
    const r = await post(
      "cid=key-1&seq=1",
      "2026-12-01T19:59:59.500\nfirst\n2026-12-01T20:00:00.000\nsecond\n",
    );
    assert.deepEqual([r.status, r.body], [200, "2026-12-01T20:00:00.000\n"]);
    assert.deepEqual(captions.posts.at(-1)?.captions, [
      { timestamp: "2026-12-01T19:59:59.500", text: "first" },
      { timestamp: "2026-12-01T20:00:00.000", text: "second" },
    ]);
  });

  it("refuses a timestamp more than 60 s off its clock, in YouTube's words, with its time first", async () => {
    captions.offsetMs = 61_000;
    const r = await post("cid=key-1&seq=2", "2026-12-01T20:00:00.000\nlate\n");
    captions.offsetMs = 0;
    assert.equal(r.status, 400);
    assert.equal(
      r.body,
      "2026-12-01T20:01:01.000\nTimestamp skew from local=2026-12-01T20:00:00.000 larger than 60 sec in /closedcaption?cid=key-1&seq=2\n",
    );
  });

  it("answers 404 to an unknown cid and 400 to a missing seq, another type or a body it cannot read", async () => {
    const ts = "2026-12-01T20:00:00.000";
    assert.equal((await post("cid=nope&seq=1", `${ts}\nx\n`)).status, 404);
    assert.equal((await post("cid=key-1", `${ts}\nx\n`)).status, 400);
    assert.equal((await post("cid=key-1&seq=3", `${ts}\nx\n`, "application/json")).status, 400);
    assert.equal((await post("cid=key-1&seq=3", "12:00:00\nx\n")).status, 400);
    assert.equal((await post("cid=key-1&seq=3", "")).status, 400);
  });

  it('records faulted posts too (the fake Google\'s faults apply to on: "captions")', async () => {
    google.fail(503, 1, { on: "captions" });
    const r = await post("cid=key-1&seq=9", "2026-12-01T20:00:00.000\nx\n");
    assert.equal(r.status, 503);
    const last = captions.posts.at(-1);
    assert.deepEqual([last?.seq, last?.call.status, last?.call.fault], [9, 503, 503]);
  });
});
