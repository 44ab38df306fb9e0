/**
 * nest-events' status line (listening, the last event, retrying with why, error, stopped) and its
 * input commands. The words come from the caller's message catalog (`text`, the node's `RED._`);
 * this decides which, with what.
 */
import { truncate } from "../format";
import { redact } from "../redact";
import type { ReaderStatus } from "./event-reader";

export type EventStatusKey =
  "starting" | "listening" | "last" | "retrying" | "error" | "stopped" | "noAccount";
export type EventStatusText = (key: EventStatusKey, vars?: Record<string, string>) => string;

export interface EventStatusView {
  fill: "green" | "yellow" | "red" | "grey";
  shape: "dot" | "ring";
  text: string;
}

/** `HH:MM:SS` of an ISO time, in the runtime's time zone. */
function clockTime(iso: string): string {
  const d = new Date(iso);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function eventStatusView(s: ReaderStatus, text: EventStatusText): EventStatusView {
  const last = s.lastEvent
    ? text("last", {
        type: s.lastEvent.type,
        camera: s.lastEvent.camera,
        time: clockTime(s.lastEvent.timestamp),
      })
    : undefined;
  switch (s.state) {
    case "starting":
      return { fill: "yellow", shape: "ring", text: text("starting") };
    case "listening":
      return { fill: "green", shape: last ? "dot" : "ring", text: truncate(last ?? text("listening"), 60) };
    case "retrying":
      return {
        fill: "yellow",
        shape: "ring",
        text: truncate(text("retrying", { reason: redact(s.error ?? "") }), 60),
      };
    case "error":
      return {
        fill: "red",
        shape: "ring",
        text: truncate(text("error", { reason: redact(s.error ?? "") }), 60),
      };
    default:
      return { fill: "grey", shape: "ring", text: text("stopped") };
  }
}

/** What an input asks: "start" / "stop", also true / false and "on" / "off"; undefined for anything else. */
export function parseEventsCommand(payload: unknown): "start" | "stop" | undefined {
  if (payload === true) return "start";
  if (payload === false) return "stop";
  if (typeof payload !== "string") return undefined;
  const p = payload.trim().toLowerCase();
  if (p === "start" || p === "on") return "start";
  if (p === "stop" || p === "off") return "stop";
  return undefined;
}
