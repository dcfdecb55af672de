import type { Logger } from 'pino';
import type { WindowUpdate } from '../alerts/series.js';
import type { AggregateWrite } from '../store/types.js';

export interface AggregateSinkOptions {
  store: { writeAggregates(rows: readonly AggregateWrite[]): Promise<{ written: number }> };
  logger: Logger;
  /** How often the latest result of each window goes to the store. */
  flushIntervalMs?: number;
  /** Windows held between flushes; reaching it flushes at once. */
  maxPendingWindows?: number;
}

export const AGGREGATE_SINK_DEFAULTS = { flushIntervalMs: 1_000, maxPendingWindows: 50_000 } as const;

export interface AggregateSinkStats {
  windowsWritten: number;
  writeFailures: number;
  pending: number;
}

/**
 * Writes window results to the store without making the pipeline wait for it: results are coalesced per window
 * (only the latest early result matters, and a final one replaces it) and upserted in batches. A failing store
 * is logged and counted; the pipeline and alerting keep running.
 */
export class AggregateSink {
  private pending = new Map<string, AggregateWrite>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly flushIntervalMs: number;
  private readonly maxPending: number;
  private windowsWritten = 0;
  private writeFailures = 0;

  constructor(private readonly options: AggregateSinkOptions) {
    this.flushIntervalMs = options.flushIntervalMs ?? AGGREGATE_SINK_DEFAULTS.flushIntervalMs;
    this.maxPending = options.maxPendingWindows ?? AGGREGATE_SINK_DEFAULTS.maxPendingWindows;
    if (!(this.flushIntervalMs > 0)) throw new RangeError('flushIntervalMs must be above 0');
    if (!Number.isInteger(this.maxPending) || this.maxPending < 1)
      throw new RangeError('maxPendingWindows must be an integer >= 1');
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.flushIntervalMs);
  }

  accept(update: WindowUpdate): void {
    const values: Record<string, number> = {};
    for (const field in update.values) {
      const value = update.values[field];
      if (value !== null && value !== undefined && Number.isFinite(value)) values[field] = value;
    }
    const key = `${update.metric}\u0000${JSON.stringify(update.dimensions)}\u0000${update.windowStart}`;
    const previous = this.pending.get(key);
    if (previous?.final && !update.final) return;
    this.pending.set(key, {
      metric: update.metric,
      dimensions: update.dimensions,
      windowStartMs: update.windowStart,
      windowEndMs: update.windowEnd,
      values,
      final: update.final,
    });
    if (this.pending.size >= this.maxPending) void this.flush();
  }

  /** Writes what is pending; resolves when it and every earlier flush are done. */
  flush(): Promise<void> {
    if (this.pending.size === 0) return this.flushing;
    const rows = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = this.flushing.then(() => this.write(rows));
    return this.flushing;
  }

  stats(): AggregateSinkStats {
    return {
      windowsWritten: this.windowsWritten,
      writeFailures: this.writeFailures,
      pending: this.pending.size,
    };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  private async write(rows: AggregateWrite[]): Promise<void> {
    const batch = 10_000;
    for (let at = 0; at < rows.length; at += batch) {
      const slice = rows.slice(at, at + batch);
      try {
        const result = await this.options.store.writeAggregates(slice);
        this.windowsWritten += result.written;
      } catch (error) {
        this.writeFailures++;
        this.options.logger.error(
          { err: error, rows: slice.length },
          'writing window aggregates to the store failed',
        );
      }
    }
  }
}
