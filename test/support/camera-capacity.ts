/**
 * How many cameras one Device Access project carries (design section 6): N real StreamKeepers on one
 * real SdmClient (its CommandBudget: 10 commands per 60 s window plus a 1 s margin per slot, i.e. 10
 * per 61 s), against the in-memory fake Google with the sandbox rate limits on (10 executeCommand per
 * minute per project and user, 5 per device and command), on a fake clock. Every camera starts at the
 * same moment (a deploy: the worst burst), streams live 5 minutes, and the simulation runs for the
 * given time, sampling every second. Used by test/unit/camera-capacity.test.ts and
 * bench/camera-capacity.ts.
 */
import { sleep } from "../../src/clock";
import { TokenKeeper } from "../../src/google/token-keeper";
import { SdmClient } from "../../src/nest/sdm-client";
import { StreamKeeper } from "../../src/stream/stream-keeper";
import {
  camera,
  FAKE_CREDENTIALS,
  FakeGoogleTransport,
  SDM_URL,
  TOKEN_URL,
} from "../fixtures/fake-google/transport";
import { drive } from "./drive";
import { FakeClock } from "./fake-clock";

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export interface CapacityOptions {
  /** Simulated time. Default one hour. */
  durationMs?: number;
  /** Stream lifetime after each generate or extend. Default 300 s, as Google's. */
  streamLifetimeS?: number;
  /** Camera i starts i × startSpreadMs after the first. Default 0: all at once (a deploy). */
  startSpreadMs?: number;
}

export interface CapacityReport {
  cameras: number;
  durationMs: number;
  /** executeCommand requests that reached the fake Google. */
  commands: number;
  generates: number;
  extends: number;
  /** Requests the fake Google refused with 429 (the budget let too many through). */
  refused429: number;
  /** executeCommand requests per camera per hour. */
  commandsPerCameraHour: number;
  /** Streams that expired before they were extended or stopped. */
  expired: number;
  /** New streams that replaced a lost one ("restarted" URL events). */
  restarts: number;
  /** Camera-seconds (sampled each second, after the camera's first URL) with no live URL advertised. */
  secondsWithoutStream: number;
  /** Cameras that had a live URL by the end. */
  live: number;
  /** Most callers waiting in the budget queue at any sample. */
  maxQueued: number;
  /** Most callers waiting in the budget queue in the second half of the run (a growing queue shows here). */
  maxQueuedSecondHalf: number;
  /** Callers waiting at the end. */
  queuedAtEnd: number;
  /** Longest time an extend waited (from "extending" to its answer). */
  maxExtendWaitMs: number;
  /** Least stream time left when an extend was answered: how close a stream came to expiring. */
  minLeftAtExtendMs: number;
  /** Most executeCommand requests the fake Google saw in any 60 s window. */
  maxPerMinute: number;
  /** Anything a well-behaved client must never do, as the fake Google saw it. */
  violations: readonly string[];
}

/** Runs `cameras` stream keepers on one project for the simulated time and reports what happened. */
export async function simulateCameras(
  cameras: number,
  options: CapacityOptions = {},
): Promise<CapacityReport> {
  const durationMs = options.durationMs ?? 60 * MINUTE;
  const clock = new FakeClock();
  const ids = Array.from({ length: cameras }, (_, i) => `cam-${i + 1}`);
  const fake = new FakeGoogleTransport({
    clock,
    devices: ids.map((id, i) => camera(id, `Room ${i + 1}`)),
    streamLifetimeS: options.streamLifetimeS ?? 300,
  });
  const tokens = new TokenKeeper({
    credentials: FAKE_CREDENTIALS,
    tokenUrl: TOKEN_URL,
    clock,
    http: fake,
    random: () => 0.5,
  });
  const sdm = new SdmClient({
    projectId: fake.projectId,
    tokens,
    baseUrl: `${SDM_URL}/`,
    clock,
    http: fake,
    random: () => 0.5,
  });
  const model = fake.google.sdm;
  const streamId = (url: string | null): string => /\/sdm_live_stream\/([^?]+)/.exec(url ?? "")?.[1] ?? "";

  let restarts = 0;
  let maxExtendWaitMs = 0;
  let minLeftAtExtendMs = Infinity;
  const keepers = ids.map((deviceId) => {
    const keeper = new StreamKeeper({ sdm, deviceId, clock, random: () => 0.5 });
    let extendingSince: number | undefined;
    let expiresAt: number | undefined;
    keeper.on("state", (s) => {
      if (s.state === "extending" && extendingSince === undefined) {
        extendingSince = clock.now();
        expiresAt = s.expiresAt ? Date.parse(s.expiresAt) : undefined;
      }
    });
    keeper.on("url", (e) => {
      if (e.event === "restarted") restarts++;
      if (e.event === "extended" && extendingSince !== undefined) {
        maxExtendWaitMs = Math.max(maxExtendWaitMs, clock.now() - extendingSince);
        if (expiresAt !== undefined) minLeftAtExtendMs = Math.min(minLeftAtExtendMs, expiresAt - clock.now());
      }
      if (e.event !== "stopped") extendingSince = undefined;
    });
    return keeper;
  });

  const t0 = clock.now();
  let maxQueued = 0;
  let maxQueuedSecondHalf = 0;
  let secondsWithoutStream = 0;
  const hadStream = new Set<StreamKeeper>();
  const sampler = (async () => {
    while (clock.now() - t0 < durationMs) {
      await sleep(clock, SECOND);
      const queued = sdm.budget.stats().queued;
      maxQueued = Math.max(maxQueued, queued);
      if (clock.now() - t0 > durationMs / 2) maxQueuedSecondHalf = Math.max(maxQueuedSecondHalf, queued);
      for (const k of keepers) {
        const alive = k.url !== null && model.isAlive(streamId(k.url));
        if (alive) hadStream.add(k);
        else if (hadStream.has(k)) secondsWithoutStream++;
      }
    }
  })();
  const spread = options.startSpreadMs ?? 0;
  keepers.forEach((k, i) =>
    spread > 0 && i > 0 ? clock.setTimeout(() => k.start(), i * spread) : k.start(),
  );
  await drive(clock, sampler, durationMs + MINUTE, SECOND);

  const end = clock.now();
  const records = model.rtspRecords();
  const report: CapacityReport = {
    cameras,
    durationMs,
    commands: fake.count("execute"),
    generates: fake.requests.filter((r) => r.route === "execute" && r.command === "GenerateRtspStream")
      .length,
    extends: fake.requests.filter((r) => r.route === "execute" && r.command === "ExtendRtspStream").length,
    refused429: fake.requests.filter((r) => r.route === "execute" && r.status === 429).length,
    commandsPerCameraHour: fake.count("execute") / cameras / (durationMs / (60 * MINUTE)),
    // Nothing was stopped during the run: a stream that is not alive now expired.
    expired: records.filter((s) => !s.ended && s.expiresAt <= end).length,
    restarts,
    secondsWithoutStream,
    live: keepers.filter((k) => k.url !== null && model.isAlive(streamId(k.url))).length,
    maxQueued,
    maxQueuedSecondHalf,
    queuedAtEnd: sdm.budget.stats().queued,
    maxExtendWaitMs,
    minLeftAtExtendMs: Number.isFinite(minLeftAtExtendMs) ? minLeftAtExtendMs : 0,
    maxPerMinute: fake.maxInWindow("execute", MINUTE),
    violations: [...fake.violations],
  };

  // Stopping sends StopRtspStream for each camera through the same budget: drive it to the end.
  await drive(clock, Promise.all(keepers.map((k) => k.stop())), Math.ceil(cameras / 10 + 2) * MINUTE, SECOND);
  sdm.budget.close();
  tokens.close();
  return report;
}

/**
 * The largest camera count in [1, upTo] whose simulation has no expired stream, no restart, no time
 * without a stream and no 429 (binary search: more cameras never need fewer commands).
 */
export async function largestCameraCount(upTo = 100, options: CapacityOptions = {}): Promise<number> {
  const holds = async (n: number) => {
    const r = await simulateCameras(n, options);
    return r.expired === 0 && r.restarts === 0 && r.secondsWithoutStream === 0 && r.refused429 === 0;
  };
  let lo = 0; // holds (trivially)
  let hi = upTo + 1; // treated as failing
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await holds(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
