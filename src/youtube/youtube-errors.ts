/**
 * What the YouTube Data API's error reasons (`error.errors[].reason`) mean for the user: a spent
 * quota and when it resets, a channel that cannot stream live yet, and the broadcast transitions
 * that are answers rather than failures.
 */
import { errorFromResponse, type ApiErrorRules } from "../google/error-envelope";
import { GoogleError, NotFoundError, PermissionDeniedError, RateLimitedError } from "../google/errors";
import type { HttpResponse } from "../google/http";
import { nextPacificMidnight, QuotaExhaustedError } from "./quota-ledger";

/** A transition YouTube refused for a reason the broadcaster acts on (wait, or already there). */
export class TransitionError extends GoogleError {
  constructor(
    message: string,
    readonly reason:
      "errorStreamInactive" | "redundantTransition" | "invalidTransition" | "liveBroadcastDeletionNotAllowed",
  ) {
    super(message, 403, reason, false);
  }
}

/** The broadcast or the stream is gone (deleted in YouTube Studio, say): 404 `live…NotFound`. */
export class YouTubeNotFoundError extends NotFoundError {
  constructor(
    message: string,
    readonly kind: "broadcast" | "stream",
  ) {
    super(message);
  }
}

export function youtubeErrorRules(now: number): ApiErrorRules {
  return (info) => {
    switch (info.reason) {
      case "quotaExceeded":
      case "dailyLimitExceeded": {
        const resetsAt = nextPacificMidnight(now);
        return new QuotaExhaustedError(
          `${info.message}. YouTube's daily quota for this Google Cloud project is spent; it resets at midnight ` +
            `Pacific time (${new Date(resetsAt).toISOString()}). Lower the youtube-live polling (pollSeconds) or ` +
            "ask Google for more quota.",
          resetsAt,
          true,
        );
      }
      case "rateLimitExceeded":
      case "userRateLimitExceeded":
        return new RateLimitedError(info.message, info.retryAfterMs);
      case "liveStreamingNotEnabled":
        return new PermissionDeniedError(
          `${info.message}. Live streaming is not enabled on this YouTube channel: enable it in YouTube Studio ` +
            "(Create > Go live); the first time, YouTube takes up to 24 hours to allow it.",
        );
      case "insufficientLivePermissions":
      case "forbidden":
      case "insufficientPermissions":
        return new PermissionDeniedError(
          `${info.message}. The Google account authorized in the youtube-account may not do this on the channel: ` +
            "authorize again with the channel's owner (or a manager of a brand channel), and allow YouTube access.",
        );
      case "errorStreamInactive":
      case "redundantTransition":
      case "invalidTransition":
      case "liveBroadcastDeletionNotAllowed":
        return new TransitionError(info.message, info.reason);
      case "liveBroadcastNotFound":
        return new YouTubeNotFoundError(info.message, "broadcast");
      case "liveStreamNotFound":
        return new YouTubeNotFoundError(info.message, "stream");
      default:
        return undefined;
    }
  };
}

/** The typed error for a non-2xx YouTube answer. */
export function youtubeError(res: HttpResponse, what: string, now: number): GoogleError {
  return errorFromResponse(res, what, now, youtubeErrorRules(now));
}
