/**
 * Browser test harness: the fake Google in-process, Node-RED started the way `npm start` does
 * (`node scripts/start.js` with PORT, NODE_RED_USER_DIR and the fake's NEST_RESTREAM_* overrides),
 * and Debian's chromium driven by playwright-core with a fresh profile.
 *
 * Node-RED gets a package directory of its own: the compiled node .js files of this test run (dist/
 * or any --outDir) with the current .html, locales and icons from the source tree beside them, so a
 * browser run never needs, nor touches, the working tree's dist/.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { FakeGoogle, type FakeGoogleOptions } from "../fixtures/fake-google";
import { delay, findSourceFile, freePort, tempDir } from "../fixtures/ports";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const PACKAGE = "node-red-contrib-nest-restream";

export interface Editor {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  port: number;
  fake: FakeGoogle;
  context: BrowserContext;
  page: Page;
  /** Node-RED's stdout and stderr so far. */
  logs(): string;
  /** Uncaught errors of the editor pages opened with openPage. */
  pageErrors: string[];
  stop(): Promise<void>;
}

/** The repository root (where scripts/start.js lives), from compiled code in dist/ or another outDir. */
export function repoRoot(): string {
  return path.dirname(path.dirname(findSourceFile("scripts/start.js", __dirname)));
}

/**
 * Where a screenshot goes: test-results/ (git-ignored) on every run, and docs/ (the README's pictures)
 * only with UPDATE_DOCS=1, so a test run leaves the working tree as it was.
 */
export function screenshotPath(name: string): string {
  const dir = path.join(repoRoot(), process.env.UPDATE_DOCS === "1" ? "docs" : "test-results");
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

/**
 * A package directory for Node-RED: package.json from the repository, dist/nodes/ holding links to
 * the compiled nodes of this build and copies of the current editor files, and resources/.
 */
function packageDir(root: string): string {
  const outRoot = path.resolve(__dirname, "..", "..");
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
    "node-red": { nodes: Record<string, string> };
  };
  const dir = tempDir("nest-restream-pkg-");
  const nodesOut = path.join(dir, "dist", "nodes");
  fs.mkdirSync(nodesOut, { recursive: true });
  let found = 0;
  for (const file of Object.values(pkg["node-red"].nodes)) {
    const base = path.basename(file, ".js");
    const js = path.join(outRoot, "nodes", `${base}.js`);
    if (!fs.existsSync(js)) throw new Error(`browser tests: ${js} is missing: compile the project first`);
    fs.symlinkSync(js, path.join(nodesOut, `${base}.js`));
    fs.copyFileSync(path.join(root, "nodes", `${base}.html`), path.join(nodesOut, `${base}.html`));
    found++;
  }
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(pkg, null, 2));
  if (!found)
    throw new Error(`no compiled nodes in ${path.join(outRoot, "nodes")}: compile the project first`);
  fs.symlinkSync(path.join(root, "nodes", "locales"), path.join(nodesOut, "locales"), "dir");
  fs.symlinkSync(path.join(root, "icons"), path.join(nodesOut, "icons"), "dir");
  // The editor code the dialogs share, served by Node-RED at resources/<module>/.
  fs.symlinkSync(path.join(root, "resources"), path.join(dir, "resources"), "dir");
  if (fs.existsSync(path.join(root, "examples"))) {
    fs.symlinkSync(path.join(root, "examples"), path.join(dir, "examples"), "dir");
  }
  return dir;
}

/** Waits for chromium (it may still be being installed when a run starts). */
async function waitForChromium(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(CHROMIUM)) {
    if (Date.now() > deadline) {
      throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt install chromium)`);
    }
    await delay(2000);
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function waitForEditor(url: string, child: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let failedToLoad: string | undefined;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`Node-RED exited (${child.exitCode ?? child.signalCode}):\n${logs().slice(-3000)}`);
    }
    try {
      const res = await fetch(`${url}nodes`, { headers: { Accept: "application/json" } });
      if (res.ok) {
        const nodes = (await res.json()) as { module: string; types: string[]; err?: string }[];
        const ours = nodes.filter((n) => n.module === PACKAGE);
        if (ours.length) {
          const broken = ours.filter((n) => n.err);
          if (!broken.length) return;
          failedToLoad = JSON.stringify(broken);
        }
      }
    } catch {
      // not listening yet
    }
    // A node set that failed to load is a broken package, not something to test around.
    if (failedToLoad) throw new Error(`node sets that failed to load: ${failedToLoad}`);
    if (Date.now() > deadline) throw new Error(`Node-RED did not come up:\n${logs().slice(-3000)}`);
    await delay(250);
  }
}

export async function startEditor(options: FakeGoogleOptions = {}): Promise<Editor> {
  await waitForChromium(10 * 60_000);
  const fake = await FakeGoogle.start({ rateLimits: false, autoApprove: true, ...options });
  const root = repoRoot();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  let output = "";
  const child = spawn(process.execPath, [path.join(root, "scripts", "start.js")], {
    cwd: root,
    env: {
      ...process.env,
      ...fake.env(),
      PORT: String(port),
      HOST: "127.0.0.1",
      NODE_RED_USER_DIR: tempDir("nest-restream-red-"),
      NEST_RESTREAM_PACKAGE_DIR: packageDir(root),
    },
    // Its own process group: stopping it stops Node-RED, which start.js runs as its child.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const onExit = () => killGroup(child, "SIGKILL");
  process.once("exit", onExit);
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const logs = () => output;

  let context: BrowserContext | undefined;
  try {
    await waitForEditor(url, child, logs);
    context = await chromium.launchPersistentContext(tempDir("nest-restream-chromium-"), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    // Google's own pages are not reachable from a test: www.google.com (the redirect URI of the
    // paste-back way) answers locally, so the popup shows the address the user would copy.
    await context.route(/^https:\/\/www\.google\.com\//, (route) =>
      route.fulfill({ status: 200, contentType: "text/html", body: "<title>Google</title><p>Google</p>" }),
    );
    const page = context.pages()[0] ?? (await context.newPage());
    const pageErrors: string[] = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(url);
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="nest-stream"]', { timeout: 60_000 });
    const ctx = context;
    return {
      url,
      port,
      fake,
      context: ctx,
      page,
      logs,
      pageErrors,
      async stop() {
        await ctx.close().catch(() => undefined);
        await stopGroup(child);
        process.off("exit", onExit);
        await fake.stop();
      },
    };
  } catch (err) {
    await context?.close().catch(() => undefined);
    await stopGroup(child);
    process.off("exit", onExit);
    await fake.stop();
    throw err;
  }
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  killGroup(child, "SIGTERM");
  const timer = setTimeout(() => killGroup(child, "SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------- editor steps shared by the tests

/** The browser globals the page functions touch (the project compiles without the DOM lib). */
export interface EditorNode {
  id: string;
  type: string;
  credentials: Record<string, string>;
  x: number;
  y: number;
  dirty: boolean;
  /** The node's other properties (its defaults). */
  [property: string]: unknown;
}
export interface EditorRED {
  workspaces: { active(): string; show(id: string): void };
  view: {
    importNodes(nodes: unknown[], options: object): void;
    select(selection: string): void;
    redraw(full: boolean): void;
  };
  nodes: { node(id: string): EditorNode | undefined; getType(type: string): unknown };
}

/** A fresh editor page (whatever was imported and not deployed before is gone); closes `previous`. */
export async function openPage(ed: Editor, previous?: Page): Promise<Page> {
  const page = await ed.context.newPage();
  page.on("pageerror", (err) => ed.pageErrors.push(err.message));
  await page.goto(ed.url);
  await page.waitForSelector('.red-ui-palette-node[data-palette-type="nest-stream"]');
  if (previous && !previous.isClosed()) await previous.close();
  return page;
}

/** Opens a node's edit dialog by double-clicking it. */
export async function openNode(page: Page, id: string): Promise<void> {
  await page.dblclick(`[id="${id}"]`);
  await page.waitForSelector("#node-dialog-ok", { state: "visible" });
}

/** From a nest-stream dialog, opens its account's dialog and types the credentials. */
export async function openAccount(
  page: Page,
  fields: { projectId: string; clientId: string; clientSecret: string; refreshToken?: string },
): Promise<void> {
  await page.click("#node-input-btn-account-edit");
  await page.waitForSelector("#node-config-nest-authorize", { state: "visible" });
  await page.fill("#node-config-input-projectId", fields.projectId);
  await page.fill("#node-config-input-clientId", fields.clientId);
  await page.fill("#node-config-input-clientSecret", fields.clientSecret);
  if (fields.refreshToken) await page.fill("#node-config-input-refreshToken", fields.refreshToken);
}

/** Presses Done in the account dialog (back to the nest-stream dialog). */
export async function closeAccount(page: Page): Promise<void> {
  await page.click("#node-config-dialog-ok");
  await page.waitForSelector("#node-config-nest-authorize", { state: "detached" });
}

/**
 * Presses Authorize with the redirect to this editor's callback, the only redirect URI the fake's
 * OAuth client accepts besides www.google.com; returns the refresh token that landed in the field.
 */
export async function authorizeViaCallback(
  ed: Editor,
  page: Page,
  path = "nest-restream/auth",
): Promise<string> {
  const callback = `${ed.url}${path}/callback`;
  ed.fake.allowedRedirectUris = [callback, "https://www.google.com"];
  await page.selectOption("#node-config-nest-redirect", "callback");
  if ((await page.textContent("#node-config-nest-redirect-uri")) !== callback) {
    throw new Error(`the dialog shows ${await page.textContent("#node-config-nest-redirect-uri")}`);
  }
  const popupOpened = ed.context.waitForEvent("page");
  await page.click("#node-config-nest-authorize");
  const popup = await popupOpened;
  await page.waitForSelector('#node-config-nest-auth-status[data-kind="ok"]', { timeout: 30_000 });
  // The callback page hands over and closes itself.
  if (!popup.isClosed()) await popup.waitForEvent("close", { timeout: 10_000 });
  return page.inputValue("#node-config-input-refreshToken");
}

/** Deploys and waits until the editor reports it done. */
export async function deploy(page: Page): Promise<void> {
  await page.click("#red-ui-header-button-deploy");
  await page.waitForSelector("#red-ui-header-button-deploy.disabled", { timeout: 30_000 });
}

/** The status text of a node on the workspace, once it matches. */
export async function waitForStatus(
  page: Page,
  id: string,
  text: RegExp,
  timeoutMs = 30_000,
): Promise<string> {
  const status = page.locator(`[id="${id}"] .red-ui-flow-node-status-label`);
  await status.filter({ hasText: text }).waitFor({ timeout: timeoutMs });
  return (await status.textContent()) ?? "";
}

/** A clean picture of the workspace: no notifications, tips or selection, scrolled to the start. */
export async function screenshotWorkspace(
  page: Page,
  file: string,
  options: { paletteFilter?: string; height?: number } = {},
): Promise<void> {
  const { paletteFilter, height } = options;
  // Closed the way Node-RED closes them: a notification taken out of the page by hand still has its
  // timer, whose close then finds no parent ("Cannot read properties of null (reading 'removeChild')").
  await page.evaluate(
    "(() => { document.querySelectorAll('.red-ui-notification').forEach((n) => (typeof n.close === 'function' ? n.close() : n.remove())); RED.view.select(''); })()",
  );
  await page.waitForSelector(".red-ui-notification", { state: "detached" });
  if (await page.isVisible(".red-ui-help-tips")) {
    await page.evaluate("RED.actions.invoke('core:toggle-show-tips')");
    await page.waitForSelector(".red-ui-help-tips", { state: "hidden" });
  }
  // The whole width for the flow.
  if (await page.isVisible("#red-ui-sidebar")) {
    await page.evaluate("RED.actions.invoke('core:toggle-sidebar')");
    await page.waitForSelector("#red-ui-sidebar", { state: "hidden" });
  }
  if (paletteFilter) {
    await page.locator("#red-ui-palette-search input").pressSequentially(paletteFilter);
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="inject"]', { state: "hidden" });
  }
  // Opening an edit tray scrolls the workspace: back to the start of the flow.
  await page.evaluate(
    "(() => { const c = document.getElementById('red-ui-workspace-chart'); c.scrollLeft = 0; c.scrollTop = 0; })()",
  );
  await page.waitForTimeout(500);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const viewport = page.viewportSize() ?? { width: 1280, height: 800 };
  await page.screenshot({
    path: file,
    clip: { x: 0, y: 0, width: viewport.width, height: Math.min(height ?? viewport.height, viewport.height) },
  });
}
