/**
 * Why nest-restream refuses a message or a setting, as a code and its parameters: the adapter words it
 * from its catalog (`nest-restream.errors.<code>`); the message is a developer's fallback.
 */
import { redact } from "../redact";

export class RestreamRefusal<Code extends string = string> extends Error {
  /** What the text fills in (`__name__`), masked: a stream key or token never shows. */
  readonly params: Readonly<Record<string, string>>;

  constructor(
    readonly code: Code,
    params: Record<string, string> = {},
  ) {
    const masked = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, redact(v)]));
    const detail = Object.keys(masked).length > 0 ? ` ${JSON.stringify(masked)}` : "";
    super(`nest-restream: ${code}${detail}`);
    this.name = "RestreamRefusal";
    this.params = masked;
  }
}

/** The restream's own refusals: a snapshot it cannot give, a "start" before any stream URL. */
export const RESTREAM_REFUSAL_CODES = ["snapshotsOff", "noSnapshotYet", "noUrlYet"] as const;
export type RestreamRefusalCode = (typeof RESTREAM_REFUSAL_CODES)[number];
