import type { Logger } from 'pino';

/**
 * Lets a few log lines per window through and counts the rest: a client sending bad requests in a loop must not
 * fill the disk with our logs (a fuzzing run of 1,000,000 frames wrote 746 MiB of them). Every event is still
 * counted in the metrics; the lines that are left out are reported as one count when the window ends.
 */
export class LogThrottle {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private passed = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly maxLinesPerWindow: number,
    private readonly windowMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {
    if (!(maxLinesPerWindow >= 1 && windowMs > 0)) {
      throw new Error(
        `log throttle needs maxLinesPerWindow >= 1 and windowMs > 0, got ${maxLinesPerWindow}, ${windowMs}`,
      );
    }
  }

  /** Calls `write` with the logger unless this window's lines are spent. */
  log(write: (logger: Logger) => void): void {
    const now = this.nowMs();
    if (now - this.windowStartMs >= this.windowMs) {
      if (this.suppressed > 0) {
        this.logger.warn(
          { suppressed: this.suppressed, windowMs: this.windowMs },
          'log lines about failed or refused requests left out (the metrics count every one)',
        );
      }
      this.windowStartMs = now;
      this.passed = 0;
      this.suppressed = 0;
    }
    if (this.passed < this.maxLinesPerWindow) {
      this.passed++;
      write(this.logger);
    } else {
      this.suppressed++;
    }
  }
}
