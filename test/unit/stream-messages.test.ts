/**
 * What only the user can fix about a camera (StreamConfigError codes) is worded from nest-stream's
 * catalog: every code has its text, every text of `nest-stream.errors` is a code or the adapter's own,
 * and no token or password reaches a text.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { NotFoundError, PermissionDeniedError, RateLimitedError } from "../../src/google/errors";
import { secrets } from "../../src/redact";
import {
  classifyError,
  exposedWarning,
  noProtocol,
  notACamera,
  portFellBack,
  rtspServerError,
  STREAM_CONFIG_CODES,
  StreamConfigError,
} from "../../src/stream/stream-messages";
import { STREAM_SETTING_CODES } from "../../src/stream/stream-settings";
import { builtCatalog, keys, refusalText } from "../support/catalog";

// dist/test/unit -> the repository
const nodes = path.join(__dirname, "..", "..", "..", "nodes");
const adapter = fs.readFileSync(path.join(nodes, "nest-stream.ts"), "utf8");
const editor = fs.readFileSync(path.join(nodes, "nest-stream.html"), "utf8");
const worded = (err: unknown) => refusalText("nest-stream", err);
const fatal = (err: unknown, camera = "Front door") => {
  const verdict = classifyError(err, "generate", camera);
  assert.equal(verdict.kind, "fatal");
  return verdict.kind === "fatal" ? verdict.error : new Error("not fatal");
};

describe("nest-stream's configuration errors", () => {
  it("every code has its text in the catalog; every error text is a code or the adapter's or editor's own", () => {
    const errors = keys(builtCatalog("nest-stream")).filter((k) => k.startsWith("nest-stream.errors."));
    for (const code of STREAM_CONFIG_CODES) {
      assert.ok(errors.includes(`nest-stream.errors.${code}`), `nest-stream.errors.${code} is missing`);
    }
    const codes: readonly string[] = [...STREAM_CONFIG_CODES, ...STREAM_SETTING_CODES];
    for (const key of errors) {
      const code = key.slice("nest-stream.errors.".length);
      const used =
        codes.includes(code) || adapter.includes(`"errors.${code}"`) || editor.includes(`"${key}"`);
      assert.ok(used, `${key} is not used`);
    }
  });

  it("words Google's refusals with the camera and what to do", () => {
    assert.equal(
      worded(fatal(new NotFoundError("Device not found."))),
      'Camera "Front door" was not found (Device not found.). Check the device id in the nest-stream node, and ' +
        "that the camera was shared with your Device Access project when the nest-account was authorized " +
        "(authorize the account again and tick this camera).",
    );
    assert.match(
      worded(fatal(new PermissionDeniedError("The caller does not have permission"))),
      /^Google denied access to camera "Front door" \(The caller does not have permission\)\. Check the Device Access project ID/,
    );
    assert.equal(classifyError(new RateLimitedError("slow down"), "generate", "x").kind, "retry");
  });

  it("a device that is not a camera, with its article; protocols; the local server", () => {
    assert.equal(
      worded(notACamera("Hallway", "sdm.devices.types.THERMOSTAT")),
      'Device "Hallway" is a thermostat, not a camera: pick a camera in the nest-stream node.',
    );
    assert.match(
      worded(notACamera("Hub", "sdm.devices.types.ACCESS_POINT")),
      /^Device "Hub" is an access point,/,
    );
    assert.match(worded(noProtocol("Porch", ["HLS"])), /\(RTSP or WebRTC; it lists HLS\)\.$/);
    assert.match(worded(noProtocol("Porch", [])), /\(RTSP or WebRTC; it lists none\)\.$/);
    const inUse = Object.assign(new Error("listen EADDRINUSE"), { code: "EADDRINUSE" });
    assert.match(
      worded(rtspServerError("Porch", "::1", 8554, inUse)),
      /listen on \[::1\]:8554 \(the port is in use/,
    );
    assert.match(
      worded(rtspServerError("Porch", "10.0.0.9", 8554, new Error("listen EADDRNOTAVAIL"))),
      /listen on 10\.0\.0\.9:8554 \(listen EADDRNOTAVAIL\)\. Set another RTSP port/,
    );
    assert.match(
      worded(exposedWarning("0.0.0.0")),
      /^the local RTSP server listens on 0\.0\.0\.0, beyond this machine/,
    );
  });

  it("the default port taken: the port it serves on instead", () => {
    assert.equal(
      worded(portFellBack(8554, 40123)),
      "RTSP port 8554 is in use by another program, so WebRTC cameras are served on port 40123 instead. " +
        "Set a free RTSP port in the nest-stream node for a URL that does not change.",
    );
  });

  it("masks a token or password in what it fills in", () => {
    secrets.add("stream-secret-31");
    const err = fatal(new NotFoundError("no device for token stream-secret-31"));
    secrets.delete("stream-secret-31");
    assert.ok(err instanceof StreamConfigError);
    assert.ok(!worded(err).includes("stream-secret-31"));
    assert.ok(!err.message.includes("stream-secret-31"));
    assert.match(worded(err), /no device for token \*\*\*/);
  });
});
