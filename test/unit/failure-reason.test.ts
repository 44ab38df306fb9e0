import assert from "node:assert/strict";
import { failureReason } from "../../src/ffmpeg/failure-reason";

/** Lines as ffmpeg 5-7 prints them (stream listings and progress cut). */
describe("failureReason", () => {
  it("a refused connection: the line that names the URL", () => {
    assert.equal(
      failureReason([
        "Input #0, rtsp, from 'rtsps://edge/x?auth=***':",
        "[tcp @ 0x5636d049bcc0] Connection to tcp://127.0.0.1:1?tcp_nodelay=0 failed: Connection refused",
        "[rtmp @ 0x5636d049e900] Cannot open connection tcp://127.0.0.1:1?tcp_nodelay=0",
        "rtmp://127.0.0.1:1/live2/***: Connection refused",
        "Conversion failed!",
      ]),
      "rtmp://127.0.0.1:1/live2/***: Connection refused",
    );
  });

  it("an unknown host: the name resolution, not the I/O error after it", () => {
    assert.equal(
      failureReason([
        "[tcp @ 0x5632d14a1cc0] Failed to resolve hostname no-such-host.invalid: Name or service not known",
        "[rtmp @ 0x5632d14a4900] Cannot open connection tcp://no-such-host.invalid:1935?tcp_nodelay=0",
        "rtmp://no-such-host.invalid/live2/***: Input/output error",
      ]),
      "Failed to resolve hostname no-such-host.invalid: Name or service not known",
    );
    assert.equal(
      failureReason(["[tcp @ 0x1] Failed to resolve hostname a.b: Temporary failure in name resolution"]),
      "Failed to resolve hostname a.b: Temporary failure in name resolution",
    );
  });

  it("a TLS certificate ffmpeg does not trust, or one for another host", () => {
    assert.equal(
      failureReason([
        "[tls @ 0x55cde5b557c0] Peer certificate failed verification",
        "[rtmps @ 0x55cde5b58d80] Cannot open connection tls://127.0.0.1:19350",
        "rtmps://127.0.0.1:19350/live2/***: Input/output error",
      ]),
      "Peer certificate failed verification",
    );
    assert.equal(
      failureReason([
        "[tls @ 0x55db44459f80] The certificate's owner does not match hostname 127.0.0.1",
        "rtmps://127.0.0.1:19353/live2/***: Input/output error",
      ]),
      "The certificate's owner does not match hostname 127.0.0.1",
    );
  });

  it("401 and 403 at the ingest or the camera", () => {
    assert.equal(
      failureReason([
        "[rtsp @ 0x55f1e4c0] method DESCRIBE failed: 401 Unauthorized",
        "rtsps://edge/x?auth=***: Server returned 401 Unauthorized (authorization failed)",
        "Error opening input file rtsps://edge/x?auth=***.",
      ]),
      "rtsps://edge/x?auth=***: Server returned 401 Unauthorized (authorization failed)",
    );
    assert.equal(
      failureReason([
        "[https @ 0x5600] HTTP error 403 Forbidden",
        "https://a.upload.youtube.com/http_upload_hls?cid=***: Server returned 403 Forbidden (access denied)",
        "Error opening output files: Server returned 403 Forbidden (access denied)",
      ]),
      "https://a.upload.youtube.com/http_upload_hls?cid=***: Server returned 403 Forbidden (access denied)",
    );
  });

  it("other server answers: 404 and 5xx", () => {
    assert.equal(
      failureReason([
        "[rtsp @ 0x1] method DESCRIBE failed: 404 Not Found",
        "rtsp://h/x: Server returned 404 Not Found",
        "Exiting normally, received signal 2.",
      ]),
      "rtsp://h/x: Server returned 404 Not Found",
    );
    assert.equal(
      failureReason(["[hls @ 0x1] Server returned 5XX Server Error reply"]),
      "Server returned 5XX Server Error reply",
    );
  });

  it("invalid data, a missing file, an I/O error", () => {
    assert.equal(
      failureReason(["rtsp://127.0.0.1:8554/cam: Invalid data found when processing input"]),
      "rtsp://127.0.0.1:8554/cam: Invalid data found when processing input",
    );
    assert.equal(
      failureReason(["/tmp/rec/out.mp4: No such file or directory", "Conversion failed!"]),
      "/tmp/rec/out.mp4: No such file or directory",
    );
    // nginx-rtmp (and YouTube) refusing a stream key closes the connection: ffmpeg says only this.
    assert.equal(
      failureReason(["rtmp://127.0.0.1:40515/live2/***: Input/output error"]),
      "rtmp://127.0.0.1:40515/live2/***: Input/output error",
    );
    assert.equal(
      failureReason([
        "frame=  120 fps= 15 q=-1.0 size=    512kB time=00:00:08.00 bitrate= 524.3kbits/s speed=1x",
        "av_interleaved_write_frame(): Broken pipe",
        "Error writing trailer of rtmp://a.rtmp.youtube.com/live2/***: Broken pipe",
      ]),
      "Error writing trailer of rtmp://a.rtmp.youtube.com/live2/***: Broken pipe",
    );
  });

  it("null when no line explains", () => {
    assert.equal(failureReason([]), null);
    assert.equal(failureReason(["Conversion failed!", "Exiting normally, received signal 15."]), null);
    assert.equal(failureReason(["  Stream #0:0: Video: h264 (High), yuv420p, 1920x1080, 15 fps"]), null);
  });
});
