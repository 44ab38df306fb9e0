/**
 * What a youtube-upload message asks for: the file (`msg.payload`, a path, as nest-restream's output 2
 * sends it) and the video's metadata from the node's settings, with `msg.title`, `msg.description` and
 * `msg.privacy` overriding them; `{file}` (the file name without its extension) and `{date}` (the
 * recording's local date) filled into the title and the description.
 */
import path from "node:path";
import type { Privacy } from "./live-api";
import { localDate } from "./live-broadcaster";
import type { VideoMetadata } from "./resumable-upload";

export interface UploadSettings {
  title: string;
  description: string;
  privacy: Privacy;
  tags: string[];
  categoryId: string;
  madeForKids: boolean;
  notifySubscribers: boolean;
}

export const PRIVACIES: readonly Privacy[] = ["private", "unlisted", "public"];

/** The node's `tags` text: comma-separated, trimmed, empty ones dropped. */
export function parseTags(text: unknown): string[] {
  return typeof text === "string"
    ? text
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean)
    : [];
}

/** The metadata for one message; `now` dates a file that says nothing of when it was recorded. */
export function uploadMetadata(
  msg: Record<string, unknown>,
  file: string,
  settings: UploadSettings,
  now: number,
): VideoMetadata {
  const info = (msg.file ?? {}) as { startedAt?: unknown };
  const started = typeof info.startedAt === "string" ? Date.parse(info.startedAt) : NaN;
  const fill = (template: string) =>
    template
      .replace(/\{file\}/g, path.basename(file, path.extname(file)))
      .replace(/\{date\}/g, localDate(Number.isNaN(started) ? now : started));
  const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v : undefined);
  const privacy = PRIVACIES.includes(msg.privacy as Privacy) ? (msg.privacy as Privacy) : settings.privacy;
  return {
    title: fill(text(msg.title) ?? (settings.title || "{file}")),
    description: fill(typeof msg.description === "string" ? msg.description : settings.description),
    privacy,
    tags: settings.tags,
    categoryId: settings.categoryId || "22",
    madeForKids: settings.madeForKids,
    notifySubscribers: settings.notifySubscribers,
  };
}
