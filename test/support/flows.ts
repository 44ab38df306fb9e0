/** The flows node and end-to-end tests deploy against the fake Google, and their credentials. */
import { FAKE_CREDENTIALS, FAKE_DEFAULTS } from "../fixtures/fake-google";

/** The credentials of the flows' nest-account "acc" (the default fake accepts them), as helper.load takes them. */
export const ACCOUNT_CREDENTIALS = { acc: FAKE_CREDENTIALS };

/** A nest-account config node "acc" for the fake's Device Access project; `extra` adds properties. */
export function accountNode(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: "acc", type: "nest-account", projectId: FAKE_DEFAULTS.projectId, ...extra };
}

/**
 * A camera into a restream: nest-account "acc"; nest-stream "cam" (started on deploy; `camera` adds
 * or overrides properties, e.g. its deviceId) wired to nest-restream "rs" (custom target `url`, audio
 * auto) and to helper "urls"; "rs" wired to helper "states".
 */
export function cameraToRestreamFlow(
  url: string,
  camera: Record<string, unknown>,
): Record<string, unknown>[] {
  return [
    accountNode(),
    {
      id: "cam",
      type: "nest-stream",
      account: "acc",
      startOnDeploy: true,
      wires: [["rs", "urls"]],
      ...camera,
    },
    { id: "rs", type: "nest-restream", target: "custom", url, audio: "auto", wires: [["states"]] },
    { id: "urls", type: "helper" },
    { id: "states", type: "helper" },
  ];
}
