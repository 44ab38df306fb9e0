import assert from "node:assert/strict";
import type { QueueStatus } from "../../src/youtube/upload-queue";
import {
  PROGRESS_STATUS_MS,
  speedText,
  UploadStatusLine,
  uploadStatusView,
  type UploadStatusView,
} from "../../src/youtube/upload-status";
import { catalogText } from "../support/catalog";
import { FakeClock } from "../support/fake-clock";

const t = catalogText("youtube-upload");
const text = (key: string, vars?: Record<string, string | number>) => t(`youtube-upload.status.${key}`, vars);

describe("youtube-upload status line", () => {
  it("words each queue state from the catalog", () => {
    const view = (s: QueueStatus) => uploadStatusView(s, text);
    assert.deepEqual(view({ queued: 0 }), { fill: "grey", shape: "ring", text: "idle" });
    assert.deepEqual(view({ queued: 2 }), { fill: "blue", shape: "ring", text: "starting · 2 queued" });
    assert.deepEqual(
      view({
        queued: 1,
        current: { file: "/r/a.mp4", sent: 512, total: 1024, bytesPerSecond: 3 * 1024 * 1024 },
      }),
      { fill: "blue", shape: "dot", text: "50% · 3.0 MB/s · 1 queued" },
    );
    assert.deepEqual(view({ queued: 1, waitingUntil: Date.UTC(2026, 11, 2, 8, 0) }), {
      fill: "yellow",
      shape: "ring",
      text: "quota spent: waiting until 2026-12-02 08:00 UTC · 1 queued",
    });
    assert.deepEqual(view({ queued: 0, lastVideoId: "vid123" }), {
      fill: "green",
      shape: "dot",
      text: "uploaded vid123",
    });
  });

  it("masks a secret in the retry reason", () => {
    const session =
      "https://www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&upload_id=SECRETSESSION1234";
    const v = uploadStatusView({ queued: 1, retrying: `network error at ${session}` }, text);
    assert.match(v.text, /^retrying: network error at /);
    assert.ok(!v.text.includes("SECRETSESSION1234"), v.text);
  });

  it("speaks in KB/s below a MiB a second", () => {
    assert.equal(speedText(300 * 1024), "300 KB/s");
    assert.equal(speedText(1.5 * 1024 * 1024), "1.5 MB/s");
  });

  it("shows every change of state, and progress at most once a second", async () => {
    const clock = new FakeClock();
    const shown: UploadStatusView[] = [];
    const line = new UploadStatusLine(text, (v) => shown.push(v), clock);
    const progress = (sent: number): QueueStatus => ({
      queued: 1,
      current: { file: "a.mp4", sent, total: 100, bytesPerSecond: 1024 },
    });
    line.update({ queued: 1 });
    line.update(progress(10));
    await clock.advance(PROGRESS_STATUS_MS - 1);
    line.update(progress(20));
    await clock.advance(1);
    line.update(progress(30));
    line.update({ queued: 0, lastVideoId: "v1" });
    assert.deepEqual(
      shown.map((v) => v.text),
      ["starting · 1 queued", "10% · 1 KB/s · 1 queued", "30% · 1 KB/s · 1 queued", "uploaded v1"],
    );
  });
});
