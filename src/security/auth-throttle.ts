/** The first failure from a source waits this long; each further one doubles it up to the maximum. */
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 5000;
/** A source that has not failed for this long starts over. */
const FORGET_AFTER_MS = 60_000;
/** Sources remembered at most: past it the stalest is forgotten, so no flood of addresses grows memory. */
const MAX_SOURCES = 10_000;

/**
 * Slows password guessing: each failed authentication from a source (client address) is answered after a
 * delay that doubles with its recent failures (Kafka's connection.failed.authentication.delay.ms, growing).
 */
export class AuthThrottle {
  private readonly failures = new Map<string, { count: number; lastMs: number }>();

  /** Records a failure of `source` and returns how long to hold its answer, in ms. */
  failed(source: string, nowMs: number): number {
    const previous = this.failures.get(source);
    const count = previous && nowMs - previous.lastMs < FORGET_AFTER_MS ? previous.count + 1 : 1;
    this.failures.delete(source);
    if (this.failures.size >= MAX_SOURCES) this.failures.delete(this.failures.keys().next().value!);
    this.failures.set(source, { count, lastMs: nowMs });
    return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(count - 1, 16));
  }

  /** A success from `source` clears its record. */
  succeeded(source: string): void {
    this.failures.delete(source);
  }
}
