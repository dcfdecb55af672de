import type { Aggregation } from './aggregations.js';
import { FixedWindowOperator } from './fixed-window-operator.js';
import { json } from './serdes.js';
import { SessionWindowOperator } from './session-windows.js';
import { SlidingWindowOperator } from './sliding-windows.js';
import { DEFAULT_MAX_ENTRIES } from './state-store.js';
import type { Forward, Processor, ProcessorContext } from './topology.js';
import type { EmitMode, WindowOperator, WindowResult } from './window-operator.js';
import type { FixedWindows, SessionWindows, SlidingWindows } from './windows.js';

export type AnyWindows = FixedWindows | SlidingWindows | SessionWindows;

export interface AggregateOptions {
  /** Names the state store, its changelog topic and metrics; unique in the application. */
  name: string;
  emit: EmitMode;
  /** Bound on entries in the store (keys x open windows). */
  maxEntries?: number;
  /** Tumbling and hopping windows: early results once per batch per changed (key, window); see FixedWindowOperator. */
  coalesceUpdates?: boolean;
  /** Late records go to this topic as they arrived (JSON value), besides being counted. */
  lateTopic?: string;
}

/** The operator for one task's share of a windowed aggregation, chosen by the kind of windows. */
export function windowOperatorFor<V, A, R>(
  windows: AnyWindows,
  aggregation: Aggregation<V, A, R>,
  options: AggregateOptions,
): WindowOperator<V, R | null> {
  const settings = {
    name: options.name,
    emit: options.emit,
    maxEntries: options.maxEntries ?? DEFAULT_MAX_ENTRIES,
  };
  if ('gapMs' in windows) return new SessionWindowOperator(aggregation, { ...settings, windows });
  if ('kind' in windows) {
    return new FixedWindowOperator(aggregation, {
      ...settings,
      windows,
      coalesceUpdates: options.coalesceUpdates ?? false,
    });
  }
  if (options.coalesceUpdates) {
    throw new Error(
      `aggregate '${options.name}': coalesceUpdates applies to tumbling and hopping windows only`,
    );
  }
  return new SlidingWindowOperator(aggregation, { ...settings, windows });
}

/**
 * Runs a window operator in a task, as Kafka Streams' AbstractKStreamTimeWindowAggregateProcessor: registers
 * its store, feeds it keyed records with the task's watermark, forwards its results with their timestamps,
 * and counts records too late for every window (sending them to the late topic, if any).
 */
export function windowAggregateProcessor<V, R>(
  operator: WindowOperator<V, R>,
  context: ProcessorContext,
  forward: Forward,
  options: Pick<AggregateOptions, 'name' | 'lateTopic'>,
): Processor {
  context.registerStore(operator);
  const { name, lateTopic } = options;
  const lateSerde = json<unknown>();
  // Early results carry the event time of the record that caused them; final ones the window's last instant.
  let causeTime = 0;
  const emit = (result: WindowResult<R>) =>
    forward({
      key: result.key,
      value: result,
      timestamp: result.final ? result.window.end - 1 : causeTime,
    });
  return {
    process: (record) => {
      if (record.key === null) return;
      causeTime = record.timestamp;
      if (operator.process(record.key, record.value as V, record.timestamp, context.watermark(), emit))
        return;
      context.countLate(name);
      if (lateTopic) {
        context.send(
          lateTopic,
          null,
          Buffer.from(record.key),
          lateSerde.serialize(record.value),
          record.timestamp,
        );
      }
    },
    advance: (watermark) => operator.advance(watermark, emit),
    endOfBatch: () => operator.flushUpdates?.(emit),
  };
}
