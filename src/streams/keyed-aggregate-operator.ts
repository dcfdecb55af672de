import type { Aggregation } from './aggregations.js';
import { checkMaxEntries, StateLimitError, type StateStore } from './state-store.js';

/** An unwindowed running aggregate per key (a KTable): each record updates its key's accumulator. */
export class KeyedAggregateOperator<V, A, R> implements StateStore {
  private readonly accumulators = new Map<string, A>();
  private readonly dirty = new Set<string>();

  constructor(
    private readonly aggregation: Aggregation<V, A, R>,
    readonly name: string,
    private readonly maxEntries: number,
  ) {
    checkMaxEntries(name, maxEntries);
  }

  get size(): number {
    return this.accumulators.size;
  }

  process(key: string, value: V): R {
    let accumulator = this.accumulators.get(key);
    if (accumulator === undefined) {
      if (this.accumulators.size >= this.maxEntries) throw new StateLimitError(this.name, this.maxEntries);
      accumulator = this.aggregation.init();
    }
    accumulator = this.aggregation.add(accumulator, value);
    this.accumulators.set(key, accumulator);
    this.dirty.add(key);
    return this.aggregation.result(accumulator);
  }

  drainChanges(): Array<[string, unknown]> {
    const changes: Array<[string, unknown]> = [];
    for (const key of this.dirty) changes.push([key, this.accumulators.get(key) ?? null]);
    this.dirty.clear();
    return changes;
  }

  restore(key: string, value: unknown): void {
    if (value === null) this.accumulators.delete(key);
    else this.accumulators.set(key, value as A);
  }

  clear(): void {
    this.accumulators.clear();
    this.dirty.clear();
  }
}
