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
  stop(): Promise<void>;
}

/** The repository root (where scripts/start.js lives), from compiled code in dist/ or another outDir. */
export function repoRoot(): string {
  return path.dirname(path.dirname(findSourceFile("scripts/start.js", __dirname)));
}

/**
 * A package directory for Node-RED: package.json from the repository, dist/nodes/ holding links to
 * the compiled nodes of this build and copies of the current editor files.
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
    if (!fs.existsSync(js)) {
      // A node still being written: the editor runs without it (tests that need it skip).
      console.warn(`browser tests: ${js} is missing; Node-RED runs without ${base}`);
      for (const [type, f] of Object.entries(pkg["node-red"].nodes))
        if (f === file) delete pkg["node-red"].nodes[type];
      continue;
    }
    fs.symlinkSync(js, path.join(nodesOut, `${base}.js`));
    fs.copyFileSync(path.join(root, "nodes", `${base}.html`), path.join(nodesOut, `${base}.html`));
    found++;
  }
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(pkg, null, 2));
  if (!found)
    throw new Error(`no compiled nodes in ${path.join(outRoot, "nodes")}: compile the project first`);
  fs.symlinkSync(path.join(root, "nodes", "locales"), path.join(nodesOut, "locales"), "dir");
  fs.symlinkSync(path.join(root, "icons"), path.join(nodesOut, "icons"), "dir");
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
          if (broken.length) console.warn(`node sets that failed to load: ${JSON.stringify(broken)}`);
          return;
        }
      }
    } catch {
      // not listening yet
    }
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
    await page.goto(url);
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="nest-stream"]', { timeout: 60_000 });
    // A fresh Node-RED 4.1 user directory asks once about update notifications: decline.
    await page
      .getByRole("button", { name: /do not enable/i })
      .click({ timeout: 10_000 })
      .catch(() => undefined);
    const ctx = context;
    return {
      url,
      port,
      fake,
      context: ctx,
      page,
      logs,
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
