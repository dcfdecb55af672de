import { performance } from 'node:perf_hooks';

/** Observations per threshold from the timer, so a running process never shows a gap near the threshold. */
const TICKS_PER_THRESHOLD = 6;
/** The timer never runs more often than this. */
const MIN_PERIOD_MS = 20;

/**
 * Notices that this process itself was frozen (SIGSTOP, a long garbage collection, a VM stall): two
 * observations of the monotonic clock further apart than `thresholdMs()` mean nothing of the process ran in
 * between. A timer observes it every threshold / 6; anyone may observe it too (`observe`), which matters right
 * after a resume: Node may handle sockets made readable during the pause before its timers run, so a request
 * read then must find the gap itself rather than count on the timer having seen it first.
 */
export class PauseDetector {
  private lastObservedMs = performance.now();
  private lastPauseEndMs = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** Read at every observation: the coordinator's threshold follows the negotiated session timeout. */
    private readonly thresholdMs: () => number,
    /** Called once per pause, on the observation that found it. */
    private readonly onPause: (pausedMs: number, endMs: number) => void,
  ) {}

  start(): void {
    if (this.timer !== null) return;
    this.lastObservedMs = performance.now();
    const periodMs = Math.max(MIN_PERIOD_MS, this.thresholdMs() / TICKS_PER_THRESHOLD);
    this.timer = setInterval(() => this.observe(), periodMs);
    // A detector alone does not keep a process alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Looks at the clock: returns the performance.now() at which the latest pause was noticed (-Infinity if
   * none yet), counting one that ends with this very observation.
   */
  observe(nowMs: number = performance.now()): number {
    const gapMs = nowMs - this.lastObservedMs;
    if (nowMs > this.lastObservedMs) this.lastObservedMs = nowMs;
    if (gapMs > this.thresholdMs()) {
      this.lastPauseEndMs = nowMs;
      this.onPause(gapMs, nowMs);
    }
    return this.lastPauseEndMs;
  }
}
