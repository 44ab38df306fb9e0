/**
 * The YouTube Data API v3 live-streaming calls (design section 5): liveStreams insert/list and
 * liveBroadcasts insert/list/bind/transition, each charged to the quota ledger before it is sent,
 * with the account's token (a 401 refreshes it once), and read into typed resources and errors.
 */
import { systemClock, type Clock } from "../clock";
import { GoogleError } from "../google/errors";
import {
  AxiosTransport,
  isOk,
  parseBody,
  sendRequest,
  type HttpMethod,
  type HttpTransport,
} from "../google/http";
import { withRetries } from "../google/retry";
import type { TokenKeeper } from "../google/token-keeper";
import { secrets } from "../redact";
import { QuotaExhaustedError, type QuotaLedger, type QuotaMethod } from "./quota-ledger";
import { youtubeError } from "./youtube-errors";

export type IngestionType = "rtmp" | "hls";
export type StreamStatus = "created" | "ready" | "active" | "inactive" | "error";
export type LifeCycleStatus =
  "created" | "ready" | "testing" | "testStarting" | "live" | "liveStarting" | "complete" | "revoked";
export type Privacy = "public" | "unlisted" | "private";
export type Latency = "normal" | "low" | "ultraLow";

export interface LiveStream {
  id: string;
  snippet?: { title?: string; description?: string };
  cdn?: {
    ingestionType?: IngestionType;
    ingestionInfo?: {
      streamName?: string;
      ingestionAddress?: string;
      rtmpsIngestionAddress?: string;
    };
  };
  status?: {
    streamStatus?: StreamStatus;
    healthStatus?: {
      status?: string;
      configurationIssues?: { type?: string; severity?: string; reason?: string }[];
    };
  };
  contentDetails?: { closedCaptionsIngestionUrl?: string; isReusable?: boolean };
}

export interface LiveBroadcast {
  id: string;
  snippet?: { title?: string; scheduledStartTime?: string; actualStartTime?: string; actualEndTime?: string };
  status?: { lifeCycleStatus?: LifeCycleStatus; privacyStatus?: Privacy };
  contentDetails?: { boundStreamId?: string };
}

export interface NewBroadcast {
  title: string;
  description?: string;
  privacy: Privacy;
  latency: Latency;
  captions: boolean;
  madeForKids: boolean;
  scheduledStartTime: string;
}

export interface LiveApiOptions {
  tokens: Pick<TokenKeeper, "withToken">;
  ledger: QuotaLedger;
  /** `youtubeApiUrl` from endpoints.ts. */
  baseUrl: string;
  clock?: Clock;
  http?: HttpTransport;
  random?: () => number;
  /** Per request. Default 15 s. */
  timeoutMs?: number;
}

const STREAM_PARTS = "id,snippet,cdn,contentDetails,status";
const BROADCAST_PARTS = "id,snippet,status,contentDetails";
/** Pages of a list read at most (50 items each): a channel with more is not this package's. */
const MAX_PAGES = 20;

export class LiveApi {
  private readonly tokens: Pick<TokenKeeper, "withToken">;
  private readonly ledger: QuotaLedger;
  private readonly baseUrl: string;
  private readonly clock: Clock;
  private readonly http: HttpTransport;
  private readonly random: () => number;
  private readonly timeoutMs: number;

  constructor(options: LiveApiOptions) {
    this.tokens = options.tokens;
    this.ledger = options.ledger;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.clock = options.clock ?? systemClock;
    this.http = options.http ?? new AxiosTransport();
    this.random = options.random ?? Math.random;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** A reusable stream (its key never changes, so any number of broadcasts can use it). */
  async insertStream(title: string, description: string, ingestionType: IngestionType): Promise<LiveStream> {
    const body = {
      snippet: { title, description },
      cdn: { ingestionType, resolution: "variable", frameRate: "variable" },
      contentDetails: { isReusable: true },
    };
    const stream = await this.call<LiveStream>(
      "liveStreams.insert",
      "Creating the YouTube stream",
      "POST",
      "liveStreams",
      { part: STREAM_PARTS },
      body,
    );
    registerStreamSecrets(stream);
    return stream;
  }

  /**
   * The given streams, or the channel's (`mine=true`), page by page (50 a page, 1 unit each) until
   * `stopAt` matches one or no `nextPageToken` is left (at most `MAX_PAGES` pages).
   */
  async listStreams(
    filter: { ids: string[] } | { mine: true },
    stopAt?: (s: LiveStream) => boolean,
  ): Promise<LiveStream[]> {
    const query: Record<string, string> = { part: STREAM_PARTS, maxResults: "50" };
    if ("ids" in filter) query.id = filter.ids.join(",");
    else query.mine = "true";
    const items = await this.pages<LiveStream>(
      "liveStreams.list",
      "Reading the YouTube stream",
      "liveStreams",
      query,
      stopAt,
    );
    items.forEach(registerStreamSecrets);
    return items;
  }

  async insertBroadcast(b: NewBroadcast): Promise<LiveBroadcast> {
    const body = {
      snippet: { title: b.title, description: b.description ?? "", scheduledStartTime: b.scheduledStartTime },
      status: { privacyStatus: b.privacy, selfDeclaredMadeForKids: b.madeForKids },
      contentDetails: {
        enableAutoStart: false,
        enableAutoStop: false,
        latencyPreference: b.latency,
        monitorStream: { enableMonitorStream: false },
        ...(b.captions ? { closedCaptionsType: "closedCaptionsHttpPost" } : {}),
      },
    };
    return this.call<LiveBroadcast>(
      "liveBroadcasts.insert",
      "Creating the YouTube broadcast",
      "POST",
      "liveBroadcasts",
      { part: BROADCAST_PARTS },
      body,
    );
  }

  /** The channel's broadcasts that are live or starting (`broadcastStatus=active`), every page. */
  async activeBroadcasts(): Promise<LiveBroadcast[]> {
    return this.broadcastsIn("active", "Looking for the channel's live broadcasts");
  }

  /** The channel's broadcasts not started yet, created or ready (`broadcastStatus=upcoming`), every page. */
  async upcomingBroadcasts(): Promise<LiveBroadcast[]> {
    return this.broadcastsIn("upcoming", "Looking for the channel's upcoming broadcasts");
  }

  private broadcastsIn(status: "active" | "upcoming", what: string): Promise<LiveBroadcast[]> {
    return this.pages<LiveBroadcast>("liveBroadcasts.list", what, "liveBroadcasts", {
      part: BROADCAST_PARTS,
      broadcastStatus: status,
      maxResults: "50",
    });
  }

  /** A list method's items, following `nextPageToken` (each page is a call of its own). */
  private async pages<T>(
    method: "liveStreams.list" | "liveBroadcasts.list",
    what: string,
    path: string,
    query: Record<string, string>,
    stopAt?: (item: T) => boolean,
  ): Promise<T[]> {
    const all: T[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const answer = await this.call<{ items?: T[]; nextPageToken?: string }>(
        method,
        what,
        "GET",
        path,
        token ? { ...query, pageToken: token } : query,
      );
      const items = Array.isArray(answer.items) ? answer.items : [];
      all.push(...items);
      token =
        typeof answer.nextPageToken === "string" && answer.nextPageToken ? answer.nextPageToken : undefined;
      if (!token || (stopAt && items.some(stopAt))) break;
    }
    return all;
  }

  async getBroadcast(id: string): Promise<LiveBroadcast | undefined> {
    const answer = await this.call<{ items?: LiveBroadcast[] }>(
      "liveBroadcasts.list",
      "Reading the YouTube broadcast",
      "GET",
      "liveBroadcasts",
      { part: BROADCAST_PARTS, id },
    );
    return Array.isArray(answer.items) ? answer.items[0] : undefined;
  }

  async bind(broadcastId: string, streamId: string): Promise<LiveBroadcast> {
    return this.call<LiveBroadcast>(
      "liveBroadcasts.bind",
      "Binding the YouTube broadcast to the stream",
      "POST",
      "liveBroadcasts/bind",
      { id: broadcastId, streamId, part: BROADCAST_PARTS },
    );
  }

  async transition(broadcastId: string, status: "testing" | "live" | "complete"): Promise<LiveBroadcast> {
    return this.call<LiveBroadcast>(
      "liveBroadcasts.transition",
      `Moving the YouTube broadcast to ${status}`,
      "POST",
      "liveBroadcasts/transition",
      { broadcastStatus: status, id: broadcastId, part: BROADCAST_PARTS },
    );
  }

  /** Removes a broadcast that never went live (YouTube refuses to complete one). */
  async deleteBroadcast(id: string): Promise<void> {
    await this.call<unknown>(
      "liveBroadcasts.delete",
      "Deleting the unused YouTube broadcast",
      "DELETE",
      "liveBroadcasts",
      { id },
    );
  }

  /**
   * One call: charged, sent with the token, retried on 5xx and network failures only for reads (an
   * insert or a transition that got no answer may have happened: the caller looks before it acts again).
   */
  private async call<T>(
    method: QuotaMethod,
    what: string,
    verb: HttpMethod,
    path: string,
    query: Record<string, string>,
    data?: unknown,
  ): Promise<T> {
    const once = async (): Promise<T> => {
      try {
        return await this.tokens.withToken(async (token) => {
          // Charged when it really goes out (a call that never got a token costs nothing).
          this.ledger.charge(method, what);
          const res = await sendRequest(this.http, {
            method: verb,
            url: `${this.baseUrl}/${path}?${new URLSearchParams(query).toString()}`,
            headers: { Authorization: `Bearer ${token}` },
            data,
            timeoutMs: this.timeoutMs,
          });
          if (!isOk(res)) throw youtubeError(res, what, this.clock.now());
          const body = parseBody(res.data);
          if (res.status === 204) return {} as T;
          if (!body || typeof body !== "object") {
            throw new GoogleError(
              `${what}: YouTube's answer was not JSON.`,
              res.status,
              "BAD_RESPONSE",
              false,
            );
          }
          return body as T;
        });
      } catch (err) {
        if (err instanceof QuotaExhaustedError && err.fromYouTube) this.ledger.refuseUntilReset(method);
        throw err;
      }
    };
    const reads = verb === "GET";
    return withRetries(once, {
      clock: this.clock,
      initialMs: 2_000,
      maxMs: 30_000,
      random: this.random,
      maxAttempts: reads ? 3 : 1,
    });
  }
}

/** The stream key and the caption URL are secrets from the moment they arrive. */
function registerStreamSecrets(stream: LiveStream): void {
  secrets.add(stream.cdn?.ingestionInfo?.streamName, stream.contentDetails?.closedCaptionsIngestionUrl);
}
