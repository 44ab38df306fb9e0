/** The messages the package's nodes send, as the node and end-to-end tests read them. */
import type { RestreamPayload } from "../../src/ffmpeg/restreamer";

/** What nest-stream sends: the usable URL in `payload` (null once stopped) and what happened in `stream`. */
export interface StreamMsg {
  payload: string | null;
  topic: string;
  stream: {
    event: string;
    url: string | null;
    expiresAt: string | null;
    deviceId: string;
    camera: string;
    protocol: string;
  };
}

/** What nest-restream sends on its state output. */
export interface RestreamMsg {
  payload: RestreamPayload;
  topic: string;
}

/** What nest-events sends: the event type in `payload`, the device in `topic`, the event, its image. */
export interface EventMsg {
  payload: string;
  topic: string;
  event: {
    type: string;
    deviceId: string;
    camera: string;
    timestamp: string;
    eventId: string;
    eventSessionId: string;
    threadState?: string;
    imageUrl?: string;
    previewUrl?: string;
    imageError?: string;
  };
  image?: Buffer;
}
