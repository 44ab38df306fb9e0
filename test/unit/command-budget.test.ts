import assert from "node:assert/strict";
import { CommandBudget, commandWindowFor, CommandWindow } from "../../src/nest/command-budget";
import { ClosedError } from "../../src/google/errors";
import { FakeClock, flush } from "../support/fake-clock";

const MINUTE = 60_000;

/** Starts `n` acquires and records when each is granted (fake time) and in what order. */
function acquireMany(budget: CommandBudget, clock: FakeClock, n: number, key?: (i: number) => string) {
  const granted: { i: number; at: number }[] = [];
  const all = Array.from({ length: n }, (_, i) =>
    budget.acquire(undefined, key?.(i)).then(() => granted.push({ i, at: clock.now() })),
  );
  return { granted, all: Promise.all(all) };
}

describe("CommandBudget", () => {
  it("grants 10 at once, then queues the rest until a slot leaves the 60 s window (+1 s margin)", async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const budget = new CommandBudget({ clock });
    const { granted } = acquireMany(budget, clock, 12);
    await flush();
    assert.equal(granted.length, 10);
    assert.equal(budget.stats().queued, 2);
    assert.equal(budget.stats().nextSlotAt, t0 + 61_000);
    await clock.advance(61_000 - 1);
    assert.equal(granted.length, 10);
    await clock.advance(1);
    assert.equal(granted.length, 12);
    assert.deepEqual(
      granted.slice(10).map((g) => g.at - t0),
      [61_000, 61_000],
    );
  });

  it("is first come, first served", async () => {
    const clock = new FakeClock();
    const budget = new CommandBudget({ clock, limit: 2 });
    const { granted, all } = acquireMany(budget, clock, 7);
    await clock.run(5 * MINUTE);
    await all;
    assert.deepEqual(
      granted.map((g) => g.i),
      [0, 1, 2, 3, 4, 5, 6],
    );
    // Never more than 2 in any 60 s.
    for (const g of granted) {
      assert.ok(granted.filter((h) => h.at > g.at - MINUTE && h.at <= g.at).length <= 2);
    }
  });

  it("drops an aborted waiter from the queue and lets the next one go", async () => {
    const clock = new FakeClock();
    const budget = new CommandBudget({ clock, limit: 1 });
    await budget.acquire();
    const controller = new AbortController();
    const aborted = budget.acquire(controller.signal);
    const next = budget.acquire();
    controller.abort(new Error("stopped"));
    await assert.rejects(aborted, /stopped/);
    assert.equal(budget.stats().queued, 1);
    await clock.advance(61_000);
    await next;
    assert.equal(budget.stats().granted, 2);
    await assert.rejects(budget.acquire(AbortSignal.abort(new Error("already"))), /already/);
  });

  it("penalize() pauses every grant, and stats() says until when", async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const budget = new CommandBudget({ clock });
    await budget.acquire();
    budget.penalize(30_000);
    assert.equal(budget.stats().pausedUntil, t0 + 30_000);
    assert.equal(budget.stats().nextSlotAt, t0 + 30_000);
    let grantedAt = 0;
    void budget.acquire().then(() => (grantedAt = clock.now()));
    await clock.advance(29_999);
    assert.equal(grantedAt, 0);
    await clock.advance(1);
    assert.equal(grantedAt, t0 + 30_000);
    // A shorter penalty never shortens a longer one.
    budget.penalize(10_000);
    budget.penalize(1_000);
    assert.equal(budget.stats().pausedUntil, t0 + 40_000);
    assert.equal(budget.stats().penalties, 3);
  });

  it("applies the per-key limit (5 per window) without blocking other keys", async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const budget = new CommandBudget({ clock, limit: 10, perKeyLimit: 5 });
    const { granted } = acquireMany(budget, clock, 9, (i) => (i < 7 ? "cam-1:Extend" : "cam-2:Extend"));
    await flush();
    // cam-1 gets 5, its 6th and 7th wait; cam-2's two go past them.
    assert.deepEqual(
      granted.map((g) => g.i).sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 7, 8],
    );
    await clock.advance(61_000);
    assert.equal(granted.length, 9);
    assert.ok(granted.filter((g) => g.i === 5 || g.i === 6).every((g) => g.at === t0 + 61_000));
  });

  it("close() rejects the waiters and leaves no timer", async () => {
    const clock = new FakeClock();
    const budget = new CommandBudget({ clock, limit: 1 });
    await budget.acquire();
    const waiting = budget.acquire();
    assert.equal(clock.timers, 1);
    budget.close();
    await assert.rejects(waiting, ClosedError);
    assert.equal(clock.timers, 0);
    await assert.rejects(budget.acquire(), ClosedError);
  });

  it("keeps no timer when nobody waits", async () => {
    const clock = new FakeClock();
    const budget = new CommandBudget({ clock });
    for (let i = 0; i < 10; i++) await budget.acquire();
    assert.equal(clock.timers, 0);
    assert.equal(budget.stats().used, 10);
    await clock.advance(61_000);
    assert.equal(budget.stats().used, 0);
  });

  it("a budget that replaces a closed one (a redeploy) counts in the same window, 429 pause included", async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const window = new CommandWindow();
    const old = new CommandBudget({ clock, window });
    await acquireMany(old, clock, 8).all;
    old.penalize(5000);
    old.close();
    const next = new CommandBudget({ clock, window });
    assert.equal(next.stats().used, 8, "the old grants still count");
    assert.equal(next.stats().pausedUntil, t0 + 5000);
    const { granted } = acquireMany(next, clock, 4);
    await clock.advance(5000);
    assert.equal(granted.length, 2, "2 slots left of 10");
    await clock.advance(61_000 - 5000);
    assert.equal(granted.length, 4, "the rest once the old grants leave the window");
    // A budget of its own (no window given) starts empty.
    assert.equal(new CommandBudget({ clock }).stats().used, 0);
  });

  it("keeps one window per project for the life of the process", () => {
    const a = commandWindowFor("https://sdm.example/v1|project-a");
    assert.equal(commandWindowFor("https://sdm.example/v1|project-a"), a);
    assert.notEqual(commandWindowFor("https://sdm.example/v1|project-b"), a);
    assert.notEqual(
      commandWindowFor("http://127.0.0.1:1/v1|project-a"),
      a,
      "another endpoint, another window",
    );
  });
});
