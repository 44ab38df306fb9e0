import assert from "node:assert/strict";
import { buildArgs } from "../../src/ffmpeg/args";
import { RestreamController } from "../../src/ffmpeg/restream-controller";
import { Restreamer } from "../../src/ffmpeg/restreamer";
import { resolveOutputs, verifyingTls } from "../../src/ffmpeg/targets";
import { SYSTEM_CA_FILES, tlsTrust } from "../../src/ffmpeg/tls-trust";

const KEY = "abcd-efgh-ijkl-mnop-qrst";
const RTSP = "rtsp://127.0.0.1:8554/cam";

describe("TLS destinations: ffmpeg verifies their certificate", () => {
  it("trusts the node's CA file, else the first system bundle there is, else none", () => {
    const only =
      (...files: string[]) =>
      (f: string) =>
        files.includes(f);
    assert.deepEqual(tlsTrust(" /my/ca.pem ", only("/my/ca.pem")), { caFile: "/my/ca.pem" });
    assert.deepEqual(tlsTrust("/my/ca.pem", only(SYSTEM_CA_FILES[0])), { missing: "/my/ca.pem" });
    assert.deepEqual(tlsTrust("", only(SYSTEM_CA_FILES[2], SYSTEM_CA_FILES[3])), {
      caFile: SYSTEM_CA_FILES[2],
    });
    assert.deepEqual(tlsTrust(undefined, only()), { caFile: undefined });
  });

  it("turns tls_verify on with the CA file for rtmps:// and rtsps:// only", () => {
    const dests = verifyingTls(
      resolveOutputs({ streamKey: KEY }, [
        { target: "custom", url: "rtmp://plain.example/app", streamKey: "k2-123456" },
        { target: "custom", url: "rtsps://mediamtx.example:8322/cam" },
        { target: "custom", url: "srt://example:9000" },
        { target: "custom", url: "https://example/hls/out.m3u8" },
        { target: "custom", url: "/rec/" },
      ]),
      "/etc/ca.pem",
    );
    const verified = dests.map(
      (d) =>
        d.options.some(([k, v]) => k === "tls_verify" && v === "1") &&
        d.options.some(([k, v]) => k === "ca_file" && v === "/etc/ca.pem"),
    );
    assert.deepEqual(verified, [true, false, true, false, false, false]);
    const unverified = verifyingTls(resolveOutputs({ streamKey: KEY }), undefined);
    assert.ok(!unverified[0].options.some(([k]) => k === "tls_verify"), "no CA file: nothing added");
  });

  it("puts the options before the URL of a single output", () => {
    const single = buildArgs({
      inputUrl: RTSP,
      outputs: verifyingTls(resolveOutputs({ streamKey: KEY }), "/ca.pem"),
    });
    const url = single.indexOf(`rtmps://a.rtmps.youtube.com:443/live2/${KEY}`);
    assert.equal(single[single.indexOf("-tls_verify") + 1], "1");
    assert.equal(single[single.indexOf("-ca_file") + 1], "/ca.pem");
    assert.ok(single.indexOf("-ca_file") < url, "output options come before the output URL");
  });

  it("a CA file that is not there: misconfigured at deploy, and nothing is started", () => {
    const controller = RestreamController.fromConfig({ streamKey: KEY, caFile: "/no/such/ca.pem" });
    const status = controller.initialStatus();
    assert.equal(status.state, "misconfigured");
    assert.match(String(status.reason), /the CA file \/no\/such\/ca\.pem does not exist/);
    assert.equal(controller.unverifiedTls(), false, "the missing file is the error, not a warning");
  });

  it("says when an rtmps:// destination cannot be verified (no CA file anywhere)", () => {
    const r = new Restreamer({ target: { streamKey: KEY } });
    const none = new RestreamController(r, { streamKey: KEY }, [], 0, {}, {});
    assert.equal(none.unverifiedTls(), true);
    const withCa = new RestreamController(r, { streamKey: KEY }, [], 0, {}, { caFile: "/ca.pem" });
    assert.equal(withCa.unverifiedTls(), false);
    const plain = new RestreamController(r, { target: "youtube-rtmp", streamKey: KEY }, [], 0, {}, {});
    assert.equal(plain.unverifiedTls(), false, "rtmp:// has no certificate to verify");
  });
});
