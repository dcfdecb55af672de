import type { Aggregation } from './aggregations.js';
import { WatermarkTracker } from './watermark.js';
import { type FixedWindows, isClosed, type Window } from './windows.js';

export type EmitMode = 'update' | 'final';

export interface WindowResult<K, R> {
  key: K;
  window: Window;
  result: R;
  /** false for early (update) emissions of a window still open. */
  final: boolean;
}

export interface LateRecord<K, V> {
  key: K;
  value: V;
  eventTime: number;
  watermark: number;
}

export interface WindowedAggregatorOptions<K, V, R> {
  windows: FixedWindows;
  maxOutOfOrdernessMs: number;
  emit: EmitMode;
  onResult(result: WindowResult<K, R>): void;
  /** Late records go here; they are always counted, never dropped silently. */
  onLate?(record: LateRecord<K, V>): void;
  /** Bound on open (key, window) states; a record that would exceed it throws. */
  maxOpenWindows?: number;
}

interface OpenWindow<K> {
  key: K;
  window: Window;
  accumulator: unknown;
}

/**
 * Keyed event-time window aggregation, one record at a time: in 'update' mode every change is emitted at
 * once (for alerting), in 'final' mode each window is emitted once when the watermark closes it.
 */
export class WindowedAggregator<K, V, A, R> {
  private readonly open = new Map<string, OpenWindow<K>>();
  private readonly watermarks: WatermarkTracker;
  private readonly maxOpenWindows: number;
  lateRecords = 0;

  constructor(
    private readonly aggregation: Aggregation<V, A, R>,
    private readonly options: WindowedAggregatorOptions<K, V, R>,
  ) {
    this.watermarks = new WatermarkTracker(options.maxOutOfOrdernessMs);
    this.maxOpenWindows = options.maxOpenWindows ?? 1_000_000;
  }

  get watermark(): number {
    return this.watermarks.current();
  }

  get openWindows(): number {
    return this.open.size;
  }

  process(partition: number, key: K, value: V, eventTime: number): void {
    const watermarkBefore = this.watermarks.current();
    const { windows } = this.options;
    let accepted = false;
    for (const window of windows.windowsFor(eventTime)) {
      if (isClosed(window, windows.graceMs, watermarkBefore)) continue;
      accepted = true;
      const id = `${window.start}\u0000${JSON.stringify(key)}`;
      let state = this.open.get(id);
      if (!state) {
        if (this.open.size >= this.maxOpenWindows) {
          throw new RangeError(
            `more than ${this.maxOpenWindows} open windows: raise maxOpenWindows or shorten the grace period`,
          );
        }
        state = { key, window, accumulator: this.aggregation.init() };
        this.open.set(id, state);
      }
      state.accumulator = this.aggregation.add(state.accumulator as A, value);
      if (this.options.emit === 'update') {
        this.options.onResult({
          key,
          window,
          result: this.aggregation.result(state.accumulator as A),
          final: false,
        });
      }
    }
    if (!accepted) {
      this.lateRecords++;
      this.options.onLate?.({ key, value, eventTime, watermark: watermarkBefore });
    }
    if (this.watermarks.observe(partition, eventTime) > watermarkBefore) this.closeWindows();
  }

  /** Marks an input partition idle so it stops holding windows open. */
  partitionIdle(partition: number): void {
    this.watermarks.markIdle(partition);
    this.closeWindows();
  }

  private closeWindows(): void {
    const watermark = this.watermarks.current();
    const { graceMs } = this.options.windows;
    const closing = [...this.open].filter(([, state]) => isClosed(state.window, graceMs, watermark));
    closing.sort(([, a], [, b]) => a.window.start - b.window.start);
    for (const [id, state] of closing) {
      this.open.delete(id);
      if (this.options.emit === 'final') {
        this.options.onResult({
          key: state.key,
          window: state.window,
          result: this.aggregation.result(state.accumulator as A),
          final: true,
        });
      }
    }
  }
}
