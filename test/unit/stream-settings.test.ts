import assert from "node:assert/strict";
import {
  rtspCredentialsSetting,
  rtspPortSetting,
  STREAM_SETTING_CODES,
  StreamSettingError,
} from "../../src/stream/stream-settings";
import { builtCatalog, catalogText, lookup } from "../support/catalog";

/** The refusal's code and what came instead, as the adapter reads them. */
function refusal(fn: () => unknown): { code: string; got?: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StreamSettingError, String(err));
    return { code: err.code, ...(err.got === undefined ? {} : { got: err.got }) };
  }
  assert.fail("not refused");
}

describe("nest-stream settings of the local RTSP server", () => {
  it("the port: empty for the default, 0 to 65535, anything else refused with what came, cut", () => {
    for (const empty of [undefined, null, "", "  "]) assert.equal(rtspPortSetting(empty), undefined);
    assert.equal(rtspPortSetting("0"), 0);
    assert.equal(rtspPortSetting(" 8554 "), 8554);
    assert.equal(rtspPortSetting(65535), 65535);
    for (const bad of ["85x4", "-1", "65536", "1.5", "0x10"]) {
      assert.deepEqual(
        refusal(() => rtspPortSetting(bad)),
        { code: "rtspPort", got: bad },
      );
    }
    assert.equal(refusal(() => rtspPortSetting("9".repeat(40))).got?.length, 20);
  });

  it("user and password: both or neither; no colon or control characters in the user, none in the password", () => {
    assert.equal(rtspCredentialsSetting(undefined, undefined), undefined);
    assert.equal(rtspCredentialsSetting("", ""), undefined);
    assert.deepEqual(rtspCredentialsSetting("ha", "pa:ss word"), { user: "ha", password: "pa:ss word" });
    assert.deepEqual(
      refusal(() => rtspCredentialsSetting("ha", "")),
      { code: "rtspCredentials" },
    );
    assert.deepEqual(
      refusal(() => rtspCredentialsSetting(undefined, "secret-1")),
      { code: "rtspCredentials" },
    );
    for (const [user, password] of [
      ["ha:admin", "secret-1"],
      ["ha\n", "secret-1"],
      ["ha", "secret\u0007"],
    ] as const) {
      const r = refusal(() => rtspCredentialsSetting(user, password));
      assert.deepEqual(r, { code: "rtspUser" });
    }
  });

  it("every refusal has its text in the node's catalog, in the words users read", () => {
    const catalog = builtCatalog("nest-stream");
    for (const code of STREAM_SETTING_CODES) {
      assert.ok(lookup(catalog, `nest-stream.errors.${code}`), `nest-stream.errors.${code} is missing`);
    }
    const t = catalogText("nest-stream");
    const port = refusal(() => rtspPortSetting("85x4"));
    assert.equal(
      t(`nest-stream.errors.${port.code}`, { got: port.got }),
      'nest-stream: the RTSP port must be a number from 0 to 65535 (0 = any free port) or empty for 8554, not "85x4".',
    );
    // No password in any of them: the refusals carry none.
    const text = t(`nest-stream.errors.${refusal(() => rtspCredentialsSetting("a:b", "secret-1")).code}`);
    assert.match(text, /the RTSP user takes no colon/);
    assert.ok(!text.includes("secret-1"));
  });
});
