import assert from "node:assert/strict";
import { FAKE_DEFAULTS, FakeGoogle } from "../fixtures/fake-google";
import { builtNode, helper, nodeRedMajor, startServer, stopServer } from "../support/node-red";
import { assertNoSecrets } from "../support/secrets";
import { ACCOUNT_CREDENTIALS, accountNode as accountConfig } from "../support/flows";

const accountNode = builtNode("nest-account");

interface LogEvent {
  level: number;
  msg?: unknown;
  type?: string;
}

describe(`nest-account node (Node-RED ${nodeRedMajor})`, function () {
  let fake: FakeGoogle;

  before(async () => {
    // Google's list limit (5 a minute) is tested in the unit tests; here every test lists.
    fake = await FakeGoogle.start({ rateLimits: false });
    await startServer(fake.env());
  });
  after(async () => {
    await stopServer();
    await fake.stop();
  });
  afterEach(async () => {
    await helper.unload();
    fake.clearCalls();
    fake.clearFaults();
  });

  const flow = [accountConfig({ name: "Home" })];
  const goodCredentials = ACCOUNT_CREDENTIALS;

  it("runs on the Node-RED major it claims to test", () => {
    assert.equal(Number(String(helper._RED.version()).split(".")[0]), nodeRedMajor);
  });

  it("loads with its credentials and lists the cameras through the admin endpoint", async () => {
    await helper.load(accountNode, flow, goodCredentials);
    const res = await helper.request().get("/nest-restream/accounts/acc/cameras").expect(200);
    const cameras = res.body.cameras as {
      id: string;
      displayName: string;
      room?: string;
      protocols: string[];
    }[];
    const front = cameras.find((c) => c.id === "cam-front");
    assert.ok(front, JSON.stringify(res.body));
    assert.equal(front.displayName, "Front Door");
    assert.deepEqual(front.protocols, ["RTSP"]);
    const webrtc = cameras.find((c) => c.id === "cam-webrtc");
    assert.deepEqual(webrtc?.protocols, ["WEB_RTC"]);
    const cam = cameras.find((c) => c.id === "cam-garden") as unknown as {
      room: string;
      resolution?: object;
    };
    assert.equal(cam.room, "Garden");
    assert.ok(cam.resolution, "resolution is listed for the picker");
    assertNoSecrets([res.text], [FAKE_DEFAULTS.clientSecret, FAKE_DEFAULTS.refreshToken]);
    // One refresh and one list: the account did not refresh per request.
    assert.equal(fake.calls.filter((c) => c.endpoint === "token").length, 1);
  });

  it("shares one access token between callers", async () => {
    await helper.load(accountNode, flow, goodCredentials);
    await Promise.all(
      [1, 2, 3].map(() => helper.request().get("/nest-restream/accounts/acc/cameras").expect(200)),
    );
    assert.equal(fake.calls.filter((c) => c.endpoint === "token").length, 1);
  });

  it("a redeployed account counts in the command window its predecessor used (Google's does not reset)", async () => {
    fake.resetRateLimits();
    type Budget = { acquire(): Promise<void>; stats(): { used: number } };
    const budgetOf = () =>
      (helper.getNode("acc") as unknown as { account(): { budget: Budget } }).account().budget;
    await helper.load(accountNode, flow, goodCredentials);
    for (let i = 0; i < 3; i++) await budgetOf().acquire();
    await helper.unload();
    await helper.load(accountNode, flow, goodCredentials);
    assert.equal(budgetOf().stats().used, 3, "the three commands still count");
    // A new window at Google (the fake's reset) is a new window here too.
    fake.resetRateLimits();
    await helper.unload();
    await helper.load(accountNode, flow, goodCredentials);
    assert.equal(budgetOf().stats().used, 0);
  });

  it("lists cameras with credentials typed in the dialog before a deploy", async () => {
    const res = await helper
      .request()
      .post("/nest-restream/cameras")
      .send({ projectId: FAKE_DEFAULTS.projectId, ...goodCredentials.acc })
      .expect(200);
    assert.ok((res.body.cameras as { id: string }[]).some((c) => c.id === "cam-front"));
  });

  it("takes unchanged password fields from the deployed credentials", async () => {
    await helper.load(accountNode, flow, goodCredentials);
    const res = await helper
      .request()
      .post("/nest-restream/cameras")
      .send({
        id: "acc",
        projectId: FAKE_DEFAULTS.projectId,
        clientId: FAKE_DEFAULTS.clientId,
        clientSecret: "__PWRD__",
        refreshToken: "__PWRD__",
      })
      .expect(200);
    assert.ok(Array.isArray(res.body.cameras));
  });

  it("reports missing credentials clearly without asking Google", async () => {
    await helper.load(accountNode, flow, { acc: { clientId: FAKE_DEFAULTS.clientId } });
    const res = await helper.request().get("/nest-restream/accounts/acc/cameras").expect(400);
    assert.equal(res.body.code, "CREDENTIALS");
    assert.match(res.body.error, /client secret/i);
    assert.match(res.body.error, /refresh token/i);
    assert.equal(fake.calls.length, 0);
  });

  it("reports a malformed project id without asking Google", async () => {
    await helper.load(accountNode, [{ ...flow[0], projectId: "enterprises/x y" }], goodCredentials);
    const res = await helper.request().get("/nest-restream/accounts/acc/cameras").expect(400);
    assert.match(res.body.error, /project/i);
    assert.equal(fake.calls.length, 0);
  });

  it("turns invalid_grant into advice, with no secret in the answer or the log", async () => {
    fake.fail("invalid_grant", 1);
    await helper.load(accountNode, flow, goodCredentials);
    const res = await helper.request().get("/nest-restream/accounts/acc/cameras").expect(502);
    assert.equal(res.body.code, "invalid_grant");
    assert.match(res.body.error, /Authorize/);
    assert.match(res.body.error, /In production/);
    const logs = (helper.log().args as LogEvent[][]).map((a) => a[0]);
    assertNoSecrets([res.text, ...logs], [FAKE_DEFAULTS.clientSecret, FAKE_DEFAULTS.refreshToken]);
  });

  it("turns invalid_client into advice", async () => {
    await helper.load(accountNode, flow, {
      acc: { ...goodCredentials.acc, clientSecret: "GOCSPX-wrong-secret-1" },
    });
    const res = await helper.request().get("/nest-restream/accounts/acc/cameras").expect(502);
    assert.equal(res.body.code, "invalid_client");
    assert.match(res.body.error, /client ID and client secret/);
    assertNoSecrets([res.text], ["GOCSPX-wrong-secret-1"]);
  });

  it("answers 404 for an account that is not deployed", async () => {
    const res = await helper.request().get("/nest-restream/accounts/nope/cameras").expect(404);
    assert.match(res.body.error, /deploy/i);
  });
});
