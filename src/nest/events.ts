/**
 * Camera events as Device Access publishes them to Pub/Sub (design section 5): the event JSON of one
 * message read into one candidate per event it carries, and the names nest-events uses for them.
 */
import { deviceId } from "./sdm-types";

export const EVENT_TYPES = ["motion", "person", "sound", "chime", "clip"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The SDM event names behind each type. */
export const SDM_EVENTS: Record<string, EventType> = {
  "sdm.devices.events.CameraMotion.Motion": "motion",
  "sdm.devices.events.CameraPerson.Person": "person",
  "sdm.devices.events.CameraSound.Sound": "sound",
  "sdm.devices.events.DoorbellChime.Chime": "chime",
  "sdm.devices.events.CameraClipPreview.ClipPreview": "clip",
};

export type ThreadState = "STARTED" | "UPDATED" | "ENDED";

/** What nest-events sends as `msg.event` (design section 3). */
export interface NestEvent {
  type: EventType;
  /** Short device id. */
  deviceId: string;
  /** The camera's display name (the id when it is not known). */
  camera: string;
  /** ISO time of the event. */
  timestamp: string;
  /** The event's own id (what GenerateImage takes); the message's when the event has none. */
  eventId: string;
  eventSessionId: string;
  /** The thread state of the update that first told of this event; absent for events without threads. */
  threadState?: ThreadState;
  /** Where the event's image was (its token is never passed on). */
  imageUrl?: string;
  /** A battery camera's clip preview (a short mp4). */
  previewUrl?: string;
  /** Why the event image could not be fetched, when it was tried and failed. */
  imageError?: string;
}

/** One event of one message, before it is known to be new. */
export interface EventCandidate {
  type: EventType;
  /** `enterprises/{p}/devices/{id}` */
  deviceName: string;
  deviceId: string;
  /** ms since the epoch. */
  at: number;
  eventId: string;
  eventSessionId: string;
  threadState?: ThreadState;
  previewUrl?: string;
  messageId: string;
}

/**
 * The events one message's JSON carries (none for trait and relation updates, or for text that is
 * not an event); a ClipPreview's URL is passed to every event of the same update.
 */
export function readEventMessage(data: string, messageId: string): EventCandidate[] {
  let body: unknown;
  try {
    body = JSON.parse(data);
  } catch {
    return [];
  }
  if (!body || typeof body !== "object") return [];
  const b = body as Record<string, unknown>;
  const update = b.resourceUpdate as { name?: unknown; events?: unknown } | undefined;
  if (!update || typeof update.name !== "string" || !update.events || typeof update.events !== "object") {
    return [];
  }
  const at = typeof b.timestamp === "string" ? Date.parse(b.timestamp) : NaN;
  if (Number.isNaN(at)) return [];
  const state = b.eventThreadState;
  const threadState =
    state === "STARTED" || state === "UPDATED" || state === "ENDED" ? (state as ThreadState) : undefined;
  const topEventId = typeof b.eventId === "string" ? b.eventId : messageId;
  const events = update.events as Record<string, unknown>;
  let previewUrl: string | undefined;
  for (const [name, value] of Object.entries(events)) {
    const url = (value as { previewUrl?: unknown } | undefined)?.previewUrl;
    if (SDM_EVENTS[name] === "clip" && typeof url === "string" && url) previewUrl = url;
  }
  const out: EventCandidate[] = [];
  for (const [name, value] of Object.entries(events)) {
    const type = SDM_EVENTS[name];
    if (!type) continue;
    const e = (value ?? {}) as { eventSessionId?: unknown; eventId?: unknown };
    const eventId = typeof e.eventId === "string" && e.eventId ? e.eventId : topEventId;
    const sessionId =
      typeof e.eventSessionId === "string" && e.eventSessionId
        ? e.eventSessionId
        : typeof b.eventThreadId === "string" && b.eventThreadId
          ? b.eventThreadId
          : eventId;
    out.push({
      type,
      deviceName: update.name,
      deviceId: deviceId(update.name),
      at,
      eventId,
      eventSessionId: sessionId,
      threadState,
      previewUrl,
      messageId,
    });
  }
  return out;
}

/**
 * The `events` property as a set of types: empty or absent means all; an array or a comma list.
 * Unknown names are an error that lists the known ones.
 */
export function parseEventTypes(value: unknown): Set<EventType> {
  const items = Array.isArray(value)
    ? value.map(String)
    : typeof value === "string"
      ? value.split(/[\s,]+/)
      : [];
  const names = items.map((s) => s.trim().toLowerCase()).filter(Boolean);
  const unknown = names.filter((n) => !(EVENT_TYPES as readonly string[]).includes(n));
  if (unknown.length) {
    throw new Error(
      `Unknown event type${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `"${u}"`).join(", ")}: use ` +
        `${EVENT_TYPES.join(", ")} (none ticked = all).`,
    );
  }
  return new Set((names.length ? names : EVENT_TYPES) as EventType[]);
}
