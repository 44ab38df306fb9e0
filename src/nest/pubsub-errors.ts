/**
 * What Cloud Pub/Sub's errors mean for a nest-events user (design section 5, "Cloud Pub/Sub"): a
 * subscription that does not exist, a missing permission and a missing scope each say what to do,
 * on top of the envelope every Google API shares.
 */
import { errorFromResponse, type ApiErrorRules } from "../google/error-envelope";
import { GoogleError, NotFoundError, PermissionDeniedError } from "../google/errors";
import type { HttpResponse } from "../google/http";

export const PUBSUB_SCOPE = "https://www.googleapis.com/auth/pubsub";

/** Where Device Access used to publish, and when that stopped. */
export const TOPIC_ADVICE =
  "Device Access publishes events only to a topic in your own Google Cloud project: the Google-hosted " +
  "topics (projects/sdm-prod/topics/enterprise-…) stopped on 2026-11-30. Create a topic in your project, " +
  "grant roles/pubsub.publisher on it to group:sdm-publisher@googlegroups.com, set it as the Pub/Sub topic " +
  "of the Device Access project (console.nest.google.com/device-access), and create a pull subscription on it.";

/** A subscription name that cannot be one: caught before any request. */
export class InvalidSubscriptionError extends GoogleError {
  constructor(message: string) {
    super(message, 0, "INVALID_SUBSCRIPTION", false);
  }
}

/** The access token lacks the Pub/Sub scope: the account must be authorized again with it. */
export class ScopeMissingError extends GoogleError {
  constructor(message: string) {
    super(message, 403, "ACCESS_TOKEN_SCOPE_INSUFFICIENT", false);
  }
}

const SUBSCRIPTION = /^projects\/[^/\s]+\/subscriptions\/[^/\s]+$/;

/** Checks `projects/{project}/subscriptions/{name}` before any request; says what it should look like. */
export function validateSubscription(value: unknown): string {
  const text = typeof value === "string" ? value.trim() : "";
  if (SUBSCRIPTION.test(text)) return text;
  if (/^projects\/[^/\s]+\/topics\//i.test(text)) {
    throw new InvalidSubscriptionError(
      `"${text}" is a topic, not a subscription: create a pull subscription on it and enter its name ` +
        "(projects/{your-gcp-project}/subscriptions/{name}). " +
        (/^projects\/sdm-prod\//i.test(text) ? TOPIC_ADVICE : ""),
    );
  }
  throw new InvalidSubscriptionError(
    (text ? `"${text}" is not a Pub/Sub subscription name` : "No Pub/Sub subscription is set") +
      ": enter it as projects/{your-gcp-project}/subscriptions/{name} (Google Cloud Console > Pub/Sub > " +
      "Subscriptions, the subscription's name). " +
      TOPIC_ADVICE,
  );
}

/** Pub/Sub's own reading of an answer: the advice for 404 and the two kinds of 403. */
export function pubsubErrorRules(subscription: string): ApiErrorRules {
  return (info) => {
    const scope =
      info.reason === "ACCESS_TOKEN_SCOPE_INSUFFICIENT" ||
      /insufficient authentication scope/i.test(info.detail);
    if (info.httpStatus === 403 && scope) {
      return new ScopeMissingError(
        `${info.message}. The nest-account was authorized without the Pub/Sub scope: tick "Camera events ` +
          `(Pub/Sub)" in the nest-account's dialog, press Authorize again, then Done and Deploy.`,
      );
    }
    if (info.httpStatus === 403 || info.status === "PERMISSION_DENIED") {
      return new PermissionDeniedError(
        `${info.message}. The Google account authorized in the nest-account may not read ${subscription}: grant ` +
          "it roles/pubsub.subscriber on the subscription (Google Cloud Console > Pub/Sub > Subscriptions > " +
          "Permissions), in the Google Cloud project that holds the subscription.",
      );
    }
    if (info.httpStatus === 404 || info.status === "NOT_FOUND") {
      return new NotFoundError(
        `${info.message}. Subscription ${subscription} does not exist (a subscription unused for 31 days is ` +
          `deleted). ${TOPIC_ADVICE}`,
      );
    }
    return undefined;
  };
}

/** The typed error for a non-2xx Pub/Sub answer. */
export function pubsubError(res: HttpResponse, what: string, now: number, subscription: string): GoogleError {
  return errorFromResponse(res, what, now, pubsubErrorRules(subscription));
}
