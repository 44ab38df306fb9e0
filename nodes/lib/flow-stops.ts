/**
 * Whether the flows that are stopping will be replaced (a deploy) or not (Node-RED shutting down,
 * "stop flows"), from the runtime's own events: a deploy stops the old nodes after it has taken the
 * new configuration, so its "flows:stopping" carries another configuration than the "flows:started"
 * before it; a shutdown or a stop carries the same one.
 */
import type { RED } from "../red-types";

export interface FlowStops {
  /** True while flows stop for a deploy that starts new ones (and before any stop). */
  replacing(): boolean;
  /** Runs whenever flows stop for good. */
  onFinalStop(listener: () => void): void;
}

const watchers = new WeakMap<object, FlowStops>();

function configOf(payload: unknown): unknown {
  return payload && typeof payload === "object" ? (payload as { config?: unknown }).config : undefined;
}

/** The one watcher of this runtime (the events object), made on first use. */
export function flowStops(RED: RED): FlowStops {
  const events = RED.events;
  if (!events) return { replacing: () => false, onFinalStop: () => undefined };
  let watcher = watchers.get(events);
  if (watcher) return watcher;
  let started: unknown;
  let replacing = true;
  const listeners: (() => void)[] = [];
  events.on("flows:started", (payload) => {
    started = configOf(payload);
    replacing = true;
  });
  events.on("flows:stopping", (payload) => {
    const config = configOf(payload);
    replacing = config !== undefined && config !== started;
    if (!replacing) for (const l of listeners) l();
  });
  watcher = {
    replacing: () => replacing,
    onFinalStop: (listener) => listeners.push(listener),
  };
  watchers.set(events, watcher);
  return watcher;
}
