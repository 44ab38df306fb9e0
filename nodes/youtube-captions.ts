/**
 * youtube-captions node: hands messages to a CaptionsController (text captions, or the local time
 * every few seconds in clock mode) and its results to the output and the status.
 */
import { truncate } from "../src/format";
import { errorMessage, redact } from "../src/redact";
import { CaptionInputError, CAPTION_MODES, type CaptionMode } from "../src/youtube/caption-input";
import type { CaptionResult } from "../src/youtube/caption-poster";
import { CaptionsController, type CaptionsStatus } from "../src/youtube/captions-controller";
import type { Node, NodeStatus, RED } from "./red-types";

interface YouTubeCaptionsConfig {
  id: string;
  name?: string;
  mode?: string;
  everySeconds?: string | number;
  timeFormat?: string;
}

module.exports = function register(RED: RED) {
  function YouTubeCaptionsNode(this: Node<{ url?: string }>, config: YouTubeCaptionsConfig) {
    RED.nodes.createNode(this, config);
    const mode: CaptionMode = CAPTION_MODES.includes(config.mode as CaptionMode)
      ? (config.mode as CaptionMode)
      : "text";
    const every = Number(config.everySeconds);
    const url = this.credentials?.url?.trim() || undefined;
    const controller = new CaptionsController({
      mode,
      everySeconds: Number.isFinite(every) && every >= 1 ? every : 1,
      timeFormat: config.timeFormat?.trim() || "HH:mm:ss",
      url,
    });
    if (!CaptionsController.validCredential(url)) this.warn(RED._("youtube-captions.error.badCredential"));

    const inputError = (err: unknown): Error =>
      err instanceof CaptionInputError
        ? new Error(RED._(`youtube-captions.error.${err.code}`, { got: err.got }))
        : new Error(errorMessage(err));

    controller.on("status", (s: CaptionsStatus) => this.status(statusFor(RED, s)));
    controller.on("result", (result: CaptionResult) => this.send({ payload: result }));
    this.status(statusFor(RED, controller.status()));

    this.on("input", async (msg, send, done) => {
      try {
        const result = await controller.input(msg);
        if (result) {
          // The caption URL is a secret: it goes no further than this node.
          const out: Record<string, unknown> = { ...msg, payload: result };
          delete out.captions;
          send(out);
        }
        done();
      } catch (err) {
        done(inputError(err));
      }
    });

    this.on("close", (_removed, done) => {
      controller.close();
      done();
    });
  }

  RED.nodes.registerType("youtube-captions", YouTubeCaptionsNode, {
    credentials: { url: { type: "password" } },
  });
};

function statusFor(RED: RED, s: CaptionsStatus): NodeStatus {
  const t = (key: string, subs?: Record<string, unknown>) => RED._(`youtube-captions.status.${key}`, subs);
  if (!s.hasUrl) return { fill: "grey", shape: "ring", text: t("noUrl") };
  const last = s.last;
  const failed = s.dropped > 0 && last?.ok ? ` · ${t("dropped", { count: s.dropped })}` : "";
  if (!last) {
    const idle = s.mode === "clock" ? (s.running ? t("running") : t("stopped")) : t("ready");
    return { fill: "grey", shape: s.running ? "dot" : "ring", text: idle };
  }
  const text = last.ok
    ? t("sent", { seq: last.seq, text: last.text.replace(/<br>/g, " ") })
    : t("failed", { seq: last.seq, count: s.dropped, error: last.error ?? "" });
  const stopped = s.mode === "clock" && !s.running ? ` · ${t("stopped")}` : "";
  return {
    fill: last.ok ? (s.dropped > 0 ? "yellow" : "green") : "red",
    shape: last.ok && (s.mode === "text" || s.running) ? "dot" : "ring",
    text: truncate(redact(`${text}${failed}${stopped}`)),
  };
}
