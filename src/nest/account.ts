/**
 * One Google Device Access account as the nest-account node holds it: the token keeper, the SDM
 * client and the project-wide command budget they share, opened and closed together.
 */
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { systemClock, type Clock } from "../clock";
import { endpointsFromEnv, type Endpoints } from "../endpoints";
import { CommandBudget, commandWindowFor, type CommandBudgetOptions } from "./command-budget";
import type { HttpTransport } from "../google/http";
import type { CameraInfo } from "./sdm-types";
import { EventImages } from "./event-images";
import { DeviceDirectory, EventReader, sharedMemory, type EventReaderOptions } from "./event-reader";
import type { EventType } from "./events";
import { PubSubClient } from "./pubsub-client";
import { SdmClient, validateProjectId } from "./sdm-client";
import { TokenKeeper, validateCredentials, type OAuthCredentials } from "../google/token-keeper";

/** How errors name the node that holds these credentials. */
const NODE_TYPE = "nest-account";

/** The nest-account node's credentials (design section 3). */
export type NestCredentials = OAuthCredentials;

export interface OpenNestAccountOptions extends Partial<NestCredentials> {
  projectId: string;
  /** Default: from the environment (design section 4). */
  endpoints?: Pick<Endpoints, "oauthTokenUrl" | "sdmApiUrl"> & Partial<Pick<Endpoints, "pubsubApiUrl">>;
  clock?: Clock;
  http?: HttpTransport;
  random?: () => number;
  budget?: Omit<CommandBudgetOptions, "clock" | "window">;
  /**
   * Count commands in the project's one window for the life of the process (commandWindowFor), so
   * that a redeployed account does not start with an empty budget while Google's window goes on.
   */
  shareProjectWindow?: boolean;
}

/**
 * Events: 'warning' (text, already redacted), 'token' ({ expiresAt }), 'refresh-token' (the new
 * refresh token, when Google rotates it: store it in place of the configured one).
 */
export class NestAccount extends EventEmitter {
  readonly projectId: string;
  readonly tokens: TokenKeeper;
  readonly budget: CommandBudget;
  readonly sdm: SdmClient;
  /** The Google project as the process knows it (SDM endpoint and project id): where sessions may be handed over. */
  readonly sessionScope: string;
  /** A one-way digest of the credentials: a live session is only handed to an account with the same ones. */
  readonly credentialsFingerprint: string;
  private readonly clock: Clock;
  private readonly http?: HttpTransport;
  private readonly random?: () => number;
  private readonly pubsubApiUrl: string;
  private directory?: DeviceDirectory;
  private cameraList?: { at: number; cameras: Promise<CameraInfo[]> };
  private users = 0;
  private onIdle?: () => void;
  /** Parked sessions that still send their commands through this account (linger). */
  private lingering = 0;
  private closeWhenUnheld = false;
  private closed = false;

  constructor(options: OpenNestAccountOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    // Both checks run before anything is built, so bad input never reaches Google.
    this.projectId = validateProjectId(options.projectId);
    const credentials = validateCredentials(options, NODE_TYPE);
    const endpoints = options.endpoints ?? endpointsFromEnv();
    this.http = options.http;
    this.random = options.random;
    this.pubsubApiUrl = endpoints.pubsubApiUrl ?? endpointsFromEnv().pubsubApiUrl;
    this.sessionScope = `${endpoints.sdmApiUrl}|${this.projectId}`;
    this.credentialsFingerprint = createHash("sha256")
      .update(JSON.stringify([credentials.clientId, credentials.clientSecret, credentials.refreshToken]))
      .digest("hex")
      .slice(0, 32);
    this.tokens = new TokenKeeper({
      credentials,
      account: NODE_TYPE,
      tokenUrl: endpoints.oauthTokenUrl,
      clock: options.clock,
      http: options.http,
      random: options.random,
    });
    this.budget = new CommandBudget({
      ...options.budget,
      clock: options.clock,
      window: options.shareProjectWindow ? commandWindowFor(this.sessionScope) : undefined,
    });
    this.sdm = new SdmClient({
      projectId: this.projectId,
      tokens: this.tokens,
      baseUrl: endpoints.sdmApiUrl,
      clock: options.clock,
      budget: this.budget,
      http: options.http,
      random: options.random,
    });
    this.tokens.on("warning", (text: string) => this.emit("warning", text));
    this.tokens.on("token", (event: unknown) => this.emit("token", event));
    this.tokens.on("refresh-token", (token: string) => this.emit("refresh-token", token));
  }

  /**
   * The cameras for the editor's picker. Google allows about 5 device lists a minute, so a list is
   * reused for `maxAgeMs`; a picker never waits longer than `timeoutMs` for a slow or rate-limited one.
   */
  cameras(maxAgeMs = 30_000, timeoutMs = 20_000): Promise<CameraInfo[]> {
    const now = this.clock.now();
    if (!this.cameraList || now - this.cameraList.at > maxAgeMs) {
      const cameras = this.sdm.cameras({ signal: AbortSignal.timeout(timeoutMs) });
      const entry = { at: now, cameras };
      this.cameraList = entry;
      // A failed list is not kept: the next call asks again.
      cameras.catch(() => {
        if (this.cameraList === entry) this.cameraList = undefined;
      });
    }
    return this.cameraList.cameras;
  }

  /**
   * A camera event reader on `subscription` (a nest-events node's), with this account's token, its
   * camera names and, with `imageWidth`, event images through its command budget (one try each: an
   * image lives 30 s). Throws InvalidSubscriptionError, without any request, for a malformed name.
   */
  eventReader(options: {
    subscription: string;
    deviceId?: string;
    types?: Iterable<EventType>;
    /** Width of event images; 0: none fetched. Default 640. */
    imageWidth?: number;
    /** What was sent is remembered under this key (the node's id) across redeploys. */
    memoryKey?: string;
    reader?: Partial<Pick<EventReaderOptions, "maxAgeMs" | "backlogMs" | "idleMs" | "maxMessages">>;
  }): EventReader {
    const source = new PubSubClient({
      subscription: options.subscription,
      tokens: this.tokens,
      baseUrl: this.pubsubApiUrl,
      clock: this.clock,
      http: this.http,
    });
    this.directory ??= new DeviceDirectory(this.sdm, this.clock);
    const width = options.imageWidth ?? 640;
    return new EventReader({
      ...options.reader,
      source,
      clock: this.clock,
      random: this.random,
      directory: this.directory,
      images:
        width > 0
          ? new EventImages({ sdm: this.sdm.singleTry, clock: this.clock, http: this.http, width })
          : undefined,
      deviceId: options.deviceId,
      types: options.types,
      memory: options.memoryKey ? sharedMemory(`${options.memoryKey}|${source.subscription}`) : undefined,
    });
  }

  /**
   * Marks a user (a nest-stream node) that may still send commands, such as its StopRtspStream on
   * close; returns the release function. `shutdown` waits for every user to release.
   */
  retain(): () => void {
    this.users++;
    return once(() => {
      if (--this.users === 0) this.onIdle?.();
    });
  }

  /**
   * A hold that does not delay `shutdown()` but keeps the account open after it, until released: a
   * session parked for a redeploy still extends or stops through it (bounded by the handover's grace).
   */
  linger(): () => void {
    this.lingering++;
    return once(() => {
      if (--this.lingering === 0 && this.closeWhenUnheld) this.close();
    });
  }

  /**
   * Closes once no user holds the account (or after `maxWaitMs`); while a lingering hold remains,
   * it resolves then but closes only when the last one is released. Node-RED closes config nodes in
   * parallel with the nodes that use them, whose last commands must still get through.
   */
  async shutdown(maxWaitMs = 10_000): Promise<void> {
    if (this.users > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimeout(resolve, maxWaitMs);
        this.onIdle = () => {
          this.clock.clearTimeout(timer);
          resolve();
        };
      });
    }
    if (this.lingering > 0) this.closeWhenUnheld = true;
    else this.close();
  }

  /** Cancels timers and rejects queued commands. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tokens.close();
    this.budget.close();
  }
}

/** Opens an account; throws CredentialsError, without any request, when something is missing or malformed. */
export function openNestAccount(options: OpenNestAccountOptions): NestAccount {
  return new NestAccount(options);
}

/** `fn` on the first call only: a release that is called twice counts once. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
