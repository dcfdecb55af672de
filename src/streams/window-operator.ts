import type { StateStore } from './state-store.js';
import type { Window } from './windows.js';

export type EmitMode = 'update' | 'final';

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
}
