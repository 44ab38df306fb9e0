/** What a nest-stream input message asks for. Home Assistant sends booleans and "on"/"off". */
import { redact } from "../redact";

export type StreamCommand = { action: "start" | "stop" | "restart"; deviceId?: string };

export const ACCEPTED_STREAM_INPUTS = `"start", "stop", "restart", true, false, "on" or "off"`;

/** The node words it from its catalog (`nest-stream.errors.input`, with `got`); the message is the same in English. */
export class StreamCommandError extends Error {
  constructor(
    /** What came instead, described without its content. */
    readonly got: string,
  ) {
    super(
      `nest-stream accepts msg.payload ${ACCEPTED_STREAM_INPUTS} (and msg.deviceId, a device id, with a start); ` +
        `got ${got}. The stream was left as it is.`,
    );
    this.name = "StreamCommandError";
  }
}

/**
 * Describes a value for an error message without echoing long or secret-looking content: a short
 * string is quoted, masked like everything else that may reach a log (a stream key sent as a payload).
 */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "no payload";
  if (typeof value === "string")
    return value.length > 40 ? `a string of ${value.length} characters` : redact(JSON.stringify(value));
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return "an array";
  if (Buffer.isBuffer(value)) return "a buffer";
  return `a ${typeof value}`;
}

const DEVICE_ID = /^(enterprises\/[^/\s]+\/devices\/)?[A-Za-z0-9_-]+$/;

export function parseStreamCommand(payload: unknown, deviceId?: unknown): StreamCommand {
  let action: StreamCommand["action"] | undefined;
  if (payload === true) action = "start";
  else if (payload === false) action = "stop";
  else if (typeof payload === "string") {
    const word = payload.trim().toLowerCase();
    if (word === "start" || word === "on") action = "start";
    else if (word === "stop" || word === "off") action = "stop";
    else if (word === "restart") action = "restart";
  }
  if (!action) throw new StreamCommandError(describeValue(payload));
  if (deviceId === undefined || deviceId === null || deviceId === "") return { action };
  if (action === "stop") return { action };
  if (typeof deviceId !== "string" || !DEVICE_ID.test(deviceId.trim())) {
    throw new StreamCommandError(`msg.deviceId ${describeValue(deviceId)}, which is not a device id`);
  }
  return { action, deviceId: deviceId.trim() };
}
