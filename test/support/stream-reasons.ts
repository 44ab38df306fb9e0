/**
 * A stream's retrying reason (a code, src/stream/stream-reason.ts) in the words of nest-stream's
 * built catalog, as the node shows it.
 */
import {
  reasonText,
  warningText,
  type StreamReason,
  type StreamWarning,
} from "../../src/stream/stream-reason";
import { catalogText } from "./catalog";

const catalog = catalogText("nest-stream");

/** The reason as the node words it ("" without one). */
export function whyText(why: StreamReason | undefined): string {
  return why ? reasonText(why, (code, params) => catalog(`nest-stream.reasons.${code}`, params)) : "";
}

/** A warning as the node words it. */
export function warnText(warning: StreamWarning): string {
  return warningText(warning, (code, params) => catalog(`nest-stream.warnings.${code}`, params));
}
