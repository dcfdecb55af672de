import assert from 'node:assert/strict';
import { WatermarkTracker } from '../../src/streams/watermark.js';
import type { WindowOperator, WindowResult } from '../../src/streams/window-operator.js';

/** A record of the window operator tests: its key is `edge`, its event time `t`. */
export interface TimedEvent {
  edge: string;
  t: number;
}

/** Drives an operator the way the runtime does: watermark before the record decides lateness, then advance. */
export function windowDriver<E extends TimedEvent, R>(
  operator: WindowOperator<E, R>,
  maxOutOfOrdernessMs: number,
  restoredMaxEventTime?: number,
) {
  const watermarks = new WatermarkTracker(maxOutOfOrdernessMs);
  if (restoredMaxEventTime !== undefined) watermarks.observe(0, restoredMaxEventTime);
  const results: Array<WindowResult<R>> = [];
  /** Event times of records too late for every window they belonged to. */
  const late: number[] = [];
  const emit = (result: WindowResult<R>) => results.push(result);
  return {
    results,
    late,
    /** Results as [key, start, end, result, final] rows. */
    rows: () => results.map((r) => [r.key, r.window.start, r.window.end, r.result, r.final]),
    send(events: E[]) {
      for (const event of events) {
        if (!operator.process(event.edge, event, event.t, watermarks.current(), emit)) late.push(event.t);
        operator.advance(watermarks.observe(0, event.t), emit);
      }
    },
  };
}

/**
 * Runs `events` through one operator, and through another that is checkpointed (its drained changes kept as
 * a changelog) at each split, restored from that changelog into a third after the last split and run on from
 * there with the watermark it had (checkpointed beside the state): the restored run must emit exactly what
 * the uninterrupted run emitted after the same point.
 */
export function assertRestoreContinues<E extends TimedEvent, R>(
  operatorOf: () => WindowOperator<E, R>,
  events: E[],
  splits: number[],
  maxOutOfOrdernessMs: number,
  minResults: number,
): void {
  const whole = windowDriver(operatorOf(), maxOutOfOrdernessMs);
  whole.send(events);
  assert.ok(whole.results.length > minResults, 'the run emits results to compare');

  const first = operatorOf();
  const before = windowDriver(first, maxOutOfOrdernessMs);
  const changelog = new Map<string, unknown>();
  let sent = 0;
  for (const split of splits) {
    before.send(events.slice(sent, split));
    sent = split;
    for (const [key, value] of first.drainChanges()) changelog.set(key, JSON.parse(JSON.stringify(value)));
  }

  const restored = operatorOf();
  for (const [key, value] of changelog) restored.restore(key, value);
  assert.equal(restored.size, first.size);
  const restoredMaxEventTime = Math.max(...events.slice(0, sent).map((e) => e.t));
  const after = windowDriver(restored, maxOutOfOrdernessMs, restoredMaxEventTime);
  after.send(events.slice(sent));
  assert.deepEqual(after.results, whole.results.slice(before.results.length));
}
