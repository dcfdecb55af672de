/**
 * Aggregations as Kafka Streams' Aggregator / Flink's AggregateFunction: an accumulator that starts empty,
 * folds in one value at a time and yields a result. Accumulators are plain JSON (objects, arrays, numbers,
 * strings, null) so state can be written to a changelog and restored exactly; `add` may update the
 * accumulator in place and return it.
 */
export interface Aggregation<V, A, R> {
  init(): A;
  add(accumulator: A, value: V): A;
  result(accumulator: A): R;
  /** Combines two accumulators (session windows merge when a record bridges them); may reuse `a`. */
  merge(a: A, b: A): A;
}

export function count<V>(): Aggregation<V, number, number> {
  return { init: () => 0, add: (n) => n + 1, result: (n) => n, merge: (a, b) => a + b };
}

export function sum<V>(field: (value: V) => number): Aggregation<V, number, number> {
  return {
    init: () => 0,
    add: (total, value) => total + field(value),
    result: (total) => total,
    merge: (a, b) => a + b,
  };
}

export function min<V>(field: (value: V) => number): Aggregation<V, number | null, number | null> {
  return {
    init: () => null,
    add: (low, value) => (low === null ? field(value) : Math.min(low, field(value))),
    result: (low) => low,
    merge: (a, b) => (a === null ? b : b === null ? a : Math.min(a, b)),
  };
}

export function max<V>(field: (value: V) => number): Aggregation<V, number | null, number | null> {
  return {
    init: () => null,
    add: (high, value) => (high === null ? field(value) : Math.max(high, field(value))),
    result: (high) => high,
    merge: (a, b) => (a === null ? b : b === null ? a : Math.max(a, b)),
  };
}

export function avg<V>(
  field: (value: V) => number,
): Aggregation<V, { sum: number; count: number }, number | null> {
  return {
    init: () => ({ sum: 0, count: 0 }),
    add: (acc, value) => {
      acc.sum += field(value);
      acc.count++;
      return acc;
    },
    result: (acc) => (acc.count === 0 ? null : acc.sum / acc.count),
    merge: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
  };
}

/** A user-defined reducer over values of one type. */
export function reduce<V>(reducer: (a: V, b: V) => V): Aggregation<V, V | null, V | null> {
  return {
    init: () => null,
    add: (acc, value) => (acc === null ? value : reducer(acc, value)),
    result: (acc) => acc,
    merge: (a, b) => (a === null ? b : b === null ? a : reducer(a, b)),
  };
}

/**
 * A maker of objects with these properties in this order, all null at first. Objects built property by
 * property under computed names take V8's slowest store (adding a property at a site that sees several
 * names); a clone of one template gets its shape at once, and the stores after it only overwrite.
 */
export function objectsWith<T>(names: readonly string[]): () => Record<string, T | null> {
  const template: Record<string, T | null> = {};
  for (const name of names) template[name] = null;
  return () => ({ ...template });
}

type Spec<V> = Record<string, Aggregation<V, unknown, unknown>>;
type ResultOf<S> = { [K in keyof S]: S[K] extends Aggregation<never, unknown, infer R> ? R : never };

/** Several named aggregations computed together: `combine({ count: count(), p: max(e => e.rtt) })`. */
export function combine<V, S extends Spec<V>>(spec: S): Aggregation<V, Record<string, unknown>, ResultOf<S>> {
  // Plain loops over a fixed list: this runs once per record per window, so no per-call entries arrays.
  const names = Object.keys(spec);
  const parts = names.map((name) => spec[name]!);
  const width = names.length;
  const newObject = objectsWith<unknown>(names);
  return {
    init: () => {
      const acc = newObject();
      for (let i = 0; i < width; i++) acc[names[i]!] = parts[i]!.init();
      return acc;
    },
    add: (acc, value) => {
      for (let i = 0; i < width; i++) acc[names[i]!] = parts[i]!.add(acc[names[i]!], value);
      return acc;
    },
    result: (acc) => {
      const result = newObject();
      for (let i = 0; i < width; i++) result[names[i]!] = parts[i]!.result(acc[names[i]!]);
      return result as ResultOf<S>;
    },
    merge: (a, b) => {
      for (let i = 0; i < width; i++) a[names[i]!] = parts[i]!.merge(a[names[i]!], b[names[i]!]);
      return a;
    },
  };
}
