/** Notices when a run's progress (frames, output time) stops advancing for too long, and says so once. */
import type { Clock, Timer } from "../clock";
import type { ProgressSample } from "./progress";

export class StallWatchdog {
  private lastAdvanceAt: number;
  private maxFrames = 0;
  private maxOutTimeUs = 0;
  private timer: Timer | undefined;

  /** Starts watching at once: a run that never delivers a frame stalls too. */
  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    /** Called once, with how long progress has not advanced. */
    private readonly onStall: (idleMs: number) => void,
  ) {
    this.lastAdvanceAt = clock.now();
    this.arm();
  }

  /** Takes one progress block; true when it advanced (more frames or more output time). */
  observe(sample: ProgressSample): boolean {
    const frames = sample.frames ?? 0;
    const out = sample.outTimeUs ?? 0;
    if (frames <= this.maxFrames && out <= this.maxOutTimeUs) return false;
    this.maxFrames = Math.max(this.maxFrames, frames);
    this.maxOutTimeUs = Math.max(this.maxOutTimeUs, out);
    this.lastAdvanceAt = this.clock.now();
    return true;
  }

  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  // One timer at a time, due when the last advance is timeoutMs old; it re-arms if progress moved meanwhile.
  private arm(): void {
    const due = this.lastAdvanceAt + this.timeoutMs - this.clock.now();
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        const idle = this.clock.now() - this.lastAdvanceAt;
        if (idle < this.timeoutMs) this.arm();
        else this.onStall(idle);
      },
      Math.max(0, due),
    );
  }
}
