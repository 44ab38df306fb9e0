/**
 * nest-stream's message catalog words every code src can give it: each configuration error
 * (`nest-stream.errors.<code>`) and each retrying reason (`nest-stream.reasons.<code>`); and it
 * holds no reason that src no longer gives.
 */
import assert from "node:assert/strict";
import { STREAM_CONFIG_CODES } from "../../src/stream/stream-messages";
import {
  reasonText,
  STREAM_REASON_CODES,
  STREAM_WARNING_CODES,
  streamReason,
  streamWarning,
} from "../../src/stream/stream-reason";
import { builtCatalog, keys, lookup } from "../support/catalog";
import { warnText, whyText } from "../support/stream-reasons";

describe("nest-stream message catalog", () => {
  const catalog = builtCatalog("nest-stream");
  const all = keys(catalog);

  it("has an error text for every configuration code and a reason text for every reason code", () => {
    for (const code of STREAM_CONFIG_CODES) {
      assert.ok(lookup(catalog, `nest-stream.errors.${code}`), `nest-stream.errors.${code} is missing`);
    }
    for (const code of STREAM_REASON_CODES) {
      assert.ok(lookup(catalog, `nest-stream.reasons.${code}`), `nest-stream.reasons.${code} is missing`);
    }
    for (const code of STREAM_WARNING_CODES) {
      assert.ok(lookup(catalog, `nest-stream.warnings.${code}`), `nest-stream.warnings.${code} is missing`);
    }
  });

  it("has no reason or warning that src does not give", () => {
    for (const key of all.filter((k) => k.startsWith("nest-stream.reasons."))) {
      const code = key.slice("nest-stream.reasons.".length);
      assert.ok((STREAM_REASON_CODES as readonly string[]).includes(code), `${key} is not used`);
    }
    for (const key of all.filter((k) => k.startsWith("nest-stream.warnings."))) {
      const code = key.slice("nest-stream.warnings.".length);
      assert.ok((STREAM_WARNING_CODES as readonly string[]).includes(code), `${key} is not used`);
    }
  });

  it("names the camera in a warning from the catalog", () => {
    assert.equal(
      warnText(streamWarning("stoppingFailed", { camera: "Porch", detail: "socket hang up" })),
      'Camera "Porch": stopping the stream failed: socket hang up',
    );
  });

  it("words a reason with its cause as before the catalog", () => {
    const offline = streamReason("cameraOffline", { camera: "Front door" });
    assert.equal(
      whyText(streamReason("nextTry", { seconds: "2" }, offline)),
      'camera offline: check that "Front door" is online in the Google Home app; next try in 2 s',
    );
    assert.equal(
      whyText(streamReason("extendRetry", { seconds: "4" }, streamReason("googleError", { detail: "503" }))),
      "extend failed (Google error: 503); next try in 4 s, stream still live",
    );
    // Without a catalog the key comes back, and the cause is not worded.
    assert.equal(
      reasonText(streamReason("newStream", {}, streamReason("rateLimited")), (code) => code),
      "newStream",
    );
  });
});
