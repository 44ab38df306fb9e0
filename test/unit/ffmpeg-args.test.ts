import assert from "node:assert/strict";
import { buildArgs, SILENCE_SOURCE } from "../../src/ffmpeg/args";
import { audioPlan } from "../../src/ffmpeg/audio-plan";
import {
  escapeToken,
  outputArgs,
  resolveOutputs,
  resolveTarget,
  teeSpec,
  TargetError,
  verifyingTls,
  type Destination,
} from "../../src/ffmpeg/targets";
import { redact } from "../../src/redact";
import { refusalText, wordedAs } from "../support/catalog";

const KEY = "abcd-efgh-ijkl-mnop-qrst";
const RTSP = "rtsps://stream-ue1-delta.dropcam.com:443/sdm_live_stream/CiUAabc?auth=g.0.secretToken";

/** The value following `flag` in args. */
function after(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

/** Pairs `-map X` in order. */
function maps(args: string[]): string[] {
  return args.flatMap((a, i) => (a === "-map" ? [args[i + 1] as string] : []));
}

/** A minimal av_get_token (ffmpeg libavutil/avstring.c) to check tee escaping round-trips. */
function avGetToken(input: string, term: string): { token: string; rest: string } {
  let i = 0;
  let out = "";
  let end = 0;
  while (i < input.length && " \n\t\r".includes(input[i] as string)) i++;
  while (i < input.length && !term.includes(input[i] as string)) {
    const c = input[i++] as string;
    if (c === "\\" && i < input.length) {
      out += input[i++];
      end = out.length;
    } else if (c === "'") {
      while (i < input.length && input[i] !== "'") out += input[i++];
      i++;
      end = out.length;
    } else {
      out += c;
      if (!" \n\t\r".includes(c)) end = out.length;
    }
  }
  return { token: out.slice(0, Math.max(end, 0)), rest: input.slice(i) };
}

/** Parses a tee spec the way ffmpeg's tee muxer does: slaves on "|", then "[k=v:…]filename". */
function parseTee(spec: string): { options: Record<string, string>; filename: string }[] {
  const slaves: string[] = [];
  let rest = spec;
  while (rest.length > 0) {
    const { token, rest: r } = avGetToken(rest, "|");
    slaves.push(token);
    rest = r.startsWith("|") ? r.slice(1) : r;
  }
  return slaves.map((slave) => {
    const options: Record<string, string> = {};
    assert.equal(slave[0], "[");
    let p = slave.slice(1);
    for (;;) {
      const eq = p.indexOf("=");
      const key = p.slice(0, eq);
      const { token, rest: r } = avGetToken(p.slice(eq + 1), ":]");
      options[key] = token;
      p = r;
      if (p.startsWith("]")) break;
      p = p.slice(1);
    }
    return { options, filename: p.slice(1) };
  });
}

describe("ffmpeg targets", () => {
  it("defaults to YouTube RTMPS with the stream key appended", () => {
    const d = resolveTarget({ streamKey: KEY });
    assert.equal(d.url, `rtmps://a.rtmps.youtube.com:443/live2/${KEY}`);
    assert.equal(d.format, "flv");
    assert.deepEqual(outputArgs(d), ["-f", "flv", "-flvflags", "no_duration_filesize", d.url]);
    assert.ok(!redact(d.url).includes(KEY));
  });

  it("builds YouTube RTMP and honours a url override (backup server convention)", () => {
    assert.equal(
      resolveTarget({ target: "youtube-rtmp", streamKey: KEY }).url,
      `rtmp://a.rtmp.youtube.com/live2/${KEY}`,
    );
    assert.equal(
      resolveTarget({
        target: "youtube-rtmps",
        url: "rtmps://b.rtmps.youtube.com:443/live2?backup=1",
        streamKey: KEY,
      }).url,
      `rtmps://b.rtmps.youtube.com:443/live2?backup=1/${KEY}`,
    );
  });

  it("requires a stream key for YouTube targets and says where to find it", () => {
    assert.throws(
      () => resolveTarget({ target: "youtube-rtmps" }),
      (e: Error) => {
        assert.ok(e instanceof TargetError);
        assert.match(refusalText("nest-restream", e), /stream key/);
        return true;
      },
    );
    assert.throws(
      () => resolveTarget({ streamKey: "has/slash-key" }),
      wordedAs("nest-restream", /stream key/),
    );
    assert.throws(
      () => resolveTarget({ target: "youtube-rtmp", url: "http://x/y", streamKey: KEY }),
      wordedAs("nest-restream", /rtmp/),
    );
  });

  it("builds the YouTube HLS ingestion URL with a media playlist and PUT", () => {
    const d = resolveTarget({ target: "youtube-hls", streamKey: KEY });
    assert.equal(d.url, `https://a.upload.youtube.com/http_upload_hls?cid=${KEY}&copy=0&file=out.m3u8`);
    assert.equal(d.format, "hls");
    const args = outputArgs(d);
    assert.equal(after(args, "-method"), "PUT");
    assert.equal(after(args, "-hls_time"), "2");
    assert.equal(after(args, "-hls_list_size"), "5");
    assert.equal(after(args, "-http_persistent"), "1");
    assert.equal(after(args, "-hls_start_number_source"), "epoch");
    assert.ok(!args.includes("-master_pl_name"), "YouTube takes media playlists, not master playlists");
    // The ingestion address the API returns ends with file=.
    const fromApi = resolveTarget({
      target: "youtube-hls",
      url: `https://b.upload.youtube.com/http_upload_hls?cid=${KEY}&copy=1&file=`,
    });
    assert.equal(fromApi.url, `https://b.upload.youtube.com/http_upload_hls?cid=${KEY}&copy=1&file=out.m3u8`);
    assert.throws(() => resolveTarget({ target: "youtube-hls" }), wordedAs("nest-restream", /stream key/));
    assert.ok(!redact(d.url).includes(KEY));
  });

  it("maps custom URLs to muxers", () => {
    const rtmp = resolveTarget({ target: "custom", url: "rtmp://127.0.0.1:1935/live/cam" });
    assert.equal(rtmp.format, "flv");
    assert.equal(rtmp.url, "rtmp://127.0.0.1:1935/live/cam");
    assert.equal(
      resolveTarget({ target: "custom", url: "rtmps://x.example/app", streamKey: KEY }).url,
      `rtmps://x.example/app/${KEY}`,
    );
    const rtsp = resolveTarget({ target: "custom", url: "rtsp://127.0.0.1:8554/cam" });
    assert.deepEqual(outputArgs(rtsp), ["-f", "rtsp", "-rtsp_transport", "tcp", "rtsp://127.0.0.1:8554/cam"]);
    assert.equal(
      resolveTarget({ target: "custom", url: "srt://127.0.0.1:9000?mode=caller" }).format,
      "mpegts",
    );
    const http = resolveTarget({ target: "custom", url: "https://hls.example/live/cam.m3u8" });
    assert.equal(http.format, "hls");
    assert.equal(after(outputArgs(http), "-method"), "PUT");
  });

  it("records files through the segment muxer with strftime names", () => {
    const seg = resolveTarget({ target: "custom", url: "/rec/cam-%Y%m%d-%H%M%S.mkv", segmentSeconds: 600 });
    assert.deepEqual(outputArgs(seg), [
      "-f",
      "segment",
      "-segment_time",
      "600",
      "-strftime",
      "1",
      "-reset_timestamps",
      "1",
      "-segment_format",
      "matroska",
      "/rec/cam-%Y%m%d-%H%M%S.mkv",
    ]);
    const mp4 = resolveTarget({ target: "custom", url: "/rec/front.mp4", segmentSeconds: 60 });
    assert.equal(
      mp4.url,
      "/rec/front-%Y%m%d-%H%M%S.mp4",
      "a plain name gets a time stamp so restarts never overwrite",
    );
    assert.equal(after(outputArgs(mp4), "-segment_format"), "mp4");
    assert.equal(
      after(outputArgs(mp4), "-segment_format_options"),
      "movflags=+frag_keyframe+empty_moov+default_base_moof",
    );
    const dir = resolveTarget({ target: "custom", url: "/rec/" });
    assert.equal(dir.url, "/rec/cam-%Y%m%d-%H%M%S.mkv");
    assert.equal(after(outputArgs(dir), "-segment_time"), "3600");
    assert.equal(resolveTarget({ target: "custom", url: "./preview/live.m3u8" }).format, "hls");
  });

  it("rejects what it cannot write and says what is accepted", () => {
    assert.throws(() => resolveTarget({ target: "custom" }), wordedAs("nest-restream", /needs a url/));
    assert.throws(
      () => resolveTarget({ target: "custom", url: "/rec/cam.avi" }),
      wordedAs("nest-restream", /\.mkv, \.mp4/),
    );
    assert.throws(
      () => resolveTarget({ target: "custom", url: "ftp://x/y" }),
      wordedAs("nest-restream", /rtmp:\/\//),
    );
    assert.throws(
      () => resolveTarget({ target: "twitch" }),
      wordedAs("nest-restream", /"youtube-rtmps", "youtube-rtmp", "youtube-hls", "custom"/),
    );
    assert.throws(
      () => resolveTarget({ target: "custom", url: "/rec/", segmentSeconds: 0 }),
      wordedAs("nest-restream", /segmentSeconds/),
    );
  });

  it("escapes tee slaves so ffmpeg reads back the same options and names", () => {
    const outputs = resolveOutputs({ streamKey: KEY }, [
      { target: "custom", url: "/rec/my cams|front [1]/", segmentSeconds: 300 },
      { target: "custom", url: "/rec/o'clock.mp4" },
    ]);
    const spec = teeSpec(outputs);
    const parsed = parseTee(spec);
    assert.equal(parsed.length, 3);
    assert.deepEqual(parsed[0], {
      options: { f: "flv", onfail: "abort", flvflags: "no_duration_filesize" },
      filename: `rtmps://a.rtmps.youtube.com:443/live2/${KEY}`,
    });
    assert.equal(parsed[1]?.filename, "/rec/my cams|front [1]/cam-%Y%m%d-%H%M%S.mkv");
    assert.equal(parsed[1]?.options.onfail, "ignore", "additional outputs do not stop the others");
    assert.equal(parsed[1]?.options.segment_time, "300");
    assert.equal(parsed[2]?.filename, "/rec/o'clock-%Y%m%d-%H%M%S.mp4");
    assert.equal(
      parsed[2]?.options.segment_format_options,
      "movflags=+frag_keyframe+empty_moov+default_base_moof",
    );
    assert.equal(escapeToken("a:b", ":"), "a\\:b");
  });

  it("a checked rtmps:// output's TLS options reach its tee slave as they were (a path with a colon)", () => {
    const outputs = verifyingTls(resolveOutputs({ streamKey: KEY }, [{ target: "custom", url: "/rec/" }]), {
      caFile: "/c:a/ca.pem",
    });
    const [main, rec] = parseTee(teeSpec(outputs));
    assert.equal(main?.options.tls_verify, "1");
    assert.equal(main?.options.ca_file, "/c:a/ca.pem");
    assert.equal(rec?.options.tls_verify, undefined, "a file has no certificate");
  });

  it("lets an additional output abort too when asked", () => {
    const [, extra] = resolveOutputs({ streamKey: KEY }, [
      { target: "custom", url: "/rec/", onFail: "abort" },
    ]);
    assert.equal(extra?.onFail, "abort");
  });
});

describe("ffmpeg args", () => {
  const youtube: Destination[] = resolveOutputs({ streamKey: KEY });

  it("reads RTSP over TCP with a socket timeout, progress on stdout, and never -stimeout", () => {
    const args = buildArgs({ inputUrl: RTSP, outputs: youtube, timeoutUs: 7_000_000 });
    assert.deepEqual(args.slice(0, 9), [
      "-hide_banner",
      "-nostats",
      "-loglevel",
      "info",
      "-progress",
      "pipe:1",
      "-stats_period",
      "1",
      "-y",
    ]);
    const input = args.indexOf("-i");
    assert.equal(args[input + 1], RTSP);
    assert.ok(args.indexOf("-rtsp_transport") < input && after(args, "-rtsp_transport") === "tcp");
    assert.equal(after(args, "-timeout"), "7000000");
    assert.ok(args.indexOf("-timeout") < input);
    assert.ok(!args.includes("-stimeout"));
    assert.equal(after(args, "-fflags"), "+genpts");
    assert.equal(after(args, "-c:v"), "copy");
    assert.equal(args[args.length - 1], `rtmps://a.rtmps.youtube.com:443/live2/${KEY}`);
  });

  it("does not pass RTSP options to other inputs; extra input args go before -i", () => {
    const args = buildArgs({ inputUrl: "/tmp/in.mp4", outputs: youtube, inputArgs: ["-re"] });
    assert.ok(!args.includes("-rtsp_transport"));
    assert.ok(!args.includes("-timeout"));
    assert.equal(args[args.indexOf("-i") - 1], "-re");
  });

  it("audio auto, input not known yet: maps audio if any and copies it (probe run: Nest sends AAC)", () => {
    const args = buildArgs({ inputUrl: RTSP, outputs: youtube, audio: "auto" });
    assert.equal(audioPlan("auto", undefined), "probe");
    assert.equal(audioPlan("auto", undefined, youtube), "probe");
    assert.deepEqual(maps(args), ["0:v:0", "0:a:0?"]);
    assert.equal(after(args, "-c:a"), "copy");
    assert.ok(!args.includes("-b:a"), "no encoder options");
    assert.ok(!args.includes("-ar"));
    assert.ok(!args.includes(SILENCE_SOURCE));
    assert.equal(args.filter((a) => a === "-i").length, 1);
    // Copying needs no out-of-band codec headers in a tee either.
    const tee = resolveOutputs({ streamKey: KEY }, [{ target: "custom", url: "/rec/" }]);
    assert.ok(!buildArgs({ inputUrl: RTSP, outputs: tee }).includes("-flags"));
  });

  it("audio auto, Opus input: re-encoded for FLV/HLS, copied when every output is Matroska or MPEG-TS", () => {
    const opus = { codec: "opus" };
    assert.equal(audioPlan("auto", opus), "encode");
    assert.equal(audioPlan("auto", opus, youtube), "encode");
    const mkv = [resolveTarget({ target: "custom", url: "/rec/cam.mkv" })];
    const dir = [resolveTarget({ target: "custom", url: "/rec/" })];
    const srt = [resolveTarget({ target: "custom", url: "srt://127.0.0.1:9000" })];
    const ts = [resolveTarget({ target: "custom", url: "/rec/cam.ts" })];
    const mp4 = [resolveTarget({ target: "custom", url: "/rec/cam.mp4" })];
    for (const outs of [mkv, dir, srt, ts]) assert.equal(audioPlan("auto", opus, outs), "copy");
    assert.equal(audioPlan("auto", opus, mp4), "encode");
    assert.equal(audioPlan("auto", opus, [...mkv, ...youtube]), "encode", "one FLV output: encode");
    assert.equal(after(buildArgs({ inputUrl: RTSP, outputs: mkv, inputAudio: opus }), "-c:a"), "copy");
    assert.equal(audioPlan("auto", null, mkv), "silence");
  });

  it("audio auto: copies AAC, re-encodes Opus, adds silence when there is none", () => {
    const aac = buildArgs({ inputUrl: RTSP, outputs: youtube, inputAudio: { codec: "aac" } });
    assert.equal(after(aac, "-c:a"), "copy");
    assert.deepEqual(maps(aac), ["0:v:0", "0:a:0?"]);

    const opus = buildArgs({ inputUrl: RTSP, outputs: youtube, inputAudio: { codec: "opus" } });
    assert.equal(after(opus, "-c:a"), "aac");
    assert.equal(after(opus, "-ar"), "48000");

    const none = buildArgs({ inputUrl: RTSP, outputs: youtube, inputAudio: null });
    const inputs = none.flatMap((a, i) => (a === "-i" ? [none[i + 1]] : []));
    assert.deepEqual(inputs, [RTSP, SILENCE_SOURCE]);
    assert.equal(none[none.lastIndexOf("-i") - 1], "lavfi");
    assert.deepEqual(maps(none), ["0:v:0", "1:a:0"]);
    assert.equal(after(none, "-c:a"), "aac");
    assert.ok(none.includes("-shortest"));
  });

  it("audio silent / none / copy / aac", () => {
    const silent = buildArgs({
      inputUrl: RTSP,
      outputs: youtube,
      audio: "silent",
      inputAudio: { codec: "aac" },
    });
    assert.deepEqual(maps(silent), ["0:v:0", "1:a:0"]);
    const none = buildArgs({ inputUrl: RTSP, outputs: youtube, audio: "none" });
    assert.deepEqual(maps(none), ["0:v:0"]);
    assert.ok(none.includes("-an"));
    assert.ok(!none.includes("-c:a"));
    const copy = buildArgs({
      inputUrl: RTSP,
      outputs: youtube,
      audio: "copy",
      inputAudio: { codec: "opus" },
    });
    assert.equal(after(copy, "-c:a"), "copy");
    const aac = buildArgs({ inputUrl: RTSP, outputs: youtube, audio: "aac", inputAudio: { codec: "aac" } });
    assert.equal(after(aac, "-c:a"), "aac");
    assert.throws(
      () => buildArgs({ inputUrl: RTSP, outputs: youtube, audio: "mp3" as never }),
      /audio must be/,
    );
  });

  it("video h264 re-encodes with a 2 s keyframe interval", () => {
    const args = buildArgs({ inputUrl: RTSP, outputs: youtube, video: "h264", inputFps: 15 });
    assert.equal(after(args, "-c:v"), "libx264");
    assert.equal(after(args, "-preset"), "veryfast");
    assert.equal(after(args, "-tune"), "zerolatency");
    assert.equal(after(args, "-g"), "30");
    assert.equal(after(args, "-keyint_min"), "30");
    assert.equal(after(args, "-force_key_frames"), "expr:gte(t,n_forced*2)");
    assert.equal(after(args, "-pix_fmt"), "yuv420p");
    assert.equal(
      after(buildArgs({ inputUrl: RTSP, outputs: youtube, video: "h264", inputFps: 30 }), "-g"),
      "60",
    );
    assert.throws(
      () => buildArgs({ inputUrl: RTSP, outputs: youtube, video: "vp9" as never }),
      /video must be/,
    );
  });

  it("fans several outputs out through the tee muxer from one input", () => {
    const outputs = resolveOutputs({ streamKey: KEY }, [
      { target: "custom", url: "/rec/", segmentSeconds: 600 },
    ]);
    const args = buildArgs({ inputUrl: RTSP, outputs, inputAudio: { codec: "aac" } });
    assert.equal(args.filter((a) => a === "-i").length, 1, "one input: one RTSP session");
    assert.equal(after(args, "-f"), "tee");
    assert.deepEqual(maps(args), ["0:v:0", "0:a:0?"]);
    const spec = args[args.length - 1] as string;
    assert.match(spec, /^\[f=flv:onfail=abort:flvflags=no_duration_filesize\]rtmps:\/\//);
    assert.match(
      spec,
      /\|\[f=segment:onfail=ignore:segment_time=600:strftime=1:reset_timestamps=1:segment_format=matroska\]\/rec\/cam-%Y%m%d-%H%M%S\.mkv$/,
    );
    const encoded = buildArgs({ inputUrl: RTSP, outputs, inputAudio: null });
    assert.equal(after(encoded, "-flags"), "+global_header");
  });

  it("refuses empty input or no outputs", () => {
    assert.throws(() => buildArgs({ inputUrl: " ", outputs: youtube }), /input URL/);
    assert.throws(() => buildArgs({ inputUrl: RTSP, outputs: [] }), /no output/);
  });
});

describe("ffmpeg snapshots", () => {
  const rtmp = resolveOutputs({ streamKey: KEY });

  it("adds a JPEG output on fd 3 after the destinations, decoding keyframes only when video is copied", () => {
    const args = buildArgs({
      inputUrl: RTSP,
      outputs: rtmp,
      inputAudio: { codec: "aac" },
      snapshotSeconds: 5,
    });
    const input = args.indexOf("-i");
    assert.equal(after(args.slice(0, input), "-skip_frame"), "nokey", "an input (decoder) option");
    const main = args.indexOf(`rtmps://a.rtmps.youtube.com:443/live2/${KEY}`);
    assert.ok(main > input, "the destination stays the first output");
    const snap = args.slice(main + 1);
    assert.deepEqual(maps(snap), ["0:v:0"]);
    assert.equal(after(snap, "-vf"), "select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,5)");
    assert.equal(after(snap, "-c:v"), "mjpeg");
    assert.equal(after(snap, "-f"), "image2pipe");
    assert.equal(after(snap, "-fps_mode"), "passthrough", "one JPEG per chosen frame, no duplicates");
    assert.ok(snap.includes("-an"));
    assert.equal(snap[snap.length - 1], "pipe:3");
    assert.deepEqual(
      maps(args.slice(0, main)),
      ["0:v:0", "0:a:0?"],
      "the destination's own maps are unchanged",
    );
  });

  it("decodes every frame when re-encoding (the decoder is shared), and adds nothing at 0", () => {
    const h264 = buildArgs({ inputUrl: RTSP, outputs: rtmp, video: "h264", snapshotSeconds: 2 });
    assert.equal(h264.indexOf("-skip_frame"), -1);
    assert.equal(h264[h264.length - 1], "pipe:3");
    const none = buildArgs({ inputUrl: RTSP, outputs: rtmp, snapshotSeconds: 0 });
    assert.equal(none.indexOf("-skip_frame"), -1);
    assert.ok(!none.includes("pipe:3"));
    assert.deepEqual(none, buildArgs({ inputUrl: RTSP, outputs: rtmp }));
  });

  it("refuses an interval that is not a number of seconds", () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => buildArgs({ inputUrl: RTSP, outputs: rtmp, snapshotSeconds: bad }),
        /snapshotSeconds/,
      );
    }
  });
});
