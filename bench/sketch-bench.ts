import { performance } from 'node:perf_hooks';
import type { Aggregation } from '../src/streams/aggregations.js';
import { distinctCount, quantiles } from '../src/streams/sketches.js';

/**
 * Sketch aggregations under the load the windowed benchmark puts on them: one accumulator per key,
 * 100,000 keys that each see a handful of values, ~1 M adds/s on one core, p95 per key at window close.
 * Prints adds/s per workload, the cost of a result, and the size of an accumulator (JSON bytes, and heap
 * bytes when run with --expose-gc). Values are generated before timing so only the sketch is measured.
 *
 *   npx tsc -p . && node --expose-gc dist/bench/sketch-bench.js
 */

const KEYS = 100_000;
const HANDFUL = 10;
const SINGLE_ACCUMULATOR_ADDS = 2_000_000;

interface Event {
  session: string;
  ms: number;
}

const distinct = distinctCount<Event>((event) => event.session);
const latency = quantiles<Event>((event) => event.ms, [0.5, 0.95, 0.99]);

/** Deterministic so runs compare: a 32-bit xorshift. */
function randomGenerator(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** Long-tailed like segment latencies: log-normal around 40 ms with the occasional multi-second outlier. */
function events(count: number, seed: number): Event[] {
  const random = randomGenerator(seed);
  return Array.from({ length: count }, () => {
    const normal = Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
    return { session: `s-${Math.floor(random() * 2 ** 40).toString(36)}`, ms: Math.exp(3.7 + 0.8 * normal) };
  });
}

function addsPerSecond<A>(aggregation: Aggregation<Event, A, unknown>, input: Event[], keys: number): A[] {
  const accumulators = Array.from({ length: keys }, () => aggregation.init());
  const started = performance.now();
  for (let i = 0; i < input.length; i++) {
    const key = i % keys;
    accumulators[key] = aggregation.add(accumulators[key]!, input[i]!);
  }
  const seconds = (performance.now() - started) / 1000;
  report(`${(input.length / seconds / 1e6).toFixed(2)} M adds/s`);
  return accumulators;
}

function addWithResultPerSecond<A>(aggregation: Aggregation<Event, A, unknown>, input: Event[]): void {
  let accumulator = aggregation.init();
  const started = performance.now();
  for (const event of input) {
    accumulator = aggregation.add(accumulator, event);
    aggregation.result(accumulator);
  }
  const seconds = (performance.now() - started) / 1000;
  report(`${(input.length / seconds / 1e6).toFixed(2)} M add+result/s (a keyed operator's per-record cost)`);
}

function resultsPerSecond<A>(aggregation: Aggregation<Event, A, unknown>, accumulators: A[]): void {
  const started = performance.now();
  for (const accumulator of accumulators) aggregation.result(accumulator);
  const seconds = (performance.now() - started) / 1000;
  report(`${(accumulators.length / seconds / 1e6).toFixed(2)} M results/s`);
}

function jsonBytes<A>(aggregation: Aggregation<Event, A, unknown>, input: Event[]): number {
  let accumulator = aggregation.init();
  for (const event of input) accumulator = aggregation.add(accumulator, event);
  return Buffer.byteLength(JSON.stringify(accumulator));
}

/** Heap growth per accumulator for `keys` accumulators of `perKey` values each; null without --expose-gc. */
function heapBytesPerAccumulator<A>(
  aggregation: Aggregation<Event, A, unknown>,
  input: Event[],
  keys: number,
): number | null {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) return null;
  collect();
  const before = process.memoryUsage().heapUsed;
  const accumulators = Array.from({ length: keys }, () => aggregation.init());
  for (let i = 0; i < input.length; i++) {
    const key = i % keys;
    accumulators[key] = aggregation.add(accumulators[key]!, input[i]!);
  }
  collect();
  const bytes = (process.memoryUsage().heapUsed - before) / keys;
  if (accumulators.length !== keys) throw new Error('accumulators were collected early');
  return bytes;
}

function report(line: string): void {
  console.log(`  ${line}`);
}

function run<A>(name: string, aggregation: Aggregation<Event, A, unknown>): void {
  console.log(`${name}`);
  console.log(` ${KEYS} keys x ${HANDFUL} values:`);
  const handful = events(KEYS * HANDFUL, 1);
  addsPerSecond(aggregation, handful, KEYS);
  const perKey = addsPerSecond(aggregation, handful, KEYS);
  resultsPerSecond(aggregation, perKey);
  console.log(` 1 key x ${SINGLE_ACCUMULATOR_ADDS} values:`);
  const many = events(SINGLE_ACCUMULATOR_ADDS, 2);
  addsPerSecond(aggregation, many, 1);
  addsPerSecond(aggregation, many, 1);
  addWithResultPerSecond(aggregation, many.slice(0, 200_000));
  console.log(' size:');
  for (const values of [10, 1000]) {
    report(`${values} values: ${jsonBytes(aggregation, events(values, 3))} bytes of JSON`);
  }
  const tenEach = heapBytesPerAccumulator(aggregation, handful, KEYS);
  const thousandEach = heapBytesPerAccumulator(aggregation, events(1000 * 1000, 4), 1000);
  if (tenEach !== null && thousandEach !== null) {
    report(
      `heap per accumulator: ${tenEach.toFixed(0)} bytes at 10 values, ${thousandEach.toFixed(0)} at 1000`,
    );
  }
}

run('distinctCount (HyperLogLog, precision 12)', distinct);
run('quantiles [0.5, 0.95, 0.99] (DDSketch, 1% relative accuracy)', latency);
