import type { Aggregation } from '../aggregations.js';
import { checkMaxEntries, StateLimitError } from '../state-store.js';
import { type Emit, emitsFinal, emitsUpdates } from '../window-operator.js';
import type { WindowStoreOptions } from './options.js';

/**
 * What every window operator shares, as Kafka Streams' AbstractKStreamTimeWindowAggregateProcessor: its
 * store name and entry bound, the emit strategy (resolved once, not per record) and how a window's result
 * is emitted. Each kind adds how it places records in windows, closes them and keeps them in its changelog.
 */
export abstract class WindowOperatorBase<V, A, R> {
  readonly name: string;
  /** State entries held now; each kind counts what it keeps. */
  protected entries = 0;
  /** Whether results go out on every update, and once more when the window closes. */
  protected readonly emitsUpdates: boolean;
  protected readonly emitsFinal: boolean;
  private readonly maxEntries: number;

  constructor(
    protected readonly aggregation: Aggregation<V, A, R>,
    options: WindowStoreOptions,
  ) {
    checkMaxEntries(options.name, options.maxEntries);
    this.name = options.name;
    this.maxEntries = options.maxEntries;
    this.emitsUpdates = emitsUpdates(options.emit);
    this.emitsFinal = emitsFinal(options.emit);
  }

  get size(): number {
    return this.entries;
  }

  /** Refuses, before anything changes, a record that would take the store past its bound. */
  protected reserveEntries(added: number): void {
    if (this.entries + added > this.maxEntries) throw new StateLimitError(this.name, this.maxEntries);
  }

  protected emitResult(
    emit: Emit<R>,
    key: string,
    start: number,
    end: number,
    accumulator: A,
    final: boolean,
  ): void {
    emit({ key, window: { start, end }, result: this.aggregation.result(accumulator), final });
  }
}
