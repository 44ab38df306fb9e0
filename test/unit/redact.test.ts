import assert from "node:assert/strict";
import { resolveTarget } from "../../src/ffmpeg/targets";
import { redact, redactParams, secrets, SecretRegistry } from "../../src/redact";
import { refusalText } from "../support/catalog";

describe("redact", () => {
  it("masks each placeholder value of a coded text, keeping the names", () => {
    assert.deepEqual(redactParams({ url: "rtmp://user:s3cret@host/app", camera: "Porch" }), {
      url: "rtmp://user:***@host/app",
      camera: "Porch",
    });
  });

  it("masks RTSP auth tokens and keeps the punctuation after them", () => {
    const url = "rtsps://stream-ue1-delta.dropcam.com:443/sdm_live_stream/CiUA?auth=g.0.abcDEF-123";
    assert.equal(redact(url), "rtsps://stream-ue1-delta.dropcam.com:443/sdm_live_stream/CiUA?auth=***");
    assert.equal(
      redact(`failed (${url}); retrying`),
      "failed (rtsps://stream-ue1-delta.dropcam.com:443/sdm_live_stream/CiUA?auth=***); retrying",
    );
  });

  it("masks YouTube stream keys in ingest URLs, HLS cid and user:password", () => {
    assert.equal(
      redact("rtmps://a.rtmps.youtube.com:443/live2/abcd-efgh-ijkl-mnop"),
      "rtmps://a.rtmps.youtube.com:443/live2/***",
    );
    assert.equal(
      redact("https://a.upload.youtube.com/http_upload_hls?cid=abcd-1234&copy=0&file=x.ts"),
      "https://a.upload.youtube.com/http_upload_hls?cid=***&copy=0&file=x.ts",
    );
    assert.equal(redact("rtmp://user:s3cret@host/app"), "rtmp://user:***@host/app");
  });

  it("masks the upload_id of a resumable upload session, even one never registered", () => {
    assert.equal(
      redact(
        "PUT https://www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status&upload_id=AEnB2Uq-x_9 failed",
        new SecretRegistry(),
      ),
      "PUT https://www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status&upload_id=*** failed",
    );
  });

  it("masks the stream name of any RTMP publish URL, SRT passphrases and escaped JSON", () => {
    const none = new SecretRegistry();
    assert.equal(
      redact("rtmp://live.twitch.tv/app/live_12345_abcdef", none),
      "rtmp://live.twitch.tv/app/***",
    );
    assert.equal(
      redact("to 'rtmps://b.rtmps.youtube.com:443/live2?backup=1/abcd-efgh': refused", none),
      "to 'rtmps://b.rtmps.youtube.com:443/live2?backup=1/***': refused",
    );
    assert.equal(redact("(rtmp://h:1935/live2/k-1); again", none), "(rtmp://h:1935/live2/***); again");
    // ffmpeg's "url: reason": the colon after the key stays.
    assert.equal(
      redact("rtmp://h:1935/live2/abcd-efgh: Input/output error", none),
      "rtmp://h:1935/live2/***: Input/output error",
    );
    assert.equal(
      redact("rtmp://127.0.0.1:1935/live2", none),
      "rtmp://127.0.0.1:1935/live2",
      "no key, nothing to mask",
    );
    assert.equal(
      redact("srt://host:9000?streamid=publish:cam&passphrase=supersecret123", none),
      "srt://host:9000?streamid=***&passphrase=***",
    );
    assert.equal(redact('{\\"streamToken\\": \\"abc123\\"}', none), '{\\"streamToken\\": \\"***\\"}');
  });

  it("counts registrations: a value stays masked until its last holder lets go", () => {
    const registry = new SecretRegistry();
    registry.add("shared-token-1");
    registry.add("shared-token-1");
    registry.delete("shared-token-1");
    assert.equal(redact("x shared-token-1", registry), "x ***");
    registry.delete("shared-token-1");
    assert.equal(redact("x shared-token-1", registry), "x shared-token-1");
    registry.add("cam1");
    assert.equal(redact("cam1", registry), "cam1", "too short to mask safely");
  });

  it("masks Google tokens by shape and in JSON", () => {
    const none = new SecretRegistry();
    assert.equal(redact("Bearer ya29.a0AfB_byC-xyz", none), "Bearer ***");
    assert.equal(redact("token ya29.a0AfB_byC-xyz end", none), "token *** end");
    assert.equal(
      redact('{"refresh_token":"1//0abcdefghijklmnop","x":1}', none),
      '{"refresh_token":"***","x":1}',
    );
    assert.equal(redact("secret GOCSPX-abcdefgh12", none), "secret ***");
  });

  it("masks registered secrets wherever they appear", () => {
    const registry = new SecretRegistry();
    registry.add("plain-stream-key-42", "x"); // too short values are ignored
    assert.equal(redact("key=plain-stream-key-42 and x", registry), "key=*** and x");
    registry.delete("plain-stream-key-42");
    assert.equal(redact("plain-stream-key-42", registry), "plain-stream-key-42");
  });

  it("masks registered values before the patterns, and a longer token around one still whole", () => {
    const registry = new SecretRegistry();
    // A pattern taking part of a registered value must not leave the rest of it in clear.
    registry.add("hunter2-ya29.abc");
    assert.equal(redact("password hunter2-ya29.abc!", registry), "password ***!");
    // A registered value inside a longer token: the token is masked whole, no tail left.
    registry.add("abcdef123456");
    assert.equal(redact("token ya29.abcdef123456XYZ end", registry), "token *** end");
    assert.equal(redact("Bearer xx-abcdef123456-yy", registry), "Bearer ***");
    assert.equal(redact("rtmp://h/live2/abcdef123456-tail x", registry), "rtmp://h/live2/*** x");
    assert.equal(redact("rtmp://u:abcdef123456zz@h/app", registry), "rtmp://u:***@h/app");
    // Text that looks like the internal placeholder is left as it is.
    assert.equal(redact("Q0rdctdz abcdef123456", registry), "Q0rdctdz ***");
  });

  it("cuts texts after masking them: a secret at the cut does not show its first part", () => {
    const key = "Sup3rSecretStreamKey-0123456789";
    secrets.add(key);
    try {
      // The url's description is cut at 117 characters, in the middle of the key.
      const url = `srt://host:9000/with space/${"x".repeat(100 - 27)}${key}`;
      assert.throws(
        () => resolveTarget({ target: "custom", url }),
        (err: Error) => {
          const text = refusalText("nest-restream", err);
          return /contains spaces/.test(text) && !text.includes("Sup3r") && !err.message.includes("Sup3r");
        },
      );
    } finally {
      secrets.delete(key);
    }
  });

  it("runs in linear time: 40,000 characters made to defeat each pattern take milliseconds", () => {
    // Each input repeats what starts a match of one pattern without completing it, so a pattern
    // that rescans from every start is quadratic. The user:password one was (about 1 s here, 3 s
    // on slower machines for "a.a.a…"); linear, each takes well under 5 ms. The bound is far
    // above that so that a busy machine does not fail the test, and far below the quadratic time.
    const n = 40_000;
    const fill = (unit: string) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
    const registry = new SecretRegistry();
    registry.add("registered-secret-1");
    const inputs = [
      fill("?auth="),
      fill("&token=a "),
      fill("Bearer "),
      fill("ya29."),
      fill("1//0"),
      fill("GOCSPX-"),
      fill('"access_token" : '),
      '\\"streamKey\\"' + fill(" "),
      fill("rtmp://h/"),
      "rtmp://h/" + fill("a?"),
      fill("rtmps://"),
      fill("a."),
      fill("a-"),
      fill("a+1"),
      "a://" + fill("b:"),
      fill("x://u:"),
      fill("registered-secre"),
    ];
    for (const input of inputs) {
      const started = process.hrtime.bigint();
      redact(input, registry);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      assert.ok(ms < 100, `${ms.toFixed(1)} ms for ${JSON.stringify(input.slice(0, 24))}…`);
    }
  });
});
