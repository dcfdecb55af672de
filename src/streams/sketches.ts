import { type Aggregation, objectsWith } from './aggregations.js';

/**
 * Sketch aggregations whose accumulators are plain JSON, so they go through the changelog like any other
 * state: a HyperLogLog distinct count and a DDSketch-style relative-error quantile sketch.
 *
 * Both are tuned for many small accumulators (one per key per open window, most seeing a handful of
 * values): they start with a representation that grows with the data and is bounded by an explicit limit.
 */

// ----- distinct count (HyperLogLog) -----

export interface DistinctCountOptions {
  /** log2 of the number of registers, 4..16; standard error is 1.04 / sqrt(2^precision). Default 12. */
  precision?: number;
}

/**
 * Small sets: sorted sparse codes, one per occupied register of a 2^26-register sketch (HyperLogLog++
 * style), so counts stay exact in practice and the state is a few numbers.
 */
export interface SparseDistinctState {
  precision: number;
  sparse: number[];
}

/**
 * Large sets: one base64url digit per register (a string is immutable, so raised registers wait in
 * `pending` and are written in batches), plus a histogram of register values so a result costs O(64),
 * not O(registers): keyed operators ask for a result after every add.
 */
export interface DenseDistinctState {
  precision: number;
  registers: string;
  histogram: number[];
  pending: number[];
}

export type DistinctCountState = SparseDistinctState | DenseDistinctState;

const MIN_PRECISION = 4;
const MAX_PRECISION = 16;
const DEFAULT_PRECISION = 12;
const SPARSE_PRECISION = 26;
const RANK_BITS = 6;
const RANK_MASK = (1 << RANK_BITS) - 1;
/** Raised registers buffered before the register string is rewritten (one 4 KiB copy per batch at p=12). */
const PENDING_LIMIT = 64;
const REGISTER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const DIGIT_CODE_OF_RANK = Uint8Array.from(REGISTER_DIGITS, (digit) => digit.charCodeAt(0));
const INVALID_RANK = 255;
const RANK_OF_DIGIT_CODE = new Uint8Array(128).fill(INVALID_RANK);
for (let rank = 0; rank < REGISTER_DIGITS.length; rank++)
  RANK_OF_DIGIT_CODE[DIGIT_CODE_OF_RANK[rank]!] = rank;

/** Shared scratch: the event loop runs one add/merge at a time, so one buffer of the largest size serves all. */
const scratchRanks = new Uint8Array(1 << MAX_PRECISION);
const scratchChars = Buffer.alloc(1 << MAX_PRECISION);

/**
 * Distinct values of `field` (compared by their string form, so 5 and '5' are one value) estimated with
 * HyperLogLog over a 64-bit hash. Exact while the set fits the sparse form (up to 2^precision / 8
 * values), then within ~1.04 / sqrt(2^precision) (1.6% at the default precision 12).
 */
export function distinctCount<V>(
  field: (value: V) => string | number,
  options: DistinctCountOptions = {},
): Aggregation<V, DistinctCountState, number> {
  const precision = options.precision ?? DEFAULT_PRECISION;
  if (!Number.isInteger(precision) || precision < MIN_PRECISION || precision > MAX_PRECISION) {
    throw new RangeError(
      `distinctCount: precision ${precision} must be an integer from ${MIN_PRECISION} to ${MAX_PRECISION}`,
    );
  }
  const registerCount = 1 << precision;
  // Sparse codes cost ~8 bytes in memory and ~11 in JSON against 1 per register when dense.
  const maxSparseCodes = registerCount >>> 3;

  return {
    init: () => ({ precision, sparse: [] }),
    add(state, value) {
      checkPrecision(state, precision);
      const key = field(value);
      hashString(typeof key === 'string' ? key : String(key));
      if ('sparse' in state) {
        insertSparseCode(state.sparse, sparseCode(hashHigh, hashLow));
        return state.sparse.length > maxSparseCodes ? toDense([state], precision) : state;
      }
      raiseRegister(state, hashHigh >>> (32 - precision), denseRank(hashHigh, hashLow, precision));
      return state;
    },
    result(state) {
      checkPrecision(state, precision);
      if ('sparse' in state) return Math.round(linearCount(1 << SPARSE_PRECISION, state.sparse.length));
      return Math.round(estimateFromHistogram(state.histogram, registerCount, 64 - precision));
    },
    merge(a, b) {
      checkPrecision(a, precision);
      checkPrecision(b, precision);
      if ('sparse' in b) {
        if ('sparse' in a) {
          const union = unionOfSparseCodes(a.sparse, b.sparse);
          return union.length > maxSparseCodes
            ? toDense([{ precision, sparse: union }], precision)
            : { precision, sparse: union };
        }
        // In place, register by register: pre-aggregated partials are small sparse sets merged into dense
        // windows one after another, and rebuilding every register for each took most of a pipeline's CPU.
        const skippedBits = SPARSE_PRECISION - precision;
        for (const code of b.sparse) {
          raiseRegister(a, (code >>> RANK_BITS) >>> skippedBits, denseRankOfSparseCode(code, skippedBits));
        }
        return a;
      }
      return toDense([a, b], precision);
    },
  };
}

function checkPrecision(state: DistinctCountState, precision: number): void {
  if (state.precision !== precision) {
    throw new Error(
      `distinctCount: accumulator has precision ${state.precision} but the aggregation uses ${precision}; ` +
        'state written with another precision cannot be restored into this one',
    );
  }
}

/** Inserts a code keeping one entry per sparse register (the highest rank), sorted by register. */
function insertSparseCode(sparse: number[], code: number): void {
  const register = code >> RANK_BITS;
  let low = 0;
  let high = sparse.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sparse[middle]! >> RANK_BITS < register) low = middle + 1;
    else high = middle;
  }
  if (low < sparse.length && sparse[low]! >> RANK_BITS === register) {
    if ((sparse[low]! & RANK_MASK) < (code & RANK_MASK)) sparse[low] = code;
    return;
  }
  sparse.splice(low, 0, code);
}

function unionOfSparseCodes(a: number[], b: number[]): number[] {
  const union: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const registerA = a[i]! >> RANK_BITS;
    const registerB = b[j]! >> RANK_BITS;
    if (registerA < registerB) union.push(a[i++]!);
    else if (registerB < registerA) union.push(b[j++]!);
    else union.push(Math.max(a[i++]! & RANK_MASK, b[j++]! & RANK_MASK) | (registerA << RANK_BITS));
  }
  while (i < a.length) union.push(a[i++]!);
  while (j < b.length) union.push(b[j++]!);
  return union;
}

/** Raises one dense register, keeping the histogram exact now and the register string exact per batch. */
function raiseRegister(state: DenseDistinctState, register: number, rank: number): void {
  let current = RANK_OF_DIGIT_CODE[state.registers.charCodeAt(register)] ?? INVALID_RANK;
  if (rank <= current) {
    if (current === INVALID_RANK)
      throw new Error(`distinctCount: corrupt accumulator: bad register ${register}`);
    return;
  }
  const pending = state.pending;
  for (let i = 0; i < pending.length; i++) {
    const update = pending[i]!;
    if (update >>> RANK_BITS === register && (update & RANK_MASK) > current) current = update & RANK_MASK;
  }
  if (rank <= current) return;
  state.histogram[current]!--;
  state.histogram[rank]!++;
  pending.push((register << RANK_BITS) | rank);
  if (pending.length >= PENDING_LIMIT) writePending(state);
}

function writePending(state: DenseDistinctState): void {
  const registerCount = state.registers.length;
  scratchChars.write(state.registers, 0, registerCount, 'latin1');
  for (const update of state.pending) {
    const register = update >>> RANK_BITS;
    if (RANK_OF_DIGIT_CODE[scratchChars[register]!]! < (update & RANK_MASK)) {
      scratchChars[register] = DIGIT_CODE_OF_RANK[update & RANK_MASK]!;
    }
  }
  state.registers = scratchChars.toString('latin1', 0, registerCount);
  state.pending.length = 0;
}

/** The register-wise maximum of the given states as a dense state with nothing pending. */
function toDense(states: DistinctCountState[], precision: number): DenseDistinctState {
  const registerCount = 1 << precision;
  const ranks = scratchRanks.subarray(0, registerCount);
  ranks.fill(0);
  for (const state of states) {
    if ('sparse' in state) foldSparseInto(ranks, state.sparse, precision);
    else foldDenseInto(ranks, state);
  }
  const histogram = new Array<number>(64 - precision + 2).fill(0);
  for (let register = 0; register < registerCount; register++) {
    histogram[ranks[register]!]!++;
    scratchChars[register] = DIGIT_CODE_OF_RANK[ranks[register]!]!;
  }
  return { precision, registers: scratchChars.toString('latin1', 0, registerCount), histogram, pending: [] };
}

function foldSparseInto(ranks: Uint8Array, sparse: number[], precision: number): void {
  const skippedBits = SPARSE_PRECISION - precision;
  for (const code of sparse) {
    const rank = denseRankOfSparseCode(code, skippedBits);
    const register = (code >>> RANK_BITS) >>> skippedBits;
    if (rank > ranks[register]!) ranks[register] = rank;
  }
}

/**
 * The rank a sparse code gives its dense register (`code >>> RANK_BITS >>> skippedBits`), `skippedBits` being
 * SPARSE_PRECISION - the dense precision.
 */
function denseRankOfSparseCode(code: number, skippedBits: number): number {
  const skipped = (code >>> RANK_BITS) & ((1 << skippedBits) - 1);
  // The sparse register's extra bits are the first bits a dense rank counts zeros in.
  return skipped !== 0 ? Math.clz32(skipped) - (32 - skippedBits) + 1 : skippedBits + (code & RANK_MASK);
}

function foldDenseInto(ranks: Uint8Array, state: DenseDistinctState): void {
  if (state.registers.length !== ranks.length) {
    throw new Error(
      `distinctCount: corrupt accumulator: ${state.registers.length} registers, expected ${ranks.length}`,
    );
  }
  for (let register = 0; register < ranks.length; register++) {
    const rank = RANK_OF_DIGIT_CODE[state.registers.charCodeAt(register)] ?? INVALID_RANK;
    if (rank === INVALID_RANK)
      throw new Error(`distinctCount: corrupt accumulator: bad register ${register}`);
    if (rank > ranks[register]!) ranks[register] = rank;
  }
  for (const update of state.pending) {
    const register = update >>> RANK_BITS;
    if ((update & RANK_MASK) > ranks[register]!) ranks[register] = update & RANK_MASK;
  }
}

/** Rank (1 + leading zeros) of the 64 - precision hash bits after the register index. */
function denseRank(high: number, low: number, precision: number): number {
  const rest = high << precision;
  if (rest !== 0) return Math.clz32(rest) + 1;
  return 32 - precision + (low === 0 ? 33 : Math.clz32(low) + 1);
}

/** Register at SPARSE_PRECISION in the top 26 bits, rank of the remaining 38 hash bits in the low 6. */
function sparseCode(high: number, low: number): number {
  const tail = high & RANK_MASK;
  const rank =
    tail !== 0 ? Math.clz32(tail) - (32 - RANK_BITS) + 1 : RANK_BITS + (low === 0 ? 33 : Math.clz32(low) + 1);
  return ((high >>> RANK_BITS) << RANK_BITS) | rank;
}

function linearCount(registerCount: number, occupied: number): number {
  return registerCount * Math.log(registerCount / (registerCount - occupied));
}

/**
 * Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog sketches", 2017):
 * unbiased from 0 to 2^64 without HyperLogLog++'s empirical bias tables; its sigma term is linear
 * counting for the small range. `rankBits` is the number of hash bits ranks are taken from.
 */
function estimateFromHistogram(histogram: number[], registerCount: number, rankBits: number): number {
  let z = registerCount * tau(1 - histogram[rankBits + 1]! / registerCount);
  for (let rank = rankBits; rank >= 1; rank--) z = 0.5 * (z + histogram[rank]!);
  z += registerCount * sigma(histogram[0]! / registerCount);
  return (registerCount * registerCount) / (2 * Math.LN2 * z);
}

function sigma(x: number): number {
  if (x === 1) return Number.POSITIVE_INFINITY;
  let power = x;
  let weight = 1;
  let sum = x;
  for (;;) {
    power *= power;
    const previous = sum;
    sum += power * weight;
    weight += weight;
    if (sum === previous) return sum;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let root = x;
  let weight = 1;
  let sum = 1 - x;
  for (;;) {
    root = Math.sqrt(root);
    const previous = sum;
    weight *= 0.5;
    sum -= (1 - root) * (1 - root) * weight;
    if (sum === previous) return sum / 3;
  }
}

/** Outputs of hashString, kept in module variables so hashing allocates nothing. */
let hashHigh = 0;
let hashLow = 0;

/**
 * A 64-bit hash of a string's UTF-16 code units, two per 32-bit block: a MurmurHash3 lane and an
 * xxHash32 lane, cross-mixed and finalised as in MurmurHash3 x86_128. Accumulators store values derived
 * from it, so it must never change.
 */
function hashString(text: string): void {
  let a = 0x9747b28c;
  let b = 0x2b7e1516;
  const length = text.length;
  let i = 0;
  for (; i + 1 < length; i += 2) {
    const block = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    a ^= murmurScramble(block);
    a = (a << 13) | (a >>> 19);
    a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    b = (b + Math.imul(block, 0x85ebca77)) | 0;
    b = (b << 13) | (b >>> 19);
    b = Math.imul(b, 0x9e3779b1);
  }
  if (i < length) {
    const unit = text.charCodeAt(i);
    a ^= murmurScramble(unit);
    b = (b + Math.imul(unit, 0x165667b1)) | 0;
    b = Math.imul((b << 11) | (b >>> 21), 0x9e3779b1);
  }
  a ^= length;
  b ^= length;
  a = (a + b) | 0;
  b = (b + a) | 0;
  a = finalMix(a);
  b = finalMix(b);
  a = (a + b) | 0;
  b = (b + a) | 0;
  hashHigh = a;
  hashLow = b;
}

function murmurScramble(block: number): number {
  let k = Math.imul(block, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

function finalMix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

// ----- quantiles (DDSketch) -----

export interface QuantilesOptions {
  /** Every estimate is within this fraction of the true quantile's value, 0 < a < 1. Default 0.01. */
  relativeAccuracy?: number;
  /** Buckets kept per sign; beyond it the lowest values share one bucket. 16..65536, default 2048. */
  maxBuckets?: number;
}

/**
 * Counts per logarithmic bucket, as flat sorted [bucket, count, bucket, count, ...] arrays: only occupied
 * buckets cost anything, which suits windows that see a handful of values. Bucket i of `positive` holds
 * values in (gamma^(i-1), gamma^i]; `negative` files x < 0 under minus the bucket of |x|, so both sort
 * by value.
 * min and max are exact and meaningful only when count > 0.
 */
export interface QuantilesState {
  relativeAccuracy: number;
  count: number;
  min: number;
  max: number;
  zeroCount: number;
  positive: number[];
  negative: number[];
}

export type QuantilesResult = Record<string, number | null>;

const DEFAULT_RELATIVE_ACCURACY = 0.01;
const DEFAULT_MAX_BUCKETS = 2048;
const MIN_MAX_BUCKETS = 16;
const MAX_MAX_BUCKETS = 65_536;
const MAX_QUANTILES = 64;
/** Magnitudes below the smallest normal double count as zero, as in DDSketch. */
const MIN_NORMAL = 2.2250738585072014e-308;

/**
 * Quantiles of `field` with relative error: `quantiles(e => e.ms, [0.5, 0.95, 0.99])` yields
 * `{ p50, p95, p99 }` (0.999 is `p99.9`), each within relativeAccuracy of the exact lower quantile
 * (the value at rank floor(q * (count - 1))), or null when nothing was added.
 */
export function quantiles<V>(
  field: (value: V) => number,
  qs: number[],
  options: QuantilesOptions = {},
): Aggregation<V, QuantilesState, QuantilesResult> {
  const relativeAccuracy = options.relativeAccuracy ?? DEFAULT_RELATIVE_ACCURACY;
  const maxBuckets = options.maxBuckets ?? DEFAULT_MAX_BUCKETS;
  if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) {
    throw new RangeError(
      `quantiles: relativeAccuracy ${relativeAccuracy} must be between 0 and 1 (exclusive)`,
    );
  }
  if (!Number.isInteger(maxBuckets) || maxBuckets < MIN_MAX_BUCKETS || maxBuckets > MAX_MAX_BUCKETS) {
    throw new RangeError(
      `quantiles: maxBuckets ${maxBuckets} must be an integer from ${MIN_MAX_BUCKETS} to ${MAX_MAX_BUCKETS}`,
    );
  }
  const names = quantileNames(qs);
  const newEstimates = objectsWith<number>(names);
  const ascending = qs.map((q, position) => ({ q, name: names[position]! })).sort((x, y) => x.q - y.q);
  const gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
  const logGamma = Math.log(gamma);
  const indexMultiplier = 1 / logGamma;
  // The point of (gamma^(i-1), gamma^i] whose relative distance to both ends is relativeAccuracy.
  const representativeFactor = 2 / (1 + gamma);
  // `+ 0` and `0 -` keep bucket 0 from being -0, which JSON would restore as 0.
  const bucketOf = (magnitude: number): number => Math.ceil(Math.log(magnitude) * indexMultiplier) + 0;
  const negativeBucketOf = (x: number): number => 0 - bucketOf(-x);
  const bucketValue = (bucket: number): number => Math.exp(bucket * logGamma) * representativeFactor;
  const negativeBucketValue = (bucket: number): number => -bucketValue(-bucket);

  return {
    init: () => ({ relativeAccuracy, count: 0, min: 0, max: 0, zeroCount: 0, positive: [], negative: [] }),
    add(state, value) {
      checkAccuracy(state, relativeAccuracy);
      // Adding 0 turns -0 into 0, which is what JSON would restore it as.
      const x = field(value) + 0;
      if (!Number.isFinite(x)) throw new RangeError(`quantiles: value ${x} is not a finite number`);
      if (state.count === 0) {
        state.min = x;
        state.max = x;
      } else if (x < state.min) state.min = x;
      else if (x > state.max) state.max = x;
      state.count++;
      if (x > MIN_NORMAL) addToBucket(state.positive, bucketOf(x), maxBuckets);
      else if (x < -MIN_NORMAL) addToBucket(state.negative, negativeBucketOf(x), maxBuckets);
      else state.zeroCount++;
      return state;
    },
    result(state) {
      checkAccuracy(state, relativeAccuracy);
      const estimates: QuantilesResult = newEstimates();
      if (state.count === 0) return estimates;
      const walk = { state, ascending, estimates, next: 0, seen: 0 };
      walkBuckets(walk, state.negative, negativeBucketValue);
      walk.seen += state.zeroCount;
      if (reached(walk)) assignReached(walk, 0);
      walkBuckets(walk, state.positive, bucketValue);
      for (; walk.next < ascending.length; walk.next++) estimates[ascending[walk.next]!.name] = state.max;
      // The lowest and highest ranks are the exact min and max, which the state keeps.
      for (const { q, name } of ascending) {
        const rank = Math.floor(q * (state.count - 1));
        if (rank === 0) estimates[name] = state.min;
        else if (rank === state.count - 1) estimates[name] = state.max;
      }
      return estimates;
    },
    merge(a, b) {
      checkAccuracy(a, relativeAccuracy);
      checkAccuracy(b, relativeAccuracy);
      if (b.count === 0) return a;
      if (a.count === 0) return structuredClone(b);
      a.min = Math.min(a.min, b.min);
      a.max = Math.max(a.max, b.max);
      a.count += b.count;
      a.zeroCount += b.zeroCount;
      a.positive = mergeBuckets(a.positive, b.positive, maxBuckets);
      a.negative = mergeBuckets(a.negative, b.negative, maxBuckets);
      return a;
    },
  };
}

function quantileNames(qs: number[]): string[] {
  if (qs.length === 0 || qs.length > MAX_QUANTILES) {
    throw new RangeError(`quantiles: expected 1 to ${MAX_QUANTILES} quantiles, got ${qs.length}`);
  }
  const names = qs.map((q) => {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`quantiles: quantile ${q} must be between 0 and 1`);
    // toPrecision drops binary noise: 0.999 * 100 prints as 99.9, not 99.89999999999999.
    return `p${Number((q * 100).toPrecision(12))}`;
  });
  const duplicate = names.find((name, position) => names.indexOf(name) !== position);
  if (duplicate !== undefined) throw new RangeError(`quantiles: quantile ${duplicate} is requested twice`);
  return names;
}

function checkAccuracy(state: QuantilesState, relativeAccuracy: number): void {
  if (state.relativeAccuracy !== relativeAccuracy) {
    throw new Error(
      `quantiles: accumulator has relativeAccuracy ${state.relativeAccuracy} but the aggregation uses ` +
        `${relativeAccuracy}; state written with another accuracy cannot be restored into this one`,
    );
  }
}

/** Counts one value in `bucket`; at the limit a new bucket absorbs the lowest one (DDSketch's collapse). */
function addToBucket(buckets: number[], bucket: number, maxBuckets: number): void {
  let low = 0;
  let high = buckets.length >>> 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (buckets[middle << 1]! < bucket) low = middle + 1;
    else high = middle;
  }
  const at = low << 1;
  if (at < buckets.length && buckets[at] === bucket) {
    buckets[at + 1]!++;
  } else if (buckets.length < maxBuckets << 1) {
    insertBucket(buckets, at, bucket);
  } else if (at === 0) {
    buckets[1]!++;
  } else {
    buckets.splice(at, 0, bucket, 1);
    buckets[3]! += buckets[1]!;
    buckets.splice(0, 2);
  }
}

/**
 * Inserts [bucket, 1] at `at`. Not splice: it allocates an array for the items it removes (none here), and
 * nearly every value of a sketch that sees a handful of values opens a bucket.
 */
function insertBucket(buckets: number[], at: number, bucket: number): void {
  buckets.push(bucket, 1);
  for (let i = buckets.length - 1; i >= at + 2; i--) buckets[i] = buckets[i - 2]!;
  buckets[at] = bucket;
  buckets[at + 1] = 1;
}

function mergeBuckets(a: number[], b: number[], maxBuckets: number): number[] {
  if (b.length === 0) return a;
  const merged: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i]! < b[j]!) {
      merged.push(a[i]!, a[i + 1]!);
      i += 2;
    } else if (b[j]! < a[i]!) {
      merged.push(b[j]!, b[j + 1]!);
      j += 2;
    } else {
      merged.push(a[i]!, a[i + 1]! + b[j + 1]!);
      i += 2;
      j += 2;
    }
  }
  for (; i < a.length; i += 2) merged.push(a[i]!, a[i + 1]!);
  for (; j < b.length; j += 2) merged.push(b[j]!, b[j + 1]!);
  const excess = (merged.length >>> 1) - maxBuckets;
  if (excess <= 0) return merged;
  for (let collapsed = 0; collapsed < excess; collapsed++)
    merged[(excess << 1) + 1]! += merged[(collapsed << 1) + 1]!;
  return merged.slice(excess << 1);
}

interface QuantileWalk {
  state: QuantilesState;
  ascending: Array<{ q: number; name: string }>;
  estimates: QuantilesResult;
  /** Position in `ascending` of the next quantile to estimate. */
  next: number;
  /** Values in the buckets walked so far. */
  seen: number;
}

function walkBuckets(
  walk: QuantileWalk,
  buckets: number[],
  representative: (bucket: number) => number,
): void {
  for (let at = 0; at < buckets.length && walk.next < walk.ascending.length; at += 2) {
    walk.seen += buckets[at + 1]!;
    if (reached(walk)) assignReached(walk, representative(buckets[at]!));
  }
}

/** Whether the next quantile's rank is among the values seen so far. */
function reached(walk: QuantileWalk): boolean {
  const next = walk.ascending[walk.next];
  return next !== undefined && walk.seen > next.q * (walk.state.count - 1);
}

/** Gives `value` to every quantile whose rank is among the values seen so far. */
function assignReached(walk: QuantileWalk, value: number): void {
  const clamped = Math.min(Math.max(value, walk.state.min), walk.state.max);
  do {
    walk.estimates[walk.ascending[walk.next]!.name] = clamped;
    walk.next++;
  } while (reached(walk));
}
