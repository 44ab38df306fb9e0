/** nest-restream node: translates messages to a Restreamer (supervised ffmpeg) and its snapshots to messages and status. */
import { formatDuration, truncate } from "../src/format";
import { errorMessage, redact } from "../src/redact";
import type { AudioMode, VideoMode } from "../src/ffmpeg/args";
import { parseRestreamInput, type TargetOverride } from "../src/ffmpeg/restream-input";
import { Restreamer, restreamPayload, type RestreamSnapshot } from "../src/ffmpeg/restreamer";
import { resolveOutputs, type TargetConfig, type TargetKind } from "../src/ffmpeg/targets";
import type { Node, NodeStatus, RED } from "./red-types";

interface NestRestreamConfig {
  id: string;
  name?: string;
  target?: TargetKind;
  url?: string;
  audio?: AudioMode;
  video?: VideoMode;
  segmentSeconds?: number | string;
  extraOutputs?: string;
  ffmpegPath?: string;
}

module.exports = function register(RED: RED) {
  function NestRestreamNode(this: Node<{ streamKey?: string }>, config: NestRestreamConfig) {
    RED.nodes.createNode(this, config);
    const segmentSeconds = Number(config.segmentSeconds) > 0 ? Number(config.segmentSeconds) : undefined;
    let target: TargetConfig = {
      target: config.target || "youtube-rtmps",
      url: config.url?.trim() || undefined,
      streamKey: this.credentials?.streamKey?.trim() || undefined,
      segmentSeconds,
    };
    const outputs: TargetConfig[] = (config.extraOutputs ?? "")
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean)
      .map((url) => ({ target: "custom", url, segmentSeconds }));

    const restreamer = new Restreamer({
      target,
      outputs,
      audio: config.audio || "auto",
      video: config.video || "copy",
      ffmpegPath: config.ffmpegPath?.trim() || undefined,
    });

    // A destination problem (say, a YouTube target without its key) shows at once; msg.target may still fix it.
    try {
      resolveOutputs(target, outputs);
      this.status({ fill: "grey", shape: "ring", text: "stopped" });
    } catch (err) {
      this.status({ fill: "red", shape: "ring", text: truncate(errorMessage(err)) });
    }

    const report = (snapshot: RestreamSnapshot) => {
      this.status(statusFor(snapshot));
      this.send({ payload: restreamPayload(snapshot), topic: config.name || "nest-restream" });
    };
    restreamer.on("state", (snapshot) => {
      report(snapshot);
      if (snapshot.state === "failed" && snapshot.lastError) this.error(redact(snapshot.lastError));
    });
    restreamer.on("stats", report);
    restreamer.on("log", (line) => this.debug(line));

    const applyTarget = (override: TargetOverride) => {
      const next = {
        ...target,
        ...(override.url !== undefined ? { url: override.url } : {}),
        ...(override.streamKey !== undefined ? { streamKey: override.streamKey } : {}),
      };
      restreamer.setTarget(next, outputs); // throws on a bad destination: nothing changes then
      target = next;
    };

    this.on("input", async (msg, _send, done) => {
      try {
        const { command, target: override, inputAudio } = parseRestreamInput(msg);
        if (override) applyTarget(override);
        switch (command.action) {
          case "play":
            restreamer.play(command.url, inputAudio);
            break;
          case "switch":
            if (restreamer.state === "stopped") restreamer.updateUrl(command.url);
            else restreamer.play(command.url, inputAudio);
            break;
          case "update-url":
            // nest-stream "extended": the running ffmpeg keeps its session; the new URL is for reconnects
            // (and for a later "start"). It never starts a restream that was stopped on purpose.
            restreamer.updateUrl(command.url);
            break;
          case "start":
            restreamer.start();
            break;
          case "stop":
            await restreamer.stop();
            break;
          case "none":
            break;
        }
        done();
      } catch (err) {
        done(new Error(errorMessage(err)));
      }
    });

    this.on("close", (_removed, done) => {
      // Restreamer.stop(): q, then SIGTERM, then SIGKILL, all inside Node-RED's 15 s close timeout.
      restreamer.stop().then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType("nest-restream", NestRestreamNode, {
    credentials: { streamKey: { type: "password" } },
  });
};

function statusFor(s: RestreamSnapshot): NodeStatus {
  switch (s.state) {
    case "live": {
      const fps = s.fps !== null && s.fps !== undefined ? Math.round(s.fps) : "?";
      const kbps = s.bitrateKbps !== null && s.bitrateKbps !== undefined ? Math.round(s.bitrateKbps) : "?";
      const up = s.uptimeS ? `, ${formatDuration(s.uptimeS * 1000)}` : "";
      return { fill: "green", shape: "dot", text: `live ${fps} fps, ${kbps} kb/s${up}` };
    }
    case "starting":
      return { fill: "yellow", shape: "ring", text: "starting" };
    case "retrying":
      return {
        fill: "yellow",
        shape: "ring",
        text: truncate(`retrying (${s.restarts}): ${redact(firstLine(s.lastError) || "reconnecting")}`),
      };
    case "failed":
      return {
        fill: "red",
        shape: "dot",
        text: truncate(`failed: ${redact(firstLine(s.lastError) || "error")}`),
      };
    default:
      return { fill: "grey", shape: "ring", text: "stopped" };
  }
}

function firstLine(text: string | null | undefined): string {
  return (text ?? "").split("\n")[0].trim();
}
