/**
 * StreamStatus / statusView: the nest-stream status line from the node's own message catalog, and
 * the "live, m:ss left" refresh on a FakeClock.
 */
import assert from "node:assert/strict";
import { secrets } from "../../src/redact";
import { StreamStatus, statusView, type StatusText, type StatusView } from "../../src/stream/stream-status";
import { streamReason } from "../../src/stream/stream-reason";
import { catalogText } from "../support/catalog";
import { whyText as why } from "../support/stream-reasons";
import { FakeClock } from "../support/fake-clock";

const catalog = catalogText("nest-stream");
const text: StatusText = (key, vars) => catalog(`nest-stream.status.${key}`, vars);

describe("stream status", () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const inMs = (ms: number) => new Date(now + ms).toISOString();

  describe("statusView", () => {
    it("says live with the protocol and the time left, the camera first", () => {
      assert.deepEqual(
        statusView(
          { state: "live", camera: "Front door", protocol: "RTSP", expiresAt: inMs(240_000) },
          now,
          text,
          why,
        ),
        { fill: "green", shape: "dot", text: "Front door: live (RTSP), 4:00 left" },
      );
      assert.equal(
        statusView({ state: "live", protocol: "WEB_RTC", expiresAt: inMs(61_000) }, now, text, why).text,
        "live (WebRTC), 1:01 left",
      );
      assert.equal(statusView({ state: "live" }, now, text, why).text, "live");
      assert.equal(statusView({ state: "live", expiresAt: "not a time" }, now, text, why).text, "live");
    });

    it("says starting, extending, retrying (with why), stopped and error", () => {
      const view = (s: Parameters<typeof statusView>[0]): StatusView => statusView(s, now, text, why);
      assert.deepEqual(view({ state: "starting", camera: "Porch", protocol: "WEB_RTC" }), {
        fill: "yellow",
        shape: "ring",
        text: "Porch: starting (WebRTC)",
      });
      assert.deepEqual(view({ state: "starting" }), { fill: "yellow", shape: "ring", text: "starting" });
      assert.deepEqual(view({ state: "extending", camera: "Porch", protocol: "RTSP" }), {
        fill: "green",
        shape: "ring",
        text: "Porch: extending (RTSP)",
      });
      assert.deepEqual(
        view({ state: "retrying", camera: "Porch", protocol: "RTSP", why: streamReason("rateLimited") }),
        {
          fill: "yellow",
          shape: "ring",
          text: "Porch: retrying: rate limited by Google",
        },
      );
      assert.deepEqual(view({ state: "stopped", camera: "Porch" }), {
        fill: "grey",
        shape: "ring",
        text: "stopped",
      });
      assert.deepEqual(view({ state: "error", camera: "Porch", reason: "Camera Porch is gone" }), {
        fill: "red",
        shape: "dot",
        text: "Camera Porch is gone",
      });
      assert.equal(view({ state: "error" }).text, "error");
    });

    it("keeps the line short and never shows a secret", () => {
      const token = "tok-" + "s".repeat(30);
      secrets.add(token);
      try {
        const line = statusView(
          {
            state: "retrying",
            camera: "Garden",
            why: streamReason("googleError", { detail: `said no to ${token} ${"and more ".repeat(10)}` }),
          },
          now,
          text,
          why,
        ).text;
        assert.ok(line.length <= 60, line);
        assert.ok(line.endsWith("…"), line);
        assert.ok(!line.includes(token.slice(0, 12)), line);
        const error = statusView({ state: "error", reason: `bad ${token}` }, now, text, why).text;
        assert.ok(!error.includes(token), error);
      } finally {
        secrets.delete(token);
      }
    });
  });

  describe("StreamStatus", () => {
    function setup() {
      const clock = new FakeClock(now);
      const shown: StatusView[] = [];
      const status = new StreamStatus({ clock, text, why, show: (v) => shown.push(v) });
      return { clock, shown, status };
    }

    it("refreshes the time left every 15 s while live, and only then", async () => {
      const { clock, shown, status } = setup();
      status.update({ state: "live", camera: "Porch", protocol: "RTSP", expiresAt: inMs(60_000) });
      await clock.advance(30_000);
      assert.deepEqual(
        shown.map((v) => v.text),
        ["Porch: live (RTSP), 1:00 left", "Porch: live (RTSP), 0:45 left", "Porch: live (RTSP), 0:30 left"],
      );
      status.update({ state: "extending", camera: "Porch", protocol: "RTSP" });
      assert.equal(clock.timers, 0);
      await clock.advance(60_000);
      assert.equal(shown.length, 4);
    });

    it("a new state re-arms the tick from now; close() stops it and ignores later states", async () => {
      const { clock, shown, status } = setup();
      status.update({ state: "live", expiresAt: inMs(120_000) });
      await clock.advance(10_000);
      status.update({ state: "live", expiresAt: inMs(300_000) });
      assert.equal(clock.timers, 1);
      await clock.advance(15_000);
      assert.deepEqual(
        shown.map((v) => v.text),
        ["live, 2:00 left", "live, 4:50 left", "live, 4:35 left"],
      );
      status.close();
      assert.equal(clock.timers, 0);
      status.update({ state: "stopped" });
      assert.equal(shown.length, 3);
    });

    it("says in yellow that the local server has no password while it serves the camera beyond loopback", () => {
      const clock = new FakeClock(now);
      const shown: StatusView[] = [];
      const status = new StreamStatus({
        clock,
        text,
        why,
        show: (v) => shown.push(v),
        exposed: (s) => s.protocol === "WEB_RTC",
      });
      status.update({ state: "live", camera: "Porch", protocol: "WEB_RTC", expiresAt: inMs(240_000) });
      status.update({ state: "live", camera: "Front", protocol: "RTSP", expiresAt: inMs(240_000) });
      status.update({ state: "stopped", protocol: "WEB_RTC" });
      status.close();
      assert.deepEqual(shown, [
        { fill: "yellow", shape: "dot", text: "Porch: live (WebRTC), 4:00 left · no RTSP password" },
        { fill: "green", shape: "dot", text: "Front: live (RTSP), 4:00 left" },
        { fill: "grey", shape: "ring", text: "stopped" },
      ]);
    });

    it("says when there is no account, in red", () => {
      const { shown, status } = setup();
      status.noAccount();
      assert.deepEqual(shown, [{ fill: "red", shape: "ring", text: "no account" }]);
    });
  });
});
