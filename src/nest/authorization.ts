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

/** Which OAuth client an invalid_client names, in Device Access's words. */
export const DEVICE_ACCESS_CLIENT_HINT =
  "the Web application client whose ID is in the Device Access project";

/** A Device Access authorization under way: the OAuth client's values and the project. */
export interface DeviceAccessAuthorization extends PendingAuthorization {
  projectId: string;
}

/** `{partner auth url}/{projectId}/auth` with the SDM scope. */
export function deviceAccessFlow(partnerAuthUrl: string, projectId: string): OAuthFlow {
  const base = partnerAuthUrl.replace(/\/+$/, "");
  return { authorizeUrl: `${base}/${encodeURIComponent(projectId)}/auth`, scopes: [SDM_SCOPE] };
}

export interface AuthorizationUrlOptions {
  /** `https://nestservices.google.com/partnerconnections` or its override. */
  partnerAuthUrl: string;
  projectId: string;
  clientId: string;
  redirectUri: string;
  state: string;
}

/** The address the user opens to share cameras with the project (design section 5). */
export function authorizationUrl(o: AuthorizationUrlOptions): string {
  return flowUrl(deviceAccessFlow(o.partnerAuthUrl, o.projectId), o);
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
}): DeviceAccessAuthorization {
  const { pending, extra } = validateClientInput(
    input,
    [{ label: "Project ID", value: input.projectId }],
    "the project ID comes from the Device Access Console, the client ID and secret from Google Cloud " +
      "Console > APIs & Services > Credentials.",
  );
  return { projectId: extra[0], ...pending };
}
