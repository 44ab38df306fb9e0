import assert from "node:assert/strict";
import { exitFailure, spawnFailure, stallFailure, unverifiedTls } from "../../src/ffmpeg/restream-failure";
import { SYSTEM_CA_FILES } from "../../src/ffmpeg/tls-trust";
import { secrets } from "../../src/redact";
import { refusalText } from "../support/catalog";

const worded = (err: unknown) => refusalText("nest-restream", err);
const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

/** Why an ffmpeg run ended, as codes worded from nest-restream's catalog. */
describe("restream failures", () => {
  it("an exit nobody asked for: an error, a signal, status 0, a status", () => {
    assert.equal(
      worded(exitFailure({ code: null, signal: null, error: errno("EIO", "read EIO") })),
      "ffmpeg failed: read EIO",
    );
    assert.equal(worded(exitFailure({ code: null, signal: "SIGKILL" })), "ffmpeg was killed by SIGKILL");
    assert.equal(
      worded(exitFailure({ code: 0, signal: null })),
      "ffmpeg exited (status 0) although no stop was asked: the input or output ended",
    );
    assert.deepEqual(exitFailure({ code: 8, signal: null }).params, { status: "8" });
    assert.equal(worded(exitFailure({ code: 8, signal: null })), "ffmpeg exited with status 8");
  });

  it("a spawn that failed: missing, not runnable, another error", () => {
    const missing = worded(spawnFailure(errno("ENOENT", "spawn ffmpeg ENOENT"), "/opt/ffmpeg"));
    assert.match(missing, /^ffmpeg was not found \(tried "\/opt\/ffmpeg"\)\. Install it/);
    assert.match(missing, /Home Assistant.*system_packages/);
    assert.equal(
      worded(spawnFailure(errno("EACCES", "spawn EACCES"), "/opt/ffmpeg")),
      'ffmpeg at "/opt/ffmpeg" cannot be run (permission denied)',
    );
    assert.equal(
      worded(spawnFailure(errno("EPERM", "spawn EPERM"), "/opt/ffmpeg")),
      "ffmpeg could not be started: spawn EPERM",
    );
  });

  it("a stall, before and after the run got live, in whole seconds", () => {
    assert.equal(
      worded(stallFailure(15_400, false)),
      "ffmpeg made no progress for 15 s after starting (the input did not deliver frames)",
    );
    assert.equal(worded(stallFailure(20_000, true)), "ffmpeg's progress stalled for 20 s");
  });

  it("the unverified TLS warning names the bundles looked for", () => {
    assert.equal(
      worded(unverifiedTls()),
      `no CA certificates found (${SYSTEM_CA_FILES.join(", ")}): the rtmps:// server's certificate is not ` +
        "checked, so the stream key goes to whoever answers; install the ca-certificates package or set the " +
        "node's CA file",
    );
  });

  it("a secret in a system error never reaches the text", () => {
    secrets.add("failure-secret-77");
    const text = worded(
      exitFailure({ code: null, signal: null, error: errno("EIO", "write failure-secret-77") }),
    );
    secrets.delete("failure-secret-77");
    assert.equal(text, "ffmpeg failed: write ***");
  });
});
