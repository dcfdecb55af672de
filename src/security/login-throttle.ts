export interface LoginThrottleOptions {
  /** The wait after the first failure; each further failure doubles it. */
  firstDelayMs: number;
  /** The wait never grows past this. */
  maxDelayMs: number;
  /** A source with no failure for this long starts again from no delay. */
  forgetAfterMs: number;
  /** Sources tracked at most; past it the one whose last failure is oldest is forgotten. */
  maxSources: number;
}

interface Failures {
  count: number;
  lastFailureAtMs: number;
  /** No login attempt from this source is checked before then. */
  retryAtMs: number;
}

/**
 * Slows password guessing per source address: after n failed logins in a row the source must wait
 * firstDelayMs * 2^(n-1) (at most maxDelayMs) before its next attempt is even checked. Attempts arriving in
 * parallel do not get around it: they are refused until the wait is over.
 */
export class LoginThrottle {
  /** Ordered by last failure, oldest first: a failure re-inserts its source. */
  private readonly sources = new Map<string, Failures>();

  constructor(private readonly options: LoginThrottleOptions) {
    if (options.maxSources < 1) throw new Error(`maxSources ${options.maxSources}: expected at least 1`);
  }

  get trackedSources(): number {
    return this.sources.size;
  }

  /** How long the source must still wait before a login attempt is checked; 0 when it may try now. */
  waitMs(source: string, nowMs: number): number {
    const failures = this.current(source, nowMs);
    return failures ? Math.max(0, failures.retryAtMs - nowMs) : 0;
  }

  failed(source: string, nowMs: number): void {
    const count = (this.current(source, nowMs)?.count ?? 0) + 1;
    const delayMs = Math.min(
      this.options.maxDelayMs,
      this.options.firstDelayMs * 2 ** Math.min(count - 1, 30),
    );
    this.sources.delete(source);
    while (this.sources.size >= this.options.maxSources) {
      this.sources.delete(this.sources.keys().next().value as string);
    }
    this.sources.set(source, { count, lastFailureAtMs: nowMs, retryAtMs: nowMs + delayMs });
  }

  succeeded(source: string): void {
    this.sources.delete(source);
  }

  private current(source: string, nowMs: number): Failures | null {
    const failures = this.sources.get(source);
    if (!failures) return null;
    if (nowMs - failures.lastFailureAtMs < this.options.forgetAfterMs) return failures;
    this.sources.delete(source);
    return null;
  }
}
