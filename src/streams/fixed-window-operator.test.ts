import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { windowDriver } from '../../test/support/window-driver.js';
import { type Aggregation, avg, combine, count, max, sum } from './aggregations.js';
import { FixedWindowOperator } from './fixed-window-operator.js';
import { StateLimitError } from './state-store.js';
import type { EmitMode } from './window-operator.js';
import { type FixedWindows, hopping, tumbling } from './windows.js';

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

function operatorOf<A, R>(
  aggregation: Aggregation<Event, A, R>,
  windows: FixedWindows,
  emit: EmitMode,
  maxEntries = 1000,
) {
  return new FixedWindowOperator(aggregation, { name: 'test', windows, emit, maxEntries });
}

const outOfOrder: Event[] = [
  { edge: 'e1', retransmits: 5, t: 1_000 },
  { edge: 'e2', retransmits: 1, t: 2_000 },
  { edge: 'e1', retransmits: 7, t: 9_500 },
  { edge: 'e1', retransmits: 3, t: 12_000 },
  { edge: 'e1', retransmits: 2, t: 8_000 },
  { edge: 'e1', retransmits: 4, t: 14_000 },
  { edge: 'e1', retransmits: 100, t: 9_999 },
  { edge: 'e1', retransmits: 1, t: 30_000 },
];

describe('FixedWindowOperator', () => {
  it('emits each tumbling window once when the watermark passes end + grace, out-of-order records included', () => {
    const run = windowDriver(operatorOf(stats, tumbling('10s').grace('2s'), 'final'), 1_000);
    run.send(outOfOrder);
    // Watermark after t=14000 is 13000 >= 10000 + 2000: window [0,10s) closes before the record at 9999.
    assert.deepEqual(
      run.results.map((r) => [r.key, r.window.start, r.window.end, r.result, r.final]),
      [
        ['e1', 0, 10_000, { count: 3, retransmits: 14, peak: 7, mean: 14 / 3 }, true],
        ['e2', 0, 10_000, { count: 1, retransmits: 1, peak: 1, mean: 1 }, true],
        ['e1', 10_000, 20_000, { count: 2, retransmits: 7, peak: 4, mean: 3.5 }, true],
      ],
    );
    assert.deepEqual(run.late, [9_999], 'the record for a closed window is reported late');
  });

  it('emits early updates on every change in update mode and frees closed windows', () => {
    const operator = operatorOf(count<Event>(), tumbling('10s'), 'update');
    const run = windowDriver(operator, 0);
    run.send([1_000, 2_000, 3_000, 11_000].map((t) => ({ edge: 'k', retransmits: 0, t })));
    assert.deepEqual(
      run.results.map((r) => [r.window.start, r.result, r.final]),
      [
        [0, 1, false],
        [0, 2, false],
        [0, 3, false],
        [10_000, 1, false],
      ],
    );
    assert.equal(operator.size, 1, 'window [0, 10s) was closed by the watermark at 11 s');
  });

  it('emits early updates and then the final result of each window in updateAndFinal mode', () => {
    const run = windowDriver(operatorOf(count<Event>(), tumbling('10s'), 'updateAndFinal'), 0);
    run.send([1_000, 2_000, 11_000].map((t) => ({ edge: 'k', retransmits: 0, t })));
    assert.deepEqual(
      run.results.map((r) => [r.window.start, r.result, r.final]),
      [
        [0, 1, false],
        [0, 2, false],
        [10_000, 1, false],
        [0, 2, true],
      ],
    );
  });

  it('coalesces early results to one per changed key and window per batch, and owes none past a close', () => {
    const operator = new FixedWindowOperator(count<Event>(), {
      name: 'test',
      windows: tumbling('10s'),
      emit: 'update',
      maxEntries: 100,
      coalesceUpdates: true,
    });
    const run = windowDriver(operator, 0);
    run.send(['a', 'a', 'b', 'a'].map((edge, i) => ({ edge, retransmits: 0, t: 1_000 + i })));
    assert.equal(run.results.length, 0, 'nothing before the batch ends');
    operator.flushUpdates((result) => run.results.push(result));
    assert.deepEqual(
      run.results.map((r) => [r.key, r.window.start, r.result, r.final]),
      [
        ['a', 0, 3, false],
        ['b', 0, 1, false],
      ],
    );
    run.results.length = 0;
    run.send([
      { edge: 'a', retransmits: 0, t: 2_000 },
      { edge: 'a', retransmits: 0, t: 12_000 },
    ]);
    assert.deepEqual(
      run.results.map((r) => [r.key, r.window.start, r.result]),
      [['a', 0, 4]],
      'the closing window sends its held-back update at once',
    );
    operator.flushUpdates((result) => run.results.push(result));
    assert.deepEqual(
      run.results.map((r) => [r.key, r.window.start, r.result]),
      [
        ['a', 0, 4],
        ['a', 10_000, 1],
      ],
    );
  });

  it('counts a record in every hopping window it falls in', () => {
    const run = windowDriver(operatorOf(count<Event>(), hopping('30s', '10s'), 'final'), 0);
    run.send([
      { edge: 'k', retransmits: 0, t: 25_000 },
      { edge: 'k', retransmits: 0, t: 100_000 },
    ]);
    assert.deepEqual(
      run.results.map((r) => [r.window.start, r.window.end, r.result]),
      [
        [0, 30_000, 1],
        [10_000, 40_000, 1],
        [20_000, 50_000, 1],
      ],
    );
  });

  it('accepts a late record into the hopping windows still open and reports it late only when none is', () => {
    const run = windowDriver(operatorOf(count<Event>(), hopping('20s', '10s'), 'final'), 0);
    run.send([
      { edge: 'k', retransmits: 0, t: 25_000 },
      // watermark 25 s: [0,20) is closed, [10,30) is open -> accepted into one window, not late
      { edge: 'k', retransmits: 0, t: 15_000 },
      // belongs to [-10,10) and [0,20), both closed -> late
      { edge: 'k', retransmits: 0, t: 5_000 },
      { edge: 'k', retransmits: 0, t: 60_000 },
    ]);
    assert.deepEqual(
      run.results.map((r) => [r.window.start, r.result]),
      [
        [10_000, 2],
        [20_000, 1],
      ],
    );
    assert.deepEqual(run.late, [5_000]);
  });

  it('restores from drained changes and continues exactly like an uninterrupted operator', () => {
    const events = Array.from({ length: 400 }, (_, i) => ({
      edge: `e${i % 7}`,
      retransmits: (i * 37) % 11,
      t: i * 250 + ((i * 7919) % 3) * 1_000,
    }));
    const whole = windowDriver(operatorOf(stats, tumbling('5s').grace('1s'), 'final'), 2_000);
    whole.send(events);

    const first = operatorOf(stats, tumbling('5s').grace('1s'), 'final');
    const before = windowDriver(first, 2_000);
    before.send(events.slice(0, 150));
    const changelog = new Map<string, unknown>();
    for (const [key, value] of first.drainChanges()) changelog.set(key, JSON.parse(JSON.stringify(value)));
    before.send(events.slice(150, 230));
    for (const [key, value] of first.drainChanges()) changelog.set(key, JSON.parse(JSON.stringify(value)));

    const restored = operatorOf(stats, tumbling('5s').grace('1s'), 'final');
    for (const [key, value] of changelog) restored.restore(key, value);
    assert.equal(restored.size, first.size);
    // The watermark is checkpointed beside the state: the restored run starts from the same one.
    const after = windowDriver(restored, 2_000, Math.max(...events.slice(0, 230).map((e) => e.t)));
    after.send(events.slice(230));
    assert.deepEqual(after.results, whole.results.slice(before.results.length));
  });

  it('hands out drained values as they were at the drain, even when records change them before they are taken', () => {
    const operator = operatorOf(count<Event>(), tumbling('10s'), 'final');
    const run = windowDriver(operator, 0);
    run.send(['a', 'b', 'c'].map((edge) => ({ edge, retransmits: 0, t: 1 })));
    const changes = operator.drainChangesGradually();
    assert.equal(changes.count, 3);
    const first = changes.take(1);
    run.send([
      { edge: 'b', retransmits: 0, t: 2 },
      { edge: 'c', retransmits: 0, t: 3 },
      { edge: 'c', retransmits: 0, t: 4 },
    ]);
    assert.deepEqual(
      [...first, ...changes.take(10)],
      [
        ['0\u0000a', '1'],
        ['0\u0000b', '1'],
        ['0\u0000c', '1'],
      ],
    );
    assert.deepEqual(changes.take(10), []);
    assert.deepEqual(operator.drainChanges(), [
      ['0\u0000b', 2],
      ['0\u0000c', 3],
    ]);
  });

  it('tombstones on close exactly the keys whose values reached the changelog, restored ones included', () => {
    const operator = operatorOf(count<Event>(), tumbling('10s'), 'final');
    operator.restore('0\u0000r', 4);
    const run = windowDriver(operator, 0);
    run.send(['a', 'b'].map((edge) => ({ edge, retransmits: 0, t: 1 })));
    assert.deepEqual(operator.drainChanges(), [
      ['0\u0000a', 1],
      ['0\u0000b', 1],
    ]);
    // Changed after the drain, never drained: its close needs no tombstone.
    run.send([{ edge: 'c', retransmits: 0, t: 2 }]);
    operator.restore('0\u0000gone', 1);
    operator.restore('0\u0000gone', null);
    run.send([{ edge: 'a', retransmits: 0, t: 10_001 }]);
    const changes = operator.drainChangesGradually();
    assert.equal(changes.count, 4);
    assert.deepEqual(changes.take(10), [
      ['0\u0000r', null],
      ['0\u0000a', null],
      ['0\u0000b', null],
      ['10000\u0000a', '1'],
    ]);
  });

  it('refuses to grow past its entry limit with a clear error', () => {
    const operator = operatorOf(count<Event>(), tumbling('10s'), 'final', 2);
    const run = windowDriver(operator, 0);
    run.send([
      { edge: 'a', retransmits: 0, t: 1 },
      { edge: 'b', retransmits: 0, t: 1 },
    ]);
    assert.throws(() => run.send([{ edge: 'c', retransmits: 0, t: 1 }]), StateLimitError);
  });
});
