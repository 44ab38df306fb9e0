/**
 * The Smart Device Management API client (design section 5): device listing and the
 * CameraLiveStream commands. Every `executeCommand` goes through the project's CommandBudget and a
 * 429 pauses the whole budget (Retry-After honoured); 429s and transient failures are retried a
 * bounded number of times, or not at all on the `singleTry` view, whose callers keep their own
 * schedule; a refused token is handled by the token keeper.
 */
import { systemClock, type Clock } from "../clock";
import { truncateMiddle } from "../format";
import { CommandBudget } from "./command-budget";
import { CredentialsError, GoogleError } from "../google/errors";
import { AxiosTransport, isOk, parseBody, sendRequest, type HttpTransport } from "../google/http";
import { withRetries } from "../google/retry";
import { InvalidDeviceIdError, sdmError } from "./sdm-errors";
import {
  describeDevice,
  deviceId,
  fullCommandName,
  type CameraInfo,
  type SdmCommandName,
  type SdmCommands,
  type SdmDevice,
} from "./sdm-types";
import type { TokenKeeper } from "../google/token-keeper";

export interface SdmClientOptions {
  projectId: string;
  tokens: Pick<TokenKeeper, "withToken">;
  /** `sdmApiUrl` from endpoints.ts. */
  baseUrl: string;
  clock?: Clock;
  /** Shared by every caller of one account; created if not given. */
  budget?: CommandBudget;
  http?: HttpTransport;
  /** Per request. Default 15 s. */
  timeoutMs?: number;
  random?: () => number;
  /** Retries after network failures, timeouts and 5xx. Default 3. */
  maxTransientRetries?: number;
  /** Retries of an executeCommand after 429. Default 3. */
  maxRateLimitRetries?: number;
}

export interface CallOptions {
  /** Abandons waiting (budget queue, backoff) and the request in flight. */
  signal?: AbortSignal;
}

/** Device names are `enterprises/{project}/devices/{id}`; ids are URL-safe base64-like text. */
const DEVICE_ID = /^[A-Za-z0-9_-]+$/;
const DEVICE_NAME = /^enterprises\/([^/\s]+)\/devices\/([^/\s]+)$/;
/** More pages than any home has cameras: a guard against a server that never stops paging. */
const MAX_PAGES = 20;

/** Checks a Device Access project id before any request: non-empty, no slashes or whitespace. */
export function validateProjectId(projectId: string | undefined): string {
  const id = (projectId ?? "").trim();
  if (!id || /[\s/]/.test(id)) {
    throw new CredentialsError(
      id
        ? "The nest-account's Device Access project ID is not valid (it has slashes or spaces): copy the " +
            "Project ID from https://console.nest.google.com/device-access (a UUID)."
        : "The nest-account has no Device Access project ID: copy it from " +
            "https://console.nest.google.com/device-access (Project ID, a UUID).",
    );
  }
  return id;
}

export class SdmClient {
  readonly projectId: string;
  readonly budget: CommandBudget;
  private readonly tokens: Pick<TokenKeeper, "withToken">;
  private readonly baseUrl: string;
  private readonly clock: Clock;
  private readonly http: HttpTransport;
  private readonly timeoutMs: number;
  private readonly random: () => number;
  private readonly maxTransientRetries: number;
  private readonly maxRateLimitRetries: number;
  private readonly options: SdmClientOptions;
  private singleTryView?: SdmClient;

  constructor(options: SdmClientOptions) {
    this.options = options;
    this.projectId = validateProjectId(options.projectId);
    this.tokens = options.tokens;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.clock = options.clock ?? systemClock;
    this.budget = options.budget ?? new CommandBudget({ clock: this.clock });
    this.http = options.http ?? new AxiosTransport();
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.random = options.random ?? Math.random;
    this.maxTransientRetries = Math.max(0, options.maxTransientRetries ?? 3);
    this.maxRateLimitRetries = Math.max(0, options.maxRateLimitRetries ?? 3);
  }

  /**
   * The same client (same token, same budget) making one try per call, for callers that decide
   * themselves when to try again (the stream keepers: their schedule knows the stream's deadline),
   * so a failure is never retried by two loops at once.
   */
  get singleTry(): SdmClient {
    this.singleTryView ??= new SdmClient({
      ...this.options,
      budget: this.budget,
      maxTransientRetries: 0,
      maxRateLimitRetries: 0,
    });
    return this.singleTryView;
  }

  /** `enterprises/{project}/devices/{id}` for a short id or a full name of this project. */
  deviceName(idOrName: string): string {
    const text = typeof idOrName === "string" ? idOrName.trim() : "";
    const full = DEVICE_NAME.exec(text);
    if (full) {
      if (full[1] !== this.projectId) {
        throw new InvalidDeviceIdError(
          `Device ${truncateMiddle(text)} belongs to Device Access project ${full[1]}, but this nest-account is for ` +
            `project ${this.projectId}: use the device id alone, or pick the camera again.`,
        );
      }
      if (DEVICE_ID.test(full[2])) return text;
    } else if (DEVICE_ID.test(text)) {
      return `enterprises/${this.projectId}/devices/${text}`;
    }
    throw new InvalidDeviceIdError(
      `${text ? `"${truncateMiddle(text)}" is` : "An empty value is"} not a device id: use the id the camera picker ` +
        "shows, or the full enterprises/{project}/devices/{id} name.",
    );
  }

  /** Every device shared with the project (`devices.list`; Google allows about 5 a minute). */
  async devices(options: CallOptions = {}): Promise<SdmDevice[]> {
    const devices: SdmDevice[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const query = pageToken ? `?pageToken=${encodeURIComponent(pageToken)}` : "";
      const body = await this.withRetries(
        () =>
          this.send(
            "GET",
            `enterprises/${this.projectId}/devices${query}`,
            undefined,
            "Listing devices",
            options,
          ),
        options,
      );
      const list = (body as { devices?: unknown }).devices;
      if (Array.isArray(list)) devices.push(...(list as SdmDevice[]).filter(isDevice));
      const next = (body as { nextPageToken?: unknown }).nextPageToken;
      if (typeof next !== "string" || !next) break;
      pageToken = next;
    }
    return devices;
  }

  /** One device, by short id or full name. */
  async device(idOrName: string, options: CallOptions = {}): Promise<SdmDevice> {
    const name = this.deviceName(idOrName);
    const body = await this.withRetries(
      () => this.send("GET", name, undefined, `Reading device ${shortId(name)}`, options),
      options,
    );
    if (!isDevice(body)) throw badAnswer(`Reading device ${shortId(name)}`);
    return body;
  }

  /** The devices that can stream (CameraLiveStream trait), described for pickers and status. */
  async cameras(options: CallOptions = {}): Promise<CameraInfo[]> {
    return (await this.devices(options)).map(describeDevice).filter((c) => c.isCamera);
  }

  /**
   * Runs `sdm.devices.commands.CameraLiveStream.<command>` (or `CameraEventImage.GenerateImage`) and returns its `results`. Waits for the
   * project's command budget (and the per-device, per-command limit) first.
   */
  async execute<C extends SdmCommandName>(
    deviceIdOrName: string,
    command: C,
    params: SdmCommands[C]["params"],
    options: CallOptions = {},
  ): Promise<SdmCommands[C]["results"]> {
    const name = this.deviceName(deviceIdOrName);
    const what = `${command} on camera ${shortId(name)}`;
    const body = await this.withRetries(
      () =>
        this.send(
          "POST",
          `${name}:executeCommand`,
          { command: fullCommandName(command), params },
          what,
          options,
        ),
      options,
      `${name}:${command}`,
    );
    const results = ((body as { results?: unknown }).results ?? {}) as SdmCommands[C]["results"];
    checkResults(command, results, what);
    return results;
  }

  /** One authorized request; a 401 is retried once with a fresh token by the token keeper. */
  private send(
    method: "GET" | "POST",
    path: string,
    data: unknown,
    what: string,
    options: CallOptions,
  ): Promise<object> {
    return this.tokens.withToken(async (token) => {
      const res = await sendRequest(this.http, {
        method,
        url: `${this.baseUrl}/${path}`,
        headers: { Authorization: `Bearer ${token}` },
        data,
        timeoutMs: this.timeoutMs,
        signal: options.signal,
      });
      if (!isOk(res)) throw sdmError(res, what, this.clock.now());
      const body = parseBody(res.data);
      if (!body || typeof body !== "object") {
        // An empty body is a valid answer to Stop* commands.
        if (res.data === "" || res.data === undefined || res.data === null) return {};
        throw badAnswer(what);
      }
      return body;
    });
  }

  /**
   * Bounded retries on the shared policy. With `budgetKey` (an executeCommand) each attempt takes a
   * budget slot, and a 429 pauses the whole budget, since Google's limit is for the project and
   * user, not this call.
   */
  private withRetries<T>(op: () => Promise<T>, options: CallOptions, budgetKey?: string): Promise<T> {
    return withRetries(op, {
      clock: this.clock,
      signal: options.signal,
      initialMs: 1_000,
      maxMs: 30_000,
      random: this.random,
      maxAttempts: 1 + this.maxTransientRetries,
      rateLimited: {
        initialMs: 10_000,
        maxMs: 120_000,
        random: this.random,
        maxRetries: this.maxRateLimitRetries,
        pause: budgetKey === undefined ? undefined : (delayMs) => this.budget.penalize(delayMs),
      },
      beforeAttempt:
        budgetKey === undefined ? undefined : () => this.budget.acquire(options.signal, budgetKey),
      // The single-try view's callers keep their own schedule: its failures stay theirs to retry.
      spend: this.maxTransientRetries + this.maxRateLimitRetries > 0,
    });
  }
}

function isDevice(value: unknown): value is SdmDevice {
  const d = value as SdmDevice | undefined;
  return (
    !!d && typeof d === "object" && typeof d.name === "string" && !!d.traits && typeof d.traits === "object"
  );
}

/** The fields the stream keeper relies on; a reply without them would fail later, less clearly. */
function checkResults(command: SdmCommandName, results: unknown, what: string): void {
  const r = (results ?? {}) as Record<string, unknown>;
  const need: Partial<Record<SdmCommandName, string[]>> = {
    GenerateRtspStream: ["streamExtensionToken", "streamToken", "expiresAt"],
    ExtendRtspStream: ["streamExtensionToken", "streamToken", "expiresAt"],
    GenerateWebRtcStream: ["answerSdp", "expiresAt", "mediaSessionId"],
    ExtendWebRtcStream: ["expiresAt", "mediaSessionId"],
    GenerateImage: ["url", "token"],
  };
  const missing = (need[command] ?? []).filter((k) => typeof r[k] !== "string" || !r[k]);
  if (command === "GenerateRtspStream") {
    const urls = r.streamUrls as { rtspUrl?: unknown } | undefined;
    if (typeof urls?.rtspUrl !== "string" || !urls.rtspUrl) missing.push("streamUrls.rtspUrl");
  }
  if (missing.length) throw badAnswer(`${what} (no ${missing.join(", ")})`);
}

function badAnswer(what: string): GoogleError {
  return new GoogleError(
    `${what}: Google's answer was not what the SDM API documents.`,
    200,
    "BAD_RESPONSE",
    false,
  );
}

function shortId(name: string): string {
  return truncateMiddle(deviceId(name));
}
