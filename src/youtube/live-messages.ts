/**
 * What youtube-live sends: the camera's stream message on with the broadcast's `msg.target` (and
 * `msg.captions`), and that message again with the new target when the stream key changes, so
 * nest-restream starts ffmpeg again as for a restarted camera stream.
 */
import type { LiveTarget } from "./live-broadcaster";

/** A Node-RED message, as far as this module reads it. */
export type LiveMessage = Record<string, unknown> & { stream?: unknown; target?: unknown };

export class LiveMessages {
  /** The last camera URL passed on: sent again with the new destination if the stream is made again. */
  private lastUrl?: LiveMessage;

  /** `captionsUrl`: the broadcast's caption ingestion URL, while it has one. */
  constructor(private readonly captionsUrl: () => string | undefined) {}

  /** The input passed on after the broadcaster followed it: with its target, or as is (no stream). */
  passOn(msg: LiveMessage, target: LiveTarget | null | undefined): LiveMessage {
    if (!target) {
      this.lastUrl = undefined;
      return msg;
    }
    this.lastUrl = msg;
    return this.withCaptions({ ...msg, target });
  }

  /** The last stream message again with a new stream key, marked restarted; undefined before any. */
  retarget(target: LiveTarget): LiveMessage | undefined {
    if (!this.lastUrl) return undefined;
    const last = this.lastUrl;
    const stream = last.stream && typeof last.stream === "object" ? last.stream : {};
    const msg: LiveMessage = { ...last, target, stream: { ...stream, event: "restarted" } };
    this.lastUrl = msg;
    return this.withCaptions(msg);
  }

  /** Output 2's message for a broadcast status. */
  status(payload: unknown): LiveMessage {
    return this.withCaptions({ payload });
  }

  private withCaptions(msg: LiveMessage): LiveMessage {
    const url = this.captionsUrl();
    return url ? { ...msg, captions: { url } } : msg;
  }
}
