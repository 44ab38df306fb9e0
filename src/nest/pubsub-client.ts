/**
 * A Cloud Pub/Sub pull subscription over its REST API (design section 5): `:pull` and
 * `:acknowledge` with the nest-account's access token. One try per call: the event reader keeps its
 * own schedule (retry.ts's delays); a refused token is handled by the token keeper.
 */
import { systemClock, type Clock } from "../clock";
import { GoogleError } from "../google/errors";
import { AxiosTransport, isOk, parseBody, sendRequest, type HttpTransport } from "../google/http";
import type { TokenKeeper } from "../google/token-keeper";
import { pubsubError, validateSubscription } from "./pubsub-errors";

export interface PubSubMessage {
  /** The message's body, decoded from base64. */
  data: string;
  messageId: string;
  publishTime?: string;
  attributes?: Record<string, string>;
}

export interface ReceivedMessage {
  ackId: string;
  message: PubSubMessage;
  deliveryAttempt?: number;
}

/** What the event reader needs of a subscription (PubSubClient fits; tests may pass fakes). */
export interface PullSource {
  readonly subscription: string;
  pull(maxMessages: number, signal?: AbortSignal): Promise<ReceivedMessage[]>;
  acknowledge(ackIds: string[], signal?: AbortSignal): Promise<void>;
}

export interface PubSubClientOptions {
  /** `projects/{project}/subscriptions/{name}`. */
  subscription: string;
  tokens: Pick<TokenKeeper, "withToken">;
  /** `pubsubApiUrl` from endpoints.ts. */
  baseUrl: string;
  clock?: Clock;
  http?: HttpTransport;
  /** Per pull: Pub/Sub may hold a pull open while it has nothing. Default 90 s. */
  pullTimeoutMs?: number;
  /** Per acknowledge. Default 15 s. */
  timeoutMs?: number;
}

export class PubSubClient implements PullSource {
  readonly subscription: string;
  private readonly tokens: Pick<TokenKeeper, "withToken">;
  private readonly baseUrl: string;
  private readonly clock: Clock;
  private readonly http: HttpTransport;
  private readonly pullTimeoutMs: number;
  private readonly timeoutMs: number;

  constructor(options: PubSubClientOptions) {
    this.subscription = validateSubscription(options.subscription);
    this.tokens = options.tokens;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.clock = options.clock ?? systemClock;
    this.http = options.http ?? new AxiosTransport();
    this.pullTimeoutMs = options.pullTimeoutMs ?? 90_000;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** Up to `maxMessages` messages (possibly none). */
  async pull(maxMessages: number, signal?: AbortSignal): Promise<ReceivedMessage[]> {
    const body = await this.send(
      ":pull",
      { maxMessages },
      "Pulling camera events",
      this.pullTimeoutMs,
      signal,
    );
    const list = (body as { receivedMessages?: unknown }).receivedMessages;
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw badAnswer("Pulling camera events");
    const out: ReceivedMessage[] = [];
    for (const item of list as unknown[]) {
      const r = item as { ackId?: unknown; message?: Record<string, unknown>; deliveryAttempt?: unknown };
      if (typeof r?.ackId !== "string" || !r.message || typeof r.message !== "object") continue;
      const m = r.message;
      out.push({
        ackId: r.ackId,
        deliveryAttempt: typeof r.deliveryAttempt === "number" ? r.deliveryAttempt : undefined,
        message: {
          data: typeof m.data === "string" ? Buffer.from(m.data, "base64").toString("utf8") : "",
          messageId: typeof m.messageId === "string" ? m.messageId : "",
          publishTime: typeof m.publishTime === "string" ? m.publishTime : undefined,
          attributes:
            m.attributes && typeof m.attributes === "object"
              ? (m.attributes as Record<string, string>)
              : undefined,
        },
      });
    }
    return out;
  }

  async acknowledge(ackIds: string[], signal?: AbortSignal): Promise<void> {
    if (ackIds.length === 0) return;
    await this.send(":acknowledge", { ackIds }, "Acknowledging camera events", this.timeoutMs, signal);
  }

  private send(
    verb: string,
    data: unknown,
    what: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<object> {
    return this.tokens.withToken(async (token) => {
      const res = await sendRequest(this.http, {
        method: "POST",
        url: `${this.baseUrl}/${this.subscription}${verb}`,
        headers: { Authorization: `Bearer ${token}` },
        data,
        timeoutMs,
        signal,
      });
      if (!isOk(res)) throw pubsubError(res, what, this.clock.now(), this.subscription);
      const body = parseBody(res.data);
      if (body === "" || body === undefined || body === null) return {};
      if (typeof body !== "object") throw badAnswer(what);
      return body;
    });
  }
}

function badAnswer(what: string): GoogleError {
  return new GoogleError(
    `${what}: Pub/Sub's answer was not what its API documents.`,
    200,
    "BAD_RESPONSE",
    false,
  );
}
