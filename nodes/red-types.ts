/**
 * The slice of Node-RED's runtime API these adapters use. Declared here rather than pulling
 * @types/node-red, whose declarations lag the runtime and drag in express typings.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export type NodeMessage = Record<string, unknown> & { payload?: unknown; topic?: unknown; _msgid?: string };
export type Send = (msg: NodeMessage | (NodeMessage | null)[] | null) => void;
export type Done = (err?: Error) => void;

export interface NodeStatus {
  fill?: "red" | "green" | "yellow" | "blue" | "grey";
  shape?: "ring" | "dot";
  text?: string;
}

export interface Node<Creds = Record<string, string | undefined>> {
  id: string;
  type: string;
  name?: string;
  z?: string;
  credentials: Creds;
  on(event: "input", fn: (msg: NodeMessage, send: Send, done: Done) => void | Promise<void>): void;
  on(event: "close", fn: (removed: boolean, done: () => void) => void): void;
  send: Send;
  status(status: NodeStatus | Record<string, never>): void;
  log(msg: string): void;
  warn(msg: string): void;
  error(msg: string | Error, msg2?: NodeMessage): void;
  debug(msg: string): void;
}

export interface AdminRequest extends IncomingMessage {
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  body: Record<string, unknown>;
  protocol: string;
  get(name: string): string | undefined;
  /** The admin user (Node-RED's adminAuth); absent without it. */
  user?: { username?: unknown };
}
export interface AdminResponse extends ServerResponse {
  json(body: unknown): void;
  status(code: number): AdminResponse;
  send(body: string): void;
  type(t: string): AdminResponse;
}
type Handler = (req: AdminRequest, res: AdminResponse, next?: () => void) => void;

export interface RED {
  nodes: {
    createNode(node: object, config: object): void;
    registerType(
      type: string,
      ctor: unknown,
      opts?: { credentials?: Record<string, { type: "text" | "password" }> },
    ): void;
    getNode(id: string): unknown;
    getCredentials(id: string): Record<string, string | undefined> | undefined;
  };
  httpAdmin: {
    get(path: string, ...handlers: Handler[]): void;
    post(path: string, ...handlers: Handler[]): void;
  };
  auth: { needsPermission(permission: string): Handler };
  _(key: string, subs?: Record<string, unknown>): string;
  log: { info(m: string): void; warn(m: string): void; error(m: string): void; debug(m: string): void };
  settings: Record<string, unknown>;
  /** The runtime's events ("flows:started", "flows:stopping", …). */
  events?: {
    on(event: string, listener: (payload: unknown) => void): unknown;
    once?(event: string, listener: (payload: unknown) => void): unknown;
  };
}
