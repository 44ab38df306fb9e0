import assert from "node:assert/strict";
import { truncate } from "../../src/format";
import { FAKE_DEFAULTS, FakeGoogle } from "../fixtures/fake-google";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { RtspClient } from "../../src/rtsp/rtsp-client";
import { createFakeWebRtcCamera, type FakeWebRtcCamera } from "../fixtures/fake-webrtc-camera";
import { RtspEdge, selfSignedCert } from "../fixtures/rtsp-edge";
import { freePort } from "../fixtures/ports";
import { RtspSource } from "../fixtures/rtsp-source";
import {
  builtNode,
  collect as collectFrom,
  doneNodes,
  handledNodes,
  helper,
  nodeRedMajor,
  startServer,
  stopServer,
} from "../support/node-red";
import { basicAnswer } from "../support/rtsp-digest";
import { parseStreamCommand, StreamCommandError } from "../../src/stream/stream-command";
import { builtCatalog, lookup } from "../support/catalog";
import { assertNoSecrets } from "../support/secrets";
import { waitFor } from "../support/wait";
import type { StreamMsg } from "../support/messages";
import { ACCOUNT_CREDENTIALS, accountNode } from "../support/flows";
import type { NestAccountNode } from "../../nodes/nest-account";

const nodes = [builtNode("nest-account"), builtNode("nest-stream")];

interface TestNode {
  receive(msg: object): void;
  on(event: string, fn: (arg: never) => void): void;
  status: { args: { text?: string; fill?: string }[][] } & ((...a: unknown[]) => void);
  error: { args: unknown[][] };
}

describe(`nest-stream node (Node-RED ${nodeRedMajor})`, function () {
  this.timeout(30_000);
  let fake: FakeGoogle;
  let camera: FakeWebRtcCamera;

  before(async () => {
    // The WebRTC-only camera answers with synthetic H.264 and Opus (no ffmpeg needed).
    camera = createFakeWebRtcCamera({ media: "synthetic" });
    // Streams live 3 s here, so extends come every couple of seconds.
    fake = await FakeGoogle.start({ streamLifetimeS: 3, webrtcAnswerer: camera.answerer });
    await startServer(fake.env());
  });
  after(async () => {
    await stopServer();
    await fake.stop();
    await camera.stop();
  });
  afterEach(async () => {
    await helper.unload();
    fake.clearCalls();
    fake.clearFaults();
    // Each test opens a fresh account (and budget); Google's window would otherwise carry over.
    fake.resetRateLimits();
    fake.setOffline("cam-front", false);
  });

  const credentials = ACCOUNT_CREDENTIALS;
  function flow(extra: object = {}, deviceId = "cam-front") {
    return [
      accountNode(),
      { id: "s", type: "nest-stream", account: "acc", deviceId, wires: [["out"]], ...extra },
      { id: "out", type: "helper" },
    ];
  }
  const collect = () => collectFrom<StreamMsg>("out");
  const node = () => helper.getNode("s") as TestNode;
  const statusTexts = () => node().status.args.map((a) => a[0]?.text ?? "");
  const errors = () => node().error.args.map((a) => String((a[0] as Error)?.message ?? a[0]));

  it("starts on a message, emits the URL, extends it, and stops at Google", async () => {
    await helper.load(nodes, flow(), credentials);
    const msgs = collect();
    node().receive({ payload: "start" });
    const started = await waitFor(() => msgs.find((m) => m.stream.event === "started"), 5000, "started");
    if (!started) throw new Error("unreachable");
    assert.match(started.payload ?? "", /^rtsps:\/\/.+\/sdm_live_stream\/.+\?auth=/);
    assert.equal(started.topic, "cam-front");
    assert.equal(started.stream.camera, "Front Door");
    assert.equal(started.stream.protocol, "RTSP");
    assert.ok(Date.parse(started.stream.expiresAt ?? "") > Date.now());

    await waitFor(() => msgs.filter((m) => m.stream.event === "extended").length >= 2, 10_000, "two extends");
    const extended = msgs.filter((m) => m.stream.event === "extended");
    assert.notEqual(extended[0].payload, started.payload, "an extend carries the new token");
    assert.ok(
      statusTexts().some((t) => /^Front Door: live \(RTSP\), \d+:\d\d left$/.test(t)),
      statusTexts().join(" | "),
    );

    node().receive({ payload: "stop" });
    const stopped = await waitFor(() => msgs.find((m) => m.stream.event === "stopped"), 5000, "stopped");
    assert.equal(stopped?.payload, null);
    await waitFor(() => fake.commands("StopRtspStream").length === 1, 5000, "StopRtspStream");
    assert.equal(fake.commands("GenerateRtspStream").length, 1);
  });

  it("accepts Home Assistant's true/false and on/off", async () => {
    await helper.load(nodes, flow(), credentials);
    const msgs = collect();
    node().receive({ payload: true });
    await waitFor(() => msgs.find((m) => m.stream.event === "started"), 5000, "started");
    node().receive({ payload: "off" });
    await waitFor(() => msgs.find((m) => m.stream.event === "stopped"), 5000, "stopped");
    node().receive({ payload: "on" });
    await waitFor(() => msgs.filter((m) => m.stream.event === "started").length === 2, 5000, "second start");
    node().receive({ payload: false });
    await waitFor(() => msgs.filter((m) => m.stream.event === "stopped").length === 2, 5000, "second stop");
  });

  it("rejects bad input with what is accepted and leaves the stream running", async () => {
    await helper.load(nodes, flow({ startOnDeploy: true }), credentials);
    const msgs = collect();
    await waitFor(() => msgs.find((m) => m.stream.event === "started"), 5000, "started on deploy");
    const generates = fake.commands("GenerateRtspStream").length;
    const refused: { payload: unknown; deviceId?: unknown }[] = [
      ...["go", 42, { a: 1 }].map((payload) => ({ payload })),
      { payload: "start", deviceId: "../../etc" },
    ];
    for (const msg of refused) node().receive(msg);
    await waitFor(() => errors().length >= 4, 5000, "four errors");
    for (const e of errors()) assert.match(e, /"start", "stop", "restart", true, false, "on" or "off"/);
    // The words are the catalog's, with what came instead.
    const text = lookup(builtCatalog("nest-stream"), "nest-stream.errors.input") ?? "";
    refused.forEach((msg, i) => {
      const got = (() => {
        try {
          parseStreamCommand(msg.payload, msg.deviceId);
        } catch (err) {
          if (err instanceof StreamCommandError) return err.got;
        }
        return "";
      })();
      assert.ok(got, "the core refuses it too");
      assert.equal(errors()[i], text.replace("__got__", got));
    });
    assert.equal(fake.commands("StopRtspStream").length, 0);
    assert.equal(fake.commands("GenerateRtspStream").length, generates);
    assert.ok(!msgs.some((m) => m.stream.event === "stopped"));
  });

  it('serve "local": an RTSP camera at a stable local URL, one upstream session for two readers, across extends', async () => {
    const source = await RtspSource.start({ mounts: [{ path: "/cam-aac", audio: "aac" }] });
    const edge = await RtspEdge.start({ authority: fake, tls: true });
    const caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "nest-stream-ca-")), "ca.pem");
    fs.writeFileSync(caFile, (await selfSignedCert()).cert);
    process.env.NEST_RESTREAM_RTSPS_CA_FILE = caFile;
    fake.mediaUrl = source.url("/cam-aac");
    const base = fake.rtspEdgeBase;
    fake.setRtspEdgeBase(edge.baseUrl);
    const readers: RtspClient[] = [];
    try {
      await helper.load(nodes, flow({ serve: "local", rtspPort: "0" }), credentials);
      const msgs = collect();
      node().receive({ payload: "start" });
      const started = await waitFor(() => msgs.find((m) => m.stream.event === "started"), 10_000, "started");
      assert.match(started.payload ?? "", /^rtsp:\/\/127\.0\.0\.1:\d+\/cam-front$/);
      assert.equal(started.stream.protocol, "RTSP");
      assert.equal(started.stream.camera, "Front Door");
      const packets = [0, 0];
      for (const i of [0, 1]) {
        const reader = new RtspClient({ url: started.payload ?? "" });
        readers.push(reader);
        reader.on("rtp", (kind) => {
          if (kind === "video") packets[i]++;
        });
        const media = await reader.open();
        assert.equal(media.video?.encoding, "H264");
        assert.match(media.audio?.encoding ?? "", /^mpeg4-generic$/i);
      }
      await waitFor(
        () => msgs.filter((m) => m.stream.event === "extended").length >= 2,
        15_000,
        "two extends",
      );
      const mark = [...packets];
      await waitFor(
        () => packets[0] > mark[0] + 20 && packets[1] > mark[1] + 20,
        10_000,
        "media after extends",
      );
      for (const m of msgs.filter((m) => m.stream.event === "extended"))
        assert.equal(m.payload, started.payload);
      assert.equal(edge.stats.accepted, 1, "one upstream session for both readers");
      assert.equal(readers.filter((r) => r.isPlaying).length, 2);
      const texts = [...msgs, ...statusTexts(), ...errors()];
      for (const t of texts) assert.doesNotMatch(JSON.stringify(t), /auth=/);
      assertNoSecrets(
        texts,
        edge.openSessions().map((s) => s.token),
      );
      assert.ok(
        statusTexts().some((t) => /^Front Door: live \(RTSP\)/.test(t)),
        statusTexts().join(" | "),
      );

      node().receive({ payload: "stop" });
      const stopped = await waitFor(() => msgs.find((m) => m.stream.event === "stopped"), 5000, "stopped");
      assert.equal(stopped.payload, null);
      await waitFor(() => fake.commands("StopRtspStream").length === 1, 5000, "StopRtspStream");
      await waitFor(() => edge.sessions === 0, 5000, "the upstream session closed");
      await waitFor(() => readers.every((r) => !r.isPlaying), 5000, "local readers disconnected");
    } finally {
      for (const r of readers) r.close();
      fake.mediaUrl = undefined;
      fake.setRtspEdgeBase(base);
      delete process.env.NEST_RESTREAM_RTSPS_CA_FILE;
      await helper.unload();
      await Promise.all([edge.stop(), source.stop()]);
    }
  });

  it("streams a WebRTC-only camera as a local rtsp:// URL through the bridge, and stops it at Google", async () => {
    // rtspPort 0: any free port, so the test never competes for 8554.
    await helper.load(nodes, flow({ rtspPort: "0" }, "cam-webrtc"), credentials);
    const msgs = collect();
    node().receive({ payload: "start" });
    const started = await waitFor(() => msgs.find((m) => m.stream.event === "started"), 10_000, "started");
    if (!started) throw new Error("unreachable");
    assert.match(started.payload ?? "", /^rtsp:\/\/127\.0\.0\.1:\d+\/cam-webrtc$/);
    assert.equal(started.topic, "cam-webrtc");
    assert.equal(started.stream.protocol, "WEB_RTC");
    assert.equal(started.stream.camera, "Driveway");
    assert.equal(started.stream.url, started.payload);
    assert.ok(Date.parse(started.stream.expiresAt ?? "") > Date.now());
    assert.equal(fake.commands("GenerateWebRtcStream").length, 1);
    assert.equal(fake.commands("GenerateRtspStream").length, 0);
    await waitFor(
      () => statusTexts().some((t) => /^Driveway: live \(WebRTC\), \d+:\d\d left$/.test(t)),
      5000,
      "live (WebRTC) status",
    );
    assert.deepEqual(errors(), []);

    node().receive({ payload: "stop" });
    const stopped = await waitFor(() => msgs.find((m) => m.stream.event === "stopped"), 5000, "stopped");
    assert.equal(stopped?.payload, null);
    assert.equal(stopped?.stream.protocol, "WEB_RTC");
    await waitFor(() => fake.commands("StopWebRtcStream").length === 1, 5000, "StopWebRtcStream");

    // On redeploy too.
    node().receive({ payload: "start" });
    await waitFor(() => msgs.filter((m) => m.stream.event === "started").length === 2, 10_000, "restarted");
    await helper.unload();
    assert.equal(fake.commands("StopWebRtcStream").length, 2);
  });

  it("forcing RTSP on a WebRTC-only camera names it with what to do, and keeps accepting commands", async () => {
    await helper.load(nodes, flow({ protocol: "RTSP" }, "cam-webrtc"), credentials);
    const msgs = collect();
    node().receive({ payload: "start" });
    await waitFor(() => errors().some((e) => /Driveway/.test(e) && /WebRTC/.test(e)), 5000, "WebRTC error");
    const error = errors().find((e) => /Driveway/.test(e)) ?? "";
    assert.match(
      error,
      /offers only WebRTC, so it cannot stream via RTSP: set Protocol to "auto" or "WebRTC"/,
    );
    assert.equal(fake.commands("GenerateRtspStream").length, 0);
    assert.equal(fake.commands("GenerateWebRtcStream").length, 0);
    assert.ok(node().status.args.some((a) => a[0]?.fill === "red"));
    // Still takes commands: switch to an RTSP camera.
    node().receive({ payload: "start", deviceId: "cam-front" });
    const started = await waitFor(
      () => msgs.find((m) => m.stream.event === "started"),
      5000,
      "started on the other camera",
    );
    assert.equal(started?.stream.protocol, "RTSP");
  });

  it("rejects an RTSP port that is not a port, saying what it takes", async () => {
    await helper.load(nodes, flow({ rtspPort: "85x4", startOnDeploy: true }, "cam-webrtc"), credentials);
    await waitFor(() => errors().some((e) => /RTSP port/.test(e)), 5000, "port error");
    assert.match(
      errors()[0],
      /RTSP port must be a number from 0 to 65535 \(0 = any free port\) or empty for 8554/,
    );
    assert.equal(fake.commands().length, 0);
  });

  it("explains an unknown device and a device that is not a camera", async () => {
    await helper.load(nodes, flow({}, "no-such-cam"), credentials);
    node().receive({ payload: "start" });
    await waitFor(() => errors().some((e) => /no-such-cam/.test(e)), 5000, "not found error");
    node().receive({ payload: "start", deviceId: "thermostat-hall" });
    await waitFor(() => errors().some((e) => /not a camera|thermostat/i.test(e)), 5000, "not a camera error");
  });

  it("retries an offline camera and goes live when it is back", async () => {
    fake.setOffline("cam-front", true);
    await helper.load(nodes, flow(), credentials);
    const msgs = collect();
    node().receive({ payload: "start" });
    await waitFor(
      () => statusTexts().some((t) => /retrying/.test(t) && /offline/i.test(t)),
      8000,
      "retrying: offline",
    );
    fake.setOffline("cam-front", false);
    await waitFor(
      () => msgs.find((m) => m.stream.event === "started"),
      15_000,
      "started after coming online",
    );
  });

  it("applies commands in order: a camera switch stops the old stream first, a stop right after is not lost", async () => {
    await helper.load(nodes, flow({ startOnDeploy: true }), credentials);
    const msgs = collect();
    await waitFor(() => msgs.find((m) => m.stream.event === "started"), 5000, "started");
    node().receive({ payload: "start", deviceId: "cam-garden" });
    node().receive({ payload: "stop" });
    // The stop comes after the switch: the garden camera's start is cancelled (and any stream Google
    // made for it stopped), so readers see the front camera stop and nothing after.
    await waitFor(() => msgs.some((m) => m.stream.event === "stopped"), 10_000, "the front camera stops");
    await waitFor(
      () => fake.rtspStreams().every((st) => !st.alive),
      10_000,
      "nothing left running at Google",
    );
    // An ordering barrier: commands apply in order, so once this start's "started" is out, anything the
    // switch or the stop before it would have sent has been sent.
    node().receive({ payload: "start", deviceId: "cam-front" });
    await waitFor(() => msgs.length >= 3, 10_000, "the front camera started again");
    assert.deepEqual(
      msgs.map((m) => `${m.stream.event} ${m.topic}`),
      ["started cam-front", "stopped cam-front", "started cam-front"],
    );
    assert.ok(
      fake.rtspStreams("cam-garden").every((st) => !st.alive),
      "no garden stream",
    );
  });

  it("treats the full device name and the short id as the same camera", async () => {
    await helper.load(
      [...nodes, ...doneNodes()],
      [...flow({ startOnDeploy: true }), ...handledNodes("s")],
      credentials,
    );
    const msgs = collect();
    const handled = collectFrom<object>("s-handled");
    await waitFor(() => msgs.find((m) => m.stream.event === "started"), 5000, "started");
    node().receive({
      payload: "start",
      deviceId: `enterprises/${FAKE_DEFAULTS.projectId}/devices/cam-front`,
    });
    // Handled (done()): a switch to another camera would have stopped this one (sent "stopped") by now.
    await waitFor(() => handled.length === 1, 10_000, "the start handled");
    assert.equal(fake.commands("GenerateRtspStream").length, 1, "no second stream for the same camera");
    assert.deepEqual(
      msgs.map((m) => `${m.stream.event} ${m.topic}`),
      ["started cam-front"],
    );
  });

  it("says what is missing: no account, no camera (texts from the node's catalog)", async () => {
    await helper.load(nodes, [{ id: "s", type: "nest-stream", deviceId: "cam-front", wires: [] }], {});
    assert.deepEqual(node().status.args.at(-1)?.[0], { fill: "red", shape: "ring", text: "no account" });
    node().receive({ payload: "start" });
    const noAccount = "nest-stream has no nest-account: open the node and choose or add an account.";
    await waitFor(() => errors().includes(noAccount), 5000, "no account error");
    assert.equal(statusTexts().at(-1), truncate(noAccount));
    await helper.unload();
    await helper.load(nodes, flow({}, ""), credentials);
    node().receive({ payload: "start" });
    const noCamera =
      'nest-stream has no camera: set a device id in the node or send msg.deviceId with "start".';
    await waitFor(() => errors().includes(noCamera), 5000, "no camera error");
    assert.equal(statusTexts().at(-1), truncate(noCamera));
    assert.equal(fake.commands().length, 0);
  });

  it("stops the stream at Google when Node-RED stops the flows", async () => {
    await helper.load(nodes, flow({ startOnDeploy: true }), credentials);
    const msgs = collect();
    await waitFor(() => msgs.find((m) => m.stream.event === "started"), 5000, "started");
    await helper.unload();
    assert.equal(fake.commands("StopRtspStream").length, 1);
  });

  it("a full redeploy hands the live session to the new node: no StopRtspStream, no second GenerateRtspStream", async () => {
    await helper.load(nodes, flow({ startOnDeploy: true }), credentials);
    const before = collect();
    const started = await waitFor(() => before.find((m) => m.stream.event === "started"), 5000, "started");
    await helper.setFlows(flow({ startOnDeploy: true }), "full", credentials);
    const after = collect();
    const adopted = await waitFor(() => after.find((m) => m.stream.event === "started"), 5000, "adopted");
    const id = (url: string | null | undefined) => /\/sdm_live_stream\/([^?]+)/.exec(url ?? "")?.[1];
    assert.equal(id(adopted?.payload), id(started?.payload), "the same stream");
    assert.equal(fake.commands("StopRtspStream").length, 0);
    assert.equal(fake.commands("GenerateRtspStream").length, 1);
    // The new node extends it on (3 s streams): with the handed-over token.
    await waitFor(() => after.filter((m) => m.stream.event === "extended").length >= 2, 10_000, "extends");
    assert.equal(fake.calls.filter((c) => c.status >= 400).length, 0, "Google refused nothing");
    await helper.unload();
    assert.equal(fake.commands("StopRtspStream").length, 1, "Node-RED stopping stops it at once");
  });

  it("a node removed by a deploy stops its stream at Google at once", async () => {
    await helper.load(nodes, flow({ startOnDeploy: true }), credentials);
    const msgs = collect();
    await waitFor(() => msgs.find((m) => m.stream.event === "started"), 5000, "started");
    await helper.setFlows([accountNode()], "full", credentials);
    await waitFor(() => fake.commands("StopRtspStream").length === 1, 5000, "StopRtspStream");
  });

  it("keeps several cameras of one account within the shared budget", async () => {
    // Five cameras with 3 s streams need far more than 10 commands a minute: they must queue, not fail.
    for (let i = 0; i < 3; i++) fake.addDevice({ id: `cam-extra-${i}`, customName: `Extra ${i}` });
    const streams = ["cam-front", "cam-garden", "cam-extra-0", "cam-extra-1", "cam-extra-2"];
    await helper.load(
      nodes,
      [
        { id: "acc", type: "nest-account", projectId: FAKE_DEFAULTS.projectId },
        ...streams.map((d, i) => ({
          id: `s${i}`,
          type: "nest-stream",
          account: "acc",
          deviceId: d,
          startOnDeploy: true,
          wires: [],
        })),
      ],
      credentials,
    );
    // The budget used up and cameras waiting in its queue: they queue, they are not sent (nor fail).
    const budget = () => (helper.getNode("acc") as unknown as NestAccountNode).account().budget.stats();
    await waitFor(
      () => budget().used >= 10 && budget().queued >= 1,
      20_000,
      `a full budget with callers waiting (${JSON.stringify(budget())})`,
    );
    assert.ok(fake.commands().length >= 10, `commands sent: ${fake.commands().length}`);
    assert.ok(
      fake.maxCommandsInAnyWindow(60_000) <= 10,
      `max in a minute: ${fake.maxCommandsInAnyWindow(60_000)}`,
    );
    assert.equal(fake.calls.filter((c) => c.status === 429).length, 0);
    await helper.unload();
    for (let i = 0; i < 3; i++) fake.removeDevice(`cam-extra-${i}`);
  });

  /** Sends one DESCRIBE (with an Authorization header if given) to an rtsp:// URL; resolves its status. */
  function describeStatus(url: string, authorization?: string): Promise<number> {
    const u = new URL(url);
    const plain = `rtsp://${u.host}${u.pathname}`;
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(u.port), u.hostname, () => {
        const auth = authorization ? `Authorization: ${authorization}\r\n` : "";
        socket.write(`DESCRIBE ${plain} RTSP/1.0\r\nCSeq: 1\r\n${auth}\r\n`);
      });
      let text = "";
      socket.on("data", (d: Buffer) => {
        text += d.toString("latin1");
        const m = /^RTSP\/1\.0 (\d{3}) /.exec(text);
        if (m && text.includes("\r\n\r\n")) {
          socket.destroy();
          resolve(Number(m[1]));
        }
      });
      socket.once("error", reject);
    });
  }

  it("rtspUser and rtspPassword: the URL carries them, readers must give them, the password never shows", async () => {
    const password = "Pass word/1@x";
    await helper.load(nodes, flow({ rtspPort: "0", rtspHost: "0.0.0.0" }, "cam-webrtc"), {
      ...credentials,
      s: { rtspUser: "ha", rtspPassword: password },
    });
    const msgs = collect();
    node().receive({ payload: "start" });
    const started = await waitFor(() => msgs.find((m) => m.stream.event === "started"), 10_000, "started");
    assert.match(started.payload ?? "", /^rtsp:\/\/ha:Pass%20word%2F1%40x@127\.0\.0\.1:\d+\/cam-webrtc$/);
    assert.equal(started.stream.url, started.payload);
    const url = started.payload ?? "";
    assert.equal(await describeStatus(url), 401);
    assert.equal(await describeStatus(url, basicAnswer("ha", "wrong")), 401);
    assert.equal(await describeStatus(url, basicAnswer("ha", password)), 200);
    await waitFor(() => statusTexts().some((t) => /live \(WebRTC\)/.test(t)), 5000, "live");
    // Bound to all interfaces, but with a password: no warning.
    assert.ok(!statusTexts().some((t) => /no RTSP password/.test(t)), statusTexts().join(" | "));
    node().receive({ payload: "stop" });
    await waitFor(() => msgs.some((m) => m.stream.event === "stopped"), 5000, "stopped");
    const logs = (helper.log().args as unknown[][]).map((a) => a[0]);
    assert.ok(!logs.some((l) => /beyond this machine/.test(String(l))));
    assertNoSecrets([...statusTexts(), ...logs, ...errors()], [password, encodeURIComponent(password)]);
  });

  it("two nodes on one RTSP port: each camera's path takes its own user and password", async () => {
    fake.addDevice({ id: "cam-webrtc-2", customName: "Porch", protocols: ["WEB_RTC"] });
    try {
      const port = String(await freePort());
      await helper.load(
        nodes,
        [
          accountNode(),
          ...[
            ["a", "cam-webrtc", "out"],
            ["b", "cam-webrtc-2", "out2"],
          ].map(([id, deviceId, out]) => ({
            id,
            type: "nest-stream",
            account: "acc",
            deviceId,
            rtspPort: port,
            startOnDeploy: true,
            wires: [[out]],
          })),
          { id: "out", type: "helper" },
          { id: "out2", type: "helper" },
        ],
        {
          ...credentials,
          a: { rtspUser: "ha", rtspPassword: "first-password" },
          b: { rtspUser: "frigate", rtspPassword: "second-password" },
        },
      );
      const first = collectFrom<StreamMsg>("out");
      const second = collectFrom<StreamMsg>("out2");
      const urlA =
        (await waitFor(() => first.find((m) => m.stream.event === "started"), 10_000, "a")).payload ?? "";
      const urlB =
        (await waitFor(() => second.find((m) => m.stream.event === "started"), 10_000, "b")).payload ?? "";
      assert.equal(new URL(urlA).port, port);
      assert.equal(new URL(urlB).port, port, "one server for both");
      assert.equal(await describeStatus(urlA, basicAnswer("ha", "first-password")), 200);
      assert.equal(await describeStatus(urlB, basicAnswer("frigate", "second-password")), 200);
      assert.equal(await describeStatus(urlA, basicAnswer("frigate", "second-password")), 401);
      assert.equal(await describeStatus(urlB, basicAnswer("ha", "first-password")), 401);
    } finally {
      await helper.unload();
      fake.removeDevice("cam-webrtc-2");
    }
  });

  it("warns in the log and the status when the local server listens beyond loopback without a password", async () => {
    await helper.load(nodes, flow({ rtspPort: "0", rtspHost: "0.0.0.0" }, "cam-webrtc"), credentials);
    const msgs = collect();
    node().receive({ payload: "start" });
    const started = await waitFor(() => msgs.find((m) => m.stream.event === "started"), 10_000, "started");
    assert.match(started.payload ?? "", /^rtsp:\/\/127\.0\.0\.1:\d+\/cam-webrtc$/);
    await waitFor(
      () => statusTexts().some((t) => /^Driveway: live \(WebRTC\).* · no RTSP password$/.test(t)),
      5000,
      "the status warning",
    );
    const live = node()
      .status.args.map((a) => a[0])
      .find((v) => /no RTSP password/.test(v?.text ?? ""));
    assert.equal(live?.fill, "yellow");
    const all = (helper.log().args as unknown[][]).map((a) => JSON.stringify(a[0]));
    assert.ok(
      all.some((l) => /0\.0\.0\.0, beyond this machine, and this camera has no password/.test(l)),
      all.join("\n"),
    );
  });

  it("refuses a user without a password (or the reverse), saying to set both, and a user with a colon", async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ rtspUser: "ha" }, /set both RTSP user and password, or neither/],
      [{ rtspPassword: "only-a-password" }, /set both RTSP user and password, or neither/],
      [{ rtspUser: "ha:admin", rtspPassword: "only-a-password" }, /the RTSP user takes no colon/],
    ];
    for (const [creds, error] of cases) {
      await helper.load(nodes, flow({ rtspPort: "0" }, "cam-webrtc"), { ...credentials, s: creds });
      node().receive({ payload: "start" });
      await waitFor(
        () => errors().some((e) => error.test(e)),
        5000,
        `the error for ${JSON.stringify(creds)}`,
      );
      assert.ok(
        statusTexts().some((t) => error.test(t)),
        statusTexts().join(" | "),
      );
      assertNoSecrets([...statusTexts(), ...errors()], ["only-a-password"]);
      await helper.unload();
    }
    assert.equal(fake.commands("GenerateWebRtcStream").length, 0);
  });

  it("never shows a token or secret in status, messages or logs", async () => {
    await helper.load(nodes, flow(), credentials);
    const msgs = collect();
    node().receive({ payload: "start" });
    await waitFor(() => msgs.some((m) => m.stream.event === "extended"), 8000, "an extend");
    node().receive({ payload: "stop" });
    await waitFor(() => msgs.some((m) => m.stream.event === "stopped"), 5000, "stopped");
    const logs = (helper.log().args as unknown[][]).map((a) => a[0]);
    // Every token the fake ever issued (each extend rotates them), and the access tokens too.
    const streamTokens = fake.sdm
      .rtspRecords("cam-front")
      .flatMap((r) => [...r.streamTokens, ...r.extensionTokens]);
    assert.ok(streamTokens.length >= 4, "the tokens of a generate and an extend");
    const oauthTokens = fake.oauth.issuedTokens();
    assert.ok(oauthTokens.length >= 2, "an access token and the refresh token");
    // A message's URL carries its stream token by design (msg.payload, msg.stream.url); nothing else may.
    const beyondUrls = msgs.map((m) =>
      JSON.stringify({ ...m, payload: null, stream: { ...m.stream, url: null } }),
    );
    assertNoSecrets(
      [...statusTexts(), ...logs, ...errors(), ...beyondUrls],
      [FAKE_DEFAULTS.clientSecret, FAKE_DEFAULTS.refreshToken, ...streamTokens, ...oauthTokens],
    );
    assertNoSecrets(msgs, [FAKE_DEFAULTS.clientSecret, ...oauthTokens]);
  });
});
