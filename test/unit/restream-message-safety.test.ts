/**
 * What messages may ask of nest-restream (issue 13, items 6 and 10): the stored stream key goes to
 * the node's own server only, file paths from messages stay inside the node's messageDir and never
 * replace a file, inputs from messages are stream URLs unless the node allows files, and extra
 * outputs take their keys from a credential.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { mergeTarget, RestreamController, type RestreamConfig } from "../../src/ffmpeg/restream-controller";
import { pathInMessageDir } from "../../src/ffmpeg/message-paths";
import { keyInUrl } from "../../src/ffmpeg/targets";
import { refusalText, wordedAs } from "../support/catalog";
import { FakeClock, flush } from "../support/fake-clock";
import { FakeSpawner, type FakeFfmpeg } from "../support/fake-ffmpeg";

const KEY = "safe-key-1111-2222";
const OTHER_KEY = "their-key-3333-4444";
const CAM = "rtsps://stream-ue1-delta.dropcam.com:443/sdm_live_stream/CiUAsession?auth=g.0.safetyToken";

function setup(config: RestreamConfig) {
  const spawner = new FakeSpawner();
  const c = RestreamController.fromConfig(config, {
    clock: new FakeClock(),
    spawn: spawner.spawn,
    random: () => 0,
    env: { FFMPEG_PATH: "/usr/bin/ffmpeg" },
  });
  return { c, spawner };
}

async function live(p: FakeFfmpeg): Promise<void> {
  p.listing("aac (LC)");
  p.progress();
  await flush();
}

const lastArg = (p: FakeFfmpeg) => p.args[p.args.length - 1] ?? "";

describe("nest-restream: destinations and inputs from messages", () => {
  let dir: string;
  let outside: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "restream-msgdir-"));
    outside = fs.mkdtempSync(path.join(os.tmpdir(), "restream-outside-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  describe("the stored stream key", () => {
    it("is not sent to a server that msg.target names without its own key", async () => {
      const { c, spawner } = setup({ target: "youtube-rtmps", streamKey: KEY });
      await c.handle({ payload: CAM });
      await live(spawner.last);
      await assert.rejects(
        c.handle({ target: { target: "custom", url: "rtmp://evil.example/live" } }),
        (err: Error) => {
          assert.match(refusalText("nest-restream", err), /another server \(evil\.example\)/);
          assert.match(refusalText("nest-restream", err), /msg\.target\.streamKey/);
          assert.match(refusalText("nest-restream", err), /keyForMessageServers/);
          assert.ok(!refusalText("nest-restream", err).includes(KEY));
          return true;
        },
      );
      await assert.rejects(
        c.handle({ target: { url: "rtmps://evil.example:443/live2" } }),
        wordedAs("nest-restream", /another server \(evil\.example\)/),
      );
      await flush();
      assert.equal(spawner.processes.length, 1, "the running stream keeps running");
      assert.equal(spawner.alive.length, 1);
      assert.ok(!spawner.processes.some((p) => p.args.some((a) => a.includes("evil.example"))));
    });

    it("a custom server named by a message without a key is refused too", () => {
      const configured = { target: "custom", url: "rtmp://own.example/live", streamKey: KEY };
      assert.throws(
        () => mergeTarget(configured, { url: "rtmp://other.example/live" }),
        wordedAs("nest-restream", /another server/),
      );
      assert.throws(
        () => mergeTarget(configured, { target: "youtube-rtmp", url: "rtmp://a.rtmp.youtube.com/live2" }),
        wordedAs("nest-restream", /a\.rtmp\.youtube\.com/),
      );
      // Same host: the node's own server, its key.
      assert.equal(mergeTarget(configured, { url: "rtmp://own.example/backup" }).streamKey, KEY);
      // Destinations that carry no key at all (rtsp, srt) are no concern of the key.
      assert.equal(
        mergeTarget(configured, { url: "srt://other.example:9000" }).url,
        "srt://other.example:9000",
      );
    });

    it("a message that brings its own key (youtube-live) is sent there with that key", async () => {
      const { c, spawner } = setup({ target: "youtube-rtmps", streamKey: KEY });
      await c.handle({
        payload: CAM,
        target: { target: "youtube-rtmps", url: "rtmps://x.example/live2", streamKey: OTHER_KEY },
      });
      assert.equal(lastArg(spawner.last), `rtmps://x.example/live2/${OTHER_KEY}`);
    });

    it("another YouTube ingest host keeps the YouTube key; the opt-in sends it anywhere", async () => {
      assert.equal(
        mergeTarget({ target: "youtube-rtmp", streamKey: KEY }, { url: "rtmp://b.rtmp.youtube.com/live2" })
          .streamKey,
        KEY,
      );
      const { c, spawner } = setup({ target: "youtube-rtmp", streamKey: KEY, keyForMessageServers: true });
      await c.handle({ payload: CAM, target: { url: "rtmp://relay.example/live2" } });
      assert.equal(lastArg(spawner.last), `rtmp://relay.example/live2/${KEY}`);
    });
  });

  describe("file destinations from messages", () => {
    it("are refused when the node names no messageDir, saying what is accepted", async () => {
      const { c, spawner } = setup({ target: "custom", url: `${dir}/` });
      await assert.rejects(
        c.handle({ payload: CAM, target: { url: `${outside}/` } }),
        wordedAs(
          "nest-restream",
          /file destination from a message is refused: set the node's "Message files" directory \(messageDir\)/,
        ),
      );
      assert.equal(spawner.processes.length, 0);
    });

    it("stay inside messageDir: no .., no absolute path elsewhere, no link out", async () => {
      const { c, spawner } = setup({ target: "custom", url: `${dir}/`, messageDir: dir });
      await c.handle({ payload: CAM });
      await live(spawner.last);
      fs.symlinkSync(outside, path.join(dir, "link-out"));
      for (const url of [
        `${dir}/../${path.basename(outside)}/cam.mkv`,
        `${outside}/cam.mkv`,
        `${outside}/`,
        "/etc/cron.d/",
        `${dir}/link-out/cam.mkv`,
        "./link-out/",
      ]) {
        await assert.rejects(
          c.handle({ target: { url } }),
          wordedAs("nest-restream", /may not contain "\.\."|must lie inside the node's messageDir/),
          url,
        );
      }
      await flush();
      assert.equal(spawner.processes.length, 1, "the running stream keeps running");
      assert.match(lastArg(spawner.last), new RegExp(`^${dir}/cam-`));
      fs.mkdirSync(path.join(dir, "porch"));
      await c.handle({ target: { url: "./porch/" } });
      await flush();
      assert.equal(spawner.processes.length, 2);
      assert.match(lastArg(spawner.last), new RegExp(`^${fs.realpathSync(dir)}/porch/cam-%Y%m%d`));
    });

    it("never replace a file that is there", async () => {
      const { c, spawner } = setup({ target: "custom", url: `${dir}/`, messageDir: dir });
      fs.writeFileSync(path.join(dir, "preview.m3u8"), "#EXTM3U\n");
      await assert.rejects(
        c.handle({ payload: CAM, target: { url: `${dir}/preview.m3u8` } }),
        wordedAs("nest-restream", /never replaces a file that is there/),
      );
      // Nor the segments of a new playlist.
      fs.writeFileSync(path.join(dir, "live3.ts"), "x");
      await assert.rejects(
        c.handle({ payload: CAM, target: { url: `${dir}/live.m3u8` } }),
        wordedAs("nest-restream", /the playlist's segments would replace "live3\.ts"/),
      );
      // A name that repeats within the hour would overwrite the segment before it.
      await assert.rejects(
        c.handle({ payload: CAM, target: { url: `${dir}/cam-%Y%m%d-%H.mkv` } }),
        wordedAs("nest-restream", /must carry the seconds/),
      );
      assert.equal(spawner.processes.length, 0);
      assert.equal(fs.readFileSync(path.join(dir, "preview.m3u8"), "utf8"), "#EXTM3U\n");
      // A new name is fine.
      await c.handle({ payload: CAM, target: { url: `${dir}/fresh.m3u8` } });
      assert.equal(lastArg(spawner.last), `${fs.realpathSync(dir)}/fresh.m3u8`);
    });

    it("pathInMessageDir resolves links before the check", async () => {
      const real = path.join(outside, "real");
      fs.mkdirSync(real);
      fs.symlinkSync(real, path.join(dir, "in"));
      // messageDir itself may be a link: what counts is where it points.
      assert.equal(
        await pathInMessageDir(path.join(dir, "in"), `${dir}/in/a.mkv`, "destination"),
        `${fs.realpathSync(real)}/a.mkv`,
      );
      await assert.rejects(
        pathInMessageDir(path.join(dir, "in"), `${dir}/b.mkv`, "destination"),
        wordedAs("nest-restream", /must lie inside/),
      );
      await assert.rejects(
        pathInMessageDir(path.join(dir, "nope"), "./a.mkv", "destination"),
        wordedAs("nest-restream", /does not exist/),
      );
    });
  });

  describe("inputs from messages", () => {
    it("are stream URLs unless the node allows files", async () => {
      const clip = path.join(dir, "clip.mp4");
      fs.writeFileSync(clip, "x");
      const { c, spawner } = setup({ target: "custom", url: `${dir}/`, messageDir: dir });
      await assert.rejects(c.handle({ payload: clip }), (err: Error) => {
        assert.match(refusalText("nest-restream", err), /file path inputs are off in this node/);
        assert.match(
          refusalText("nest-restream", err),
          /rtsp\(s\):\/\/, rtmp\(s\):\/\/, srt:\/\/, http\(s\):\/\//,
        );
        assert.match(refusalText("nest-restream", err), /messageFileInputs/);
        return true;
      });
      assert.equal(spawner.processes.length, 0);
      await c.handle({ payload: "srt://cam.example:9000" });
      assert.equal(spawner.last.inputUrl, "srt://cam.example:9000");
    });

    it("a file input must exist inside messageDir (links resolved)", async () => {
      const clip = path.join(dir, "clip.mp4");
      fs.writeFileSync(clip, "x");
      fs.writeFileSync(path.join(outside, "secret.mkv"), "x");
      fs.symlinkSync(path.join(outside, "secret.mkv"), path.join(dir, "sneaky.mkv"));
      const { c, spawner } = setup({
        target: "custom",
        url: `${dir}/`,
        messageDir: dir,
        messageFileInputs: true,
      });
      await c.handle({ payload: clip });
      assert.equal(spawner.last.inputUrl, fs.realpathSync(clip));
      await live(spawner.last);
      for (const bad of [path.join(dir, "sneaky.mkv"), path.join(outside, "secret.mkv"), `${dir}/../x.mkv`]) {
        await assert.rejects(
          c.handle({ payload: bad }),
          wordedAs("nest-restream", /must lie inside|may not contain/),
          bad,
        );
      }
      await flush();
      assert.equal(spawner.processes.length, 1, "the running stream keeps running");
    });
  });

  describe("keys for extra outputs (extraKeys credential)", () => {
    it("are appended to rtmp(s) extra outputs in line order, and masked", async () => {
      const { c, spawner } = setup({
        streamKey: KEY,
        extraOutputs: "rtmp://twitch.example/app\n/tmp/rec/\nrtmps://fb.example:443/rtmp\n",
        extraKeys: "twitch-key-5555\n-\nfb-key-6666",
      });
      await c.handle({ payload: CAM });
      const tee = lastArg(spawner.last);
      assert.match(tee, /rtmp:\/\/twitch\.example\/app\/twitch-key-5555/);
      assert.match(tee, /rtmps:\/\/fb\.example:443\/rtmp\/fb-key-6666/);
      assert.ok(!/\/tmp\/rec\/[^|]*-\s*(\||$)/.test(tee));
      const shown = JSON.stringify(c.restreamer.snapshot());
      for (const k of ["twitch-key-5555", "fb-key-6666", KEY]) assert.ok(!shown.includes(k), k);
    });

    it("keyInUrl tells a URL that carries a key", () => {
      for (const url of [
        "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl",
        "rtmps://live.example/app/sk_123",
        "srt://host:9000?passphrase=hunter22",
        "rtsp://user:pw@host/path",
        "https://a.upload.youtube.com/http_upload_hls?cid=abcd&copy=0&file=",
      ]) {
        assert.equal(keyInUrl(url), true, url);
      }
      for (const url of [
        "rtmp://twitch.example/app",
        "/tmp/rec/",
        "srt://host:9000",
        "rtsp://host:8554/cam",
      ]) {
        assert.equal(keyInUrl(url), false, url);
      }
    });
  });
});
