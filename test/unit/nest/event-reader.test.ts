import assert from "node:assert/strict";
import { openNestAccount, type NestAccount } from "../../../src/nest/account";
import { EventImageExpiredError, EventImages } from "../../../src/nest/event-images";
import type { EventOutput, EventReader, ReaderStatus } from "../../../src/nest/event-reader";
import { sdmError } from "../../../src/nest/sdm-errors";
import { parseEventTypes, readEventMessage } from "../../../src/nest/events";
import { NotFoundError, PermissionDeniedError } from "../../../src/google/errors";
import {
  InvalidSubscriptionError,
  ScopeMissingError,
  validateSubscription,
} from "../../../src/nest/pubsub-errors";
import { PUBSUB_SCOPE, SDM_SCOPE } from "../../../src/nest/authorization";
import type { SdmDevice } from "../../../src/nest/sdm-types";
import { FAKE_EVENT_JPEG, FAKE_SUBSCRIPTION, type FakePubSub } from "../../fixtures/fake-google";
import {
  FAKE,
  FakeGoogleTransport,
  SDM_URL,
  TOKEN_URL,
  camera,
  sdmError as fromApiError,
} from "../../fixtures/fake-google/transport";
import { drive } from "../../support/drive";
import { FakeClock, flush } from "../../support/fake-clock";
import { assertNoSecrets } from "../../support/secrets";

const PUBSUB_URL = "https://pubsub.example.test/v1";

function doorbell(id: string, name: string): SdmDevice {
  const d = camera(id, "Entryway", name);
  return {
    ...d,
    type: "sdm.devices.types.DOORBELL",
    traits: { ...d.traits, "sdm.devices.traits.CameraEventImage": {} },
  };
}

interface Setup {
  clock: FakeClock;
  fake: FakeGoogleTransport;
  pubsub: FakePubSub;
  account: NestAccount;
  reader: EventReader;
  outputs: EventOutput[];
  statuses: ReaderStatus[];
  warnings: string[];
}

function setup(
  options: {
    scope?: string;
    deviceId?: string;
    types?: string;
    imageWidth?: number;
    subscription?: string;
    latencyMs?: number;
    memoryKey?: string;
  } = {},
): Setup {
  const clock = new FakeClock();
  const fake = new FakeGoogleTransport({
    clock,
    devices: [camera("cam-garden", "Garden"), doorbell("door-1", "Front door")],
  });
  fake.latencyMs = options.latencyMs ?? 0;
  const refreshToken = fake.google.issueRefreshToken({
    scope: options.scope ?? `${SDM_SCOPE} ${PUBSUB_SCOPE}`,
  });
  const account = openNestAccount({
    projectId: FAKE.projectId,
    clientId: FAKE.clientId,
    clientSecret: FAKE.clientSecret,
    refreshToken,
    endpoints: { oauthTokenUrl: TOKEN_URL, sdmApiUrl: SDM_URL, pubsubApiUrl: PUBSUB_URL },
    clock,
    http: fake,
    random: () => 0.5,
  });
  const reader = account.eventReader({
    subscription: options.subscription ?? FAKE_SUBSCRIPTION,
    deviceId: options.deviceId,
    types: options.types === undefined ? undefined : parseEventTypes(options.types),
    imageWidth: options.imageWidth ?? 0,
    memoryKey: options.memoryKey,
  });
  const outputs: EventOutput[] = [];
  const statuses: ReaderStatus[] = [];
  const warnings: string[] = [];
  reader.on("event", (o: EventOutput) => outputs.push(o));
  reader.on("status", (s: ReaderStatus) => statuses.push(s));
  reader.on("warning", (w: string) => warnings.push(w));
  return { clock, fake, pubsub: fake.google.pubsub, account, reader, outputs, statuses, warnings };
}

async function stop(s: Setup): Promise<void> {
  // A request in flight on the fake's latency settles as the clock moves.
  await drive(s.clock, s.reader.stop());
  s.account.close();
}

describe("nest events: the event reader", () => {
  it("sends a doorbell press delivered as STARTED, UPDATED and ENDED, twice over, as one chime", async () => {
    const s = setup();
    s.pubsub.subscription().duplicates = 1;
    s.reader.start();
    await s.clock.advance(100);
    const pressedAt = s.clock.now();
    const press = s.pubsub.doorbellPress("door-1");
    await s.clock.advance(5_000);
    assert.equal(s.outputs.length, 1, JSON.stringify(s.outputs));
    const { event, image } = s.outputs[0];
    assert.equal(image, undefined);
    assert.deepEqual(event, {
      type: "chime",
      deviceId: "door-1",
      camera: "Front door",
      timestamp: new Date(pressedAt).toISOString(),
      eventId: press.eventId,
      eventSessionId: press.eventSessionId,
      threadState: "STARTED",
    });
    // Everything handed out was acknowledged.
    assert.equal(s.pubsub.unacked().length, 0);
    await stop(s);
  });

  it("sends events in the order of their timestamps however they are delivered, without duplicates", async () => {
    const s = setup();
    const sub = s.pubsub.subscription();
    sub.reverse = true;
    sub.duplicates = 2;
    const t0 = s.clock.now();
    s.pubsub.publishEvent({ deviceId: "cam-garden", type: "motion", at: t0 - 3_000 });
    s.pubsub.publishEvent({ deviceId: "door-1", type: "person", at: t0 - 2_000 });
    s.pubsub.publishEvent({ deviceId: "cam-garden", type: "sound", at: t0 - 1_000 });
    s.reader.start();
    await s.clock.advance(3_000);
    assert.deepEqual(
      s.outputs.map((o) => [o.event.type, o.event.deviceId]),
      [
        ["motion", "cam-garden"],
        ["person", "door-1"],
        ["sound", "cam-garden"],
      ],
    );
    const times = s.outputs.map((o) => Date.parse(o.event.timestamp));
    assert.deepEqual(times, [t0 - 3_000, t0 - 2_000, t0 - 1_000]);
    await stop(s);
  });

  it("drops a redelivered message it failed to acknowledge, and acknowledges it again", async () => {
    const s = setup();
    s.reader.start();
    await s.clock.advance(100);
    // The first acknowledge is lost: Pub/Sub hands the message out again after its deadline.
    s.fake.google.fail("reply", 1, {
      on: "pubsub.acknowledge",
      reply: {
        status: 503,
        body: JSON.stringify({
          error: { code: 503, message: "The service is currently unavailable.", status: "UNAVAILABLE" },
        }),
        contentType: "application/json",
      },
    });
    s.pubsub.publishEvent({ deviceId: "door-1", type: "chime" });
    await s.clock.advance(2_000);
    assert.equal(s.outputs.length, 1);
    assert.equal(s.pubsub.unacked().length, 1);
    assert.match(s.warnings.join("\n"), /Could not acknowledge/);
    await s.clock.advance(15_000);
    const [message] = s.pubsub.subscription().messages;
    assert.ok(message.deliveries >= 2, `delivered ${message.deliveries} times`);
    assert.equal(message.acked, true);
    assert.equal(s.outputs.length, 1, "the redelivered event was not sent again");
    await stop(s);
  });

  it("remembers what a node sent across a redeploy: the messages then in flight are not sent again", async () => {
    const key = `node-${Math.random()}`;
    const s = setup({ memoryKey: key });
    s.reader.start();
    await s.clock.advance(100);
    // The redeploy comes before the acknowledge gets through.
    s.fake.google.fail("network", 1, { on: "pubsub.acknowledge" });
    s.pubsub.publishEvent({ deviceId: "door-1", type: "chime" });
    await s.clock.advance(1_000);
    assert.equal(s.outputs.length, 1);
    await stop(s);
    // The new reader (a new account too, as after a redeploy) on the same fake.
    const next = openNestAccount({
      projectId: FAKE.projectId,
      clientId: FAKE.clientId,
      clientSecret: FAKE.clientSecret,
      refreshToken: s.fake.google.issueRefreshToken({ scope: `${SDM_SCOPE} ${PUBSUB_SCOPE}` }),
      endpoints: { oauthTokenUrl: TOKEN_URL, sdmApiUrl: SDM_URL, pubsubApiUrl: PUBSUB_URL },
      clock: s.clock,
      http: s.fake,
    });
    const reader = next.eventReader({ subscription: FAKE_SUBSCRIPTION, imageWidth: 0, memoryKey: key });
    const outputs: EventOutput[] = [];
    reader.on("event", (o: EventOutput) => outputs.push(o));
    reader.start();
    await s.clock.advance(15_000);
    assert.equal(s.pubsub.unacked().length, 0, "redelivered and acknowledged");
    assert.equal(outputs.length, 0, "not sent again");
    await drive(s.clock, reader.stop());
    next.close();
  });

  it("sends nothing after a stop, and what a stop cut short comes again as news", async () => {
    const key = `node-${Math.random()}`;
    const s = setup({ memoryKey: key, imageWidth: 640, latencyMs: 2_000 });
    s.reader.start();
    await s.clock.advance(5_000);
    s.pubsub.publishEvent({ deviceId: "door-1", type: "chime" });
    // The pull brings it; its image is being fetched (GenerateImage in flight) when the stop comes.
    await s.clock.advance(4_500);
    assert.equal(s.outputs.length, 0);
    const stopping = s.reader.stop();
    await s.clock.advance(10_000);
    await stopping;
    assert.equal(s.outputs.length, 0, "nothing after the stop");
    assert.equal(s.pubsub.unacked().length, 1, "not acknowledged");
    s.reader.start();
    await s.clock.advance(20_000);
    assert.equal(s.outputs.length, 1, "sent after the restart");
    assert.equal(s.outputs[0].event.type, "chime");
    await stop(s);
  });

  it("does not replay a backlog found at start, nor events that arrive long after they happened", async () => {
    const s = setup();
    const t0 = s.clock.now();
    s.pubsub.publishEvent({ deviceId: "door-1", type: "chime", at: t0 - 10 * 60_000 });
    s.pubsub.publishEvent({ deviceId: "door-1", type: "motion", at: t0 - 5_000 });
    s.reader.start();
    await s.clock.advance(2_000);
    assert.deepEqual(
      s.outputs.map((o) => o.event.type),
      ["motion"],
    );
    // Everything was acknowledged, the stale event too: it is not asked about again.
    assert.equal(s.pubsub.unacked().length, 0);
    s.pubsub.publishEvent({ deviceId: "door-1", type: "person", at: s.clock.now() - 5 * 60_000 });
    await s.clock.advance(2_000);
    assert.equal(s.outputs.length, 1);
    await stop(s);
  });

  it("reports one camera and the chosen types only, and acknowledges the rest", async () => {
    const s = setup({ deviceId: `enterprises/${FAKE.projectId}/devices/door-1`, types: "chime, person" });
    s.reader.start();
    await s.clock.advance(100);
    s.pubsub.publishEvent({ deviceId: "cam-garden", type: "person" });
    s.pubsub.publishEvent({ deviceId: "door-1", type: "motion" });
    s.pubsub.publishEvent({ deviceId: "door-1", type: "person" });
    await s.clock.advance(2_000);
    assert.deepEqual(
      s.outputs.map((o) => [o.event.type, o.event.deviceId]),
      [["person", "door-1"]],
    );
    assert.equal(s.pubsub.unacked().length, 0);
    await stop(s);
  });

  it("passes a clip preview's URL on, with the clip and with the events of the same update", async () => {
    const s = setup();
    s.reader.start();
    await s.clock.advance(100);
    const press = s.pubsub.doorbellPress("door-1", { previewUrl: "https://clips.example.test/p.mp4" });
    await s.clock.advance(5_000);
    assert.deepEqual(
      s.outputs.map((o) => o.event.type),
      ["chime", "clip"],
    );
    const clip = s.outputs[1].event;
    assert.equal(clip.previewUrl, "https://clips.example.test/p.mp4");
    assert.equal(clip.eventSessionId, press.eventSessionId);
    assert.equal(clip.threadState, "ENDED");
    await stop(s);
  });

  it("fetches the event image within its life, with the Basic token, and never lets the token out", async () => {
    const s = setup({ imageWidth: 480 });
    s.reader.start();
    await s.clock.advance(100);
    s.pubsub.publishEvent({ deviceId: "door-1", type: "person" });
    s.pubsub.publishEvent({ deviceId: "cam-garden", type: "motion" });
    await s.clock.advance(3_000);
    assert.equal(s.outputs.length, 2);
    const person = s.outputs.find((o) => o.event.type === "person");
    assert.ok(person?.image, "the doorbell's event came with its image");
    assert.ok(person.image.equals(FAKE_EVENT_JPEG));
    assert.match(person.event.imageUrl ?? "", /\/sdm-event-image\/img-/);
    // The camera without the CameraEventImage trait: no GenerateImage at all.
    const motion = s.outputs.find((o) => o.event.type === "motion");
    assert.equal(motion?.image, undefined);
    assert.equal(s.fake.google.commands("GenerateImage").length, 1);
    assert.equal(
      s.account.sdm.budget.stats().granted,
      1,
      "GenerateImage took a slot of the account's budget",
    );
    assert.deepEqual(
      s.fake.google.sdm.imageFetches.map((f) => [f.width, f.status]),
      [[480, 200]],
    );
    const tokens = s.fake.google.sdm.eventImages().map((i) => i.token);
    assertNoSecrets([...s.outputs.map((o) => o.event), ...s.statuses, ...s.warnings], tokens);
    await stop(s);
  });

  it("sends the event without its image, saying why, when the image expired (DEADLINE_EXCEEDED)", async () => {
    const s = setup({ imageWidth: 640, latencyMs: 12_000 });
    s.reader.start();
    await s.clock.advance(20_000);
    s.pubsub.publishEvent({ deviceId: "door-1", type: "chime", at: s.clock.now() - 5_000 });
    await s.clock.advance(120_000);
    assert.equal(s.outputs.length, 1);
    const { event, image } = s.outputs[0];
    assert.equal(image, undefined);
    assert.match(event.imageError ?? "", /expired.*30 s/);
    assert.match(s.warnings.join("\n"), /image of the chime event on Front door/);
    await stop(s);
  });

  it("says what to do when the subscription does not exist, and keeps trying, seldom", async () => {
    const s = setup({ subscription: "projects/fake-gcp-project/subscriptions/gone" });
    s.reader.start();
    await s.clock.advance(1_000);
    const status = s.reader.status;
    assert.equal(status.state, "error");
    assert.match(status.error ?? "", /does not exist/);
    assert.match(status.error ?? "", /sdm-prod.*stopped on 2026-11-30/);
    assert.match(status.error ?? "", /sdm-publisher@googlegroups\.com/);
    assert.ok((status.retryInMs ?? 0) >= 15_000, `retries in ${status.retryInMs} ms`);
    const pulls = () => s.fake.google.calls.filter((c) => c.endpoint === "pubsub.pull").length;
    const before = pulls();
    await s.clock.advance(10_000);
    assert.equal(pulls(), before, "no pull during the wait");
    s.pubsub.addSubscription("projects/fake-gcp-project/subscriptions/gone");
    await s.clock.advance(60_000);
    assert.equal(s.reader.status.state, "listening");
    await stop(s);
  });

  it("says to authorize again with the Pub/Sub option when the token lacks the scope", async () => {
    const s = setup({ scope: SDM_SCOPE });
    s.reader.start();
    await s.clock.advance(1_000);
    assert.equal(s.reader.status.state, "error");
    assert.match(s.reader.status.error ?? "", /without the Pub\/Sub scope.*Authorize again/);
    await stop(s);
  });

  it("says which role to grant when the user may not read the subscription", async () => {
    const s = setup();
    s.pubsub.subscription().deniedUsers.add("user-1");
    s.reader.start();
    await s.clock.advance(1_000);
    assert.equal(s.reader.status.state, "error");
    assert.match(s.reader.status.error ?? "", /roles\/pubsub\.subscriber/);
    assert.doesNotMatch(s.reader.status.error ?? "", /scope/);
    await stop(s);
  });

  it("retries transient failures with backoff, then listens again", async () => {
    const s = setup();
    s.fake.google.fail("network", 3, { on: "pubsub.pull" });
    s.reader.start();
    await s.clock.advance(100);
    assert.equal(s.reader.status.state, "retrying");
    const delays = [];
    for (let i = 0; i < 3 && s.reader.status.state === "retrying"; i++) {
      delays.push(s.reader.status.retryInMs ?? 0);
      await s.clock.advance((s.reader.status.retryInMs ?? 0) + 10);
    }
    assert.deepEqual(delays, [750, 1_500, 3_000]);
    assert.equal(s.reader.status.state, "listening");
    s.pubsub.publishEvent({ deviceId: "door-1", type: "chime" });
    await s.clock.advance(2_000);
    assert.equal(s.outputs.length, 1);
    await stop(s);
  });

  it("takes one pull held open until it times out as an empty pull, and reports the next", async () => {
    const s = setup();
    s.reader.start();
    await s.clock.advance(2_000);
    assert.equal(s.reader.status.state, "listening");
    s.fake.google.fail("hang", 2, { on: "pubsub.pull" });
    const retrying = () => s.statuses.filter((x) => x.state === "retrying");
    await s.clock.advance(95_000);
    assert.equal(s.reader.status.state, "listening", "one timeout is Pub/Sub having nothing");
    assert.equal(retrying().length, 0);
    await s.clock.advance(95_000);
    assert.equal(retrying().length, 1, "the second in a row is reported");
    assert.match(retrying()[0].error ?? "", /timeout/);
    assert.equal(s.reader.status.state, "listening", "and the next pull listens again");
    await stop(s);
  });

  it("stops and starts: a stopped reader pulls nothing", async () => {
    const s = setup();
    s.reader.start();
    await s.clock.advance(2_000);
    await s.reader.stop();
    assert.equal(s.reader.status.state, "stopped");
    const pulls = () => s.fake.google.calls.filter((c) => c.endpoint === "pubsub.pull").length;
    const n = pulls();
    await s.clock.advance(10 * 60_000);
    assert.equal(pulls(), n, "no pull in ten minutes stopped");
    s.reader.start();
    await s.clock.advance(100);
    s.pubsub.publishEvent({ deviceId: "door-1", type: "chime" });
    await s.clock.advance(2_000);
    assert.equal(s.outputs.length, 1);
    await flush();
    await stop(s);
  });
});

describe("nest events: messages, types and names", () => {
  it("reads an event message into one candidate per event, and nothing from other updates", () => {
    const data = JSON.stringify({
      eventId: "m-1",
      timestamp: "2026-12-01T10:00:00.000Z",
      resourceUpdate: {
        name: "enterprises/p/devices/d-1",
        events: {
          "sdm.devices.events.CameraMotion.Motion": { eventSessionId: "s-1", eventId: "e-1" },
          "sdm.devices.events.CameraPerson.Person": { eventSessionId: "s-1", eventId: "e-2" },
        },
      },
      eventThreadId: "t-1",
      eventThreadState: "UPDATED",
    });
    const got = readEventMessage(data, "42");
    assert.deepEqual(
      got.map((c) => [c.type, c.deviceId, c.eventId, c.eventSessionId, c.threadState, c.at]),
      [
        ["motion", "d-1", "e-1", "s-1", "UPDATED", Date.parse("2026-12-01T10:00:00.000Z")],
        ["person", "d-1", "e-2", "s-1", "UPDATED", Date.parse("2026-12-01T10:00:00.000Z")],
      ],
    );
    assert.deepEqual(
      readEventMessage(JSON.stringify({ resourceUpdate: { name: "x", traits: {} } }), "1"),
      [],
    );
    assert.deepEqual(readEventMessage("not json", "1"), []);
  });

  it("parses the events property: empty means all, unknown names are refused with the known ones", () => {
    assert.equal(parseEventTypes("").size, 5);
    assert.equal(parseEventTypes(undefined).size, 5);
    assert.deepEqual([...parseEventTypes(["chime", "Person"])], ["chime", "person"]);
    assert.throws(() => parseEventTypes("chime,bark"), /"bark".*motion, person, sound, chime, clip/);
  });

  it("checks the subscription name before any request, and recognizes a topic given instead", () => {
    assert.equal(validateSubscription(" projects/p/subscriptions/s "), "projects/p/subscriptions/s");
    assert.throws(() => validateSubscription(""), InvalidSubscriptionError);
    assert.throws(
      () => validateSubscription("projects/sdm-prod/topics/enterprise-123"),
      /a topic, not a subscription.*stopped on 2026-11-30/,
    );
  });

  it("types Pub/Sub's errors", async () => {
    const s = setup({ subscription: "projects/fake-gcp-project/subscriptions/gone" });
    const err = await s.reader.source.pull(1).catch((e: unknown) => e);
    assert.ok(err instanceof NotFoundError);
    s.pubsub.subscription().deniedUsers.add("user-1");
    const denied = await s.account
      .eventReader({ subscription: FAKE_SUBSCRIPTION })
      .source.pull(1)
      .catch((e: unknown) => e);
    assert.ok(denied instanceof PermissionDeniedError && !(denied instanceof ScopeMissingError));
    s.account.close();
    const t = setup({ scope: SDM_SCOPE });
    const scope = await t.reader.source.pull(1).catch((e: unknown) => e);
    assert.ok(scope instanceof ScopeMissingError, String(scope));
    t.account.close();
  });
});

describe("nest events: event images", () => {
  const candidate = (at: number) => ({
    type: "person" as const,
    deviceName: `enterprises/${FAKE.projectId}/devices/door-1`,
    deviceId: "door-1",
    at,
    eventId: "ev-1",
    eventSessionId: "s-1",
    messageId: "1",
  });

  it("turns Google's DEADLINE_EXCEEDED into the expired-image advice", async () => {
    const clock = new FakeClock();
    const images = new EventImages({
      clock,
      sdm: {
        execute: () =>
          Promise.reject(
            sdmError(
              fromApiError(400, "DEADLINE_EXCEEDED", "The event image has expired."),
              "GenerateImage",
              clock.now(),
            ),
          ),
      },
    });
    const err = await images.fetch(candidate(clock.now() - 1_000)).catch((e: unknown) => e);
    assert.ok(err instanceof EventImageExpiredError, String(err));
    assert.match(err.message, /Google answered DEADLINE_EXCEEDED.*30 s after the event/);
  });

  it("asks nothing for an event already past its 30 s", async () => {
    const clock = new FakeClock();
    let asked = 0;
    const images = new EventImages({
      clock,
      sdm: {
        execute: () => {
          asked++;
          return Promise.resolve({ url: "https://x.test/i", token: "secret-token-1" });
        },
      },
    });
    const err = await images.fetch(candidate(clock.now() - 31_000)).catch((e: unknown) => e);
    assert.ok(err instanceof EventImageExpiredError);
    assert.equal(asked, 0);
  });

  it("gives up when GenerateImage waits past the image's life (a busy command budget)", async () => {
    const clock = new FakeClock();
    const images = new EventImages({
      clock,
      sdm: {
        execute: (_d, _c, _p, options) =>
          new Promise((_resolve, reject) =>
            options?.signal?.addEventListener("abort", () => reject(new Error("aborted"))),
          ),
      },
    });
    let settled = false;
    const pending = images
      .fetch(candidate(clock.now()))
      .catch((e: unknown) => e)
      .finally(() => (settled = true));
    await clock.advance(29_000);
    assert.equal(settled, false, "still waiting within the image's life");
    await clock.advance(2_000);
    const err = await pending;
    assert.ok(err instanceof EventImageExpiredError, String(err));
    assert.match(err.message, /no answer within its life/);
  });
});
