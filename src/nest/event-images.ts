/**
 * Event images (design section 5): for cameras with the CameraEventImage trait, `GenerateImage`
 * through the SDM client (so through the account's command budget), then the JPEG with its Basic
 * token, all within the image's 30-second life. The token is a secret: registered for redaction
 * while it is held, never passed on.
 */
import { systemClock, type Clock } from "../clock";
import { GoogleError } from "../google/errors";
import { AxiosTransport, isOk, sendRequest, type HttpTransport } from "../google/http";
import { secrets } from "../redact";
import type { CallOptions } from "./sdm-client";
import { sdmError } from "./sdm-errors";
import type { GenerateImageResult } from "./sdm-types";
import type { EventCandidate } from "./events";

/** How long Google keeps an event's image after the event. */
export const EVENT_IMAGE_LIFE_MS = 30_000;

/** What the images need of the SDM client: `SdmClient` (its `singleTry` view) fits. */
export interface GenerateImageRunner {
  execute(
    deviceIdOrName: string,
    command: "GenerateImage",
    params: { eventId: string },
    options?: CallOptions,
  ): Promise<GenerateImageResult>;
}

/** The event's image is no longer there (DEADLINE_EXCEEDED, or past its 30 s before we asked). */
export class EventImageExpiredError extends GoogleError {
  constructor(detail: string) {
    super(
      `The event image expired before it could be fetched (${detail}): Google keeps an event's image for 30 s ` +
        "after the event. The event is sent without it; if this happens often, the command budget is busy " +
        "(fewer streams on this account) or the network is slow.",
      0,
      "DEADLINE_EXCEEDED",
      false,
    );
  }
}

export interface EventImagesOptions {
  sdm: GenerateImageRunner;
  clock?: Clock;
  http?: HttpTransport;
  /** `?width=` of the image. Default 640. */
  width?: number;
}

export class EventImages {
  private readonly sdm: GenerateImageRunner;
  private readonly clock: Clock;
  private readonly http: HttpTransport;
  readonly width: number;

  constructor(options: EventImagesOptions) {
    this.sdm = options.sdm;
    this.clock = options.clock ?? systemClock;
    this.http = options.http ?? new AxiosTransport();
    this.width = Math.max(1, Math.round(options.width ?? 640));
  }

  /** The event's JPEG and where it was; EventImageExpiredError once its life is over. */
  async fetch(event: EventCandidate, signal?: AbortSignal): Promise<{ url: string; image: Buffer }> {
    const left = event.at + EVENT_IMAGE_LIFE_MS - this.clock.now();
    if (left <= 0) throw new EventImageExpiredError(`the event was ${Math.round(-left / 1000) + 30} s old`);
    // The image dies with its life: nothing waits (budget queue, request) past it.
    const life = new AbortController();
    const timer = this.clock.setTimeout(
      () => life.abort(new EventImageExpiredError("no answer within its life")),
      left,
    );
    const onAbort = () => life.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    let token: string | undefined;
    try {
      const generated = await this.sdm.execute(
        event.deviceName,
        "GenerateImage",
        { eventId: event.eventId },
        { signal: life.signal },
      );
      token = generated.token;
      secrets.add(token);
      const url = generated.url;
      const res = await sendRequest(this.http, {
        method: "GET",
        url: `${url}${url.includes("?") ? "&" : "?"}width=${this.width}`,
        headers: { Authorization: `Basic ${token}` },
        responseType: "binary",
        timeoutMs: Math.max(1, event.at + EVENT_IMAGE_LIFE_MS - this.clock.now()),
        signal: life.signal,
      });
      if (!isOk(res)) throw sdmError(res, "Fetching the event image", this.clock.now());
      const image = Buffer.isBuffer(res.data) ? res.data : Buffer.from(String(res.data ?? ""), "binary");
      if (image.length === 0) {
        throw new GoogleError(
          "Fetching the event image: the answer was empty.",
          res.status,
          "BAD_RESPONSE",
          false,
        );
      }
      return { url, image };
    } catch (err) {
      if (life.signal.aborted && life.signal.reason instanceof EventImageExpiredError)
        throw life.signal.reason;
      if (err instanceof GoogleError && /DEADLINE_EXCEEDED/.test(`${err.code} ${err.message}`)) {
        throw new EventImageExpiredError("Google answered DEADLINE_EXCEEDED");
      }
      throw err;
    } finally {
      this.clock.clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (token) secrets.delete(token);
    }
  }
}
