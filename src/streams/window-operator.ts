import type { StateStore } from './state-store.js';
import type { Window } from './windows.js';

/**
 * 'update': a result on every record (early results, as Kafka Streams without suppression); 'final': one result
 * when the window closes; 'updateAndFinal': both, so consumers see early results and know which one is the last.
 */
export type EmitMode = 'update' | 'final' | 'updateAndFinal';

export function emitsUpdates(mode: EmitMode): boolean {
  return mode !== 'final';
}

export function emitsFinal(mode: EmitMode): boolean {
  return mode !== 'update';
}

export interface WindowResult<R> {
  key: string;
  window: Window;
  result: R;
  /** false for early (update) emissions of a window that is still open. */
  final: boolean;
}

export type Emit<R> = (result: WindowResult<R>) => void;

/**
 * A keyed window aggregation with its state: the runtime owns the watermark and late-record accounting and
 * drives the operator with it; the operator owns its windows and their accumulators, and is its own state
 * store so its contents can be checkpointed to a changelog and restored.
 */
export interface WindowOperator<V, R> extends StateStore {
  /**
   * Folds one record into every window it belongs to that is not closed at `watermark`, emitting early
   * results in update mode. Returns false when the record was too late for every window it belongs to.
   */
  process(key: string, value: V, eventTime: number, watermark: number, emit: Emit<R>): boolean;
  /** Closes windows whose end plus grace the watermark has reached: final results (final mode), state freed. */
  advance(watermark: number, emit: Emit<R>): void;
  /** At the end of each batch of records: emits early results an operator held back to coalesce them. */
  flushUpdates?(emit: Emit<R>): void;
}
