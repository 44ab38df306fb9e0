/** Short human texts for node status lines. */

/** 272000 → "4:32"; 3723000 → "1:02:03". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Node-RED shows about this much status text comfortably. */
export function truncate(text: string, max = 60): string {
  return text.length <= max ? text : text.slice(0, max - 1) + "…";
}

/** Long identifiers keep both ends, where they differ: 60+ characters become 24…24. */
export function truncateMiddle(text: string, max = 60): string {
  const keep = Math.floor((max - 12) / 2);
  return text.length > max ? `${text.slice(0, keep)}…${text.slice(-keep)}` : text;
}
