/**
 * Kafka's windowed rate (org.apache.kafka.common.metrics.stats.Rate over a SampledStat) and the throttle time
 * of a quota violation (QuotaUtils.throttleTime), with the clock passed in so tests are deterministic.
 */

/** quota.window.num: samples kept. */
export const QUOTA_WINDOW_SAMPLES = 11;
/** quota.window.size.seconds, in ms: how long one sample covers. */
export const QUOTA_SAMPLE_MS = 1000;

/**
 * A rate over the last QUOTA_WINDOW_SAMPLES samples of QUOTA_SAMPLE_MS each. Until the window has filled,
 * the rate is taken over at least (samples - 1) sample lengths, as Kafka does, so a first burst is not
 * measured over a few milliseconds.
 */
export class WindowedRate {
  /** Each sample's start time and total; a ring, `current` is the one being added to. */
  private readonly startsMs = new Float64Array(QUOTA_WINDOW_SAMPLES);
  private readonly totals = new Float64Array(QUOTA_WINDOW_SAMPLES);
  private current = 0;

  constructor(nowMs: number) {
    this.startsMs.fill(Number.NEGATIVE_INFINITY);
    this.startsMs[0] = nowMs;
  }

  record(value: number, nowMs: number): void {
    if (nowMs - this.startsMs[this.current]! >= QUOTA_SAMPLE_MS) {
      this.current = (this.current + 1) % QUOTA_WINDOW_SAMPLES;
      this.startsMs[this.current] = nowMs;
      this.totals[this.current] = 0;
    }
    this.totals[this.current]! += value;
  }

  /** The total of the samples still in the window, and the window's length as Kafka's Rate.windowSize. */
  private measure(nowMs: number): { total: number; windowMs: number } {
    const expiredBefore = nowMs - QUOTA_WINDOW_SAMPLES * QUOTA_SAMPLE_MS;
    let total = 0;
    let oldestMs = nowMs;
    for (let i = 0; i < QUOTA_WINDOW_SAMPLES; i++) {
      const start = this.startsMs[i]!;
      if (start <= expiredBefore) continue;
      total += this.totals[i]!;
      if (start < oldestMs) oldestMs = start;
    }
    let windowMs = nowMs - oldestMs;
    const fullSamples = Math.floor(windowMs / QUOTA_SAMPLE_MS);
    if (fullSamples < QUOTA_WINDOW_SAMPLES - 1) {
      windowMs += (QUOTA_WINDOW_SAMPLES - 1 - fullSamples) * QUOTA_SAMPLE_MS;
    }
    return { total, windowMs };
  }

  /** Units per second over the window. */
  perSecond(nowMs: number): number {
    const { total, windowMs } = this.measure(nowMs);
    return (total * 1000) / windowMs;
  }

  /**
   * How long the client must wait for its rate to come back to `quotaPerSecond`: 0 within the quota, else
   * Kafka's (rate - quota) / quota x window, rounded, and at most the whole window.
   */
  throttleMs(quotaPerSecond: number, nowMs: number): number {
    const { total, windowMs } = this.measure(nowMs);
    const rate = (total * 1000) / windowMs;
    if (rate <= quotaPerSecond) return 0;
    return Math.min(Math.round(((rate - quotaPerSecond) / quotaPerSecond) * windowMs), MAX_THROTTLE_MS);
  }

  /** Takes back a recorded value (a fetch answered empty because it was throttled). */
  unrecord(value: number): void {
    this.totals[this.current]! -= value;
  }

  /** True once every sample has expired: the rate is 0 and the measurement can be dropped. */
  idle(nowMs: number): boolean {
    const expiredBefore = nowMs - QUOTA_WINDOW_SAMPLES * QUOTA_SAMPLE_MS;
    return this.startsMs.every((start) => start <= expiredBefore);
  }
}

/** The longest throttle: one whole quota window. */
export const MAX_THROTTLE_MS = QUOTA_WINDOW_SAMPLES * QUOTA_SAMPLE_MS;
