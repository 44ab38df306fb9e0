import assert from "node:assert/strict";
import {
  FAKE_CREDENTIALS,
  FAKE_EVENT_JPEG,
  FAKE_SUBSCRIPTION,
  FakeGoogle,
  PUBSUB_SCOPE,
} from "../fixtures/fake-google";
import { SDM_SCOPE } from "../fixtures/fake-google/defaults";
import { accountNode } from "../support/flows";
import type { EventMsg } from "../support/messages";
import {
  builtNode,
  collect as collectFrom,
  helper,
  nodeRedMajor,
  startServer,
  stopServer,
} from "../support/node-red";
import { assertNoSecrets } from "../support/secrets";
import { waitFor } from "../support/wait";

const nodes = [builtNode("nest-account"), builtNode("nest-events")];

interface TestNode {
  receive(msg: object): void;
  on(event: string, fn: (arg: never) => void): void;
  status: { args: { text?: string; fill?: string }[][] } & ((...a: unknown[]) => void);
  error: { args: unknown[][] };
}

describe(`nest-events node (Node-RED ${nodeRedMajor})`, function () {
  this.timeout(30_000);
  let fake: FakeGoogle;
  let credentials: Record<string, { clientId: string; clientSecret: string; refreshToken: string }>;

  before(async () => {
    fake = await FakeGoogle.start();
    // A legacy doorbell: it has event images.
    fake.addDevice({ id: "door-legacy", type: "doorbell", customName: "Front Bell", eventImage: true });
    const refreshToken = fake.issueRefreshToken({ scope: `${SDM_SCOPE} ${PUBSUB_SCOPE}` });
    credentials = { acc: { ...FAKE_CREDENTIALS, refreshToken } };
    await startServer(fake.env());
  });
  after(async () => {
    await stopServer();
    await fake.stop();
  });
  afterEach(async () => {
    await helper.unload();
    // A pull the closed node abandoned may still reach the fake: let it land before the next test counts.
    // A sleep, as nothing marks it: the aborted request sends no later event, and the node has no clock.
    await new Promise((r) => setTimeout(r, 200));
    fake.clearCalls();
    fake.clearFaults();
    fake.resetRateLimits();
    const sub = fake.pubsub.subscription();
    sub.messages.length = 0;
    sub.duplicates = 0;
    sub.reverse = false;
    sub.deniedUsers.clear();
  });

  function flow(extra: object = {}) {
    return [
      accountNode({ pubsub: true }),
      {
        id: "ev",
        type: "nest-events",
        account: "acc",
        subscription: FAKE_SUBSCRIPTION,
        deviceId: "",
        events: [],
        wires: [["out"]],
        ...extra,
      },
      { id: "out", type: "helper" },
    ];
  }
  const collect = () => collectFrom<EventMsg>("out");
  const node = () => helper.getNode("ev") as TestNode;
  const statusTexts = () => node().status.args.map((a) => a[0]?.text ?? "");
  const listening = () => waitFor(() => statusTexts().includes("listening"), 10_000, "listening");

  it("sends a doorbell press (three updates, delivered twice and out of order) as one chime with its image", async () => {
    await helper.load(nodes, flow(), credentials);
    const msgs = collect();
    await listening();
    const sub = fake.pubsub.subscription();
    sub.duplicates = 1;
    sub.reverse = true;
    const press = fake.pubsub.doorbellPress("door-legacy", { at: Date.now() - 2_000 });
    await waitFor(() => msgs.length >= 1, 10_000, "the chime");
    // Nothing more comes for the same press: every delivery of its three updates has been handled,
    // since the reader acknowledges a batch only after sending what it kept from it.
    await waitFor(() => fake.pubsub.unacked().length === 0, 10_000, "every update acknowledged");
    assert.equal(msgs.length, 1, JSON.stringify(msgs.map((m) => m.event)));
    const [msg] = msgs;
    assert.equal(msg.payload, "chime");
    assert.equal(msg.topic, "door-legacy");
    assert.equal(msg.event.type, "chime");
    assert.equal(msg.event.camera, "Front Bell");
    assert.equal(msg.event.eventId, press.eventId);
    assert.equal(msg.event.eventSessionId, press.eventSessionId);
    assert.equal(msg.event.threadState, "STARTED");
    assert.ok(Buffer.isBuffer(msg.image) && msg.image.equals(FAKE_EVENT_JPEG), "the event's JPEG");
    assert.match(msg.event.imageUrl ?? "", /\/sdm-event-image\//);
    assert.equal(fake.pubsub.unacked().length, 0);
    await waitFor(
      () => statusTexts().some((t) => /^chime · Front Bell · \d\d:\d\d:\d\d$/.test(t)),
      5_000,
      "the last event in the status",
    );
    const tokens = fake.sdm.eventImages().map((i) => i.token);
    assertNoSecrets(
      [...statusTexts(), ...msgs.map((m) => m.event)],
      [...tokens, credentials.acc.refreshToken],
    );
  });

  it("sends only the chosen camera and types", async () => {
    await helper.load(
      nodes,
      flow({ deviceId: "cam-front", events: ["person", "motion"], imageWidth: 0 }),
      credentials,
    );
    const msgs = collect();
    await listening();
    fake.pubsub.publishEvent({ deviceId: "cam-garden", type: "person" });
    fake.pubsub.publishEvent({ deviceId: "cam-front", type: "sound" });
    fake.pubsub.publishEvent({ deviceId: "cam-front", type: "person" });
    await waitFor(() => fake.pubsub.unacked().length === 0 && msgs.length >= 1, 10_000, "handled");
    assert.deepEqual(
      msgs.map((m) => [m.payload, m.topic, m.event.camera]),
      [["person", "cam-front", "Front Door"]],
    );
  });

  it("starts and stops on start/stop and true/false, and rejects anything else saying what it takes", async () => {
    await helper.load(nodes, flow({ startOnDeploy: false }), credentials);
    const msgs = collect();
    const errors = () => node().error.args.map((a) => String((a[0] as Error)?.message ?? a[0]));
    for (const payload of ["go", 42]) node().receive({ payload });
    await waitFor(() => errors().length >= 2, 5_000, "two errors");
    for (const e of errors()) assert.match(e, /"start" or "stop" \(also true\/false, "on"\/"off"\)/);
    // Never started: a start (on deploy or from those messages) shows "starting" at once, before any pull.
    assert.deepEqual(statusTexts(), ["stopped"], "not started");
    assert.equal(fake.calls.filter((c) => c.endpoint === "pubsub.pull").length, 0, "no pull before a start");
    node().receive({ payload: true });
    await listening();
    fake.pubsub.publishEvent({ deviceId: "cam-front", type: "motion" });
    await waitFor(() => msgs.length === 1, 10_000, "an event");
    node().receive({ payload: "stop" });
    // "stopped" shows once the pull loop has ended (the reader's stop waits for it): nothing is left to
    // pull. That no pull comes however long it stays stopped: the event reader's unit test, on a fake clock.
    await waitFor(() => statusTexts().at(-1) === "stopped", 5_000, "stopped");
    const pulls = fake.calls.filter((c) => c.endpoint === "pubsub.pull").length;
    node().receive({ payload: "start" });
    // Listening again: the status shows the last event, in green.
    await waitFor(
      () => {
        const last = node().status.args.at(-1)?.[0];
        return last?.fill === "green" && /^motion · Front Door · /.test(last.text ?? "");
      },
      5_000,
      "listening again",
    );
    assert.ok(fake.calls.filter((c) => c.endpoint === "pubsub.pull").length > pulls, "pulling again");
  });

  it("says what to do about a subscription that does not exist", async () => {
    await helper.load(
      nodes,
      flow({ subscription: "projects/fake-gcp-project/subscriptions/missing" }),
      credentials,
    );
    const errors = () => node().error.args.map((a) => String((a[0] as Error)?.message ?? a[0]));
    await waitFor(() => errors().some((e) => /does not exist/.test(e)), 10_000, "the advice");
    const advice = errors().find((e) => /does not exist/.test(e)) ?? "";
    assert.match(advice, /projects\/sdm-prod\/topics.*stopped on 2026-11-30/);
    assert.ok(node().status.args.some((a) => a[0]?.fill === "red" && /^error: /.test(a[0]?.text ?? "")));
  });

  it("says to authorize again with Camera events when the refresh token lacks the Pub/Sub scope", async () => {
    await helper.load(nodes, flow(), { acc: FAKE_CREDENTIALS });
    const errors = () => node().error.args.map((a) => String((a[0] as Error)?.message ?? a[0]));
    await waitFor(() => errors().some((e) => /Pub\/Sub scope/.test(e)), 10_000, "the scope advice");
    assert.match(errors().join("\n"), /tick "Camera events \(Pub\/Sub\)".*Authorize again/);
  });

  it("refuses a topic given as the subscription before asking Google", async () => {
    await helper.load(nodes, flow({ subscription: "projects/sdm-prod/topics/enterprise-x" }), credentials);
    const errors = () => node().error.args.map((a) => String((a[0] as Error)?.message ?? a[0]));
    await waitFor(() => errors().length > 0, 5_000, "an error");
    assert.match(errors()[0], /a topic, not a subscription/);
    assert.equal(fake.calls.filter((c) => c.endpoint.startsWith("pubsub")).length, 0);
  });
});
