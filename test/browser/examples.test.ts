/**
 * The example flows in the editor: each one imports through Menu → Import → Examples with only
 * known node types, and the dialogs of its nodes open. nest-to-youtube is then set up the way the
 * README says (Authorize, pick the camera, stream key) and goes live end to end: the fake Google
 * hands out an RTSPS URL of a token-checking edge in front of a real camera source (GStreamer), and
 * nest-restream's real ffmpeg publishes into nginx-rtmp standing in for YouTube.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { FAKE_DEFAULTS } from "../fixtures/fake-google";
import { RtmpServer } from "../fixtures/rtmp-server";
import { RtspEdge } from "../fixtures/rtsp-edge";
import { RtspSource } from "../fixtures/rtsp-source";
import {
  authorizeViaCallback,
  closeAccount,
  deploy,
  openAccount,
  openNode,
  openPage,
  repoRoot,
  screenshotPath,
  screenshotWorkspace,
  startEditor,
  waitForStatus,
  type Editor,
  type EditorRED,
} from "./harness";

declare const window: { RED: EditorRED };

interface FlowNode {
  id: string;
  type: string;
  name?: string;
  label?: string;
  z?: string;
}

const examplesDir = path.join(repoRoot(), "examples");
const examples = fs.existsSync(examplesDir)
  ? fs
      .readdirSync(examplesDir)
      .filter((f) => f.endsWith(".json"))
      .sort()
  : [];
const readExample = (file: string) =>
  JSON.parse(fs.readFileSync(path.join(examplesDir, file), "utf8")) as FlowNode[];

describe("example flows in the editor (browser)", function () {
  this.timeout(120_000);
  let ed: Editor;
  let page: Page;
  let media: { source: RtspSource; rtmp: RtmpServer; edge: RtspEdge } | undefined;
  let mediaMissing = "";

  before(async function () {
    this.timeout(15 * 60_000);
    // The live test needs the media fixtures of the end-to-end tests; the import tests do not.
    let source: RtspSource | undefined;
    let rtmp: RtmpServer | undefined;
    try {
      source = await RtspSource.start({ mounts: [{ path: "/cam-aac", audio: "aac" }] });
      rtmp = await RtmpServer.start();
    } catch (err) {
      mediaMissing = err instanceof Error ? err.message : String(err);
      await Promise.all([source?.stop(), rtmp?.stop()]);
      source = rtmp = undefined;
    }
    ed = await startEditor(source ? { mediaUrl: source.url("/cam-aac") } : {});
    page = ed.page;
    if (source && rtmp) {
      const edge = await RtspEdge.start({ authority: ed.fake, tls: true });
      ed.fake.setRtspEdgeBase(edge.baseUrl);
      media = { source, rtmp, edge };
    }
  });

  after(async () => {
    // Node-RED first: closing the flows stops the streams and ffmpeg.
    await ed?.stop();
    await Promise.all([media?.edge.stop(), media?.source.stop(), media?.rtmp.stop()]);
  });

  /** Imports an example the way a user does, and shows its tab. */
  async function importExample(file: string): Promise<FlowNode[]> {
    const name = file.replace(/\.json$/, "");
    const flow = readExample(file);
    await page.click("#red-ui-header-button-sidemenu");
    await page.click("#menu-item-import");
    // A click while the dialog still opens can be lost: until the examples show.
    const examplesTab = page.locator("#red-ui-clipboard-dialog-import-tab-examples");
    for (let i = 0; i < 10 && !(await examplesTab.isVisible()); i++) {
      await page.click("#red-ui-tab-red-ui-clipboard-dialog-import-tab-examples a");
      await examplesTab.waitFor({ state: "visible", timeout: 1000 }).catch(() => undefined);
    }
    const tree = page.locator("#red-ui-clipboard-dialog-import-tab-examples .red-ui-treeList-label");
    const item = tree.filter({ hasText: new RegExp(`^${name}$`) });
    const folder = tree.filter({ hasText: /^node-red-contrib-nest-restream$/ });
    const importButton = page.locator("#red-ui-clipboard-dialog-ok");
    // The dialog may keep the package's folder open from an earlier import: open it only when closed,
    // until the example is chosen (the Import button enabled).
    // The tree animates while a folder opens or closes (slowly on a busy machine): the example gets a
    // moment to show before the folder is clicked, and a click whose target went away is tried again.
    for (let i = 0; i < 20 && !(await importButton.isEnabled()); i++) {
      await item.waitFor({ state: "visible", timeout: 1500 }).catch(() => undefined);
      const target = (await item.isVisible()) ? item : folder;
      await target.click({ timeout: 2000 }).catch(() => undefined);
      await page.waitForTimeout(500);
    }
    await page.click("#red-ui-clipboard-dialog-ok");
    await page.waitForSelector("#red-ui-clipboard-dialog", { state: "hidden" });
    const tab = flow.find((n) => n.type === "tab");
    if (tab) {
      await page.click(`#red-ui-tab-${tab.id} a`);
      await page.waitForFunction((id) => window.RED.workspaces.active() === id, tab.id);
    }
    return flow;
  }

  it("has examples to test", () => {
    assert.ok(examples.length > 0);
  });

  for (const file of examples) {
    it(`${file} imports from Menu → Import → Examples; its nodes are known and their dialogs open`, async () => {
      page = await openPage(ed, page);
      const errors = ed.pageErrors.length;
      const flow = await importExample(file);
      for (const n of flow) {
        if (n.type === "tab") continue;
        const known = await page.evaluate(
          (node) => ({
            type: !!window.RED.nodes.getType(node.type),
            node: !!window.RED.nodes.node(node.id),
          }),
          n,
        );
        assert.deepEqual(known, { type: true, node: true }, `${n.type} ${n.id}`);
      }
      for (const n of flow.filter((x) => x.type === "nest-stream")) {
        await openNode(page, n.id);
        await page.waitForSelector("#node-input-nest-list-cameras", { state: "visible" });
        await page.click("#node-input-btn-account-edit");
        await page.waitForSelector("#node-config-nest-authorize", { state: "visible" });
        await page.click("#node-config-dialog-cancel");
        await page.waitForSelector("#node-config-nest-authorize", { state: "detached" });
        await page.click("#node-dialog-cancel");
        await page.waitForSelector("#node-dialog-ok", { state: "detached" });
      }
      for (const n of flow.filter((x) => x.type === "nest-restream")) {
        await openNode(page, n.id);
        await page.waitForSelector("#node-input-target", { state: "visible" });
        await page.click("#node-dialog-cancel");
        await page.waitForSelector("#node-dialog-ok", { state: "detached" });
      }
      for (const n of flow.filter((x) => x.type === "youtube-captions")) {
        await openNode(page, n.id);
        await page.waitForSelector("#node-input-mode", { state: "visible" });
        // Clock mode shows its interval and format; text mode hides them.
        await page.waitForSelector("#node-input-timeFormat", { state: "visible" });
        await page.selectOption("#node-input-mode", "text");
        await page.waitForSelector("#node-input-timeFormat", { state: "hidden" });
        await page.click("#node-dialog-cancel");
        await page.waitForSelector("#node-dialog-ok", { state: "detached" });
      }
      for (const n of flow.filter((x) => x.type === "youtube-upload")) {
        await openNode(page, n.id);
        await page.waitForSelector("#node-input-chunkMiB", { state: "visible" });
        // The labels come from the node's message catalog.
        const label = await page.textContent("label[for=node-input-deleteAfterUpload]");
        assert.equal(label?.trim(), "Delete the file once YouTube has the video");
        assert.equal(await page.inputValue("#node-input-privacy"), "private");
        await page.click("#node-dialog-cancel");
        await page.waitForSelector("#node-dialog-ok", { state: "detached" });
      }
      assert.deepEqual(ed.pageErrors.slice(errors), []);
    });
  }

  /** The notifications on the page now, as text. */
  const notifications = () =>
    page.evaluate(() =>
      Array.from(
        (
          window as unknown as { document: { querySelectorAll(s: string): { textContent: string }[] } }
        ).document.querySelectorAll(".red-ui-notification"),
      ).map((n) => n.textContent),
    );

  it("every example has node ids of its own, and an account named to say it needs credentials", () => {
    const seen = new Map<string, string>();
    for (const file of examples) {
      for (const n of readExample(file)) {
        assert.ok(!seen.has(n.id), `${n.id} of ${file} is also in ${seen.get(n.id)}`);
        seen.set(n.id, file);
        if (n.type === "nest-account" || n.type === "youtube-account") {
          assert.match(n.name ?? "", /open it, (enter credentials|Authorize)/, `${file}: ${n.type} name`);
        }
      }
    }
  });

  it("imports two examples one after the other with no 'already exist' question, and both accounts stay", async () => {
    page = await openPage(ed, page);
    const first = await importExample("nest-to-youtube.json");
    const second = await importExample("record-hourly.json");
    // The question would be a notification (or the conflict dialog) right after the import.
    await page.waitForTimeout(1000);
    const texts = await notifications();
    assert.deepEqual(
      texts.filter((t) => /already exist/i.test(t)),
      [],
      "no question about nodes that already exist",
    );
    assert.ok(!(await page.isVisible("#red-ui-clipboard-dialog-import-conflict")));
    for (const n of [...first, ...second].filter((x) => x.type !== "tab")) {
      assert.ok(
        await page.evaluate((id) => !!window.RED.nodes.node(id), n.id),
        `${n.type} ${n.id} was imported`,
      );
    }
    await screenshotWorkspace(page, screenshotPath("examples-two-imports.png"));
  });

  for (const file of examples) {
    it(`${file} fits the workspace at 1400×900 (measured in the page) and says first which account to fill in`, async () => {
      await page.setViewportSize({ width: 1400, height: 900 });
      page = await openPage(ed, page);
      const flow = await importExample(file);
      const tab = flow.find((n) => n.type === "tab") as FlowNode;
      // Every node drawn (its width known) before measuring.
      await page.waitForFunction(
        (z) =>
          (window.RED.nodes as unknown as { filterNodes(f: object): { w?: number }[] })
            .filterNodes({ z })
            .every((n) => typeof n.w === "number" && n.w > 0),
        tab.id,
      );
      const drawn = await page.evaluate((z) => {
        const nodes = (
          window.RED.nodes as unknown as {
            filterNodes(
              f: object,
            ): { id: string; type: string; name?: string; x: number; y: number; w: number }[];
          }
        ).filterNodes({ z });
        return {
          nodes: nodes.map((n) => ({ id: n.id, type: n.type, name: n.name, x: n.x, y: n.y, w: n.w })),
        };
      }, tab.id);
      assert.ok(drawn.nodes.length > 0);
      for (const n of drawn.nodes) {
        const right = n.x + n.w / 2;
        assert.ok(right <= 1000, `${n.type} ${n.id} ends at x=${right} (more than 1000)`);
        assert.ok(n.x - n.w / 2 >= 0, `${n.type} ${n.id} starts left of the workspace`);
      }
      // The top-left node is the comment that says to fill in the account.
      const topLeft = [...drawn.nodes].sort((a, b) => a.y - b.y || a.x - b.x)[0];
      assert.equal(topLeft.type, "comment");
      assert.match(topLeft.name ?? "", /account.*credentials/i);
      await page.setViewportSize({ width: 1280, height: 800 });
    });
  }

  it("a restream whose ingest refuses the stream key shows why in its status", async function () {
    if (!media) throw new Error(`this test needs the media servers: ${mediaMissing}; run npm run test:setup`);
    const key = "refused-in-browser-1234";
    const refusing = await RtmpServer.start({ rejectKeys: [key] });
    try {
      page = await openPage(ed, page);
      const source = media.source.url("/cam-aac");
      await page.evaluate(
        ({ url, server }) => {
          const RED = window.RED;
          const z = RED.workspaces.active();
          RED.view.importNodes(
            [
              {
                id: "rk-go",
                type: "inject",
                z,
                name: "go",
                payload: url,
                payloadType: "str",
                topic: "",
                repeat: "",
                crontab: "",
                once: false,
                onceDelay: 0.1,
                props: [{ p: "payload" }],
                x: 120,
                y: 100,
                wires: [["rk-restream"]],
              },
              {
                id: "rk-restream",
                type: "nest-restream",
                z,
                name: "refused",
                target: "youtube-rtmp",
                url: server,
                audio: "auto",
                video: "copy",
                x: 320,
                y: 100,
                wires: [[], [], []],
              },
            ],
            { generateIds: false, touchImport: true },
          );
          // Importing places the nodes at the mouse: put them where they can be clicked.
          for (const [id, x] of [
            ["rk-go", 120],
            ["rk-restream", 320],
          ] as const) {
            const node = RED.nodes.node(id);
            if (node) {
              node.x = x;
              node.y = 100;
              node.dirty = true;
            }
          }
          RED.view.select("");
          RED.view.redraw(true);
        },
        { url: source, server: refusing.url },
      );
      await openNode(page, "rk-restream");
      await page.fill("#node-input-streamKey", key);
      await page.click("#node-dialog-ok");
      await page.waitForSelector("#node-dialog-ok", { state: "detached" });
      await deploy(page);
      await page.click('[id="rk-go"] .red-ui-flow-node-button');
      const text = await waitForStatus(page, "rk-restream", /Input\/output error/, 60_000);
      assert.match(text, /^retrying \(\d+\): Input\/output error — rtmp:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(!text.includes(key));
      await page.screenshot({ path: screenshotPath("restream-refused-key.png") });
      assert.match(
        ed.logs(),
        /\[warn\] \[nest-restream:refused\] rtmp:\/\/127\.0\.0\.1:\d+\/live2\/\*\*\*: Input\/output error/,
      );
      assert.ok(!ed.logs().includes(key), "the stream key stays out of the log");
      // Stop it: a deploy without the nodes.
      await page.evaluate(() => {
        const RED = window.RED as unknown as { nodes: { remove(id: string): void; dirty(d: boolean): void } };
        RED.nodes.remove("rk-go");
        RED.nodes.remove("rk-restream");
        RED.nodes.dirty(true);
      });
      await deploy(page);
    } finally {
      await refusing.stop();
    }
  });

  it("nest-to-youtube goes live: authorize, pick the camera, stream key, deploy, start", async function () {
    assert.ok(examples.includes("nest-to-youtube.json"), "the nest-to-youtube example exists");
    if (!media)
      throw new Error(`the live example needs the media servers: ${mediaMissing}; run npm run test:setup`);
    const { rtmp } = media;
    page = await openPage(ed, page);
    const flow = await importExample("nest-to-youtube.json");
    const stream = flow.find((n) => n.type === "nest-stream") as FlowNode;
    const restream = flow.find((n) => n.type === "nest-restream") as FlowNode;
    const start = flow.find((n) => n.type === "inject" && n.name === "start") as FlowNode;
    const stop = flow.find((n) => n.type === "inject" && n.name === "stop") as FlowNode;

    await openNode(page, stream.id);
    await openAccount(page, {
      projectId: FAKE_DEFAULTS.projectId,
      clientId: FAKE_DEFAULTS.clientId,
      clientSecret: FAKE_DEFAULTS.clientSecret,
    });
    await authorizeViaCallback(ed, page);
    await closeAccount(page);
    await page.click("#node-input-nest-list-cameras");
    await page.click('.nest-restream-camera[data-id="cam-front"]');
    await page.click("#node-dialog-ok");
    await page.waitForSelector("#node-dialog-ok", { state: "detached" });

    // YouTube's RTMP ingest, here the local nginx-rtmp (app live2, like YouTube's).
    const key = "abcd-efgh-ijkl-mnop";
    await openNode(page, restream.id);
    await page.selectOption("#node-input-target", "youtube-rtmp");
    await page.fill("#node-input-url", rtmp.url);
    await page.fill("#node-input-streamKey", key);
    await page.click("#node-dialog-ok");
    await page.waitForSelector("#node-dialog-ok", { state: "detached" });

    await deploy(page);
    await page.click(`[id="${start.id}"] .red-ui-flow-node-button`);
    await rtmp.waitForPublish(key, 30_000);
    await waitForStatus(page, stream.id, /live/);
    await waitForStatus(page, restream.id, /^live/);
    assert.equal(ed.fake.commands("GenerateRtspStream").length, 1);
    // A Nest URL serves one client: never two sessions at once (the first run, which learns the
    // camera's tracks, has exited before the one that copies the audio connects).
    assert.equal(media.edge.stats.peakPerStream, 1, "never two RTSP sessions at once on the camera's URL");

    // The picture for the README: the example, live.
    await screenshotWorkspace(page, screenshotPath("nest-to-youtube.png"), {
      paletteFilter: "nest",
      height: 360,
    });

    await page.click(`[id="${stop.id}"] .red-ui-flow-node-button`);
    await waitForStatus(page, restream.id, /stopped/);
    await waitForStatus(page, stream.id, /stopped/);
    assert.ok(!ed.logs().includes(key), "the stream key stays out of Node-RED's log");
    assert.ok(!ed.logs().includes(FAKE_DEFAULTS.clientSecret), "the client secret stays out of the log");
  });
});
