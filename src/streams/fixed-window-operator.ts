import type { Aggregation } from './aggregations.js';
import { StateLimitError } from './state-store.js';
import type { Emit, EmitMode, WindowOperator } from './window-operator.js';
import type { FixedWindows } from './windows.js';

export interface FixedWindowOperatorOptions {
  name: string;
  windows: FixedWindows;
  emit: EmitMode;
  /** Bound on open (key, window) accumulators across all windows. */
  maxEntries: number;
}

/** Separates window start and key in changelog keys; keys are strings, so NUL never needs escaping. */
const KEY_SEPARATOR = '\u0000';

/**
 * Tumbling and hopping windows: accumulators are grouped by window start, so closing a window frees all of
 * its keys at once and the watermark only ever visits the oldest open starts (there are size/advance + a few
 * of them), never every key.
 */
export class FixedWindowOperator<V, A, R> implements WindowOperator<V, R> {
  readonly name: string;
  /** window start -> key -> accumulator; starts are kept in insertion order and sorted on demand. */
  private readonly windowsByStart = new Map<number, Map<string, A>>();
  private sortedStarts: number[] = [];
  private readonly dirtyByStart = new Map<number, Set<string>>();
  /** Windows closed since the last drain: their keys become tombstones in the changelog. */
  private readonly closedSinceDrain = new Map<number, Map<string, A>>();
  private entries = 0;

  constructor(
    private readonly aggregation: Aggregation<V, A, R>,
    private readonly options: FixedWindowOperatorOptions,
  ) {
    this.name = options.name;
  }

  get size(): number {
    return this.entries;
  }

  process(key: string, value: V, eventTime: number, watermark: number, emit: Emit<R>): boolean {
    const { sizeMs, advanceMs, graceMs } = this.options.windows;
    let accepted = false;
    const lastStart = Math.floor(eventTime / advanceMs) * advanceMs;
    for (let start = lastStart - sizeMs + advanceMs; start <= lastStart; start += advanceMs) {
      if (start <= eventTime - sizeMs) continue;
      const end = start + sizeMs;
      if (watermark >= end + graceMs) continue;
      accepted = true;
      const accumulator = this.fold(start, key, value);
      if (this.options.emit === 'update') {
        emit({ key, window: { start, end }, result: this.aggregation.result(accumulator), final: false });
      }
    }
    return accepted;
  }

  private fold(start: number, key: string, value: V): A {
    let windowKeys = this.windowsByStart.get(start);
    if (!windowKeys) {
      windowKeys = new Map();
      this.windowsByStart.set(start, windowKeys);
      this.insertStart(start);
    }
    let accumulator = windowKeys.get(key);
    if (accumulator === undefined) {
      if (this.entries >= this.options.maxEntries)
        throw new StateLimitError(this.name, this.options.maxEntries);
      accumulator = this.aggregation.init();
      this.entries++;
    }
    accumulator = this.aggregation.add(accumulator, value);
    windowKeys.set(key, accumulator);
    this.markDirty(start, key);
    return accumulator;
  }

  private insertStart(start: number): void {
    const starts = this.sortedStarts;
    let at = starts.length;
    while (at > 0 && starts[at - 1]! > start) at--;
    starts.splice(at, 0, start);
  }

  private markDirty(start: number, key: string): void {
    let dirty = this.dirtyByStart.get(start);
    if (!dirty) {
      dirty = new Set();
      this.dirtyByStart.set(start, dirty);
    }
    dirty.add(key);
  }

  advance(watermark: number, emit: Emit<R>): void {
    const { sizeMs, graceMs } = this.options.windows;
    while (this.sortedStarts.length > 0) {
      const start = this.sortedStarts[0]!;
      const end = start + sizeMs;
      if (watermark < end + graceMs) return;
      this.sortedStarts.shift();
      const windowKeys = this.windowsByStart.get(start)!;
      this.windowsByStart.delete(start);
      this.dirtyByStart.delete(start);
      this.closedSinceDrain.set(start, windowKeys);
      this.entries -= windowKeys.size;
      if (this.options.emit === 'final') {
        for (const [key, accumulator] of windowKeys) {
          emit({ key, window: { start, end }, result: this.aggregation.result(accumulator), final: true });
        }
      }
    }
  }

  drainChanges(): Array<[string, unknown]> {
    const changes: Array<[string, unknown]> = [];
    for (const [start, windowKeys] of this.closedSinceDrain) {
      for (const key of windowKeys.keys()) changes.push([`${start}${KEY_SEPARATOR}${key}`, null]);
    }
    this.closedSinceDrain.clear();
    for (const [start, keys] of this.dirtyByStart) {
      const windowKeys = this.windowsByStart.get(start)!;
      for (const key of keys) changes.push([`${start}${KEY_SEPARATOR}${key}`, windowKeys.get(key)]);
    }
    this.dirtyByStart.clear();
    return changes;
  }

  restore(entryKey: string, value: unknown): void {
    const separator = entryKey.indexOf(KEY_SEPARATOR);
    if (separator < 0) throw new Error(`state store '${this.name}': malformed changelog key '${entryKey}'`);
    const start = Number(entryKey.slice(0, separator));
    const key = entryKey.slice(separator + 1);
    const windowKeys = this.windowsByStart.get(start);
    if (value === null) {
      if (windowKeys?.delete(key)) this.entries--;
      if (windowKeys?.size === 0) {
        this.windowsByStart.delete(start);
        this.sortedStarts = this.sortedStarts.filter((s) => s !== start);
      }
      return;
    }
    if (!windowKeys) {
      this.windowsByStart.set(start, new Map([[key, value as A]]));
      this.insertStart(start);
      this.entries++;
      return;
    }
    if (!windowKeys.has(key)) this.entries++;
    windowKeys.set(key, value as A);
  }

  clear(): void {
    this.windowsByStart.clear();
    this.sortedStarts = [];
    this.dirtyByStart.clear();
    this.closedSinceDrain.clear();
    this.entries = 0;
  }
}
