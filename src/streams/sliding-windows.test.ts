import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertRestoreContinues, windowDriver } from '../../test/support/window-driver.js';
import { type Aggregation, combine, count, max, sum } from './aggregations.js';
import { SlidingWindowOperator } from './sliding-windows.js';
import { StateLimitError } from './state-store.js';
import type { EmitMode, WindowResult } from './window-operator.js';
import { type SlidingWindows, slidingWindows } from './windows.js';

interface Event {
  edge: string;
  retransmits: number;
  t: number;
}

const at = (edge: string, t: number, retransmits = 1): Event => ({ edge, retransmits, t });
const retransmits = sum<Event>((e) => e.retransmits);

function operatorOf<A, R>(
  aggregation: Aggregation<Event, A, R>,
  windows: SlidingWindows,
  emit: EmitMode,
  maxEntries = 10_000,
) {
  return new SlidingWindowOperator(aggregation, { name: 'sliding', windows, emit, maxEntries });
}

// The example of Kafka's SlidingWindows javadoc: time difference 5000 ms, values 1, 2, 3 at 8000, 9200, 12400.
// Kafka's windows [3000;8000] [4200;9200] [7400;12400] [8001;13001] [9201;14201], inclusive, are here
// [start, end + 1).
const kafkaExample = [at('A', 8_000, 1), at('A', 9_200, 2), at('A', 12_400, 3)];
const kafkaExampleWindows = [
  ['A', 3_000, 8_001, 1, true],
  ['A', 4_200, 9_201, 3, true],
  ['A', 7_400, 12_401, 6, true],
  ['A', 8_001, 13_002, 5, true],
  ['A', 9_201, 14_202, 3, true],
];

describe('slidingWindows', () => {
  it('rejects a size that is not a positive whole number of ms, and fractional event times', () => {
    assert.throws(() => slidingWindows(0), RangeError);
    assert.throws(() => slidingWindows(1.5), RangeError, 'windows start 1 ms after a record: whole ms only');
    const operator = operatorOf(count<Event>(), slidingWindows('1s'), 'final');
    assert.throws(() => operator.process('A', at('A', 1.5), 1.5, 0, () => {}), RangeError);
    assert.equal(slidingWindows('10s').grace('1s').graceMs, 1_000);
  });
});

describe('SlidingWindowOperator', () => {
  it("produces the windows of Kafka's example in final mode, each once when the watermark passes its end", () => {
    const operator = operatorOf(retransmits, slidingWindows('5s'), 'final');
    const run = windowDriver(operator, 0);
    run.send(kafkaExample);
    // Watermark 12400 has closed the windows ending by 12400: [3000, 8001) at 8001 and [4200, 9201) at 9201.
    assert.deepEqual(run.rows(), kafkaExampleWindows.slice(0, 2));
    run.send([at('B', 30_000)]);
    assert.deepEqual(run.rows(), kafkaExampleWindows);
    assert.equal(operator.size, 2, "only B's record and window are left");
  });

  it('in update mode emits every window a record creates or changes, in start order', () => {
    const run = windowDriver(operatorOf(retransmits, slidingWindows('5s'), 'update'), 0);
    run.send(kafkaExample);
    assert.deepEqual(run.rows(), [
      ['A', 3_000, 8_001, 1, false],
      // 9200 opens its own window and the one starting right after 8000
      ['A', 4_200, 9_201, 3, false],
      ['A', 8_001, 13_002, 2, false],
      // 12400 opens [7400, 12400] and [9201, 14201] and updates [8001, 13001]
      ['A', 7_400, 12_401, 6, false],
      ['A', 8_001, 13_002, 5, false],
      ['A', 9_201, 14_202, 3, false],
    ]);
  });

  it('builds the same windows from out-of-order records: the late record opens the windows around it', () => {
    const outOfOrder = [kafkaExample[0]!, kafkaExample[2]!, kafkaExample[1]!];
    const updates = windowDriver(operatorOf(retransmits, slidingWindows('5s'), 'update'), 5_000);
    updates.send(outOfOrder);
    assert.deepEqual(updates.rows(), [
      ['A', 3_000, 8_001, 1, false],
      ['A', 7_400, 12_401, 4, false],
      ['A', 8_001, 13_002, 3, false],
      // 9200 arrives last: it creates its window and the one after it, and updates the two it falls in
      ['A', 4_200, 9_201, 3, false],
      ['A', 7_400, 12_401, 6, false],
      ['A', 8_001, 13_002, 5, false],
      ['A', 9_201, 14_202, 3, false],
    ]);
    const finals = windowDriver(operatorOf(retransmits, slidingWindows('5s'), 'final'), 5_000);
    finals.send([...outOfOrder, at('B', 100_000)]);
    assert.deepEqual(finals.rows(), kafkaExampleWindows);
  });

  it('answers "retransmits of an edge in the last 10 seconds" at every event, both ends inclusive', () => {
    const run = windowDriver(operatorOf(retransmits, slidingWindows('10s'), 'update'), 0);
    const events = [
      at('edge-17', 0, 100),
      at('edge-17', 4_000, 200),
      at('edge-17', 10_000, 50),
      at('edge-17', 10_001, 10),
      at('edge-17', 15_000, 300),
    ];
    const atEachEvent: Array<[number, number]> = [];
    for (const event of events) {
      run.results.length = 0;
      run.send([event]);
      const current = run.results.find((r) => r.window.end === event.t + 1)!;
      atEachEvent.push([event.t, current.result]);
    }
    // [0, 10000] still holds the record at 0; [1, 10001] is both 10001's window and the one after 0.
    assert.deepEqual(atEachEvent, [
      [0, 100],
      [4_000, 300],
      [10_000, 350],
      [10_001, 260],
      [15_000, 360],
    ]);
  });

  it('accepts a record while a window that can hold it is open within grace, and reports it late after', () => {
    const run = windowDriver(operatorOf(count<Event>(), slidingWindows('5s').grace('1s'), 'update'), 0);
    run.send([at('A', 10_000)]);
    run.results.length = 0;
    // Watermark 10000. [3999, 8999] closes at 8999 + 1 + 1000 = 10000: late. [4000, 9000] is still open,
    // but no window holding 4000 exists yet (its own, [-1000, 4000], is closed), so nothing is emitted.
    run.send([at('A', 3_999), at('A', 4_000)]);
    assert.deepEqual(run.late, [3_999]);
    assert.deepEqual(run.rows(), []);
    // 9000 opens [4000, 9000], holding 4000, the window after 4000 and its own right window, and updates
    // [5000, 10000].
    run.send([at('A', 9_000)]);
    assert.deepEqual(run.rows(), [
      ['A', 4_000, 9_001, 2, false],
      ['A', 4_001, 9_002, 1, false],
      ['A', 5_000, 10_001, 2, false],
      ['A', 9_001, 14_002, 1, false],
    ]);
  });

  it('leaves windows closed at the watermark unchanged when a record arrives before advance()', () => {
    const operator = operatorOf(count<Event>(), slidingWindows('5s'), 'final');
    const results: Array<WindowResult<number>> = [];
    const emit = (result: WindowResult<number>) => results.push(result);
    operator.process('A', at('A', 1_000), 1_000, 0, emit);
    operator.process('A', at('A', 5_000), 5_000, 0, emit);
    // At watermark 5500 [0, 5000] is closed (0 + 5001 <= 5500) though not yet advanced: 3000 skips it,
    // updates [1001, 6001] and opens [3001, 8001] for the record after it; its own [-2000, 3000] is closed.
    assert.equal(operator.process('A', at('A', 3_000), 3_000, 5_500, emit), true);
    operator.advance(100_000, emit);
    assert.deepEqual(
      results.map((r) => [r.window.start, r.result]),
      [
        [-4_000, 1],
        [0, 2],
        [1_001, 2],
        [3_001, 1],
      ],
    );
  });

  it('copies accumulators when it builds a window, so merge returning its argument cannot corrupt state', () => {
    // Collects event times; merge hands back its second argument when the first is empty, as min() does.
    const times: Aggregation<Event, number[], number[]> = {
      init: () => [],
      add: (acc, event) => {
        acc.push(event.t);
        return acc;
      },
      result: (acc) => [...acc].sort((a, b) => a - b),
      merge: (a, b) => (a.length === 0 ? b : [...a, ...b]),
    };
    const run = windowDriver(operatorOf(times, slidingWindows('5s'), 'final'), 10_000);
    // The second record at 2000 adds to the record accumulator of 2000, which [1001, 6001] was built from.
    run.send([
      at('A', 1_000),
      at('A', 2_000),
      at('A', 3_000),
      at('A', 2_000),
      at('A', 4_000),
      at('B', 100_000),
    ]);
    assert.deepEqual(
      run.results.filter((r) => r.key === 'A').map((r) => [r.window.start, r.result]),
      [
        [-4_000, [1_000]],
        [-3_000, [1_000, 2_000, 2_000]],
        [-2_000, [1_000, 2_000, 2_000, 3_000]],
        [-1_000, [1_000, 2_000, 2_000, 3_000, 4_000]],
        [1_001, [2_000, 2_000, 3_000, 4_000]],
        [2_001, [3_000, 4_000]],
        [3_001, [4_000]],
      ],
    );
  });

  it('writes windows and per-time record accumulators to the changelog and tombstones them when freed', () => {
    const operator = operatorOf(count<Event>(), slidingWindows('5s'), 'final');
    const run = windowDriver(operator, 0);
    run.send(kafkaExample.slice(0, 2));
    assert.deepEqual(
      new Map(operator.drainChanges()),
      new Map<string, unknown>([
        ['r\u00008000\u0000A', 1],
        ['w\u00003000\u0000A', null],
        ['r\u00009200\u0000A', 1],
        ['w\u00004200\u0000A', 2],
        ['w\u00008001\u0000A', 1],
      ]),
    );
    assert.equal(operator.size, 4);
    run.send([at('B', 30_000)]);
    assert.deepEqual(
      new Map(operator.drainChanges()),
      new Map<string, unknown>([
        ['r\u000030000\u0000B', 1],
        ['w\u000025000\u0000B', 1],
        ['w\u00004200\u0000A', null],
        ['w\u00008001\u0000A', null],
        ['r\u00008000\u0000A', null],
        ['r\u00009200\u0000A', null],
      ]),
    );
  });

  for (const mode of ['final', 'update'] as const) {
    it(`restores from drained changes and continues exactly like an uninterrupted operator (${mode})`, () => {
      const stats = combine({ count: count<Event>(), retransmits, peak: max<Event>((e) => e.retransmits) });
      const windows = slidingWindows('3s').grace('500ms');
      const events = Array.from({ length: 400 }, (_, i) => ({
        edge: `e${i % 4}`,
        retransmits: (i * 37) % 11,
        t: i * 150 + ((i * 7919) % 5) * 400,
      }));
      assertRestoreContinues(() => operatorOf(stats, windows, mode), events, [150, 230], 1_000, 200);
    });
  }

  it('emits windows closing at the same watermark in key order, whatever order their records came in', () => {
    const run = windowDriver(operatorOf(count<Event>(), slidingWindows('5s'), 'final'), 0);
    run.send([at('b', 1_000), at('a', 1_000), at('c', 1_000), at('z', 60_000)]);
    assert.deepEqual(
      run.results.map((r) => r.key),
      ['a', 'b', 'c'],
    );
  });

  it('refuses to grow past its entry limit before changing anything', () => {
    const operator = operatorOf(count<Event>(), slidingWindows('5s'), 'update', 3);
    const run = windowDriver(operator, 0);
    run.send([at('A', 8_000)]);
    assert.equal(operator.size, 2, 'one record accumulator and one window');
    // 9200 needs a record accumulator and two windows.
    assert.throws(() => run.send([at('A', 9_200)]), StateLimitError);
    assert.equal(operator.size, 2);
    run.results.length = 0;
    run.send([at('A', 8_000)]);
    assert.deepEqual(run.rows(), [['A', 3_000, 8_001, 2, false]], 'a record at a known time adds no entry');
    assert.throws(() => operator.restore('x\u00001\u0000A', 1), /malformed changelog key/);
  });
});
