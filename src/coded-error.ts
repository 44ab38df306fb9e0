/**
 * An error users read in a node's own words: a code and its parameters, masked, that the node's adapter
 * words from its catalog (`<node>.errors.<code>`); the message is only a developer's fallback.
 */
import { redactParams } from "./redact";

export class CodedError<Code extends string = string> extends Error {
  /** What the text fills in (`__name__`), masked: a stream key, token or password never shows. */
  readonly params: Readonly<Record<string, string>>;

  constructor(
    /** The node whose catalog words it (`nest-restream`), for the fallback message. */
    source: string,
    readonly code: Code,
    params: Record<string, string> = {},
  ) {
    const masked = redactParams(params);
    const detail = Object.keys(masked).length > 0 ? ` ${JSON.stringify(masked)}` : "";
    super(`${source}: ${code}${detail}`);
    this.params = masked;
  }
}
