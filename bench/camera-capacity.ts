/**
 * Cameras per Device Access project (`npm run bench`): a simulated hour of N cameras on 5-minute
 * streams, every camera started at once, against the project's command budget (10 commands per 61 s)
 * and the fake Google's sandbox rate limits, on a fake clock (test/support/camera-capacity.ts).
 * Prints a Markdown table: commands per camera-hour, queue and closest call at the claimed 40 cameras
 * and a few counts around it, and the largest count with no stream expired.
 */
import { largestCameraCount, simulateCameras, type CapacityReport } from "../test/support/camera-capacity";

function row(r: CapacityReport): string {
  return [
    r.cameras,
    r.commandsPerCameraHour.toFixed(2),
    r.expired,
    r.restarts,
    r.refused429,
    r.maxPerMinute,
    r.maxQueued,
    (r.maxExtendWaitMs / 1000).toFixed(1),
    (r.minLeftAtExtendMs / 1000).toFixed(1),
  ].join(" | ");
}

async function main(): Promise<void> {
  console.log("\n### Cameras per project (simulated hour, 5-minute streams, 10 commands per 61 s)\n");
  console.log(
    "| cameras | commands per camera-hour | streams expired | restarts | 429s | most commands in 60 s | most queued | longest extend wait (s) | least time left at an extend (s) |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  const largest = await largestCameraCount(100);
  for (const n of [...new Set([1, 10, 40, largest, largest + 1])].sort((a, b) => a - b)) {
    console.log(`| ${row(await simulateCameras(n))} |`);
  }
  console.log(`\nLargest camera count with no stream expired in the hour: **${largest}**`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
