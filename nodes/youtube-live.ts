/**
 * youtube-live node: translates nest-stream's messages to a LiveBroadcaster and its broadcast
 * states to output 2 and the status; the stream messages go on with `msg.target` for nest-restream.
 */
import { truncate } from "../src/format";
import { errorMessage } from "../src/redact";
import { LiveInputError, parseLiveInput } from "../src/youtube/live-input";
import {
  INGESTS,
  LiveBroadcaster,
  normalizeSettings,
  type BroadcastSettings,
  type BroadcastStatus,
  type Ingest,
  type LiveTarget,
} from "../src/youtube/live-broadcaster";
import type { Latency, Privacy } from "../src/youtube/live-api";
import { LiveMessages } from "../src/youtube/live-messages";
import type { Node, NodeStatus, RED } from "./red-types";
import { accountOrRefuse } from "./lib/account-guard";
import type { YouTubeVideoSettings } from "./lib/youtube-settings";
import type { YouTubeAccountNode } from "./youtube-account";

interface YouTubeLiveConfig extends YouTubeVideoSettings {
  latency?: string;
  ingest?: string;
  rotateHours?: string | number;
  captions?: boolean;
  pollSeconds?: string | number;
}

const pick = <T extends string>(value: unknown, allowed: readonly T[], fallback: T): T =>
  allowed.includes(value as T) ? (value as T) : fallback;

const number = (value: unknown, fallback: number, min: number): number => {
  const n = value === undefined || value === "" ? fallback : Number(value);
  return Number.isFinite(n) && n >= min ? n : fallback;
};

/** rotateHours as given (the broadcaster clamps it to 0–12 h and says so). */
const hours = (value: unknown): number => (value === undefined || value === "" ? 11 : Number(value));

function settingsFrom(config: YouTubeLiveConfig): BroadcastSettings {
  return {
    title: config.title?.trim() || "{camera} live",
    description: config.description ?? "",
    privacy: pick<Privacy>(config.privacy, ["unlisted", "public", "private"], "unlisted"),
    latency: pick<Latency>(config.latency, ["normal", "low", "ultraLow"], "normal"),
    ingest: pick<Ingest>(config.ingest, INGESTS, "rtmps"),
    rotateHours: hours(config.rotateHours),
    captions: config.captions === true,
    madeForKids: config.madeForKids === true,
    pollSeconds: number(config.pollSeconds, 60, 10),
  };
}

module.exports = function register(RED: RED) {
  function YouTubeLiveNode(this: Node, config: YouTubeLiveConfig) {
    RED.nodes.createNode(this, config);
    const accountNode = accountOrRefuse<YouTubeAccountNode>(RED, this, config.account, "youtube-live");
    if (!accountNode) return;
    // Settings YouTube cannot honour are changed, and said so at deploy time.
    for (const text of normalizeSettings(settingsFrom(config)).warnings) this.warn(text);
    let broadcaster: LiveBroadcaster | undefined;
    const messages = new LiveMessages(() => broadcaster?.captionsUrl);
    const open = (): LiveBroadcaster => {
      if (!broadcaster) {
        const account = accountNode.account();
        broadcaster = new LiveBroadcaster({
          api: account.live,
          ledger: account.ledger,
          nodeId: this.id,
          name: config.name,
          settings: settingsFrom(config),
        });
        broadcaster.on("status", (s: BroadcastStatus) => {
          this.status(statusFor(RED, s));
          this.send([null, messages.status(s)]);
        });
        broadcaster.on("warning", (text: string) => this.warn(text));
        broadcaster.on("target", (target: LiveTarget) => {
          const msg = messages.retarget(target);
          if (msg) this.send([msg, null]);
        });
      }
      return broadcaster;
    };
    this.status({ fill: "grey", shape: "ring", text: RED._("youtube-live.status.idle") });

    this.on("input", async (msg, send, done) => {
      try {
        const input = parseLiveInput(msg);
        const target = await open().follow(input);
        send([messages.passOn(msg, target), null]);
        done();
      } catch (err) {
        done(
          new Error(
            err instanceof LiveInputError
              ? RED._("youtube-live.error.input", { got: err.got })
              : errorMessage(err),
          ),
        );
      }
    });

    // A YouTube step in flight is waited for (at most 10 s, inside Node-RED's 15 s close timeout),
    // so the node deployed in its place finds what it made.
    this.on("close", (_removed, done) => {
      const closing = broadcaster?.close() ?? Promise.resolve();
      broadcaster = undefined;
      closing.then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType("youtube-live", YouTubeLiveNode);
};

function statusFor(RED: RED, s: BroadcastStatus): NodeStatus {
  const quota = RED._("youtube-live.status.quota", { used: s.quotaUsed });
  if (s.state === "error") {
    return { fill: "red", shape: "dot", text: truncate(`${s.error ?? s.state}`) };
  }
  const text = RED._(`youtube-live.status.${s.state}`, { health: s.health ?? "noData" });
  const fill = s.state === "live" ? "green" : s.state === "complete" ? "grey" : "yellow";
  return { fill, shape: s.state === "live" ? "dot" : "ring", text: truncate(`${text} · ${quota}`) };
}
