import { type ChangeRule, compare, type ThresholdRule } from './rules.js';

/** A window aggregate update as pipelines push it, early (window still open) or final. */
export interface WindowUpdate {
  metric: string;
  dimensions: Record<string, string>;
  windowStart: number;
  windowEnd: number;
  values: Record<string, number | null>;
  final: boolean;
  eventTime: number;
  /**
   * The pipeline task that produced the update and its watermark. "No data" rules measure a series' silence
   * against its own task's progress, so partitions that fall behind unevenly do not look silent.
   */
  source?: { task: string; watermark: number };
}

interface WindowVerdict {
  windowStart: number;
  windowEnd: number;
  breaching: boolean;
  value: number;
}

/** Open windows kept per series: hopping windows overlap, so several are open at once. */
const MAX_OPEN_WINDOWS = 64;
/** Final values kept per series for rate-of-change rules. */
const MAX_FINAL_HISTORY = 16;

/**
 * What one rule knows about one series. Whether the series breaches is decided over its windows, not only the
 * latest update: a breaching update (early or final) makes it breach at once; an early update of a newer window
 * that does not breach is partial data and proves nothing, so the breach clears only when the newest final
 * window and every open window are below the threshold.
 */
export class SeriesCondition {
  /** Engine clock when the series last sent an update, for "no data" and staleness. */
  lastSeenMs: number;
  /**
   * Whether the series' pipeline sends early updates. If it does, a final result is the echo of data already
   * seen (a window closing after its edge went silent) and must not count as a sign of life for "no data".
   */
  sendsEarlyUpdates = false;
  /** Newest event time the series reported, for "no data" rules. */
  lastEventTime = Number.NEGATIVE_INFINITY;
  /** The pipeline task the series' updates last came from, when the pipeline says. */
  lastTask: string | null = null;
  private latestFinal: WindowVerdict | null = null;
  private readonly open = new Map<number, WindowVerdict>();
  private readonly finalValues: Array<{ windowStart: number; windowEnd: number; value: number }> = [];

  constructor(
    readonly key: string,
    readonly labels: Readonly<Record<string, string>>,
    nowMs: number,
  ) {
    this.lastSeenMs = nowMs;
  }

  /** Applies an update; returns false when it carried nothing to judge (null field, late, no baseline). */
  apply(rule: ThresholdRule | ChangeRule, update: WindowUpdate): boolean {
    if (!update.final && !rule.earlyUpdates) return false;
    if (!update.final && rule.earlyMinSamples !== null) {
      const samples = update.values[rule.earlyMinSamples.field];
      if (samples === null || samples === undefined || !(samples >= rule.earlyMinSamples.atLeast))
        return false;
    }
    if (this.latestFinal !== null && update.windowStart < this.latestFinal.windowStart) return false;
    const raw = update.values[rule.field];
    if (raw === null || raw === undefined || !Number.isFinite(raw)) return false;
    if (rule.kind === 'change' && update.final) this.rememberFinal(update.windowStart, update.windowEnd, raw);
    const value = rule.kind === 'change' ? this.percentChange(rule, update.windowStart, raw) : raw;
    if (value === null) return false;
    const verdict: WindowVerdict = {
      windowStart: update.windowStart,
      windowEnd: update.windowEnd,
      breaching: compare(value, rule.comparator, rule.threshold),
      value,
    };
    if (update.final) this.settle(verdict);
    else this.openWindow(verdict);
    return true;
  }

  breaching(): boolean {
    if (this.latestFinal?.breaching) return true;
    for (const verdict of this.open.values()) if (verdict.breaching) return true;
    return false;
  }

  /** The value of the most recent breaching window, for annotations and notifications. */
  breachingValue(): number | null {
    let best: WindowVerdict | null = this.latestFinal?.breaching ? this.latestFinal : null;
    for (const verdict of this.open.values()) {
      if (verdict.breaching && (best === null || verdict.windowStart > best.windowStart)) best = verdict;
    }
    return best?.value ?? null;
  }

  private settle(verdict: WindowVerdict): void {
    this.open.delete(verdict.windowStart);
    this.latestFinal = verdict;
    for (const [start, open] of this.open) if (open.windowEnd <= verdict.windowEnd) this.open.delete(start);
  }

  private openWindow(verdict: WindowVerdict): void {
    if (!this.open.has(verdict.windowStart) && this.open.size >= MAX_OPEN_WINDOWS) {
      const oldest = Math.min(...this.open.keys());
      this.open.delete(oldest);
    }
    this.open.set(verdict.windowStart, verdict);
  }

  private rememberFinal(windowStart: number, windowEnd: number, value: number): void {
    const existing = this.finalValues.findIndex((f) => f.windowStart === windowStart);
    if (existing !== -1) this.finalValues.splice(existing, 1);
    this.finalValues.push({ windowStart, windowEnd, value });
    this.finalValues.sort((a, b) => a.windowStart - b.windowStart);
    if (this.finalValues.length > MAX_FINAL_HISTORY) this.finalValues.shift();
  }

  /** Percent change from the latest final window that ended by the time this one started. */
  private percentChange(rule: ChangeRule, windowStart: number, value: number): number | null {
    let previous: number | null = null;
    for (const final of this.finalValues) if (final.windowEnd <= windowStart) previous = final.value;
    if (previous === null || Math.abs(previous) < rule.minPrevious) return null;
    return ((value - previous) / Math.abs(previous)) * 100;
  }
}
