import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { avg, combine, count, max, sum } from './aggregations.js';
import { type LateRecord, WindowedAggregator, type WindowResult } from './windowed-aggregator.js';
import { hopping, tumbling } from './windows.js';

interface Event {
  edge: string;
  retransmits: number;
  t: number;
}

const stats = combine({
  count: count<Event>(),
  retransmits: sum<Event>((e) => e.retransmits),
  peak: max<Event>((e) => e.retransmits),
  mean: avg<Event>((e) => e.retransmits),
});

describe('WindowedAggregator', () => {
  it('emits each tumbling window once, when the watermark passes its end plus grace, including out-of-order records', () => {
    const results: Array<WindowResult<string, ReturnType<typeof stats.result>>> = [];
    const late: Array<LateRecord<string, Event>> = [];
    const aggregator = new WindowedAggregator<
      string,
      Event,
      Record<string, unknown>,
      ReturnType<typeof stats.result>
    >(stats, {
      windows: tumbling('10s').grace('2s'),
      maxOutOfOrdernessMs: 1_000,
      emit: 'final',
      onResult: (r) => results.push(r),
      onLate: (r) => late.push(r),
    });
    const events: Event[] = [
      { edge: 'e1', retransmits: 5, t: 1_000 },
      { edge: 'e2', retransmits: 1, t: 2_000 },
      { edge: 'e1', retransmits: 7, t: 9_500 },
      { edge: 'e1', retransmits: 3, t: 12_000 },
      { edge: 'e1', retransmits: 2, t: 8_000 },
      { edge: 'e1', retransmits: 4, t: 14_000 },
      { edge: 'e1', retransmits: 100, t: 9_999 },
      { edge: 'e1', retransmits: 1, t: 30_000 },
    ];
    for (const e of events) aggregator.process(0, e.edge, e, e.t);
    assert.deepEqual(
      results.map((r) => [r.key, r.window.start, r.result]),
      [
        ['e1', 0, { count: 3, retransmits: 14, peak: 7, mean: 14 / 3 }],
        ['e2', 0, { count: 1, retransmits: 1, peak: 1, mean: 1 }],
        ['e1', 10_000, { count: 2, retransmits: 7, peak: 4, mean: 3.5 }],
      ],
    );
    assert.equal(late.length, 1, 'the record for a closed window is reported late, not dropped silently');
    assert.equal(late[0]!.eventTime, 9_999);
    assert.equal(aggregator.lateRecords, 1);
    assert.ok(results.every((r) => r.final));
  });

  it('emits early updates on every change in update mode', () => {
    const updates: number[] = [];
    const aggregator = new WindowedAggregator(count<number>(), {
      windows: tumbling('10s'),
      maxOutOfOrdernessMs: 0,
      emit: 'update',
      onResult: (r) => updates.push(r.result),
    });
    for (const t of [1_000, 2_000, 3_000]) aggregator.process(0, 'k', t, t);
    assert.deepEqual(updates, [1, 2, 3]);
  });

  it('counts a record in every hopping window it falls in', () => {
    const results: Array<[number, number]> = [];
    const aggregator = new WindowedAggregator(count<number>(), {
      windows: hopping('30s', '10s'),
      maxOutOfOrdernessMs: 0,
      emit: 'final',
      onResult: (r) => results.push([r.window.start, r.result]),
    });
    aggregator.process(0, 'k', 1, 25_000);
    aggregator.process(0, 'k', 1, 100_000);
    assert.deepEqual(results, [
      [0, 1],
      [10_000, 1],
      [20_000, 1],
    ]);
  });

  it('waits for the slowest partition before closing windows', () => {
    const results: number[] = [];
    const aggregator = new WindowedAggregator(count<number>(), {
      windows: tumbling('10s'),
      maxOutOfOrdernessMs: 0,
      emit: 'final',
      onResult: (r) => results.push(r.window.start),
    });
    aggregator.process(0, 'k', 1, 5_000);
    aggregator.process(1, 'k', 1, 6_000);
    aggregator.process(0, 'k', 1, 50_000);
    assert.deepEqual(results, [], 'partition 1 is still at 6 s');
    aggregator.process(1, 'k', 1, 50_000);
    assert.deepEqual(results, [0]);
  });

  it('refuses to grow past its open-window limit', () => {
    const aggregator = new WindowedAggregator(count<number>(), {
      windows: tumbling('10s'),
      maxOutOfOrdernessMs: 0,
      emit: 'final',
      onResult: () => undefined,
      maxOpenWindows: 2,
    });
    aggregator.process(0, 'a', 1, 1);
    aggregator.process(0, 'b', 1, 1);
    assert.throws(() => aggregator.process(0, 'c', 1, 1), /more than 2 open windows/);
  });
});
