import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertRestoreContinues, windowDriver } from '../../test/support/window-driver.js';
import { type Aggregation, avg, combine, count, max, min, reduce, sum } from './aggregations.js';
import { FixedWindowOperator } from './fixed-window-operator.js';
import { distinctCount, quantiles } from './sketches.js';
import type { WindowResult } from './window-operator.js';
import { type FixedWindows, hopping } from './windows.js';

interface Event {
  edge: string;
  session: string;
  /** Whole numbers: sums of them are exact in any order, so pane sums equal per-window sums bit for bit. */
  bytes: number;
  t: number;
}

// Every kind of accumulator: numbers, objects merged in place, sketches merged into new arrays, reduce.
const stats = combine({
  count: count<Event>(),
  bytes: sum<Event>((e) => e.bytes),
  low: min<Event>((e) => e.bytes),
  high: max<Event>((e) => e.bytes),
  mean: avg<Event>((e) => e.bytes),
  p: quantiles<Event>((e) => e.bytes, [0.5, 0.99]),
  sessions: distinctCount<Event>((e) => e.session),
  largest: reduce<Event>((a, b) => (b.bytes > a.bytes ? b : a)),
});
type Stats = typeof stats extends Aggregation<Event, infer A, infer R> ? [A, R] : never;

/**
 * A deterministic pseudo-random stream: event times jittered back by up to `jitterMs`, one record in 50
 * by up to 90 s more, late for some or all of the windows it belongs to.
 */
function randomEvents(length: number, seed: number, jitterMs: number): Event[] {
  let state = seed;
  const next = (bound: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state % bound;
  };
  return Array.from({ length }, (_, i) => ({
    edge: `e${next(5)}`,
    session: `s${next(40)}`,
    bytes: next(5_000),
    t: 1_000_000 + i * 97 - next(jitterMs) - (next(50) === 0 ? next(90_000) : 0),
  }));
}

/**
 * The straightforward reference: each record folded into every window it belongs to that is open at the
 * watermark before it, windows closed oldest first when the watermark after it passes their end plus grace.
 */
function referenceRun(windows: FixedWindows, events: Event[], maxOutOfOrdernessMs: number) {
  const aggregation = stats as Aggregation<Event, Stats[0], Stats[1]>;
  const open = new Map<number, Map<string, Stats[0]>>();
  const results: Array<WindowResult<Stats[1]>> = [];
  const late: number[] = [];
  let maxEventTime = Number.NEGATIVE_INFINITY;
  for (const event of events) {
    const before = maxEventTime - maxOutOfOrdernessMs;
    let accepted = false;
    for (const window of windows.windowsFor(event.t)) {
      if (before >= window.end + windows.graceMs) continue;
      accepted = true;
      let accumulators = open.get(window.start);
      if (!accumulators) {
        accumulators = new Map();
        open.set(window.start, accumulators);
      }
      const accumulator = accumulators.get(event.edge) ?? aggregation.init();
      accumulators.set(event.edge, aggregation.add(accumulator, event));
    }
    if (!accepted) late.push(event.t);
    maxEventTime = Math.max(maxEventTime, event.t);
    const after = maxEventTime - maxOutOfOrdernessMs;
    for (const start of [...open.keys()].sort((a, b) => a - b)) {
      const window = { start, end: start + windows.sizeMs };
      if (after < window.end + windows.graceMs) break;
      for (const [key, accumulator] of open.get(start)!)
        results.push({ key, window, result: aggregation.result(accumulator), final: true });
      open.delete(start);
    }
  }
  return { results, late };
}

function paneOperator(windows: FixedWindows) {
  return new FixedWindowOperator(stats, { name: 'panes', windows, emit: 'final', maxEntries: 100_000 });
}

/** Keys of one window may come in another order (first pane rather than first record); windows may not. */
function byWindowThenKey(results: Array<WindowResult<unknown>>) {
  return results.toSorted((a, b) => a.window.start - b.window.start || a.key.localeCompare(b.key));
}

describe('hopping windows over panes', () => {
  const cases: Array<[string, FixedWindows]> = [
    ['1m by 10s (pane 10s)', hopping('1m', '10s')],
    ['1m by 10s with grace', hopping('1m', '10s').grace('4s')],
    ['25s by 10s (pane 5s, size not a multiple of the advance)', hopping('25s', '10s').grace('3s')],
  ];
  for (const [name, windows] of cases) {
    it(`emits what per-window aggregation emits for a random out-of-order stream: ${name}`, () => {
      for (const seed of [1, 7, 42]) {
        const events = randomEvents(3_000, seed, 9_000);
        const expected = referenceRun(windows, events, 2_000);
        const run = windowDriver(paneOperator(windows), 2_000);
        run.send(events);
        assert.ok(expected.late.length > 0 && expected.results.length > 100, 'the stream exercises lateness');
        assert.deepEqual(run.late, expected.late);
        assert.deepEqual(
          run.results.map((r) => r.window.start),
          expected.results.map((r) => r.window.start),
          'windows close in the same order',
        );
        assert.deepEqual(byWindowThenKey(run.results), byWindowThenKey(expected.results));
      }
    });
  }

  it('restores panes and the closed-through watermark, emitting every window exactly once', () => {
    const events = randomEvents(4_000, 3, 9_000);
    assertRestoreContinues(
      () => paneOperator(hopping('1m', '10s').grace('2s')),
      events,
      [700, 1_900, 3_100],
      2_000,
      100,
    );
  });

  it('continues a changelog of whole hopping windows written before panes, losing and repeating nothing', () => {
    const windows = hopping('1m', '10s').grace('2s');
    const events = randomEvents(4_000, 11, 9_000);
    const expected = referenceRun(windows, events, 2_000);
    // Before panes, these windows kept one entry per window, as the early-results mode still does.
    const wholeWindows = new FixedWindowOperator(stats, {
      name: 'panes',
      windows,
      emit: 'updateAndFinal',
      maxEntries: 100_000,
    });
    const before = windowDriver(wholeWindows, 2_000);
    const split = 2_200;
    before.send(events.slice(0, split));
    const changelog = wholeWindows
      .drainChanges()
      .map(([key, value]) => [key, JSON.parse(JSON.stringify(value))]);
    assert.ok(changelog.length > 0, 'whole windows are open at the upgrade');
    const upgraded = paneOperator(windows);
    for (const [key, value] of changelog) upgraded.restore(key, value);
    const after = windowDriver(upgraded, 2_000, Math.max(...events.slice(0, split).map((e) => e.t)));
    after.send(events.slice(split));
    const finals = [...before.results.filter((r) => r.final), ...after.results];
    assert.deepEqual(byWindowThenKey(finals), byWindowThenKey(expected.results));
    const tombstones = upgraded.drainChanges().filter(([key, value]) => value === null && key[0] !== 'p');
    assert.equal(tombstones.length, changelog.length, 'every whole-window entry is deleted once emitted');
  });

  const recordAt = (t: number): Event => ({ edge: 'k', session: 's', bytes: 1, t });

  it('emits windows the watermark closed before adding a record whose pane they share', () => {
    const operator = paneOperator(hopping('20s', '10s'));
    const results: Array<[number, number]> = [];
    const emit = (r: WindowResult<Stats[1]>) => results.push([r.window.start, r.result.count]);
    operator.process('k', recordAt(15_000), 15_000, 0, emit);
    // No advance between: [10 s, 30 s) is closed at 30 s and must not count the record at 25 s.
    assert.equal(operator.process('k', recordAt(25_000), 25_000, 30_000, emit), true);
    operator.advance(40_000, emit);
    assert.deepEqual(results, [
      [0, 1],
      [10_000, 1],
      [20_000, 1],
    ]);
  });

  it('folds a record into one pane and frees a pane only when no open window needs it', () => {
    const operator = paneOperator(hopping('30s', '10s'));
    const run = windowDriver(operator, 0);
    run.send([recordAt(25_000)]);
    assert.equal(operator.size, 1);
    run.send([recordAt(45_000)]);
    // [0,30) and [10,40) closed; [20,50) still needs the pane at 20 s.
    assert.deepEqual(
      run.results.map((r) => [r.window.start, r.result.count]),
      [
        [0, 1],
        [10_000, 1],
      ],
    );
    assert.equal(operator.size, 2);
    run.send([recordAt(50_000)]);
    assert.deepEqual(run.results.at(-1)?.result.count, 2);
    assert.equal(operator.size, 2, 'the pane at 20 s is freed with its last window');
  });
});
