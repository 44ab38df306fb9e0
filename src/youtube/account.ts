/**
 * One YouTube channel as the youtube-account node holds it: the token keeper with the YouTube scope,
 * the channel's quota ledger and the live-streaming API, opened and closed together.
 */
import { systemClock, type Clock } from "../clock";
import { endpointsFromEnv, type Endpoints } from "../endpoints";
import type { HttpTransport } from "../google/http";
import { TokenKeeper, validateCredentials, type OAuthCredentials } from "../google/token-keeper";
import { LiveApi } from "./live-api";
import { DEFAULT_DAILY_QUOTA, QuotaLedger } from "./quota-ledger";
import { ResumableUpload, type ResumableUploadOptions } from "./resumable-upload";

/** The scope the youtube-account asks for: live streaming and uploads. */
export const YOUTUBE_SCOPE = "https://www.googleapis.com/auth/youtube";

const NODE_TYPE = "youtube-account";

export interface YouTubeAccountOptions extends Partial<OAuthCredentials> {
  /** The config node's id: the channel's ledger is kept per account for the life of the process. */
  id: string;
  /** Units a day this package may spend (text from the editor is fine); empty: YouTube's default. */
  dailyQuota?: number | string;
  endpoints?: Pick<Endpoints, "oauthTokenUrl" | "youtubeApiUrl"> &
    Partial<Pick<Endpoints, "youtubeUploadUrl">>;
  clock?: Clock;
  http?: HttpTransport;
  random?: () => number;
}

/**
 * Units spent today by each account of this process. Like Google's own count, it does not start
 * again when the flow is redeployed.
 */
const ledgers = new Map<string, QuotaLedger>();

export class YouTubeAccount {
  readonly tokens: TokenKeeper;
  readonly ledger: QuotaLedger;
  readonly live: LiveApi;
  private readonly uploadUrl: string;
  private readonly clock: Clock;
  private readonly http: HttpTransport | undefined;
  private readonly random: (() => number) | undefined;

  /** Throws CredentialsError (and sends nothing) when the credentials are missing or malformed. */
  constructor(options: YouTubeAccountOptions) {
    const clock = options.clock ?? systemClock;
    const credentials = validateCredentials(options, NODE_TYPE);
    const endpoints = options.endpoints ?? endpointsFromEnv();
    this.uploadUrl = endpoints.youtubeUploadUrl ?? endpointsFromEnv().youtubeUploadUrl;
    this.clock = clock;
    this.http = options.http;
    this.random = options.random;
    const dailyQuota = validDailyQuota(options.dailyQuota);
    let ledger = ledgers.get(options.id);
    if (!ledger) {
      ledger = new QuotaLedger(dailyQuota, clock);
      ledgers.set(options.id, ledger);
    }
    ledger.setDailyQuota(dailyQuota);
    this.ledger = ledger;
    this.tokens = new TokenKeeper({
      credentials,
      account: NODE_TYPE,
      tokenUrl: endpoints.oauthTokenUrl,
      clock,
      http: options.http,
      random: options.random,
    });
    this.live = new LiveApi({
      tokens: this.tokens,
      ledger,
      baseUrl: endpoints.youtubeApiUrl,
      clock,
      http: options.http,
      random: options.random,
    });
  }

  /** A resumable upload of one video to this channel, charged to its ledger. */
  uploader(options: Partial<Pick<ResumableUploadOptions, "chunkBytes" | "timeoutMs">> = {}): ResumableUpload {
    return new ResumableUpload({
      tokens: this.tokens,
      ledger: this.ledger,
      uploadUrl: this.uploadUrl,
      clock: this.clock,
      http: this.http,
      random: this.random,
      ...options,
    });
  }

  close(): void {
    this.tokens.close();
  }
}

/** The node's `dailyQuota`: a whole number of units, 1 or more; empty means YouTube's default. */
export function validDailyQuota(value: unknown): number {
  if (value === undefined || value === null || value === "") return DEFAULT_DAILY_QUOTA;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(
      `The youtube-account's daily quota must be a whole number of units (1 or more; YouTube's default is ` +
        `${DEFAULT_DAILY_QUOTA}), not ${JSON.stringify(value)}.`,
    );
  }
  return n;
}
