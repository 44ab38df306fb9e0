import assert from "node:assert/strict";
import { buildArgs } from "../../src/ffmpeg/args";
import { RestreamController } from "../../src/ffmpeg/restream-controller";
import { Restreamer } from "../../src/ffmpeg/restreamer";
import { resolveOutputs, verifyingTls } from "../../src/ffmpeg/targets";
import { SYSTEM_CA_FILES, tlsTrust, type TlsTrust } from "../../src/ffmpeg/tls-trust";
import { refusalText } from "../support/catalog";
import { FakeClock, flush } from "../support/fake-clock";
import { FakeSpawner } from "../support/fake-ffmpeg";

const KEY = "abcd-efgh-ijkl-mnop-qrst";
const RTSP = "rtsp://127.0.0.1:8554/cam";
const CA: TlsTrust = { caFile: "/etc/ca.pem" };

const verified = (options: [string, string][], caFile = "/etc/ca.pem") =>
  options.some(([k, v]) => k === "tls_verify" && v === "1") &&
  options.some(([k, v]) => k === "ca_file" && v === caFile);

/** The ffmpeg command line checks the certificate against /etc/ca.pem. */
const argsVerify = (args: readonly string[]) =>
  args[args.indexOf("-tls_verify") + 1] === "1" && args[args.indexOf("-ca_file") + 1] === "/etc/ca.pem";

function restreamer(tls: TlsTrust) {
  const spawner = new FakeSpawner();
  const clock = new FakeClock();
  const r = new Restreamer({
    target: { streamKey: KEY },
    clock,
    spawn: spawner.spawn,
    ffmpegPath: "/usr/bin/ffmpeg",
    audio: "copy",
    tls,
    errorText: (err: unknown) => refusalText("nest-restream", err),
  });
  const warnings: string[] = [];
  r.on("warning", (w) => warnings.push(w));
  return { r, spawner, warnings, clock };
}

describe("TLS destinations: ffmpeg checks an rtmps:// server's certificate", () => {
  it("trusts the node's CA file, else the first system bundle there is, else none; or nothing when off", () => {
    const only =
      (...files: string[]) =>
      (f: string) =>
        files.includes(f);
    assert.deepEqual(tlsTrust({ caFile: " /my/ca.pem " }, only("/my/ca.pem")), { caFile: "/my/ca.pem" });
    assert.deepEqual(tlsTrust({ caFile: "/my/ca.pem" }, only(SYSTEM_CA_FILES[0])), { missing: "/my/ca.pem" });
    assert.deepEqual(tlsTrust({ caFile: "" }, only(SYSTEM_CA_FILES[2], SYSTEM_CA_FILES[3])), {
      caFile: SYSTEM_CA_FILES[2],
    });
    assert.deepEqual(tlsTrust({}, only()), { caFile: undefined });
    assert.deepEqual(tlsTrust({ caFile: "/my/ca.pem", verify: false }, only("/my/ca.pem")), { off: true });
  });

  it("turns tls_verify on with the CA file for rtmps:// only (ffmpeg's RTSP and HLS muxers take no TLS options)", () => {
    const dests = verifyingTls(
      resolveOutputs({ streamKey: KEY }, [
        { target: "custom", url: "rtmps://live.example/app", streamKey: "k2-123456" },
        { target: "custom", url: "rtmp://plain.example/app", streamKey: "k3-123456" },
        { target: "custom", url: "rtsps://mediamtx.example:8322/cam" },
        { target: "custom", url: "srt://example:9000" },
        { target: "custom", url: "https://example/hls/out.m3u8" },
        { target: "custom", url: "/rec/" },
      ]),
      CA,
    );
    assert.deepEqual(
      dests.map((d) => verified(d.options)),
      [true, true, false, false, false, false, false],
    );
    assert.deepEqual(
      dests.map((d) => d.verified === true),
      [true, true, false, false, false, false, false],
    );
    for (const trust of [{}, { off: true, caFile: "/etc/ca.pem" }]) {
      const [d] = verifyingTls(resolveOutputs({ streamKey: KEY }), trust);
      assert.ok(!d.options.some(([k]) => k === "tls_verify"), `${JSON.stringify(trust)}: nothing added`);
    }
  });

  it("puts the options before the URL of a single output", () => {
    const single = buildArgs({
      inputUrl: RTSP,
      outputs: verifyingTls(resolveOutputs({ streamKey: KEY }), CA),
    });
    const url = single.indexOf(`rtmps://a.rtmps.youtube.com:443/live2/${KEY}`);
    assert.equal(single[single.indexOf("-tls_verify") + 1], "1");
    assert.equal(single[single.indexOf("-ca_file") + 1], "/etc/ca.pem");
    assert.ok(single.indexOf("-ca_file") < url, "output options come before the output URL");
  });

  it("checks a destination from a message (msg.target, as youtube-live sends it) like the configured one", async () => {
    const { r, spawner } = restreamer(CA);
    r.play(RTSP);
    assert.ok(argsVerify(spawner.last.args), "the configured one");
    r.setTarget({
      target: "youtube-rtmps",
      url: "rtmps://a.rtmps.youtube.com/live2",
      streamKey: "msg-key-123456",
    });
    await flush();
    assert.equal(spawner.processes.length, 2, "switched to the message's destination");
    const args = spawner.last.args;
    assert.ok(args.includes("rtmps://a.rtmps.youtube.com/live2/msg-key-123456"), args.join(" "));
    assert.ok(argsVerify(args), args.join(" "));
    // The same destination again changes nothing: no restart for options only this side adds.
    const count = spawner.processes.length;
    r.setTarget({
      target: "youtube-rtmps",
      url: "rtmps://a.rtmps.youtube.com/live2",
      streamKey: "msg-key-123456",
    });
    await flush();
    assert.equal(spawner.processes.length, count);
    void r.stop();
  });

  it("warns once when an rtmps:// destination starts with no CA certificates to check it; not when turned off", async () => {
    const none = restreamer({ caFile: undefined });
    none.r.play(RTSP);
    none.spawner.last.exit(1);
    await none.clock.advance(5_000);
    assert.equal(none.spawner.processes.length, 2, "a second run");
    assert.equal(none.warnings.length, 1, none.warnings.join("\n"));
    assert.match(
      none.warnings[0],
      /no CA certificates found .*the rtmps:\/\/ server's certificate is not checked/,
    );
    void none.r.stop();

    const off = restreamer({ off: true });
    off.r.play(RTSP);
    assert.deepEqual(off.warnings, []);
    assert.ok(!off.spawner.last.args.includes("-tls_verify"));
    void off.r.stop();

    const plain = restreamer({ caFile: undefined });
    plain.r.setTarget({ target: "youtube-rtmp", streamKey: KEY });
    plain.r.play(RTSP);
    assert.deepEqual(plain.warnings, [], "rtmp:// has no certificate to check");
    void plain.r.stop();
  });

  it("a CA file that is not there: misconfigured at deploy, and nothing is started", () => {
    const controller = RestreamController.fromConfig({ streamKey: KEY, caFile: "/no/such/ca.pem" });
    const status = controller.initialStatus();
    assert.equal(status.state, "misconfigured");
    const why = status.state === "misconfigured" ? refusalText("nest-restream", status.error) : "";
    assert.match(why, /the CA file \/no\/such\/ca\.pem does not exist/);
  });
});
