/**
 * Device Access authorization: Google's authorization-code flow configured with the partner
 * connections page of one Device Access project (where the user picks the cameras to share) and
 * the SDM scope, with the project ID as a field of its own.
 */
import {
  flowUrl,
  validateClientInput,
  type OAuthFlow,
  type PendingAuthorization,
} from "../google/authorization";

export const SDM_SCOPE = "https://www.googleapis.com/auth/sdm.service";
/** Asked as well when the account also reads camera events (nest-events). */
export const PUBSUB_SCOPE = "https://www.googleapis.com/auth/pubsub";

/** Which OAuth client an invalid_client names, in Device Access's words. */
export const DEVICE_ACCESS_CLIENT_HINT =
  "the Web application client whose ID is in the Device Access project";

/** A Device Access authorization under way: the OAuth client's values and the project. */
export interface DeviceAccessAuthorization extends PendingAuthorization {
  projectId: string;
  /** Also ask for the Pub/Sub scope (camera events). */
  pubsub?: boolean;
}

/** `{partner auth url}/{projectId}/auth` with the SDM scope, and the Pub/Sub scope with `pubsub`. */
export function deviceAccessFlow(partnerAuthUrl: string, projectId: string, pubsub = false): OAuthFlow {
  const base = partnerAuthUrl.replace(/\/+$/, "");
  return {
    authorizeUrl: `${base}/${encodeURIComponent(projectId)}/auth`,
    scopes: pubsub ? [SDM_SCOPE, PUBSUB_SCOPE] : [SDM_SCOPE],
  };
}

export interface AuthorizationUrlOptions {
  /** `https://nestservices.google.com/partnerconnections` or its override. */
  partnerAuthUrl: string;
  projectId: string;
  clientId: string;
  redirectUri: string;
  state: string;
  /** Also ask for the Pub/Sub scope. */
  pubsub?: boolean;
}

/** The address the user opens to share cameras with the project (design section 5). */
export function authorizationUrl(o: AuthorizationUrlOptions): string {
  return flowUrl(deviceAccessFlow(o.partnerAuthUrl, o.projectId, o.pubsub === true), o);
}

/**
 * Checks what the editor sent to start an authorization: project ID, client ID and secret present
 * and free of inner spaces, a usable redirect URI. Never echoes a value.
 */
export function validateAuthorizationInput(input: {
  projectId?: unknown;
  clientId?: unknown;
  clientSecret?: unknown;
  redirectUri?: unknown;
  nodeId?: unknown;
  /** The dialog's "Camera events (Pub/Sub)" option: true, or "true" from a form. */
  pubsub?: unknown;
}): DeviceAccessAuthorization {
  const { pending, extra } = validateClientInput(
    input,
    [{ label: "Project ID", value: input.projectId }],
    "the project ID comes from the Device Access Console, the client ID and secret from Google Cloud " +
      "Console > APIs & Services > Credentials.",
  );
  const pubsub = input.pubsub === true || input.pubsub === "true";
  return { projectId: extra[0], ...pending, ...(pubsub ? { pubsub } : {}) };
}
