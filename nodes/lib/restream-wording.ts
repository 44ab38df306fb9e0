/**
 * The substitutions every nest-restream refusal text (`nest-restream.errors.<code>`) may use: the
 * sentence of what it accepts is one catalog key (`nest-restream.accepted.*`), and the lists in it
 * come from the constants the parsing uses, so the texts cannot drift from what is accepted.
 */
import { RESTREAM_COMMANDS, STREAM_EVENTS } from "../../src/ffmpeg/restream-input";
import { TARGET_KINDS } from "../../src/ffmpeg/targets";

export type Translate = (key: string, subs?: Record<string, unknown>) => string;

const quoted = (list: readonly string[]) => list.map((v) => JSON.stringify(v)).join(", ");

/** What `_` (Node-RED's `RED._`) fills into a refusal text besides the refusal's own params. */
export function acceptedTexts(_: Translate): Record<string, string> {
  const lists = {
    events: STREAM_EVENTS.join(", "),
    targets: TARGET_KINDS.join(", "),
    commands: quoted(RESTREAM_COMMANDS),
    quotedTargets: quoted(TARGET_KINDS),
  };
  return {
    ...lists,
    accepted: _("nest-restream.accepted.input", lists),
    acceptedTargets: _("nest-restream.accepted.targets", lists),
  };
}
