/**
 * nest-events end to end, in a real Node-RED runtime (the test helper's) against the fake Google over
 * HTTP: Pub/Sub delivering a doorbell press as three thread updates, twice over and out of order, the
 * event image fetched with its Basic token, and the doorbell-to-youtube example flow turning the press
 * into a restream: nest-stream's real RTSPS session through real ffmpeg into a real RTMP server.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  FAKE_CREDENTIALS,
  FAKE_DEFAULTS,
  FAKE_EVENT_JPEG,
  FAKE_SUBSCRIPTION,
  FakeGoogle,
  PUBSUB_SCOPE,
  SDM_SCOPE,
} from "../fixtures/fake-google";
import { listProcesses } from "../fixtures/probe";
import { RtmpServer } from "../fixtures/rtmp-server";
import { RtspEdge } from "../fixtures/rtsp-edge";
import { RtspSource } from "../fixtures/rtsp-source";
import type { EventMsg } from "../support/messages";
import { builtNode, collect, coreNode, helper, startServer, stopServer } from "../support/node-red";
import { waitFor } from "../support/wait";

const nodes = [
  builtNode("nest-account"),
  builtNode("nest-events"),
  builtNode("nest-stream"),
  builtNode("nest-restream"),
  coreNode("common/90-comment.js"),
  coreNode("function/10-switch.js"),
  coreNode("function/15-change.js"),
  coreNode("function/89-trigger.js"),
];

interface FlowNode extends Record<string, unknown> {
  id: string;
  type: string;
  z?: string;
}

describe("nest-events end to end (fake Pub/Sub and SDM, real Node-RED, ffmpeg and RTMP)", function () {
  this.timeout(90_000);
  let fake: FakeGoogle;
  let source: RtspSource;
  let rtmp: RtmpServer;
  let edge: RtspEdge;
  let refreshToken: string;

  before(async () => {
    source = await RtspSource.start({ mounts: [{ path: "/door", audio: "aac" }] });
    rtmp = await RtmpServer.start();
    fake = await FakeGoogle.start({ mediaUrl: source.url("/door") });
    // The token-checking RTSPS edge in front of the camera's media, as Google's.
    edge = await RtspEdge.start({ authority: fake, tls: true });
    fake.setRtspEdgeBase(edge.baseUrl);
    // A legacy Nest Doorbell: RTSP, and event images.
    fake.addDevice({ id: "door-legacy", type: "doorbell", customName: "Front Bell", eventImage: true });
    refreshToken = fake.issueRefreshToken({ scope: `${SDM_SCOPE} ${PUBSUB_SCOPE}` });
    await startServer(fake.env());
  });
  after(async () => {
    await stopServer();
    await Promise.all([fake?.stop(), source?.stop(), rtmp?.stop(), edge?.stop()]);
  });
  afterEach(async () => {
    await helper.unload();
    fake.clearFaults();
    fake.resetRateLimits();
    const sub = fake.pubsub.subscription();
    sub.messages.length = 0;
    sub.duplicates = 0;
    sub.reverse = false;
    sub.ackDeadlineMs = 10_000;
  });

  function eventsFlow(extra: Record<string, unknown> = {}): FlowNode[] {
    return [
      { id: "acc", type: "nest-account", projectId: FAKE_DEFAULTS.projectId, pubsub: true },
      {
        id: "ev",
        type: "nest-events",
        account: "acc",
        subscription: FAKE_SUBSCRIPTION,
        wires: [["out"]],
        ...extra,
      },
      { id: "out", type: "helper" },
    ];
  }
  const credentials = () => ({ acc: { ...FAKE_CREDENTIALS, refreshToken } });
  const listening = () =>
    waitFor(
      () =>
        (helper.getNode("ev") as { status: { args: { text?: string }[][] } }).status.args.some(
          (a) => a[0]?.text === "listening",
        ),
      15_000,
      "listening",
    );

  it("sends a doorbell press (three updates, twice over, out of order) as one chime with its image", async () => {
    await helper.load(nodes, eventsFlow(), credentials());
    const msgs = collect<EventMsg>("out");
    await listening();
    const sub = fake.pubsub.subscription();
    sub.duplicates = 1;
    sub.reverse = true;
    const press = fake.pubsub.doorbellPress("door-legacy");
    // Other cameras' events, published in the wrong order: they come out in the order they happened.
    const now = Date.now();
    fake.pubsub.publishEvent({ deviceId: "cam-garden", type: "person", at: now + 500 });
    fake.pubsub.publishEvent({ deviceId: "cam-front", type: "motion", at: now - 500 });
    await waitFor(() => msgs.length >= 3, 15_000, "three events");
    // Nothing more comes: every delivery has been handled, since the reader acknowledges a batch only
    // after sending what it kept from it.
    await waitFor(() => fake.pubsub.unacked().length === 0, 15_000, "every delivery acknowledged");
    assert.deepEqual(
      msgs.map((m) => [m.payload, m.topic]),
      [
        ["motion", "cam-front"],
        ["chime", "door-legacy"],
        ["person", "cam-garden"],
      ],
    );
    const chime = msgs[1];
    assert.equal(chime.event.eventSessionId, press.eventSessionId);
    assert.equal(chime.event.camera, "Front Bell");
    assert.ok(
      Buffer.isBuffer(chime.image) && chime.image.equals(FAKE_EVENT_JPEG),
      "the JPEG came with the event",
    );
    // The JPEG is a JPEG: SOI and EOI markers.
    assert.equal(chime.image.subarray(0, 2).toString("hex"), "ffd8");
    assert.equal(chime.image.subarray(-2).toString("hex"), "ffd9");
    assert.deepEqual(
      fake.sdm.imageFetches.map((f) => [f.width, f.status]),
      [
        [640, 200],
        [640, 200],
        [640, 200],
      ],
    );
    // Every one of these RTSP cameras has event images: each event came with its own.
    assert.ok(
      msgs.every((m) => Buffer.isBuffer(m.image)),
      "every event with its image",
    );
    assert.deepEqual(
      fake.commands("GenerateImage").map((c) => c.deviceId),
      ["cam-front", "door-legacy", "cam-garden"],
    );
    assert.equal(fake.pubsub.unacked().length, 0);
  });

  it("drops a message redelivered after its acknowledgement was lost", async () => {
    await helper.load(nodes, eventsFlow({ imageWidth: 0 }), credentials());
    const msgs = collect<EventMsg>("out");
    await listening();
    const sub = fake.pubsub.subscription();
    sub.ackDeadlineMs = 1_000;
    fake.fail("network", 1, { on: "pubsub.acknowledge" });
    fake.pubsub.publishEvent({ deviceId: "door-legacy", type: "chime" });
    await waitFor(
      () => sub.messages[0]?.deliveries >= 2 && sub.messages[0].acked,
      15_000,
      "redelivered and acked",
    );
    // Acknowledged after it was handled (the reader acknowledges after sending): the redelivery has
    // been dropped or sent by now.
    assert.equal(msgs.length, 1, "sent once");
  });

  it("runs the doorbell-to-youtube example: a press starts the doorbell's restream", async () => {
    const example = JSON.parse(
      fs.readFileSync(path.join(__dirname, "..", "..", "..", "examples", "doorbell-to-youtube.json"), "utf8"),
    ) as FlowNode[];
    const accountId = example.find((n) => n.type === "nest-account")?.id as string;
    const flow = example
      .filter((n) => n.type !== "tab" && n.type !== "debug")
      .map((n): FlowNode => {
        const node: FlowNode = { ...n, z: n.z ? "f1" : undefined };
        if (n.type === "nest-account") node.projectId = FAKE_DEFAULTS.projectId;
        if (n.type === "nest-events") {
          node.subscription = FAKE_SUBSCRIPTION;
          node.wires = [
            [...((n.wires as string[][])[0] ?? []).filter((w) => !w.includes("debug")), "events"],
          ];
        }
        if (n.type === "nest-restream") {
          Object.assign(node, { target: "custom", url: `${rtmp.url}/doorbell`, wires: [["states"]] });
        }
        return node;
      });
    flow.push({ id: "events", type: "helper", z: "f1" }, { id: "states", type: "helper", z: "f1" });
    await helper.load(nodes, [{ id: "f1", type: "tab" }, ...flow], {
      [accountId]: { ...FAKE_CREDENTIALS, refreshToken },
    });
    const events = collect<EventMsg>("events");
    await waitFor(
      () => fake.calls.some((c) => c.endpoint === "pubsub.pull" && c.status === 200),
      15_000,
      "pulling",
    );
    assert.equal(fake.commands("GenerateRtspStream").length, 0, "nothing streams before a press");
    fake.pubsub.subscription().duplicates = 1;
    fake.pubsub.doorbellPress("door-legacy");
    await waitFor(() => events.length >= 1, 15_000, "the chime");
    await rtmp.waitForPublish("doorbell", 45_000);
    const generated = fake.commands("GenerateRtspStream");
    assert.equal(generated.length, 1, "one stream for one press");
    assert.equal(generated[0].deviceId, "door-legacy", "the camera that rang");
    assert.equal(events.length, 1);
    assert.equal(listProcesses("ffmpeg", "/doorbell").length, 1);
    await helper.unload();
    await waitFor(() => listProcesses("ffmpeg", "/doorbell").length === 0, 15_000, "no ffmpeg left");
  });
});
