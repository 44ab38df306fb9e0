import assert from "node:assert/strict";
import { formatDuration, truncate, truncateMiddle } from "../../src/format";

describe("format", () => {
  it("formats durations as m:ss or h:mm:ss", () => {
    assert.equal(formatDuration(272_000), "4:32");
    assert.equal(formatDuration(59_600), "1:00");
    assert.equal(formatDuration(3_723_000), "1:02:03");
    assert.equal(formatDuration(-5), "0:00");
  });
  it("truncates long status text", () => {
    assert.equal(truncate("short"), "short");
    assert.equal(truncate("x".repeat(70)).length, 60);
    assert.ok(truncate("x".repeat(70)).endsWith("…"));
  });
  it("keeps both ends of a long identifier", () => {
    assert.equal(truncateMiddle("short-id"), "short-id");
    const long = "a".repeat(30) + "b".repeat(40);
    assert.equal(truncateMiddle(long), `${"a".repeat(24)}…${"b".repeat(24)}`);
  });
});
