/**
 * Why nest-restream refuses a message or a setting, as a code and its parameters: the adapter words it
 * from its catalog (`nest-restream.errors.<code>`); the message is a developer's fallback.
 */
import { CodedError } from "../coded-error";

export class RestreamRefusal<Code extends string = string> extends CodedError<Code> {
  constructor(code: Code, params: Record<string, string> = {}) {
    super("nest-restream", code, params);
    this.name = "RestreamRefusal";
  }
}

/** The restream's own refusals: a snapshot it cannot give, a "start" before any stream URL. */
export const RESTREAM_REFUSAL_CODES = ["snapshotsOff", "noSnapshotYet", "noUrlYet"] as const;
export type RestreamRefusalCode = (typeof RESTREAM_REFUSAL_CODES)[number];
