/** The fake Pub/Sub behaves like Google's: at-least-once delivery, ack deadlines, its error envelopes. */
import assert from "node:assert/strict";
import {
  FakeGoogle,
  FAKE_SUBSCRIPTION,
  fakeRequest,
  PUBSUB_SCOPE,
  type Reply,
} from "../../fixtures/fake-google";
import { FakeClock } from "../../support/fake-clock";

interface Pulled {
  receivedMessages?: { ackId: string; message: { data: string; messageId: string } }[];
}

function setup(scope = PUBSUB_SCOPE) {
  const clock = new FakeClock();
  const google = new FakeGoogle({ clock });
  const token = google.issueAccessToken({ scope });
  const call = async (path: string, body: unknown): Promise<Reply> => {
    const out = await google.dispatch(
      fakeRequest(
        "POST",
        `https://pubsub.example.test/v1/${path}`,
        { authorization: `Bearer ${token}`, "content-type": "application/json" },
        JSON.stringify(body),
      ),
    );
    assert.ok(typeof out === "object");
    return out;
  };
  const pull = async (max = 10): Promise<Pulled> =>
    JSON.parse((await call(`${FAKE_SUBSCRIPTION}:pull`, { maxMessages: max })).body) as Pulled;
  const ack = (ackIds: string[]) => call(`${FAKE_SUBSCRIPTION}:acknowledge`, { ackIds });
  return { clock, google, call, pull, ack };
}

describe("fake Google: Pub/Sub", () => {
  it("hands a message out again after its ack deadline, with a new ackId; the old one no longer acknowledges", async () => {
    const f = setup();
    f.google.pubsub.subscription().ackDeadlineMs = 10_000;
    const id = f.google.pubsub.publishEvent({ deviceId: "cam-front", type: "motion" }).messageId;
    const first = await f.pull();
    assert.equal(first.receivedMessages?.length, 1);
    assert.equal(first.receivedMessages[0].message.messageId, id);
    const event = JSON.parse(Buffer.from(first.receivedMessages[0].message.data, "base64").toString()) as {
      resourceUpdate: { name: string; events: Record<string, unknown> };
    };
    assert.equal(event.resourceUpdate.name, `enterprises/${f.google.projectId}/devices/cam-front`);
    assert.ok("sdm.devices.events.CameraMotion.Motion" in event.resourceUpdate.events);
    // Within the deadline: not handed out again; an empty pull is an empty object.
    assert.deepEqual(await f.pull(), {});
    await f.clock.advance(10_000);
    const second = await f.pull();
    assert.equal(second.receivedMessages?.[0].message.messageId, id);
    assert.notEqual(second.receivedMessages?.[0].ackId, first.receivedMessages[0].ackId);
    await f.clock.advance(10_000);
    // Both ackIds are past their deadline now.
    await f.ack([first.receivedMessages[0].ackId, second.receivedMessages?.[0].ackId ?? ""]);
    assert.equal(f.google.pubsub.unacked().length, 1);
    const third = await f.pull();
    await f.ack([third.receivedMessages?.[0].ackId ?? ""]);
    assert.equal(f.google.pubsub.unacked().length, 0);
    await f.clock.advance(20_000);
    assert.deepEqual(await f.pull(), {});
  });

  it("delivers duplicates and out of order on demand", async () => {
    const f = setup();
    const sub = f.google.pubsub.subscription();
    sub.duplicates = 1;
    sub.reverse = true;
    const a = f.google.pubsub.publish({ n: 1 });
    const b = f.google.pubsub.publish({ n: 2 });
    const got = await f.pull();
    assert.deepEqual(
      got.receivedMessages?.map((r) => r.message.messageId),
      [b, a, b, a],
    );
    assert.equal(new Set(got.receivedMessages?.map((r) => r.ackId)).size, 4);
  });

  it("answers in Google's envelopes: a missing subscription, a denied user, a token without the scope", async () => {
    const f = setup();
    const missing = await f.call("projects/fake-gcp-project/subscriptions/nope:pull", { maxMessages: 1 });
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body), {
      error: { code: 404, message: "Resource not found (resource=nope).", status: "NOT_FOUND" },
    });
    f.google.pubsub.subscription().deniedUsers.add("user-1");
    const denied = await f.call(`${FAKE_SUBSCRIPTION}:pull`, { maxMessages: 1 });
    assert.equal(denied.status, 403);
    assert.equal(
      (JSON.parse(denied.body) as { error: { status: string } }).error.status,
      "PERMISSION_DENIED",
    );

    const g = setup("https://www.googleapis.com/auth/sdm.service");
    const scope = await g.call(`${FAKE_SUBSCRIPTION}:pull`, { maxMessages: 1 });
    assert.equal(scope.status, 403);
    const error = (JSON.parse(scope.body) as { error: { status: string; details: { reason: string }[] } })
      .error;
    assert.equal(error.status, "PERMISSION_DENIED");
    assert.equal(error.details[0].reason, "ACCESS_TOKEN_SCOPE_INSUFFICIENT");
  });

  it("makes an event's image for 30 s after the event, readable with its Basic token only", async () => {
    const f = setup();
    const sdmToken = f.google.issueAccessToken();
    const { eventId } = f.google.pubsub.publishEvent({ deviceId: "cam-front", type: "person" });
    const generate = async () =>
      (await f.google.dispatch(
        fakeRequest(
          "POST",
          `https://sdm.example.test/v1/enterprises/${f.google.projectId}/devices/cam-front:executeCommand`,
          { authorization: `Bearer ${sdmToken}`, "content-type": "application/json" },
          JSON.stringify({
            command: "sdm.devices.commands.CameraEventImage.GenerateImage",
            params: { eventId },
          }),
        ),
      )) as Reply;
    const made = await generate();
    assert.equal(made.status, 200, made.body);
    const { url, token } = (JSON.parse(made.body) as { results: { url: string; token: string } }).results;
    const get = async (auth: string) =>
      (await f.google.dispatch(fakeRequest("GET", `${url}?width=320`, { authorization: auth }, ""))) as Reply;
    assert.equal((await get(`Bearer ${sdmToken}`)).status, 401);
    const ok = await get(`Basic ${token}`);
    assert.equal(ok.status, 200);
    assert.equal(ok.contentType, "image/jpeg");
    assert.equal(ok.binary?.subarray(0, 2).toString("hex"), "ffd8");
    await f.clock.advance(30_000);
    const late = await get(`Basic ${token}`);
    assert.equal(late.status, 400);
    assert.match(late.body, /DEADLINE_EXCEEDED/);
    const again = await generate();
    assert.match(again.body, /DEADLINE_EXCEEDED/);
  });
});
