import type { Values } from './api.js';

/**
 * The windows of one series over a sliding time range, ordered by window start. Bounded twice: windows older
 * than the range are dropped, and never more than `maxPoints` are kept.
 */
export class Timeline {
  private readonly windows = new Map<number, { values: Values; final: boolean }>();

  constructor(
    private readonly rangeMs: number,
    private readonly maxPoints: number,
  ) {}

  /**
   * A later update of a window replaces the earlier one (early results grow into the final one), but an early
   * result never replaces the final one: history loaded from the store may arrive after the live final result.
   */
  upsert(windowStartMs: number, values: Values, final: boolean): void {
    if (!final && this.windows.get(windowStartMs)?.final === true) return;
    this.windows.set(windowStartMs, { values, final });
    if (this.windows.size > this.maxPoints) this.trim(Date.now());
  }

  /** Window starts in seconds (uPlot's time unit) and one column per field, null where a window lacks it. */
  columns(
    fields: readonly string[],
    nowMs: number,
  ): { times: number[]; values: Array<Array<number | null>> } {
    this.trim(nowMs);
    const starts = [...this.windows.keys()].sort((a, b) => a - b);
    return {
      times: starts.map((start) => start / 1000),
      values: fields.map((name) => starts.map((start) => this.windows.get(start)?.values[name] ?? null)),
    };
  }

  private trim(nowMs: number): void {
    const oldestMs = nowMs - this.rangeMs;
    for (const start of this.windows.keys()) if (start < oldestMs) this.windows.delete(start);
    if (this.windows.size <= this.maxPoints) return;
    const excess = [...this.windows.keys()]
      .sort((a, b) => a - b)
      .slice(0, this.windows.size - this.maxPoints);
    for (const start of excess) this.windows.delete(start);
  }
}
