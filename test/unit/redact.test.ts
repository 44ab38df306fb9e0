import assert from "node:assert/strict";
import { redact, SecretRegistry } from "../../src/redact";

describe("redact", () => {
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
});
