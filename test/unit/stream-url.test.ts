import assert from "node:assert/strict";
import { SecretRegistry } from "../../src/redact";
import { sessionKey, StreamTokens, tokenOf } from "../../src/ffmpeg/stream-url";

const BASE = "rtsps://stream-ue1-delta.dropcam.com:443/sdm_live_stream/CiUAsession";

describe("stream URL", () => {
  it("a session is the URL without its query; the token is its auth= value", () => {
    assert.equal(sessionKey(`${BASE}?auth=g.0.tokenA`), BASE);
    assert.equal(sessionKey(`${BASE}#x`), BASE);
    assert.equal(tokenOf(`${BASE}?auth=g.0.tokenA&x=1`), "g.0.tokenA");
    assert.equal(tokenOf(`${BASE}?x=1&AUTH=g.0.tokenB`), "g.0.tokenB");
    assert.equal(tokenOf("/media/in.mkv"), null);
    assert.equal(tokenOf(null), null);
  });

  it("keeps exactly the tokens of the URLs in use registered as secrets", () => {
    const registry = new SecretRegistry();
    const tokens = new StreamTokens(registry);
    tokens.inUse(`${BASE}?auth=g.0.tokenA`, null);
    assert.deepEqual(registry.values(), ["g.0.tokenA"]);
    tokens.inUse(`${BASE}?auth=g.0.tokenB`, `${BASE}?auth=g.0.tokenA`); // extended while A still runs
    assert.deepEqual(registry.values().sort(), ["g.0.tokenA", "g.0.tokenB"]);
    tokens.inUse(`${BASE}?auth=g.0.tokenB`, undefined); // the run on A has exited
    assert.deepEqual(registry.values(), ["g.0.tokenB"]);
    tokens.inUse("/media/in.mkv");
    assert.deepEqual(registry.values(), []);
  });

  it("lets go only of its own hold: a token another holder registered stays masked", () => {
    const registry = new SecretRegistry();
    registry.add("g.0.sharedToken");
    const tokens = new StreamTokens(registry);
    tokens.inUse(`${BASE}?auth=g.0.sharedToken`);
    tokens.inUse(null);
    assert.deepEqual(registry.values(), ["g.0.sharedToken"]);
  });
});
