import assert from "node:assert/strict";
import { SecretRegistry, secrets } from "../../src/redact";
import { describeValue, parseStreamCommand, StreamCommandError } from "../../src/stream/stream-command";

describe("parseStreamCommand", () => {
  it("accepts the words, booleans and Home Assistant's on/off", () => {
    assert.deepEqual(parseStreamCommand("start"), { action: "start" });
    assert.deepEqual(parseStreamCommand(" Stop "), { action: "stop" });
    assert.deepEqual(parseStreamCommand("restart"), { action: "restart" });
    assert.deepEqual(parseStreamCommand(true), { action: "start" });
    assert.deepEqual(parseStreamCommand(false), { action: "stop" });
    assert.deepEqual(parseStreamCommand("on"), { action: "start" });
    assert.deepEqual(parseStreamCommand("OFF"), { action: "stop" });
  });

  it("takes msg.deviceId with a start, short or full name", () => {
    assert.deepEqual(parseStreamCommand("start", "AVPHwEv"), { action: "start", deviceId: "AVPHwEv" });
    assert.deepEqual(parseStreamCommand("restart", "enterprises/p-1/devices/AVP_x-1"), {
      action: "restart",
      deviceId: "enterprises/p-1/devices/AVP_x-1",
    });
    assert.deepEqual(parseStreamCommand("stop", "whatever"), { action: "stop" });
  });

  it("rejects anything else with a message listing what is accepted", () => {
    for (const bad of ["go", 1, {}, [], null, undefined, "rtsps://x"]) {
      assert.throws(
        () => parseStreamCommand(bad),
        (e: unknown) =>
          e instanceof StreamCommandError &&
          e.message.includes('"start", "stop", "restart", true, false, "on" or "off"') &&
          e.message.includes("left as it is"),
      );
    }
    assert.throws(() => parseStreamCommand("start", "../etc"), /not a device id/);
    assert.throws(() => parseStreamCommand("start", 42), /not a device id/);
  });

  it("does not echo long strings that may hold secrets", () => {
    const long = "rtsps://host/path?auth=" + "x".repeat(100);
    assert.throws(
      () => parseStreamCommand(long),
      (e: unknown) =>
        e instanceof Error && !e.message.includes("auth=") && /string of 123 characters/.test(e.message),
    );
  });
});

describe("describeValue", () => {
  it("quotes a short string but masks a secret sent as one (a stream key as msg.payload)", () => {
    const key = "abcd-efgh-ijkl-mnop-qrst";
    assert.ok(key.length >= SecretRegistry.MIN_LENGTH);
    assert.equal(describeValue("hello"), '"hello"');
    secrets.add(key);
    try {
      const got = describeValue(key);
      assert.ok(!got.includes(key), got);
      assert.equal(got, '"***"');
      assert.ok(!new StreamCommandError(got).message.includes(key));
    } finally {
      secrets.delete(key);
    }
  });
});
