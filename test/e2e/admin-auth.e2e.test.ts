/**
 * The admin routes under Node-RED's own adminAuth (a real Node-RED process, its settings with users
 * and permissions): every route this package registers is sent as a real HTTP request by a user
 * without the permission that guards it, and Node-RED refuses it (401); a user who has it gets
 * through. What the node test cannot show: the helper's admin app has no authentication at all.
 */
import assert from "node:assert/strict";
import { FakeGoogle } from "../fixtures/fake-google";
import {
  nodeRedReady,
  nodeRedUserDir,
  repositoryRoot,
  startNodeRed,
  type NodeRedChild,
} from "../fixtures/node-red-child";
import { stopChild } from "../fixtures/ports";
import { ADMIN_ROUTES, type AdminRoute } from "../support/admin-routes";
import { ACCOUNT_CREDENTIALS, accountNode } from "../support/flows";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const bcrypt = require("bcryptjs") as { hashSync(password: string, rounds: number): string };

const PASSWORD = "correct horse battery staple";

describe("admin routes under Node-RED's adminAuth (real Node-RED process)", function () {
  this.timeout(90_000);
  let fake: FakeGoogle;
  let red: NodeRedChild;
  const tokens = new Map<string, string>();

  before(async () => {
    fake = await FakeGoogle.start({ rateLimits: false });
    const hash = bcrypt.hashSync(PASSWORD, 8);
    const dir = nodeRedUserDir(
      repositoryRoot(__dirname),
      [accountNode({ name: "Home" }), { id: "acc-yt", type: "youtube-account", name: "Channel" }],
      ACCOUNT_CREDENTIALS,
      {
        adminAuth: {
          type: "credentials",
          users: [
            { username: "admin", password: hash, permissions: "*" },
            // Reads everything (nest-account.read too), writes nothing: no nest-account.write.
            { username: "viewer", password: hash, permissions: "read" },
          ],
        },
      },
    );
    red = await startNodeRed(dir, fake.env());
    await nodeRedReady(red, 60_000);
    for (const [user, scope] of [
      ["admin", "*"],
      ["viewer", "read"],
    ]) {
      const res = await fetch(`http://127.0.0.1:${red.port}/auth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          client_id: "node-red-admin",
          grant_type: "password",
          scope,
          username: user,
          password: PASSWORD,
        }),
      });
      assert.equal(res.status, 200, `${user} logs in: ${await res.clone().text()}`);
      tokens.set(user, ((await res.json()) as { access_token: string }).access_token);
    }
  });

  after(async () => {
    if (red) await stopChild(red.child, "SIGTERM", 15_000);
    await fake?.stop();
  });

  /** Sends the route as the editor would, as `user` (none: no token). */
  async function send(route: AdminRoute, user?: string): Promise<number> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    const token = user ? tokens.get(user) : undefined;
    if (token) headers.authorization = `Bearer ${token}`;
    const path = route.path.replace(":id", "acc");
    const res = await fetch(
      `http://127.0.0.1:${red.port}${path}${route.method === "GET" ? "?state=x" : ""}`,
      {
        method: route.method,
        headers,
        body: route.method === "POST" ? "{}" : undefined,
        redirect: "manual",
      },
    );
    await res.arrayBuffer();
    return res.status;
  }

  it("refuses every guarded route to a user without its permission (nest-account.write, youtube-account.write)", async () => {
    const guarded = ADMIN_ROUTES.filter((r) => r.permission?.endsWith(".write"));
    assert.equal(guarded.length, 7);
    for (const route of guarded) {
      assert.equal(await send(route, "viewer"), 401, `${route.method} ${route.path} as viewer`);
      assert.equal(await send(route), 401, `${route.method} ${route.path} without a token`);
    }
  });

  it("lets the same requests through for a user with the permission; reading needs only read", async () => {
    for (const route of ADMIN_ROUTES) {
      const status = await send(route, "admin");
      // Past the guard: the route's own answer (400 for an empty body, 200, …), never 401 or 404.
      assert.ok(status !== 401 && status !== 404, `${route.method} ${route.path} as admin: ${status}`);
    }
    const read = ADMIN_ROUTES.filter((r) => r.permission?.endsWith(".read"));
    assert.equal(read.length, 1);
    for (const route of read) {
      const status = await send(route, "viewer");
      assert.ok(status !== 401 && status !== 404, `${route.method} ${route.path} as viewer: ${status}`);
      assert.equal(await send(route), 401, `${route.method} ${route.path} without a token`);
    }
  });

  it("leaves the callbacks open (Google's redirect cannot carry the admin token): they answer their own page", async () => {
    for (const route of ADMIN_ROUTES.filter((r) => r.permission === null)) {
      const status = await send(route);
      assert.ok(status !== 401 && status !== 404, `${route.method} ${route.path}: ${status}`);
    }
  });
});
