import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Aggregation } from './aggregations.js';
import { type DistinctCountState, distinctCount, type QuantilesState, quantiles } from './sketches.js';

/** Deterministic uniform numbers in [0, 1) (xorshift32), so failures reproduce. */
function randomGenerator(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

function addAll<V, A, R>(
  aggregation: Aggregation<V, A, R>,
  values: Iterable<V>,
  start = aggregation.init(),
): A {
  let accumulator = start;
  for (const value of values) accumulator = aggregation.add(accumulator, value);
  return accumulator;
}

function* range(from: number, to: number): Generator<number> {
  for (let i = from; i < to; i++) yield i;
}

function viaJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

describe('distinctCount', () => {
  const byId = distinctCount<string | number>((id) => id);
  const standardError = 1.04 / Math.sqrt(4096);

  it('estimates within 3 standard errors from 10 to 1,000,000 distinct values', () => {
    for (const distinct of [10, 1000, 100_000, 1_000_000]) {
      const estimate = byId.result(addAll(byId, range(0, distinct)));
      const error = Math.abs(estimate - distinct) / distinct;
      assert.ok(error <= 3 * standardError, `${distinct} distinct values estimated as ${estimate}`);
    }
  });

  it('is exact while the set is small', () => {
    for (const distinct of [0, 1, 10, 500]) {
      assert.equal(byId.result(addAll(byId, range(0, distinct))), distinct);
    }
  });

  it('keeps its accuracy at other precisions', () => {
    for (const precision of [4, 8, 16]) {
      const aggregation = distinctCount<string>((id) => id, { precision });
      const values = Array.from(range(0, 50_000), (i) => `user-${i}@edge-17`);
      const estimate = aggregation.result(addAll(aggregation, values));
      const error = Math.abs(estimate - 50_000) / 50_000;
      assert.ok(error <= 3 * (1.04 / Math.sqrt(2 ** precision)), `precision ${precision}: ${estimate}`);
    }
  });

  it('ignores duplicates, and counts a number and its string form as one value', () => {
    for (const distinct of [10, 5000]) {
      const once = addAll(byId, range(0, distinct));
      const expected = byId.result(once);
      let repeated = addAll(byId, range(0, distinct));
      for (let pass = 0; pass < 3; pass++) repeated = addAll(byId, range(0, distinct), repeated);
      repeated = addAll(byId, Array.from(range(0, distinct), String), repeated);
      assert.equal(byId.result(repeated), expected);
    }
  });

  it('reaches the same registers whatever the order of the values', () => {
    // Values counted while sparse in one order are counted dense in the other, so this checks that both
    // forms derive the same register ranks from a hash.
    for (const [precision, distinct] of [
      [12, 3000],
      [16, 30_000],
    ] as const) {
      const aggregation = distinctCount<string>((id) => id, { precision });
      const values = Array.from(range(0, distinct), (i) => `session-${i}`);
      const forward = addAll(aggregation, values);
      const backward = addAll(aggregation, [...values].reverse());
      assert.deepEqual(
        aggregation.merge(aggregation.init(), forward),
        aggregation.merge(aggregation.init(), backward),
      );
    }
  });

  it('merges two halves into what the whole would have counted', () => {
    for (const distinct of [300, 800, 200_000]) {
      const whole = byId.result(addAll(byId, range(0, distinct)));
      const firstHalf = addAll(byId, range(0, distinct / 2));
      const secondHalf = addAll(byId, range(distinct / 2, distinct));
      assert.equal(byId.result(byId.merge(firstHalf, secondHalf)), whole, `${distinct} distinct values`);
    }
    const small = addAll(byId, range(0, 10));
    const large = addAll(byId, range(5, 100_000));
    assert.equal(byId.result(byId.merge(small, large)), byId.result(addAll(byId, range(0, 100_000))));
  });

  it('merges small sparse sets into a dense one as if their values had been added to it', () => {
    // Pre-aggregated partials: a window's dense state takes sparse partials one after another, in place.
    const dense = addAll(byId, range(0, 5000));
    let merged = viaJson(dense);
    for (let from = 5000; from < 20_000; from += 7) {
      const partial = addAll(byId, range(from, Math.min(from + 7, 20_000)));
      assert.ok('sparse' in partial);
      merged = byId.merge(merged, partial);
    }
    const whole = addAll(byId, range(0, 20_000));
    assert.equal(byId.result(merged), byId.result(whole));
    assert.deepEqual(byId.merge(byId.init(), merged), byId.merge(byId.init(), whole));
  });

  it('survives a JSON round trip and goes on counting identically', () => {
    for (const distinct of [10, 600, 1000, 70_000]) {
      const original = addAll(byId, range(0, distinct));
      const restored = viaJson(original);
      assert.deepEqual(restored, original);
      assert.equal(byId.result(restored), byId.result(original));
      const more = Array.from(range(distinct / 2, distinct * 2));
      const continuedOriginal = addAll(byId, more, original);
      const continuedRestored = addAll(byId, more, restored);
      assert.deepEqual(continuedRestored, continuedOriginal);
      assert.equal(byId.result(continuedRestored), byId.result(addAll(byId, range(0, distinct * 2))));
    }
  });

  it('keeps dense registers as one character each', () => {
    const dense = addAll(byId, range(0, 10_000)) as Extract<DistinctCountState, { registers: string }>;
    assert.equal(dense.registers.length, 4096);
    assert.match(dense.registers, /^[A-Za-z0-9_-]+$/);
    assert.ok(JSON.stringify(dense).length < 4096 + 1000);
  });

  it('rejects a bad precision, state of another precision and corrupt registers', () => {
    for (const precision of [3, 17, 12.5]) {
      assert.throws(() => distinctCount<string>((id) => id, { precision }), /precision .* from 4 to 16/);
    }
    const other = distinctCount<number>((id) => id, { precision: 10 });
    assert.throws(() => byId.add(other.init(), 1), /precision 10 but the aggregation uses 12/);
    const dense = addAll(byId, range(0, 10_000)) as Extract<DistinctCountState, { registers: string }>;
    const corrupt = { ...dense, registers: `*${dense.registers.slice(1)}` };
    assert.throws(() => byId.merge(byId.init(), corrupt), /corrupt accumulator/);
    const unreadable = { ...dense, registers: '\u00ff'.repeat(4096) };
    assert.throws(() => addAll(byId, range(0, 100), unreadable), /corrupt accumulator/);
  });
});

describe('quantiles', () => {
  const requested = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];
  const names = ['p0', 'p1', 'p10', 'p25', 'p50', 'p75', 'p90', 'p95', 'p99', 'p99.9', 'p100'];
  const sketch = quantiles<number>((x) => x, requested);

  /** The lower quantile: the value at rank floor(q * (n - 1)) of the sorted data. */
  function exactQuantiles(values: number[]): number[] {
    const sorted = [...values].sort((a, b) => a - b);
    return requested.map((q) => sorted[Math.floor(q * (sorted.length - 1))]!);
  }

  function assertWithinAccuracy(values: number[], state: QuantilesState, relativeAccuracy = 0.01): void {
    const estimates = sketch.result(state);
    assert.deepEqual(Object.keys(estimates), names);
    exactQuantiles(values).forEach((exact, position) => {
      const estimate = estimates[names[position]!]!;
      // The bound is exact in real arithmetic; allow for the rounding of log and exp.
      const allowed = relativeAccuracy * Math.abs(exact) * (1 + 1e-9);
      assert.ok(Math.abs(estimate - exact) <= allowed, `${names[position]}: ${estimate} for ${exact}`);
    });
  }

  const random = randomGenerator(7);
  const uniform = Array.from({ length: 100_000 }, () => random() * 1000);
  // Long-tailed like segment latencies: exponential body, Pareto tail up to tens of seconds.
  const latencies = Array.from({ length: 100_000 }, () =>
    random() < 0.98 ? -Math.log(1 - random()) * 40 : 200 / (1 - random()) ** 0.8,
  );
  const signed = Array.from({ length: 50_000 }, () => {
    const draw = random();
    if (draw < 0.1) return 0;
    if (draw < 0.12) return -0;
    return (random() - 0.4) * 10 ** (random() * 8 - 3);
  });

  it('estimates uniform, long-tailed and signed data within the relative accuracy', () => {
    for (const values of [uniform, latencies, signed]) assertWithinAccuracy(values, addAll(sketch, values));
  });

  it('estimates a handful of values within the relative accuracy, and the extremes exactly', () => {
    for (const values of [
      [42],
      [3, 1],
      [5, 5, 5],
      [0.4, 12, 7, 900, 33, 2, 2, 18, 65, 0.001],
      [1.0001, 50, 3],
    ]) {
      assertWithinAccuracy(values, addAll(sketch, values));
      const estimates = sketch.result(addAll(sketch, values));
      assert.equal(estimates.p0, Math.min(...values));
      assert.equal(estimates.p100, Math.max(...values));
    }
  });

  it('names quantiles pNN and yields nulls before any value', () => {
    const latency = quantiles<{ ms: number }>((event) => event.ms, [0.5, 0.95, 0.99, 0.999]);
    assert.deepEqual(latency.result(latency.init()), { p50: null, p95: null, p99: null, 'p99.9': null });
    const estimates = latency.result(addAll(latency, [{ ms: 12 }]));
    assert.deepEqual(estimates, { p50: 12, p95: 12, p99: 12, 'p99.9': 12 });
  });

  it('honours another relative accuracy', () => {
    const coarse = quantiles<number>((x) => x, requested, { relativeAccuracy: 0.05 });
    const state = addAll(coarse, latencies);
    assert.ok(state.positive.length < addAll(sketch, latencies).positive.length / 3);
    const estimates = coarse.result(state);
    exactQuantiles(latencies).forEach((exact, position) => {
      const estimate = estimates[names[position]!]!;
      assert.ok(Math.abs(estimate - exact) <= 0.05 * exact * (1 + 1e-9), `${names[position]}: ${estimate}`);
    });
  });

  it('merges two halves into exactly the sketch of the whole', () => {
    for (const values of [uniform, latencies, signed]) {
      const half = values.length / 2;
      const merged = sketch.merge(addAll(sketch, values.slice(0, half)), addAll(sketch, values.slice(half)));
      assert.deepEqual(merged, addAll(sketch, values));
    }
    const some = addAll(sketch, [1, 2, 3]);
    assert.deepEqual(sketch.merge(sketch.init(), some), some);
    assert.deepEqual(sketch.merge(addAll(sketch, [1, 2, 3]), sketch.init()), some);
  });

  it('keeps at most maxBuckets per sign over many orders of magnitude, losing only the lowest values', () => {
    // 10^-9 .. 10^12 needs ~2400 buckets per sign at 1%; the limit keeps 2048.
    const wide = Array.from({ length: 200_000 }, () => (random() < 0.5 ? -1 : 1) * 10 ** (random() * 21 - 9));
    const state = addAll(sketch, wide);
    assert.equal(state.positive.length / 2, 2048);
    assert.equal(state.negative.length / 2, 2048);
    const sorted = [...wide].sort((a, b) => a - b);
    const estimates = sketch.result(state);
    for (const [name, q] of [
      ['p75', 0.75],
      ['p90', 0.9],
      ['p99', 0.99],
      ['p99.9', 0.999],
    ] as const) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))]!;
      assert.ok(Math.abs(estimates[name]! - exact) <= 0.01 * Math.abs(exact) * (1 + 1e-9), `${name}`);
    }
    assert.equal(state.count, wide.length);

    const small = quantiles<number>((x) => x, [0.5, 0.99], { maxBuckets: 64 });
    const half = wide.length / 2;
    const merged = small.merge(addAll(small, wide.slice(0, half)), addAll(small, wide.slice(half)));
    assert.equal(merged.positive.length / 2, 64);
    assert.equal(merged.negative.length / 2, 64);
    const exact99 = sorted[Math.floor(0.99 * (sorted.length - 1))]!;
    assert.ok(Math.abs(small.result(merged).p99! - exact99) <= 0.01 * exact99 * (1 + 1e-9));
    const counted = (buckets: number[]) =>
      buckets.reduce((sum, value, at) => (at % 2 === 1 ? sum + value : sum), 0);
    assert.equal(counted(merged.positive) + counted(merged.negative) + merged.zeroCount, wide.length);
  });

  it('survives a JSON round trip and goes on estimating identically', () => {
    for (const values of [[], [7], signed]) {
      const original = addAll(sketch, values);
      const restored = viaJson(original);
      assert.deepEqual(restored, original);
      assert.deepEqual(sketch.result(restored), sketch.result(original));
      const more = latencies.slice(0, 1000);
      assert.deepEqual(addAll(sketch, more, restored), addAll(sketch, more, original));
    }
  });

  it('rejects bad options, non-finite values and state of another accuracy', () => {
    const field = (x: number) => x;
    assert.throws(() => quantiles(field, [0.5], { relativeAccuracy: 0 }), /relativeAccuracy 0/);
    assert.throws(() => quantiles(field, [0.5], { relativeAccuracy: 1 }), /relativeAccuracy 1/);
    assert.throws(() => quantiles(field, [0.5], { maxBuckets: 8 }), /maxBuckets 8/);
    assert.throws(() => quantiles(field, []), /1 to 64 quantiles/);
    assert.throws(() => quantiles(field, [1.5]), /quantile 1.5/);
    assert.throws(() => quantiles(field, [0.5, 0.5]), /p50 is requested twice/);
    assert.throws(() => sketch.add(sketch.init(), Number.NaN), /NaN is not a finite number/);
    assert.throws(() => sketch.add(sketch.init(), Number.POSITIVE_INFINITY), /not a finite number/);
    const coarse = quantiles(field, [0.5], { relativeAccuracy: 0.05 });
    assert.throws(() => sketch.merge(sketch.init(), coarse.init()), /relativeAccuracy 0.05/);
  });
});
