/**
 * An in-memory model of Google's OAuth token endpoint and the SDM API, as an HttpTransport: time
 * comes from the FakeClock, tokens really expire, executeCommand is rate limited like the sandbox,
 * and every request is recorded so tests can count calls and check what was sent when.
 */
import { sleep } from "../../src/clock";
import { TransientGoogleError } from "../../src/google/errors";
import type { HttpRequest, HttpResponse, HttpTransport } from "../../src/google/http";
import type { SdmDevice } from "../../src/nest/sdm-types";
import type { FakeClock } from "./fake-clock";

export type Route = "token" | "devices" | "device" | "execute";

export interface RecordedRequest {
  /** Arrival time at the fake Google (after `latencyMs`). */
  at: number;
  route: Route;
  method: string;
  url: string;
  form?: Record<string, string>;
  data?: unknown;
  token?: string;
  deviceId?: string;
  command?: string;
  status: number;
}

/** A scripted answer: a response, or a failure to answer at all. */
export type Scripted = HttpResponse | "network" | "timeout";

export interface FakeGoogleOptions {
  clock: FakeClock;
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  projectId?: string;
  /** `expires_in` of issued access tokens. Default 3599. */
  tokenLifetimeS?: number;
  /** Each request arrives this long after it is sent (on the fake clock). Default 0. */
  latencyMs?: number;
  /** executeCommand per window per project. Default 10. */
  executeLimit?: number;
  windowMs?: number;
  devices?: SdmDevice[];
}

export const FAKE = {
  clientId: "123-abc.apps.googleusercontent.com",
  clientSecret: "GOCSPX-fake-client-secret-1234",
  refreshToken: "1//0fake-refresh-token-abcdefghijklmnop",
  projectId: "f5b6c2a1-0000-4000-8000-1234567890ab",
};

export function camera(id: string, room = "Garden", customName = ""): SdmDevice {
  return {
    name: `enterprises/${FAKE.projectId}/devices/${id}`,
    type: "sdm.devices.types.CAMERA",
    traits: {
      "sdm.devices.traits.Info": { customName },
      "sdm.devices.traits.CameraLiveStream": {
        maxVideoResolution: { width: 1920, height: 1080 },
        videoCodecs: ["H264"],
        audioCodecs: ["AAC"],
        supportedProtocols: ["RTSP"],
      },
    },
    parentRelations: [{ parent: `enterprises/${FAKE.projectId}/structures/s/rooms/r`, displayName: room }],
  };
}

export function thermostat(id: string): SdmDevice {
  return {
    name: `enterprises/${FAKE.projectId}/devices/${id}`,
    type: "sdm.devices.types.THERMOSTAT",
    traits: { "sdm.devices.traits.Info": { customName: "Hall" } },
  };
}

export class FakeGoogleTransport implements HttpTransport {
  readonly requests: RecordedRequest[] = [];
  /** Anything a well-behaved client must never do (e.g. send an expired token). */
  readonly violations: string[] = [];
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  projectId: string;
  tokenLifetimeS: number;
  latencyMs: number;
  devices: SdmDevice[];
  /** When set, the next successful refresh also returns this as a new refresh token. */
  rotateRefreshTokenTo?: string;
  private readonly clock: FakeClock;
  private readonly executeLimit: number;
  private readonly windowMs: number;
  private readonly accessTokens = new Map<string, number>();
  private readonly scripts = new Map<Route, Scripted[]>();
  /** Live sessions: extension token -> device name (a device may have several sessions). */
  private readonly extensionTokens = new Map<string, string>();
  private executeArrivals: number[] = [];
  private seq = 0;

  constructor(options: FakeGoogleOptions) {
    this.clock = options.clock;
    this.clientId = options.clientId ?? FAKE.clientId;
    this.clientSecret = options.clientSecret ?? FAKE.clientSecret;
    this.refreshToken = options.refreshToken ?? FAKE.refreshToken;
    this.projectId = options.projectId ?? FAKE.projectId;
    this.tokenLifetimeS = options.tokenLifetimeS ?? 3599;
    this.latencyMs = options.latencyMs ?? 0;
    this.executeLimit = options.executeLimit ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.devices = options.devices ?? [camera("cam-1")];
  }

  /** Queues answers for the next requests on `route`, before the model is consulted. */
  script(route: Route, ...answers: Scripted[]): void {
    this.scripts.set(route, [...(this.scripts.get(route) ?? []), ...answers]);
  }

  count(route: Route): number {
    return this.requests.filter((r) => r.route === route).length;
  }

  /** Server-side revocation of every access token issued so far (they then answer 401). */
  revokeAccessTokens(): void {
    this.accessTokens.clear();
  }

  /** The largest number of `route` requests that arrived within any window of `windowMs`. */
  maxInWindow(route: Route, windowMs = 60_000): number {
    const times = this.requests.filter((r) => r.route === route).map((r) => r.at);
    let max = 0;
    for (let i = 0, j = 0; j < times.length; j++) {
      while (times[j] - times[i] >= windowMs) i++;
      max = Math.max(max, j - i + 1);
    }
    return max;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    if (this.latencyMs > 0) await sleep(this.clock, this.latencyMs);
    const route = this.route(req);
    const record: RecordedRequest = {
      at: this.clock.now(),
      route,
      method: req.method,
      url: req.url,
      form: req.form,
      data: req.data,
      status: 0,
    };
    this.requests.push(record);

    const scripted = this.scripts.get(route)?.shift();
    if (scripted === "network") {
      throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    }
    if (scripted === "timeout") {
      await sleep(this.clock, req.timeoutMs);
      throw new TransientGoogleError("No answer (timeout).", 0, "TIMEOUT");
    }
    if (route === "execute") this.executeArrivals.push(record.at);
    const res = scripted ?? (route === "token" ? this.tokenEndpoint(req) : this.sdm(route, req, record));
    record.status = res.status;
    return res;
  }

  private route(req: HttpRequest): Route {
    if (req.form) return "token";
    if (req.url.endsWith(":executeCommand")) return "execute";
    if (/\/devices(\?|$)/.test(req.url)) return "devices";
    return "device";
  }

  private tokenEndpoint(req: HttpRequest): HttpResponse {
    const form = req.form ?? {};
    if (form.grant_type !== "refresh_token")
      return oauthError(400, "unsupported_grant_type", "Bad grant type.");
    if (form.client_id !== this.clientId || form.client_secret !== this.clientSecret) {
      return oauthError(401, "invalid_client", "The OAuth client was not found.");
    }
    if (form.refresh_token !== this.refreshToken) {
      return oauthError(400, "invalid_grant", "Token has been expired or revoked.");
    }
    const token = `ya29.fake-${++this.seq}-${Math.random().toString(36).slice(2, 10)}`;
    this.accessTokens.set(token, this.clock.now() + this.tokenLifetimeS * 1000);
    const body: Record<string, unknown> = {
      access_token: token,
      expires_in: this.tokenLifetimeS,
      scope: "https://www.googleapis.com/auth/sdm.service",
      token_type: "Bearer",
    };
    if (this.rotateRefreshTokenTo) {
      body.refresh_token = this.refreshToken = this.rotateRefreshTokenTo;
      this.rotateRefreshTokenTo = undefined;
    }
    return json(200, body);
  }

  private sdm(route: Route, req: HttpRequest, record: RecordedRequest): HttpResponse {
    const auth = req.headers?.Authorization ?? "";
    const token = auth.replace(/^Bearer /, "");
    record.token = token;
    const expiresAt = this.accessTokens.get(token);
    if (expiresAt === undefined)
      return sdmError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    if (this.clock.now() >= expiresAt) {
      this.violations.push(
        `${route} at ${new Date(this.clock.now()).toISOString()} with a token expired ${this.clock.now() - expiresAt} ms ago`,
      );
      return sdmError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    }
    const prefix = `/enterprises/${this.projectId}/devices`;
    const path = new URL(req.url).pathname.replace(/^\/v1/, "");
    if (!path.startsWith(prefix)) return sdmError(403, "PERMISSION_DENIED", "Permission denied.");

    if (route === "devices") return json(200, { devices: this.devices });
    const name = path.slice(1).replace(/:executeCommand$/, "");
    const device = this.devices.find((d) => d.name === name);
    if (!device) return sdmError(404, "NOT_FOUND", "Device not found.");
    if (route === "device") return json(200, device);

    const body = req.data as { command?: string; params?: Record<string, string> };
    record.deviceId = name.split("/").pop();
    record.command = body.command?.split(".").pop();
    const windowStart = this.clock.now() - this.windowMs;
    this.executeArrivals = this.executeArrivals.filter((t) => t > windowStart);
    if (this.executeArrivals.length > this.executeLimit) {
      return sdmError(
        429,
        "RESOURCE_EXHAUSTED",
        "Rate limited for the ExecuteDeviceCommand API for the user.",
      );
    }
    return this.command(name, record.command ?? "", body.params ?? {});
  }

  private command(name: string, command: string, params: Record<string, string>): HttpResponse {
    const expiresAt = new Date(this.clock.now() + 5 * 60_000).toISOString();
    const fresh = () => ({ streamExtensionToken: `ext-${++this.seq}`, streamToken: `stok-${++this.seq}` });
    switch (command) {
      case "GenerateRtspStream": {
        const t = fresh();
        this.extensionTokens.set(t.streamExtensionToken, name);
        return json(200, {
          results: {
            streamUrls: { rtspUrl: `rtsps://stream.example/sdm_live_stream/x?auth=${t.streamToken}` },
            ...t,
            expiresAt,
          },
        });
      }
      case "ExtendRtspStream": {
        if (this.extensionTokens.get(params.streamExtensionToken) !== name) {
          return sdmError(400, "INVALID_ARGUMENT", "Invalid stream extension token.");
        }
        // Each extend rotates the extension token: only the newest one works next time.
        this.extensionTokens.delete(params.streamExtensionToken);
        const t = fresh();
        this.extensionTokens.set(t.streamExtensionToken, name);
        return json(200, { results: { ...t, expiresAt } });
      }
      case "StopRtspStream":
        this.extensionTokens.delete(params.streamExtensionToken);
        return json(200, {});
      default:
        return sdmError(400, "FAILED_PRECONDITION", "Command not supported on this device.");
    }
  }
}

export function json(status: number, data: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers: { "content-type": "application/json", ...headers }, data };
}

export function sdmError(
  code: number,
  status: string,
  message: string,
  headers: Record<string, string> = {},
): HttpResponse {
  return json(code, { error: { code, message, status } }, headers);
}

export function oauthError(code: number, error: string, description: string): HttpResponse {
  return json(code, { error, error_description: description });
}
