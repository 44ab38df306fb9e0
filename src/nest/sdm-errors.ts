/**
 * What the Smart Device Management API's errors mean for a Nest user: the advice on a 403 and how
 * to tell an offline camera, on top of the envelope every Google API shares.
 */
import { errorFromResponse, type ApiErrorRules } from "../google/error-envelope";
import { FailedPreconditionError, GoogleError, PermissionDeniedError } from "../google/errors";
import type { HttpResponse } from "../google/http";

/** A device id or name that cannot be used with this account: caught before any request. */
export class InvalidDeviceIdError extends GoogleError {
  constructor(message: string) {
    super(message, 0, "INVALID_DEVICE_ID", false);
  }
}

/** SDM's own reading of an answer: a 403 says which project and which cameras to check. */
export const sdmErrorRules: ApiErrorRules = (info) => {
  if (info.httpStatus === 403 || info.status === "PERMISSION_DENIED") {
    return new PermissionDeniedError(
      `${info.message}. Check the Device Access project ID, and that this camera was shared with the project ` +
        "when the account was authorized (authorize again to change the selection).",
    );
  }
  return undefined;
};

/** The typed error for a non-2xx SDM answer. */
export function sdmError(res: HttpResponse, what: string, now: number): GoogleError {
  return errorFromResponse(res, what, now, sdmErrorRules);
}

/** Whether a FAILED_PRECONDITION is Google's wording for an offline camera. */
export function isCameraOffline(err: unknown): boolean {
  return (
    err instanceof FailedPreconditionError &&
    /offline|unavailable|not (?:online|reachable|available)/i.test(err.message)
  );
}
