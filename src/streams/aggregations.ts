/**
 * Aggregations as Kafka Streams' Aggregator / Flink's AggregateFunction: an accumulator that starts empty,
 * folds in one value at a time and yields a result. Accumulators are plain JSON so state can be written to
 * a changelog and restored exactly.
 */
export interface Aggregation<V, A, R> {
  init(): A;
  add(accumulator: A, value: V): A;
  result(accumulator: A): R;
}

export function count<V>(): Aggregation<V, number, number> {
  return { init: () => 0, add: (n) => n + 1, result: (n) => n };
}

export function sum<V>(field: (value: V) => number): Aggregation<V, number, number> {
  return { init: () => 0, add: (total, value) => total + field(value), result: (total) => total };
}

export function min<V>(field: (value: V) => number): Aggregation<V, number | null, number | null> {
  return {
    init: () => null,
    add: (low, value) => (low === null ? field(value) : Math.min(low, field(value))),
    result: (low) => low,
  };
}

export function max<V>(field: (value: V) => number): Aggregation<V, number | null, number | null> {
  return {
    init: () => null,
    add: (high, value) => (high === null ? field(value) : Math.max(high, field(value))),
    result: (high) => high,
  };
}

export function avg<V>(
  field: (value: V) => number,
): Aggregation<V, { sum: number; count: number }, number | null> {
  return {
    init: () => ({ sum: 0, count: 0 }),
    add: (acc, value) => ({ sum: acc.sum + field(value), count: acc.count + 1 }),
    result: (acc) => (acc.count === 0 ? null : acc.sum / acc.count),
  };
}

/** A user-defined reducer over values of one type. */
export function reduce<V>(reducer: (a: V, b: V) => V): Aggregation<V, V | null, V | null> {
  return {
    init: () => null,
    add: (acc, value) => (acc === null ? value : reducer(acc, value)),
    result: (acc) => acc,
  };
}

type Spec<V> = Record<string, Aggregation<V, unknown, unknown>>;
type ResultOf<S> = { [K in keyof S]: S[K] extends Aggregation<never, unknown, infer R> ? R : never };

/** Several named aggregations computed together: `combine({ count: count(), p: max(e => e.rtt) })`. */
export function combine<V, S extends Spec<V>>(spec: S): Aggregation<V, Record<string, unknown>, ResultOf<S>> {
  const names = Object.keys(spec);
  return {
    init: () => Object.fromEntries(names.map((name) => [name, spec[name]!.init()])),
    add: (acc, value) => {
      for (const name of names) acc[name] = spec[name]!.add(acc[name], value);
      return acc;
    },
    result: (acc) =>
      Object.fromEntries(names.map((name) => [name, spec[name]!.result(acc[name])])) as ResultOf<S>,
  };
}
