import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertRestoreContinues, windowDriver } from '../../test/support/window-driver.js';
import { type Aggregation, combine, count, max, sum } from './aggregations.js';
import { SessionWindowOperator } from './session-windows.js';
import { StateLimitError } from './state-store.js';
import type { EmitMode, WindowResult } from './window-operator.js';
import { type SessionWindows, sessionWindows } from './windows.js';

interface Event {
  edge: string;
  rebuffers: number;
  t: number;
}

const at = (edge: string, t: number, rebuffers = 1): Event => ({ edge, rebuffers, t });

function operatorOf<A, R>(
  aggregation: Aggregation<Event, A, R>,
  windows: SessionWindows,
  emit: EmitMode,
  maxEntries = 1000,
) {
  return new SessionWindowOperator(aggregation, { name: 'sessions', windows, emit, maxEntries });
}

describe('sessionWindows', () => {
  it('rejects a gap that is not positive', () => {
    assert.throws(() => sessionWindows(0), RangeError);
    assert.equal(sessionWindows('5s').grace('2s').graceMs, 2_000);
  });
});

describe('SessionWindowOperator', () => {
  it('extends a session by records within the gap (inclusive) and closes it at last + 1 + gap', () => {
    const operator = operatorOf(count<Event>(), sessionWindows('5s'), 'final');
    const run = windowDriver(operator, 0);
    run.send([at('k', 1_000), at('j', 2_000), at('k', 3_000), at('k', 8_000)]);
    // j's session [2000, 2001) closes at watermark 2001 + 5000 = 7001; k's extends to 8000: exactly the gap.
    assert.deepEqual(run.rows(), [['j', 2_000, 2_001, 1, true]]);
    run.send([at('k', 13_000)]);
    assert.deepEqual(run.rows().slice(1), [], '13000 is within the gap of 8000: the session is still open');
    run.send([at('k', 18_001)]);
    // 18001 - 13000 > gap: a new session; [1000, 13001) closes at watermark 13001 + 5000 = 18001.
    assert.deepEqual(run.rows().slice(1), [['k', 1_000, 13_001, 4, true]]);
    assert.equal(operator.size, 1);
  });

  it('in update mode emits tombstones for the windows a record replaces, then the new result', () => {
    const run = windowDriver(operatorOf(count<Event>(), sessionWindows('5s'), 'update'), 20_000);
    run.send([at('k', 1_000), at('k', 3_000), at('k', 12_000), at('k', 2_000)]);
    assert.deepEqual(run.rows(), [
      ['k', 1_000, 1_001, 1, false],
      ['k', 1_000, 1_001, null, false],
      ['k', 1_000, 3_001, 2, false],
      ['k', 12_000, 12_001, 1, false],
      // inside [1000, 3000]: the window is unchanged, so no tombstone
      ['k', 1_000, 3_001, 3, false],
    ]);
    run.results.length = 0;
    // 7500 is within the gap of both 3000 and 12000: the two sessions merge.
    run.send([at('k', 7_500)]);
    assert.deepEqual(run.rows(), [
      ['k', 1_000, 3_001, null, false],
      ['k', 12_000, 12_001, null, false],
      ['k', 1_000, 12_001, 5, false],
    ]);
    run.results.length = 0;
    // An out-of-order record exactly the gap before the first extends the session backwards.
    run.send([at('k', -4_000)]);
    assert.deepEqual(run.rows(), [
      ['k', 1_000, 12_001, null, false],
      ['k', -4_000, 12_001, 6, false],
    ]);
  });

  it('merges sessions with aggregation.merge and emits one final result for the merged session', () => {
    const stats = combine({ count: count<Event>(), rebuffers: sum<Event>((e) => e.rebuffers) });
    const operator = operatorOf(stats, sessionWindows('5s'), 'final');
    const run = windowDriver(operator, 20_000);
    run.send([at('k', 1_000, 2), at('k', 3_000, 3), at('k', 12_000, 4), at('k', 7_500, 5), at('k', 500, 6)]);
    assert.equal(operator.size, 1);
    assert.deepEqual(run.rows(), []);
    run.send([at('other', 60_000)]);
    assert.deepEqual(run.rows(), [['k', 500, 12_001, { count: 5, rebuffers: 20 }, true]]);
  });

  it('writes one changelog entry per session and tombstones the entries a merge or a new start replaces', () => {
    const operator = operatorOf(count<Event>(), sessionWindows('5s'), 'update');
    const run = windowDriver(operator, 20_000);
    run.send([at('k', 1_000), at('k', 3_000), at('k', 12_000)]);
    assert.deepEqual(
      new Map(operator.drainChanges()),
      new Map([
        ['1000\u0000k', { last: 3_000, accumulator: 2 }],
        ['12000\u0000k', { last: 12_000, accumulator: 1 }],
      ]),
    );
    run.send([at('k', 7_500), at('k', 500)]);
    assert.deepEqual(
      new Map(operator.drainChanges()),
      new Map([
        ['1000\u0000k', null],
        ['12000\u0000k', null],
        ['500\u0000k', { last: 12_000, accumulator: 5 }],
      ]),
    );
    assert.deepEqual(operator.drainChanges(), [], 'drained changes are not repeated');
    run.send([at('other', 60_000)]);
    assert.deepEqual(operator.drainChanges(), [
      ['60000\u0000other', { last: 60_000, accumulator: 1 }],
      ['500\u0000k', null],
    ]);
  });

  it('accepts late records only into sessions still within grace and reports the others late', () => {
    const run = windowDriver(operatorOf(count<Event>(), sessionWindows('5s').grace('2s'), 'final'), 0);
    run.send([
      at('k', 1_000),
      // watermark 10000 closes k's session [1000, 1001) at 1001 + 5000 + 2000 = 8001
      at('j', 10_000),
      // alone in [4000, 4001): end + grace = 6001 <= 10000
      at('k', 4_000),
      // 7999 + 1 + 2000 = 10000: just too late; 8000 is just in time
      at('m', 7_999),
      at('m', 8_000),
      at('k', 8_500),
      at('k', 9_000),
      // more than grace behind, but it extends an open session still within grace
      at('k', 6_500),
      at('j', 20_000),
    ]);
    assert.deepEqual(run.late, [4_000, 7_999]);
    // Closes in order of last event time: m (8000), k (9000), j (10000).
    assert.deepEqual(run.rows(), [
      ['k', 1_000, 1_001, 1, true],
      ['m', 8_000, 8_001, 1, true],
      ['k', 6_500, 9_001, 3, true],
      ['j', 10_000, 10_001, 1, true],
    ]);
  });

  for (const mode of ['final', 'update'] as const) {
    it(`restores from drained changes and continues exactly like an uninterrupted operator (${mode})`, () => {
      const stats = combine({ count: count<Event>(), peak: max<Event>((e) => e.rebuffers) });
      const windows = sessionWindows('2s').grace('1s');
      // Per edge a record every 900 ms, a 2.5 s pause every 40 records, out of order by up to 1.5 s.
      const events = Array.from({ length: 500 }, (_, i) => ({
        edge: `e${i % 5}`,
        rebuffers: (i * 37) % 11,
        t: i * 180 + Math.floor(i / 40) * 2_500 + ((i * 7919) % 4) * 500,
      }));
      assertRestoreContinues(() => operatorOf(stats, windows, mode), events, [170, 260], 1_500, 50);
    });
  }

  it('replays an uncompacted changelog, overlapping sessions included, to the latest state', () => {
    const operator = operatorOf(count<Event>(), sessionWindows('5s'), 'final');
    operator.restore('1000\u0000k', { last: 3_000, accumulator: 2 });
    operator.restore('12000\u0000k', { last: 12_000, accumulator: 1 });
    operator.restore('500\u0000k', { last: 12_000, accumulator: 4 });
    operator.restore('1000\u0000k', null);
    operator.restore('12000\u0000k', null);
    assert.equal(operator.size, 1);
    const results: Array<WindowResult<number | null>> = [];
    operator.advance(100_000, (result) => results.push(result));
    assert.deepEqual(results, [{ key: 'k', window: { start: 500, end: 12_001 }, result: 4, final: true }]);
    assert.throws(() => operator.restore('no-separator', null), /malformed changelog key/);
    assert.throws(() => operator.restore('1\u0000k', { accumulator: 1 }), /malformed changelog value/);
  });

  it('emits sessions closing at the same watermark in key order, whatever order their records came in', () => {
    const run = windowDriver(operatorOf(count<Event>(), sessionWindows('5s'), 'final'), 0);
    run.send([at('b', 1_000), at('a', 1_000), at('c', 1_000), at('z', 60_000)]);
    assert.deepEqual(
      run.results.map((r) => r.key),
      ['a', 'b', 'c'],
    );
  });

  it('refuses to open a session past its entry limit with a clear error, and still extends open ones', () => {
    const operator = operatorOf(count<Event>(), sessionWindows('5s'), 'final', 2);
    const run = windowDriver(operator, 0);
    run.send([at('a', 1_000), at('b', 1_000)]);
    assert.throws(() => run.send([at('c', 1_000)]), StateLimitError);
    run.send([at('a', 2_000)]);
    assert.equal(operator.size, 2);
    operator.clear();
    assert.equal(operator.size, 0);
  });
});
