/**
 * The editor in a real browser: the palette, the Authorize helper of nest-account (both ways back
 * from Google), the camera picker of nest-stream, and a deployed flow going live. The fake Google
 * plays Google's side; Node-RED runs the way `npm start` runs it.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import type { Page, Request } from "playwright-core";
import { FAKE_DEFAULTS } from "../fixtures/fake-google";
import {
  authorizeViaCallback,
  closeAccount,
  deploy,
  openNode,
  openPage,
  screenshotPath,
  screenshotWorkspace,
  startEditor,
  waitForStatus,
  type Editor,
  type EditorRED,
} from "./harness";

const GOOGLE = "https://www.google.com";
declare const window: { RED: EditorRED };

describe("editor (browser)", function () {
  this.timeout(120_000);
  let ed: Editor;
  let page: Page;
  /** Authorization codes seen in the browser, to check that none reaches Node-RED's log. */
  const codes = new Set<string>();
  /** The admin requests of this package the editor made, as "METHOD path". */
  let adminCalls: string[] = [];

  before(async function () {
    // Chromium may still be being installed: the harness waits for it.
    this.timeout(15 * 60_000);
    ed = await startEditor();
    page = ed.page;
    ed.context.on("request", (req: Request) => {
      const code = new URL(req.url()).searchParams.get("code");
      if (code) codes.add(code);
      const u = new URL(req.url());
      if (u.pathname.includes("/nest-restream/")) adminCalls.push(`${req.method()} ${u.pathname}`);
    });
  });

  after(async () => {
    await ed?.stop();
  });

  beforeEach(async () => {
    ed.fake.allowedRedirectUris = undefined;
    ed.fake.clearFaults();
    adminCalls = [];
  });

  /** A fresh editor page: whatever was imported and not deployed before is gone. */
  async function freshPage(): Promise<Page> {
    page = await openPage(ed, page);
    return page;
  }

  async function importFlow(nodes: Record<string, unknown>[]): Promise<void> {
    await page.evaluate((flow) => {
      const RED = window.RED;
      const z = RED.workspaces.active();
      RED.view.importNodes(
        flow.map((n) => (n.type === "nest-account" ? n : { z, ...n })),
        { generateIds: false, touchImport: true },
      );
      // Importing places the nodes relative to the mouse: put them where the flow says.
      for (const n of flow) {
        const node = RED.nodes.node(n.id as string);
        if (node && typeof n.x === "number" && typeof n.y === "number") {
          node.x = n.x;
          node.y = n.y;
          node.dirty = true;
        }
      }
      RED.view.select("");
      RED.view.redraw(true);
    }, nodes);
  }

  const account = (id: string) => ({ id, type: "nest-account", name: "Home", projectId: "" });
  const stream = (id: string, accountId: string, extra: Record<string, unknown> = {}) => ({
    id,
    type: "nest-stream",
    name: "",
    account: accountId,
    deviceId: "",
    startOnDeploy: false,
    x: 220,
    y: 120,
    wires: [[]],
    ...extra,
  });

  const credentials = {
    projectId: FAKE_DEFAULTS.projectId,
    clientId: FAKE_DEFAULTS.clientId,
    clientSecret: FAKE_DEFAULTS.clientSecret,
  };

  /** Opens a nest-stream node's dialog. */
  async function openStream(id: string): Promise<void> {
    await openNode(page, id);
    await page.waitForSelector("#node-input-nest-list-cameras", { state: "visible" });
  }

  /** From the nest-stream dialog, opens its account's dialog and types the credentials. */
  async function openAccount(fields: { refreshToken?: string } = {}): Promise<void> {
    await page.click("#node-input-btn-account-edit");
    await page.waitForSelector("#node-config-nest-authorize", { state: "visible" });
    await page.fill("#node-config-input-projectId", credentials.projectId);
    await page.fill("#node-config-input-clientId", credentials.clientId);
    await page.fill("#node-config-input-clientSecret", credentials.clientSecret);
    if (fields.refreshToken) await page.fill("#node-config-input-refreshToken", fields.refreshToken);
  }

  async function authorize(): Promise<string> {
    const token = await authorizeViaCallback(ed, page);
    assert.equal(token, ed.fake.refreshToken);
    return token;
  }

  it("shows nest stream in the palette", async () => {
    const label = await page.textContent('.red-ui-palette-node[data-palette-type="nest-stream"]');
    assert.equal(label?.replace(/\s+/g, " ").trim(), "nest stream");
  });

  it("shows nest restream in the palette", async function () {
    const label = await page.textContent('.red-ui-palette-node[data-palette-type="nest-restream"]');
    assert.equal(label?.replace(/\s+/g, " ").trim(), "nest restream");
  });

  it("authorizes through this editor's callback and fills the refresh token (account not deployed)", async () => {
    await freshPage();
    await importFlow([account("acc-a"), stream("stream-a", "acc-a")]);
    await openStream("stream-a");
    await openAccount();
    const token = await authorize();
    // The account exists (imported): its dialog's button is Update.
    assert.match(
      (await page.textContent("#node-config-nest-auth-status")) ?? "",
      /Press Update, then Deploy/,
    );
    await closeAccount(page);
    const saved = await page.evaluate(() => window.RED.nodes.node("acc-a")?.credentials.refreshToken);
    assert.equal(saved, token);
    assert.ok(adminCalls.includes("POST /nest-restream/auth/start"), adminCalls.join(", "));
    assert.ok(adminCalls.includes("GET /nest-restream/auth/callback"), adminCalls.join(", "));
    assert.ok(adminCalls.includes("GET /nest-restream/auth/result"), adminCalls.join(", "));
  });

  it("tells to press Add when the account is new", async () => {
    await freshPage();
    await importFlow([stream("stream-new", "")]);
    await openStream("stream-new");
    // The + beside the account: a new nest-account.
    await page.click("#node-input-btn-account-add");
    await page.waitForSelector("#node-config-nest-authorize", { state: "visible" });
    await page.fill("#node-config-input-projectId", credentials.projectId);
    await page.fill("#node-config-input-clientId", credentials.clientId);
    await page.fill("#node-config-input-clientSecret", credentials.clientSecret);
    assert.equal((await page.textContent("#node-config-dialog-ok"))?.trim(), "Add");
    await authorize();
    assert.match((await page.textContent("#node-config-nest-auth-status")) ?? "", /Press Add, then Deploy/);
    await closeAccount(page);
  });

  it("authorizes with the pasted www.google.com address, and refuses it a second time", async () => {
    await freshPage();
    await importFlow([account("acc-b"), stream("stream-b", "acc-b")]);
    await openStream("stream-b");
    await openAccount();
    await page.selectOption("#node-config-nest-redirect", "google");
    assert.equal(await page.textContent("#node-config-nest-redirect-uri"), GOOGLE);
    await page.waitForSelector("#node-config-nest-paste", { state: "visible" });

    // The popup goes to Google, which redirects to www.google.com with the code: the address the
    // user copies from the address bar (the page itself is not reachable from a test).
    const landedOn = ed.context.waitForEvent("request", {
      predicate: (r) => r.url().startsWith(`${GOOGLE}/?`),
      timeout: 30_000,
    });
    const popupOpened = ed.context.waitForEvent("page");
    await page.click("#node-config-nest-authorize");
    const popup = await popupOpened;
    const landed = (await landedOn).url();
    assert.match(landed, /[?&]code=/);
    await popup.close();

    await page.fill("#node-config-nest-paste", landed);
    await page.click("#node-config-nest-paste-go");
    await page.waitForSelector('#node-config-nest-auth-status[data-kind="ok"]', { timeout: 30_000 });
    assert.equal(await page.inputValue("#node-config-input-refreshToken"), ed.fake.refreshToken);
    assert.equal(await page.inputValue("#node-config-nest-paste"), "", "the used address is cleared");

    // The same address again: its state was used.
    await page.fill("#node-config-nest-paste", landed);
    await page.click("#node-config-nest-paste-go");
    await page.waitForSelector('#node-config-nest-auth-status[data-kind="error"]');
    assert.match((await page.textContent("#node-config-nest-auth-status")) ?? "", /already used/);
  });

  it("authorizes a youtube-account at Google's standard page with the YouTube scope", async () => {
    await freshPage();
    await importFlow([
      { id: "yt-acc", type: "youtube-account", name: "Channel", dailyQuota: 10000 },
      { id: "yt-live", type: "youtube-live", account: "yt-acc", x: 220, y: 200, wires: [[], []] },
    ]);
    await openNode(page, "yt-live");
    await page.click("#node-input-btn-account-edit");
    await page.waitForSelector("#node-config-nest-authorize", { state: "visible" });
    await page.fill("#node-config-input-clientId", credentials.clientId);
    await page.fill("#node-config-input-clientSecret", credentials.clientSecret);
    const googlePages: URL[] = [];
    const seen = (req: Request) => {
      const u = new URL(req.url());
      if (u.pathname.endsWith("/o/oauth2/v2/auth")) googlePages.push(u);
    };
    ed.context.on("request", seen);
    try {
      const token = await authorizeViaCallback(ed, page, "nest-restream/youtube-auth");
      assert.equal(token, ed.fake.refreshToken);
    } finally {
      ed.context.off("request", seen);
    }
    assert.equal(googlePages.length, 1, "Google's standard authorization page");
    assert.equal(googlePages[0].searchParams.get("scope"), "https://www.googleapis.com/auth/youtube");
    assert.equal(googlePages[0].searchParams.get("access_type"), "offline");
    assert.equal(googlePages[0].searchParams.get("prompt"), "consent");
    await page.screenshot({ path: screenshotPath("youtube-account-authorized.png") });
    await closeAccount(page);
    const saved = await page.evaluate(() => window.RED.nodes.node("yt-acc")?.credentials.refreshToken);
    assert.equal(saved, ed.fake.refreshToken);
    assert.ok(adminCalls.includes("POST /nest-restream/youtube-auth/start"), adminCalls.join(", "));
  });

  it("nest events: in the palette, keeps the ticked event types, and Camera events adds the Pub/Sub scope", async () => {
    const label = await page.textContent('.red-ui-palette-node[data-palette-type="nest-events"]');
    assert.equal(label?.replace(/\s+/g, " ").trim(), "nest events");
    await freshPage();
    await importFlow([
      account("acc-ev"),
      {
        id: "ev-1",
        type: "nest-events",
        account: "acc-ev",
        subscription: "projects/my-gcp/subscriptions/nest",
        deviceId: "",
        events: ["chime"],
        x: 220,
        y: 120,
        wires: [[]],
      },
    ]);
    await openNode(page, "ev-1");
    assert.equal(await page.isChecked("#node-input-event-chime"), true);
    assert.equal(await page.isChecked("#node-input-event-motion"), false);
    await page.check("#node-input-event-person");
    await openAccount();
    assert.equal(await page.isChecked("#node-config-input-pubsub"), false);
    await page.check("#node-config-input-pubsub");
    const googlePages: URL[] = [];
    const seen = (req: Request) => {
      const u = new URL(req.url());
      if (/\/partnerconnections\/.+\/auth$/.test(u.pathname)) googlePages.push(u);
    };
    ed.context.on("request", seen);
    try {
      await authorize();
    } finally {
      ed.context.off("request", seen);
    }
    assert.equal(googlePages.length, 1);
    assert.equal(
      googlePages[0].searchParams.get("scope"),
      "https://www.googleapis.com/auth/sdm.service https://www.googleapis.com/auth/pubsub",
    );
    await closeAccount(page);
    await page.click("#node-dialog-ok");
    await page.waitForSelector("#node-dialog-ok", { state: "detached" });
    const saved = await page.evaluate(() => ({
      events: window.RED.nodes.node("ev-1")?.events,
      pubsub: window.RED.nodes.node("acc-ev")?.pubsub,
    }));
    assert.deepEqual(saved, { events: ["person", "chime"], pubsub: true });
  });

  it("says what is missing before authorizing", async () => {
    await freshPage();
    await importFlow([account("acc-c"), stream("stream-c", "acc-c")]);
    await openStream("stream-c");
    await page.click("#node-input-btn-account-edit");
    await page.waitForSelector("#node-config-nest-authorize", { state: "visible" });
    await page.fill("#node-config-input-clientId", FAKE_DEFAULTS.clientId);
    const pages = ed.context.pages().length;
    await page.click("#node-config-nest-authorize");
    await page.waitForSelector('#node-config-nest-auth-status[data-kind="error"]');
    assert.match(
      (await page.textContent("#node-config-nest-auth-status")) ?? "",
      /Project ID, Client secret/,
    );
    assert.equal(ed.context.pages().length, pages, "no window opened");

    // Filling the fields: the message names only those still empty, then goes.
    await page.fill("#node-config-input-projectId", credentials.projectId);
    assert.equal(
      await page.textContent("#node-config-nest-auth-status"),
      "To authorize, fill in the Client secret first.",
    );
    await page.fill("#node-config-input-clientSecret", credentials.clientSecret);
    await page.waitForSelector("#node-config-nest-auth-status", { state: "hidden" });
    assert.equal(await page.textContent("#node-config-nest-auth-status"), "");
    await page.dispatchEvent("#node-config-input-clientSecret", "change");
    await page.waitForSelector("#node-config-input-clientSecret:not(.input-error)");
    await page.screenshot({ path: screenshotPath("authorize-missing-cleared.png") });
    // Emptied again, nothing comes back until Authorize is pressed.
    await page.fill("#node-config-input-clientSecret", "");
    assert.ok(!(await page.isVisible("#node-config-nest-auth-status")));
  });

  it("says on hover why the server URL or the stream key is wrong (nest-restream)", async () => {
    await freshPage();
    await importFlow([
      {
        id: "restream-v",
        type: "nest-restream",
        name: "",
        target: "youtube-rtmps",
        audio: "auto",
        video: "copy",
        wires: [[], [], []],
      },
    ]);
    await openNode(page, "restream-v");
    /** The tooltip of an invalid field, as a user sees it when hovering it. */
    const tooltip = async (selector: string): Promise<string> => {
      await page.waitForSelector(`${selector}.input-error`, { timeout: 5000 });
      await page.mouse.move(0, 0);
      await page.waitForSelector(".red-ui-popover", { state: "detached" });
      await page.hover(selector);
      const popover = page.locator(".red-ui-popover");
      await popover.waitFor({ state: "visible" });
      return ((await popover.textContent()) ?? "").trim();
    };
    assert.equal(
      await tooltip("#node-input-streamKey"),
      "Stream key: YouTube needs the key of your stream (YouTube Studio → Go live → Stream key)",
    );
    await page.fill("#node-input-url", "ftp://a.rtmp.youtube.com/live2");
    await page.dispatchEvent("#node-input-url", "change");
    assert.equal(
      await tooltip("#node-input-url"),
      "Server URL: for YouTube, an rtmps://, rtmp:// or https:// address, or empty for YouTube's own",
    );
    await page.screenshot({ path: screenshotPath("tooltip-server-url.png") });
    // A custom server takes other addresses, and says which; the target alone changes the verdict.
    await page.selectOption("#node-input-target", "custom");
    assert.match(
      await tooltip("#node-input-url"),
      /^Server URL: an rtmp\(s\):\/\/, rtsp\(s\):\/\/, srt:\/\//,
    );
    await page.fill("#node-input-url", "srt://example.com:9000");
    await page.dispatchEvent("#node-input-url", "change");
    await page.waitForSelector("#node-input-url:not(.input-error)");
    await page.click("#node-dialog-cancel");
    await page.waitForSelector("#node-dialog-ok", { state: "detached" });
  });

  it("every validated field of our nodes says why it is invalid, in words from the catalog", async () => {
    await freshPage();
    // A value each validator refuses (empty for a required one).
    const bad: Record<string, Record<string, unknown>> = {
      "nest-account": { projectId: "my project/1" },
      "nest-stream": { account: "", deviceId: "", rtspPort: "99999" },
      "nest-restream": {
        url: "ftp://x",
        segmentSeconds: "ten",
        extraOutputs: "rtmp://h/app/KEY",
        snapshotSeconds: "x",
      },
      "nest-events": { account: "", subscription: "nest", deviceId: "a/b", imageWidth: "wide" },
      "youtube-account": { dailyQuota: "0" },
      "youtube-captions": { everySeconds: "0" },
      "youtube-live": { account: "", rotateHours: "13", pollSeconds: "5" },
      "youtube-upload": { account: "", categoryId: "people", chunkMiB: "0" },
    };
    const badCredentials: Record<string, Record<string, string>> = {
      "nest-account": { clientId: "", clientSecret: "a secret", refreshToken: "1//a b" },
      "nest-restream": { streamKey: "" },
      "youtube-account": { clientId: "", clientSecret: "" },
    };
    const found = await page.evaluate(
      ({ bad, badCredentials }) => {
        type Def = {
          _: (k: string) => string;
          defaults: Record<
            string,
            {
              validate?: (v: unknown, o: object) => unknown;
              label?: string;
              required?: boolean;
              type?: string;
            }
          >;
          credentials?: Record<
            string,
            { validate?: (v: unknown, o: object) => unknown; required?: boolean; label?: string }
          >;
        };
        const RED = window.RED as unknown as {
          nodes: { getType(t: string): Def; node(id: string): { validationErrors?: string[] } | undefined };
          view: { importNodes(n: unknown[], o: object): void };
          workspaces: { active(): string };
          editor: { validateNode(n: unknown): boolean };
        };
        const out: Record<string, { fields: string[]; errors: string[] }> = {};
        for (const [type, values] of Object.entries(bad)) {
          const def = RED.nodes.getType(type);
          // Every validated property of the type is in the table above.
          // (A config node reference is invalid when empty, required or not.)
          const fields = Object.keys(def.defaults).filter(
            (p) => def.defaults[p].validate || def.defaults[p].required || def.defaults[p].type,
          );
          const id = "v-" + type;
          const config = (def as unknown as { category: string }).category === "config";
          RED.view.importNodes(
            [
              {
                id,
                type,
                ...(config ? {} : { z: RED.workspaces.active(), x: 100, y: 100, wires: [] }),
                ...values,
              },
            ],
            { generateIds: false },
          );
          const node = RED.nodes.node(id);
          RED.editor.validateNode(node);
          const errors = [...(node?.validationErrors ?? [])];
          // Credentials are validated with the dialog open: ask their validators the way it does.
          for (const [prop, value] of Object.entries(badCredentials[type] ?? {})) {
            const c = (def.credentials ?? {})[prop];
            if (value === "" && c.required)
              errors.push(c.label ? c.label + ": property value missing" : prop);
            else if (c.validate) {
              const r = c.validate.call({ ...node, _: def._, credentials: {} }, value, {});
              errors.push(typeof r === "string" ? r : prop);
            }
          }
          for (const [prop, c] of Object.entries(def.credentials ?? {})) {
            if ((c.validate || c.required) && !(prop in (badCredentials[type] ?? {}))) fields.push(prop);
          }
          out[type] = { fields, errors };
        }
        return out;
      },
      { bad, badCredentials },
    );
    const problems: string[] = [];
    for (const [type, { fields, errors }] of Object.entries(found)) {
      for (const f of fields) {
        if (!(f in (bad[type] ?? {})) && !(f in (badCredentials[type] ?? {})))
          problems.push(`${type}.${f}: validated but not in this test's table`);
      }
      const expected = Object.keys(bad[type] ?? {}).length + Object.keys(badCredentials[type] ?? {}).length;
      if (errors.length !== expected)
        problems.push(`${type}: ${errors.length} errors for ${expected} bad values`);
      for (const e of errors) {
        // A reason is a sentence that names the field ("Label: …"), never a property name or a catalog key.
        if (!/^[A-Z][^:]*: \S/.test(e) || /\b[\w-]+\.(validation|errors|label)\.\w+/.test(e))
          problems.push(`${type}: "${e}"`);
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(found["nest-restream"].errors.includes("Segment (s): invalid number"));
    assert.ok(found["nest-account"].errors.includes("Client ID: property value missing"));
  });

  it("labels an account without a name by what it is, not by its project ID", async () => {
    await freshPage();
    await importFlow([
      { id: "acc-l", type: "nest-account", name: "", projectId: "0f3a9c2e-1b4d-4e8f-9a7b-2c6d5e4f3a1b" },
      { id: "yt-acc-l", type: "youtube-account", name: "", dailyQuota: 10000 },
      stream("stream-l", "acc-l"),
      { id: "live-l", type: "youtube-live", account: "yt-acc-l", x: 220, y: 200, wires: [[], []] },
    ]);
    await openStream("stream-l");
    assert.equal((await page.textContent("#node-input-account option:checked"))?.trim(), "Nest account");
    await page.click("#node-input-btn-account-edit");
    await page.waitForSelector("#node-config-input-name", { state: "visible" });
    assert.equal(await page.getAttribute("#node-config-input-name", "placeholder"), "Nest account");
    await page.fill("#node-config-input-name", "Holiday house");
    await closeAccount(page);
    assert.equal((await page.textContent("#node-input-account option:checked"))?.trim(), "Holiday house");
    await page.screenshot({ path: screenshotPath("account-label.png") });
    await page.click("#node-dialog-cancel");
    await page.waitForSelector("#node-dialog-ok", { state: "detached" });
    await openNode(page, "live-l");
    assert.equal((await page.textContent("#node-input-account option:checked"))?.trim(), "YouTube channel");
    await page.click("#node-dialog-cancel");
    await page.waitForSelector("#node-dialog-ok", { state: "detached" });
  });

  it("lists the cameras of an account that is not deployed and fills the device id", async () => {
    await freshPage();
    await importFlow([account("acc-d"), stream("stream-d", "acc-d")]);
    await openStream("stream-d");
    await openAccount({ refreshToken: FAKE_DEFAULTS.refreshToken });
    await closeAccount(page);

    await page.click("#node-input-nest-list-cameras");
    await page.waitForSelector(".nest-restream-camera");
    assert.deepEqual(adminCalls, ["POST /nest-restream/cameras"]);
    const rows = await page.$$eval(".nest-restream-camera", (els) =>
      els.map((e) => ({
        id: e.getAttribute("data-id"),
        name: e.querySelector(".nest-restream-camera-name")?.textContent,
        details: e.querySelector(".nest-restream-camera-details")?.textContent,
      })),
    );
    assert.deepEqual(rows, [
      { id: "cam-front", name: "Front Door", details: "Entryway · RTSP · 1920×1080" },
      { id: "cam-garden", name: "Garden", details: "RTSP · 1280×720" },
      { id: "cam-webrtc", name: "Driveway", details: "WebRTC · 1920×1080" },
    ]);
    assert.match(
      (await page.textContent('.nest-restream-camera[data-id="cam-webrtc"]')) ?? "",
      /WebRTC only/,
    );

    await page.click('.nest-restream-camera[data-id="cam-front"]');
    assert.equal(await page.inputValue("#node-input-deviceId"), "cam-front");
    assert.equal(
      await page.getAttribute('.nest-restream-camera[data-id="cam-front"]', "aria-selected"),
      "true",
    );
    assert.match((await page.textContent("#node-input-nest-cameras-status")) ?? "", /Front Door/);

    // A device id typed by hand still works, and the list follows it.
    await page.fill("#node-input-deviceId", "cam-garden");
    assert.equal(
      await page.getAttribute('.nest-restream-camera[data-id="cam-garden"]', "aria-selected"),
      "true",
    );
    assert.equal(
      await page.getAttribute('.nest-restream-camera[data-id="cam-front"]', "aria-selected"),
      "false",
    );

    // Google's refusal, in words.
    ed.fake.fail("invalid_client", 1);
    await page.click("#node-input-nest-list-cameras");
    await page.waitForSelector('#node-input-nest-cameras-status[data-kind="error"]');
    assert.match(
      (await page.textContent("#node-input-nest-cameras-status")) ?? "",
      /client ID and client secret/,
    );
    assert.ok(!(await page.isVisible("#node-input-nest-camera-list")));
  });

  it("a picked camera names the node, and the dialog shows its name again when reopened", async () => {
    await freshPage();
    await importFlow([
      account("acc-n"),
      stream("stream-n", "acc-n", { deviceId: "enterprises/p/devices/abcdefghijklmnop" }),
    ]);
    const label = page.locator('[id="stream-n"] .red-ui-flow-node-label');
    // Before: the device id, cut and marked so; a short one is not marked.
    assert.equal(await label.textContent(), "nest abcdefghij…");
    await openStream("stream-n");
    await openAccount({ refreshToken: FAKE_DEFAULTS.refreshToken });
    await closeAccount(page);
    await page.click("#node-input-nest-list-cameras");
    await page.click('.nest-restream-camera[data-id="cam-garden"]');
    assert.equal(await page.inputValue("#node-input-cameraName"), "Garden");
    // A device id typed by hand takes the listed camera's name, or none.
    await page.fill("#node-input-deviceId", "cam-front");
    assert.equal(await page.inputValue("#node-input-cameraName"), "Front Door");
    await page.fill("#node-input-deviceId", "cam-other");
    assert.equal(await page.inputValue("#node-input-cameraName"), "");
    await page.click('.nest-restream-camera[data-id="cam-garden"]');
    await page.click("#node-dialog-ok");
    await page.waitForSelector("#node-dialog-ok", { state: "detached" });
    await label.filter({ hasText: /^Garden$/ }).waitFor();
    assert.equal(await page.evaluate(() => window.RED.nodes.node("stream-n")?.cameraName), "Garden");
    await page.screenshot({ path: screenshotPath("camera-named-node.png") });

    await openStream("stream-n");
    assert.equal(await page.inputValue("#node-input-deviceId"), "cam-garden");
    assert.match((await page.textContent("#node-input-nest-cameras-status")) ?? "", /Garden/);
    // A name the user gives wins over the camera's.
    await page.fill("#node-input-name", "Back garden");
    await page.click("#node-dialog-ok");
    await page.waitForSelector("#node-dialog-ok", { state: "detached" });
    await label.filter({ hasText: /^Back garden$/ }).waitFor();
  });

  it("labels a stream with a short device id without an ellipsis", async () => {
    await freshPage();
    await importFlow([account("acc-s"), stream("stream-s", "acc-s", { deviceId: "cam-front" })]);
    assert.equal(
      await page.locator('[id="stream-s"] .red-ui-flow-node-label').textContent(),
      "nest cam-front",
    );
  });

  it("asks for an account before listing cameras", async () => {
    await freshPage();
    await importFlow([stream("stream-e", "")]);
    await openStream("stream-e");
    await page.click("#node-input-nest-list-cameras");
    await page.waitForSelector('#node-input-nest-cameras-status[data-kind="error"]');
    assert.match((await page.textContent("#node-input-nest-cameras-status")) ?? "", /account first/);
    assert.deepEqual(adminCalls, []);
  });

  it("deploys a flow whose stream goes live, and picks cameras of the deployed account", async () => {
    await freshPage();
    const inject = (id: string, payload: string, y: number) => ({
      id,
      type: "inject",
      name: payload,
      props: [{ p: "payload" }],
      payload,
      payloadType: "str",
      repeat: "",
      once: false,
      topic: "",
      x: 170,
      y,
      wires: [["cam"]],
    });
    await importFlow([
      { ...account("acc"), name: "Home" },
      inject("start", "start", 120),
      inject("stop", "stop", 180),
      stream("cam", "acc", { name: "Front door camera", x: 400, y: 150, wires: [["out"]] }),
      {
        id: "out",
        type: "debug",
        name: "stream URL",
        active: true,
        complete: "payload",
        x: 650,
        y: 150,
        wires: [],
      },
    ]);
    await openStream("cam");
    await openAccount();
    await authorize();
    await closeAccount(page);
    await page.click("#node-input-nest-list-cameras");
    await page.click('.nest-restream-camera[data-id="cam-front"]');
    await page.check("#node-input-startOnDeploy");
    await page.click("#node-dialog-ok");
    await page.waitForSelector("#node-input-nest-list-cameras", { state: "detached" });

    await deploy(page);
    const status = await waitForStatus(page, "cam", /live/);
    // e.g. "Front Door: live (RTSP), 4:59 left"
    assert.match(status, /^Front Door: live\b.*\d+:\d\d left$/);
    assert.equal(ed.fake.commands("GenerateRtspStream").length, 1);

    // Deployed and unchanged: the picker asks the running account.
    adminCalls = [];
    await openStream("cam");
    await page.click("#node-input-nest-list-cameras");
    await page.waitForSelector(".nest-restream-camera");
    assert.deepEqual(adminCalls, ["GET /nest-restream/accounts/acc/cameras"]);
    assert.equal(
      await page.getAttribute('.nest-restream-camera[data-id="cam-front"]', "aria-selected"),
      "true",
    );
    await page.click("#node-dialog-cancel");
    await page.waitForSelector("#node-input-nest-list-cameras", { state: "detached" });

    // The picture for the README.
    const file = screenshotPath("flow.png");
    await screenshotWorkspace(page, file, { paletteFilter: "nest", height: 360 });
    assert.ok(fs.statSync(file).size > 10_000);
  });

  /**
   * What is cut off in the open dialog (the last tray), measured in the page: a select narrower than
   * its longest option, a label wider than its box or on two lines, an input whose placeholder does
   * not fit.
   */
  async function cutOff(): Promise<string[]> {
    return page.evaluate(`(() => {
      const tray = [...document.querySelectorAll(".red-ui-tray")].pop();
      const canvas = document.createElement("canvas").getContext("2d");
      const textWidth = (el, text) => {
        const cs = getComputedStyle(el);
        canvas.font = cs.fontStyle + " " + cs.fontWeight + " " + cs.fontSize + " " + cs.fontFamily;
        return canvas.measureText(text).width;
      };
      const visible = (el) => el.offsetParent !== null && el.getClientRects().length > 0;
      const problems = [];
      for (const sel of tray.querySelectorAll(".form-row select")) {
        if (!visible(sel)) continue;
        const cs = getComputedStyle(sel);
        // The arrow and the padding take about 30 px.
        const room = sel.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 20;
        for (const opt of sel.options) {
          const w = textWidth(sel, opt.textContent.trim());
          if (w > room) problems.push("select #" + sel.id + ": '" + opt.textContent.trim() + "' needs " + Math.ceil(w) + " px, has " + Math.floor(room));
        }
      }
      for (const label of tray.querySelectorAll(".form-row > label")) {
        if (!visible(label) || !label.textContent.trim()) continue;
        if (label.scrollWidth > label.clientWidth + 1) problems.push("label '" + label.textContent.trim() + "' is cut");
        // A text that wraps has a box per line.
        const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
        for (let t = walker.nextNode(); t; t = walker.nextNode()) {
          if (!t.textContent.trim()) continue;
          const range = document.createRange();
          range.selectNodeContents(t);
          const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
          if (tops.size > 1) problems.push("label '" + label.textContent.trim() + "' wraps");
        }
      }
      for (const input of tray.querySelectorAll(".form-row input[placeholder]")) {
        if (!visible(input) || !input.placeholder) continue;
        const cs = getComputedStyle(input);
        const room = input.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
        const w = textWidth(input, input.placeholder);
        if (w > room) problems.push("placeholder of #" + input.id + ": '" + input.placeholder + "' needs " + Math.ceil(w) + " px, has " + Math.floor(room));
      }
      return problems;
    })()`);
  }

  it("cuts off no dropdown, label or placeholder at 1400×900, in any dialog (measured in the page)", async () => {
    await page.setViewportSize({ width: 1400, height: 900 });
    try {
      await freshPage();
      await importFlow([
        account("acc-f"),
        { id: "yt-acc-f", type: "youtube-account", name: "Channel", dailyQuota: 10000 },
        stream("stream-f", "acc-f", { x: 200, y: 100 }),
        {
          id: "restream-f",
          type: "nest-restream",
          name: "",
          target: "youtube-rtmps",
          x: 200,
          y: 180,
          wires: [[], [], []],
        },
        { id: "live-f", type: "youtube-live", account: "yt-acc-f", x: 200, y: 260, wires: [[], []] },
        { id: "captions-f", type: "youtube-captions", account: "yt-acc-f", x: 200, y: 340, wires: [[]] },
        { id: "events-f", type: "nest-events", account: "acc-f", x: 200, y: 420, wires: [[]] },
      ]);
      const problems: string[] = [];
      const check = async (what: string) => {
        for (const p of await cutOff()) problems.push(`${what}: ${p}`);
      };
      for (const id of ["stream-f", "restream-f", "live-f", "captions-f", "events-f"]) {
        await openNode(page, id);
        await page.waitForTimeout(300);
        await check(id);
        if (id === "restream-f") {
          // The YouTube stream key is required and says so; a custom server's is not.
          assert.match((await page.getAttribute("#node-input-streamKey", "placeholder")) ?? "", /^required/);
          await page.waitForSelector("#node-input-streamKey.input-error", { timeout: 5000 });
          await page.fill("#node-input-streamKey", "abcd-efgh-ijkl-mnop");
          await page.dispatchEvent("#node-input-streamKey", "change");
          assert.ok(!(await page.$eval("#node-input-streamKey", (e) => e.classList.contains("input-error"))));
          await page.fill("#node-input-streamKey", "");
          await page.selectOption("#node-input-target", "custom");
          assert.ok(!(await page.$eval("#node-input-streamKey", (e) => e.classList.contains("input-error"))));
          // Every target shows other fields.
          for (const target of ["youtube-rtmp", "youtube-hls", "custom"]) {
            await page.selectOption("#node-input-target", target);
            await check(`${id} (${target})`);
          }
        }
        if (id === "stream-f" || id === "live-f") {
          await page.click("#node-input-btn-account-edit");
          await page.waitForSelector("#node-config-dialog-ok", { state: "visible" });
          await page.waitForTimeout(300);
          await check(`${id}'s account`);
          await page.click("#node-config-dialog-cancel");
          await page.waitForSelector("#node-config-dialog-ok", { state: "detached" });
        }
        await page.screenshot({ path: screenshotPath(`dialog-${id}.png`) });
        await page.click("#node-dialog-cancel");
        await page.waitForSelector("#node-dialog-ok", { state: "detached" });
      }
      // The help panels: nothing wider than the sidebar (long code lines wrap).
      for (const id of ["stream-f", "restream-f", "live-f", "captions-f", "events-f"]) {
        // As a user does: select the node, then its help (the i of the sidebar's help tab).
        await page.evaluate((nodeId) => {
          const RED = window.RED as unknown as {
            view: { select(s: string): void };
            actions: { invoke(a: string): void };
          };
          RED.view.select(nodeId);
          RED.actions.invoke("core:show-node-help");
        }, id);
        await page.waitForSelector(".red-ui-help .nest-restream-help", { state: "visible" });
        const wide = await page.evaluate(`(() => {
          const help = [...document.querySelectorAll(".red-ui-help .nest-restream-help")].find((e) => e.offsetParent);
          const box = help.getBoundingClientRect();
          return [...help.querySelectorAll("*")]
            .filter((e) => e.getBoundingClientRect().right > box.right + 1 || e.scrollWidth > e.clientWidth + 1)
            .map((e) => e.tagName + ": " + e.textContent.slice(0, 60));
        })()`);
        for (const w of wide as string[]) problems.push(`help of ${id}: ${w}`);
      }
      await page.screenshot({ path: screenshotPath("help-nest-stream-wraps.png") });
      assert.deepEqual(problems, []);
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it("nest-stream's help leads with a summary, Inputs and Outputs; the rest is under Details", async () => {
    await freshPage();
    await importFlow([account("acc-h"), stream("stream-h", "acc-h")]);
    await page.evaluate(() => {
      const RED = window.RED as unknown as {
        view: { select(s: string): void };
        actions: { invoke(a: string): void };
      };
      RED.view.select("stream-h");
      RED.actions.invoke("core:show-node-help");
    });
    await page.waitForSelector(".red-ui-help .nest-restream-help", { state: "visible" });
    const help = (await page.evaluate(`(() => {
      const help = [...document.querySelectorAll(".red-ui-help .nest-restream-help")].find((e) => e.offsetParent);
      const top = help.getBoundingClientRect().top;
      const headings = [...help.querySelectorAll("h3, h4")].map((h) => ({
        tag: h.tagName.toLowerCase(),
        text: h.textContent.trim(),
        top: Math.round(h.getBoundingClientRect().top - top),
      }));
      // The panel that scrolls: what a user sees of the help without scrolling.
      let panel = help.parentElement;
      while (panel && !/(auto|scroll)/.test(getComputedStyle(panel).overflowY)) panel = panel.parentElement;
      const panelTop = panel.getBoundingClientRect().top - panel.scrollTop;
      const inputs = [...help.querySelectorAll("h3")].find((h) => h.textContent.trim() === "Inputs");
      return {
        headings,
        screen: panel.clientHeight,
        inputsBottom: Math.round(inputs.getBoundingClientRect().bottom - panelTop),
      };
    })()`)) as {
      headings: { tag: string; text: string; top: number }[];
      screen: number;
      inputsBottom: number;
    };
    const h3 = help.headings.filter((h) => h.tag === "h3");
    assert.deepEqual(
      h3.map((h) => h.text),
      ["Inputs", "Outputs", "Details", "References"],
    );
    // Inputs starts on the first screen of the panel; every smaller heading is inside Details.
    assert.ok(
      help.inputsBottom < help.screen,
      `Inputs ends at ${help.inputsBottom} px, the help panel shows ${help.screen} px`,
    );
    const details = h3[2].top;
    const references = h3[3].top;
    const h4 = help.headings.filter((h) => h.tag === "h4");
    assert.ok(h4.length >= 5, h4.map((h) => h.text).join(", "));
    for (const h of h4) assert.ok(h.top > details && h.top < references, `${h.text} outside Details`);
    await page.screenshot({ path: screenshotPath("help-nest-stream.png") });
  });

  it("raised no error in the editor pages", () => {
    assert.deepEqual(ed.pageErrors, []);
  });

  it("keeps the client secret and the codes out of Node-RED's log", () => {
    const logs = ed.logs();
    assert.ok(logs.includes("authorized Device Access project"), "the authorizations were logged");
    assert.ok(codes.size >= 3, `codes seen: ${codes.size}`);
    for (const secret of [FAKE_DEFAULTS.clientSecret, ...codes]) {
      assert.ok(!logs.includes(secret), "a secret reached Node-RED's log");
    }
  });
});
