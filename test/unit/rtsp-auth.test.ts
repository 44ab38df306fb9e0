import assert from "node:assert/strict";
import {
  encodeUserinfo,
  isLoopbackHost,
  parseAuthParams,
  RtspAuthenticator,
  safeEqual,
  withCredentials,
} from "../../src/webrtc/rtsp-auth";
import { FakeClock } from "../support/fake-clock";
import { basicAnswer as basic, digestAnswer } from "../support/rtsp-digest";

const CREDS = { user: "frigate", password: "s3cret:p@ss" };

/** The challenge's Digest parameters. */
function digestChallenge(auth: RtspAuthenticator, stale = false, address = ""): Record<string, string> {
  const [digest, basicChallenge] = auth.challenge(stale, address);
  assert.match(digest, /^Digest realm="[^"]+", nonce="[^"]+"/, "realm, then nonce (live555 reads them so)");
  assert.match(basicChallenge, /^Basic realm="/);
  const params = parseAuthParams(digest.slice("Digest ".length));
  assert.ok(params);
  return params;
}

describe("RTSP authentication (Digest and Basic)", () => {
  const uri = "rtsp://127.0.0.1:8554/cam-1";

  it("accepts Digest with qop=auth (ffmpeg) and without qop (GStreamer, live555), for the method it was made for", () => {
    const auth = new RtspAuthenticator();
    const ch = digestChallenge(auth);
    assert.equal(ch.realm, "nest-restream");
    assert.equal(ch.algorithm, "MD5");
    assert.equal(ch.qop, "auth");
    assert.match(ch.nonce, /^[0-9a-f]{44}$/);
    assert.equal(auth.check(digestAnswer(ch, "DESCRIBE", uri, CREDS, "auth"), "DESCRIBE", CREDS), "ok");
    assert.equal(auth.check(digestAnswer(ch, "DESCRIBE", uri, CREDS), "DESCRIBE", CREDS), "ok");
    // The method is part of the hash: an answer made for DESCRIBE is no SETUP.
    assert.equal(auth.check(digestAnswer(ch, "DESCRIBE", uri, CREDS), "SETUP", CREDS), "wrong");
  });

  it("refuses a wrong password, a wrong user, a foreign nonce or realm, MD5-sess and a qop without nc/cnonce", () => {
    const auth = new RtspAuthenticator();
    const ch = digestChallenge(auth);
    const check = (header: string) => auth.check(header, "DESCRIBE", CREDS);
    assert.equal(check(digestAnswer(ch, "DESCRIBE", uri, { ...CREDS, password: "guess" })), "wrong");
    assert.equal(check(digestAnswer(ch, "DESCRIBE", uri, { ...CREDS, user: "admin" })), "wrong");
    // A nonce another server (another key, or this one before a restart) made: with the right
    // password a new challenge (stale), with a wrong one a failure.
    const other = digestChallenge(new RtspAuthenticator());
    assert.equal(check(digestAnswer(other, "DESCRIBE", uri, CREDS)), "stale");
    assert.equal(check(digestAnswer(other, "DESCRIBE", uri, { ...CREDS, password: "guess" })), "wrong");
    assert.equal(check(digestAnswer({ ...ch, nonce: "0".repeat(44) }, "DESCRIBE", uri, CREDS)), "stale");
    assert.equal(
      check(digestAnswer({ ...ch, nonce: "0".repeat(44) }, "DESCRIBE", uri, { ...CREDS, user: "x" })),
      "wrong",
    );
    assert.equal(check(digestAnswer({ ...ch, realm: "elsewhere" }, "DESCRIBE", uri, CREDS)), "wrong");
    const good = digestAnswer(ch, "DESCRIBE", uri, CREDS);
    assert.equal(check(good + ", algorithm=MD5-sess"), "wrong");
    assert.equal(check(good + ", qop=auth"), "wrong", "qop needs nc and cnonce");
    assert.equal(check(good.replace(/, response="[0-9a-f]+"/, "")), "wrong");
    assert.equal(check(good + ', username="twice"'), "wrong", "a parameter twice");
    assert.equal(check('Digest realm=unterminated, nonce="abc'), "wrong");
    assert.equal(check("Bearer abc"), "wrong");
    const elsewhere = (u: string) => u !== uri;
    assert.equal(auth.check(good, "DESCRIBE", CREDS, elsewhere), "wrong", "made for another URI");
    assert.equal(
      auth.check(good, "DESCRIBE", CREDS, (u) => u === uri),
      "ok",
    );
    assert.equal(check(""), "missing");
    assert.equal(auth.check(undefined, "DESCRIBE", CREDS), "missing");
  });

  it("does not let in a Digest answer replayed from another address than the one its nonce was made for", () => {
    const auth = new RtspAuthenticator();
    const ch = digestChallenge(auth, false, "192.168.1.20");
    const seen = digestAnswer(ch, "DESCRIBE", uri, CREDS, "auth");
    const check = (address: string) => auth.check(seen, "DESCRIBE", CREDS, () => true, address);
    assert.equal(check("192.168.1.20"), "ok", "the client it was made for");
    // Another machine that saw it on the network gets a new challenge, which it cannot answer;
    // the same client on another address (IPv6 now) answers that one.
    assert.equal(check("192.168.1.66"), "stale");
    assert.equal(check("::1"), "stale");
    const fresh = digestChallenge(auth, true, "::1");
    assert.equal(
      auth.check(digestAnswer(fresh, "DESCRIBE", uri, CREDS), "DESCRIBE", CREDS, () => true, "::1"),
      "ok",
    );
  });

  it("answers an expired nonce with the right password as stale (a new challenge, not a failure)", async () => {
    const clock = new FakeClock();
    const auth = new RtspAuthenticator({ clock, nonceTtlMs: 60_000 });
    const ch = digestChallenge(auth);
    const header = digestAnswer(ch, "PLAY", uri, CREDS, "auth");
    await clock.advance(59_000);
    assert.equal(auth.check(header, "PLAY", CREDS), "ok");
    await clock.advance(2_000);
    assert.equal(auth.check(header, "PLAY", CREDS), "stale");
    // A wrong password stays wrong with an old nonce.
    assert.equal(
      auth.check(digestAnswer(ch, "PLAY", uri, { ...CREDS, password: "x" }), "PLAY", CREDS),
      "wrong",
    );
    const fresh = digestChallenge(auth, true);
    assert.equal(fresh.stale, "true");
    assert.equal(auth.check(digestAnswer(fresh, "PLAY", uri, CREDS), "PLAY", CREDS), "ok");
  });

  it("accepts Basic with the user and password (colons in the password) and refuses anything else", () => {
    const auth = new RtspAuthenticator();
    assert.equal(auth.check(basic("frigate", "s3cret:p@ss"), "DESCRIBE", CREDS), "ok");
    assert.equal(
      auth.check("basic  " + Buffer.from("frigate:s3cret:p@ss").toString("base64"), "X", CREDS),
      "ok",
    );
    assert.equal(auth.check(basic("frigate", "s3cret:p@s"), "DESCRIBE", CREDS), "wrong");
    assert.equal(auth.check(basic("frigat", "s3cret:p@ss"), "DESCRIBE", CREDS), "wrong");
    assert.equal(
      auth.check(`Basic ${Buffer.from("nocolon").toString("base64")}`, "DESCRIBE", CREDS),
      "wrong",
    );
    assert.equal(auth.check("Basic not*base64", "DESCRIBE", CREDS), "wrong");
    assert.equal(auth.check("Basic", "DESCRIBE", CREDS), "wrong");
  });

  it("refuses an address after too many failures for the window, then forgets them", async () => {
    const clock = new FakeClock();
    const auth = new RtspAuthenticator({ clock, maxFailures: 3, failureWindowMs: 10_000 });
    assert.equal(auth.blocked("10.0.0.9"), false);
    assert.equal(auth.failed("10.0.0.9"), false);
    assert.equal(auth.failed("10.0.0.9"), false);
    assert.equal(auth.blocked("10.0.0.9"), false);
    assert.equal(auth.failed("10.0.0.9"), true);
    assert.equal(auth.blocked("10.0.0.9"), true);
    assert.equal(auth.blocked("10.0.0.10"), false, "other addresses are not concerned");
    await clock.advance(10_000);
    assert.equal(auth.blocked("10.0.0.9"), false);
    assert.equal(auth.failed("10.0.0.9"), false, "a new window");
  });

  it("remembers a bounded number of addresses", () => {
    const auth = new RtspAuthenticator({ maxFailures: 2, maxTrackedAddresses: 100 });
    auth.failed("victim");
    auth.failed("victim");
    assert.equal(auth.blocked("victim"), true);
    for (let i = 0; i < 1000; i++) auth.failed(`10.0.${i >> 8}.${i & 255}`);
    // The oldest went first: memory stays bounded whatever the number of addresses.
    assert.equal(auth.blocked("victim"), false);
    assert.equal(auth.blocked("10.0.3.231"), false);
    auth.failed("10.0.3.231");
    assert.equal(auth.blocked("10.0.3.231"), true);
  });

  it("compares in constant time whatever the lengths, and parses quoted parameters with escapes", () => {
    assert.equal(safeEqual("abc", "abc"), true);
    assert.equal(safeEqual("abc", "abcd"), false);
    assert.equal(safeEqual("", ""), true);
    assert.deepEqual(parseAuthParams('a="x, \\"y\\"", B=token ,c=""'), { a: 'x, "y"', b: "token", c: "" });
    assert.equal(parseAuthParams("a"), undefined);
    assert.equal(parseAuthParams('a="x" b="y"'), undefined);
    // Linear: a long header is parsed at once.
    const started = Date.now();
    parseAuthParams(`a="${"\\x".repeat(50_000)}`);
    parseAuthParams("a=" + ",".repeat(50_000));
    assert.ok(Date.now() - started < 500);
  });

  it("writes credentials into URLs percent-encoded, and knows loopback from the network", () => {
    assert.equal(
      withCredentials("rtsp://127.0.0.1:8554/cam-1", { user: "ha user", password: "p@ss:w/rd%!'()*" }),
      "rtsp://ha%20user:p%40ss%3Aw%2Frd%25%21%27%28%29%2A@127.0.0.1:8554/cam-1",
    );
    assert.equal(withCredentials("rtsp://[::1]:8554/c", undefined), "rtsp://[::1]:8554/c");
    assert.equal(decodeURIComponent(encodeUserinfo("é ü:@")), "é ü:@");
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"])
      assert.equal(isLoopbackHost(h), true, h);
    for (const h of ["0.0.0.0", "::", "192.168.1.10", "nas.local", "128.0.0.1"])
      assert.equal(isLoopbackHost(h), false, h);
  });
});
