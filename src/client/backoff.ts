/** Exponential backoff with full jitter: each wait is uniform in [0, min(cap, base * 2^attempt)]. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs: number,
    private readonly capMs: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!(baseMs > 0) || !(capMs >= baseMs)) {
      throw new RangeError(`backoff needs 0 < baseMs <= capMs, got baseMs=${baseMs} capMs=${capMs}`);
    }
  }

  /** The wait before the next attempt; at least a tenth of the base so a failing loop never spins. */
  nextDelayMs(): number {
    const ceilingMs = Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return Math.max(this.baseMs / 10, Math.floor(this.random() * ceilingMs));
  }

  reset(): void {
    this.attempt = 0;
  }
}
