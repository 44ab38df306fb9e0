/**
 * The admin routes behind the camera picker: the cameras of a deployed account node, and the cameras
 * for credentials typed in its dialog but not deployed yet. What an account is and how it lists its
 * cameras comes in the options; the 404 text from the type's catalog (`<type>.errors.notDeployed`).
 */
import type { AdminRequest, AdminResponse, RED } from "../red-types";
import { sendError } from "./admin";

/** What the picker needs of an account. */
export interface CameraLister {
  cameras(): Promise<unknown[]>;
  close(): void;
}

export interface CameraRoutesOptions<N> {
  /** The account node type: only such nodes are listed, and the prefix of its catalog keys. */
  type: string;
  /** Guards the listing of a deployed account (it sends no credentials), e.g. "nest-account.read". */
  readPermission: string;
  /** Guards the listing with typed credentials, e.g. "nest-account.write". */
  writePermission: string;
  /** `GET <deployedPath>` (with an `:id` parameter) lists a deployed account. */
  deployedPath: string;
  /** `POST <typedPath>` lists with the credentials in the body. */
  typedPath: string;
  /** The shared account of a deployed node (kept open); throws when its credentials are incomplete. */
  deployed(node: N): CameraLister;
  /** An account for the typed credentials (closed after the list); throws when they are incomplete. */
  typed(body: Record<string, unknown>): CameraLister;
}

export function registerCameraRoutes<N extends { type: string }>(
  RED: RED,
  options: CameraRoutesOptions<N>,
): void {
  async function list(account: CameraLister, res: AdminResponse, close: boolean) {
    try {
      res.json({ cameras: await account.cameras() });
    } catch (err) {
      sendError(res, err);
    } finally {
      if (close) account.close();
    }
  }

  /** Opens the account, or answers with the error; then lists its cameras. */
  function answer(res: AdminResponse, open: () => CameraLister, close: boolean) {
    let account: CameraLister;
    try {
      account = open();
    } catch (err) {
      sendError(res, err);
      return;
    }
    void list(account, res, close);
  }

  // The camera picker of a deployed account.
  RED.httpAdmin.get(
    options.deployedPath,
    RED.auth.needsPermission(options.readPermission),
    (req: AdminRequest, res: AdminResponse) => {
      const node = RED.nodes.getNode(req.params.id) as N | null;
      if (!node || node.type !== options.type) {
        res.status(404).json({ error: RED._(`${options.type}.errors.notDeployed`), code: "NOT_DEPLOYED" });
        return;
      }
      answer(res, () => options.deployed(node), false);
    },
  );

  // The camera picker with credentials typed in the dialog but not deployed yet.
  RED.httpAdmin.post(
    options.typedPath,
    RED.auth.needsPermission(options.writePermission),
    (req: AdminRequest, res: AdminResponse) => answer(res, () => options.typed(req.body ?? {}), true),
  );
}
