/** nest-restream node: wires its settings, messages and status to a RestreamController (src/ffmpeg). */
import path from "node:path";
import { truncate } from "../src/format";
import { errorMessage, redact } from "../src/redact";
import { RestreamRefusal } from "../src/ffmpeg/refusal";
import { RestreamController, type RestreamConfig } from "../src/ffmpeg/restream-controller";
import { restreamPayload, type RestreamSnapshot } from "../src/ffmpeg/restream-snapshot";
import { restreamStatus, type RestreamStatus } from "../src/ffmpeg/restream-status";
import { LeftoverProcess } from "../src/ffmpeg/leftover-process";
import { interruptedRecordings, type RecordingFile } from "../src/ffmpeg/recordings";
import { childMayOutliveParent } from "../src/ffmpeg/spawn-with-parent";
import { keyInUrl, TARGET_KINDS } from "../src/ffmpeg/targets";
import { acceptedTexts } from "./lib/restream-wording";
import type { Node, NodeMessage, NodeStatus, RED } from "./red-types";

interface NestRestreamConfig extends Omit<RestreamConfig, "streamKey" | "extraKeys"> {
  id: string;
  name?: string;
}

let warnedParentDeath = false;

module.exports = function register(RED: RED) {
  const t = (key: string, subs?: Record<string, unknown>) => RED._(`nest-restream.status.${key}`, subs);

  /** A refusal in the catalog's words, its target in the dialog's ("YouTube Live (RTMPS) needs …"). */
  function errorText(err: unknown): string {
    if (!(err instanceof RestreamRefusal)) return errorMessage(err);
    const kind = TARGET_KINDS.find((k) => k === err.params.kind);
    const params = kind ? { ...err.params, kind: RED._(`nest-restream.target.${kind}`) } : err.params;
    return RED._(`nest-restream.errors.${err.code}`, { ...acceptedTexts(RED._.bind(RED)), ...params });
  }

  function statusFor(s: RestreamStatus): NodeStatus {
    switch (s.state) {
      case "live": {
        const figures = { fps: s.fps ?? t("unknown"), kbps: s.kbps ?? t("unknown"), uptime: s.uptime };
        return { fill: "green", shape: "dot", text: t(s.uptime ? "liveFor" : "live", figures) };
      }
      case "starting":
        return { fill: "yellow", shape: "ring", text: t("starting") };
      case "retrying": {
        const reason = s.reason ?? t("reconnecting");
        return {
          fill: "yellow",
          shape: "ring",
          text: truncate(t("retrying", { restarts: s.restarts, reason })),
        };
      }
      case "failed":
        return { fill: "red", shape: "dot", text: truncate(t("failed", { reason: s.reason ?? t("error") })) };
      case "misconfigured":
        return { fill: "red", shape: "ring", text: truncate(errorText(s.error)) };
      case "stopped":
        return { fill: "grey", shape: "ring", text: t("stopped") };
    }
  }

  function NestRestreamNode(
    this: Node<{ streamKey?: string; extraKeys?: string }>,
    config: NestRestreamConfig,
  ) {
    RED.nodes.createNode(this, config);
    if (!warnedParentDeath && childMayOutliveParent()) {
      warnedParentDeath = true;
      this.warn(RED._("nest-restream.log.parentDeath"));
    }
    // Node-RED's user directory keeps a note of the running ffmpeg (none without one: the test helper).
    const userDir = typeof RED.settings.userDir === "string" ? RED.settings.userDir : undefined;
    const leftover = userDir
      ? new LeftoverProcess(path.join(userDir, "nest-restream", `${config.id}.ffmpeg.json`))
      : undefined;
    // Before anything starts: never two ffmpeg on one camera session or stream key.
    const left = leftover?.takeLeftover();
    if (left?.pid) this.warn(RED._("nest-restream.log.leftover", { pid: left.pid }));
    const restream = RestreamController.fromConfig(
      { ...config, streamKey: this.credentials?.streamKey, extraKeys: this.credentials?.extraKeys },
      { errorText, ...(leftover ? { leftover } : {}) },
    );
    const keyed = (config.extraOutputs ?? "")
      .split(/\r?\n/)
      .map((line, i) => ({ line: line.trim(), n: i + 1 }))
      .filter(({ line }) => line && keyInUrl(line));
    // Line numbers only: the line itself may be the key.
    if (keyed.length > 0) this.warn(t("keyInExtraOutput", { lines: keyed.map((k) => k.n).join(", ") }));
    this.status(statusFor(restream.initialStatus()));

    const topic = config.name || "nest-restream";
    // Output 1: state; output 2: finished recordings; output 3: snapshots.
    const report = (snapshot: RestreamSnapshot) => {
      this.status(statusFor(restreamStatus(snapshot)));
      this.send([{ payload: restreamPayload(snapshot), topic }, null, null]);
    };
    // Why ffmpeg fails, in the log once per new reason (the status shows it each time).
    let warnedReason: string | null = null;
    restream.restreamer.on("state", (snapshot) => {
      report(snapshot);
      if (snapshot.state === "failed" && snapshot.lastError) this.error(redact(snapshot.lastError));
      const status = restreamStatus(snapshot);
      if (status.state === "live" || status.state === "stopped") warnedReason = null;
      else if (status.state === "retrying" && status.reason && status.reason !== warnedReason) {
        warnedReason = status.reason;
        this.warn(redact((snapshot.lastError ?? status.reason).split("\n")[0]));
      }
    });
    restream.restreamer.on("stats", report);
    restream.restreamer.on("log", (line) => this.debug(line));
    restream.restreamer.on("warning", (text) => this.warn(redact(text)));
    const sendRecording = (file: RecordingFile) =>
      this.send([null, { payload: file.path, file, topic }, null]);
    restream.restreamer.on("recording", sendRecording);
    // What an ffmpeg of this node was writing when Node-RED died: announced once, when the flows run.
    if (left && left.recordings.length > 0) {
      const files = interruptedRecordings(left.recordings, (file, why) =>
        this.debug(`interrupted recording ${file} not announced: ${why}`),
      );
      let closed = false;
      this.on("close", () => (closed = true));
      const announce = () =>
        void files.then((found) => {
          if (closed) return;
          for (const file of found) sendRecording(file);
        });
      if (RED.events?.once) RED.events.once("flows:started", announce);
      else setImmediate(announce);
    }

    this.on("input", (msg, send, done) =>
      restream.handle(msg).then(
        (reply) => {
          if (reply) {
            // The request travels on with the picture, less a destination's stream key.
            const out: NodeMessage = { ...msg, payload: reply.jpeg, snapshot: reply.snapshot, topic };
            delete out.target;
            send([null, null, out]);
          }
          done();
        },
        (err: unknown) => done(new Error(errorText(err))),
      ),
    );
    // q, then SIGTERM, then SIGKILL, all inside Node-RED's 15 s close timeout.
    this.on("close", (_removed, done) => {
      restream.stop().then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType("nest-restream", NestRestreamNode, {
    credentials: { streamKey: { type: "password" }, extraKeys: { type: "password" } },
  });
};
