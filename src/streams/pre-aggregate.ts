import type { Aggregation } from './aggregations.js';
import { type Duration, toMillis } from './duration.js';
import { json, type Serde, SerdeError } from './serdes.js';
import { checkMaxEntries, type StateStore } from './state-store.js';
import type { Forward } from './topology.js';
import { decodeWindowEntryKey, windowEntryKey } from './window-kit/store-keys.js';
import type { FixedWindows } from './windows.js';

/*
 * Local aggregation before a repartition (Flink's mini-batch "local-global" aggregation): the upstream task folds
 * records into partial accumulators per (key, event-time bucket) and sends the partials through the repartition
 * topic instead of every record; the windowed aggregate downstream merges each partial into every window (or
 * pane) that holds its bucket. A bucket divides the size and advance of every window fed, so a partial lies in
 * exactly the windows each of its records does, and final results are those of the records one by one.
 *
 * Exactly once: what a task writes after a checkpoint must follow from its state there and its input after it.
 * Open partials are state (a store with a changelog), and every flush point is a function of the input: the
 * watermark crossing a multiple of `flushEvery` after the partial opened (which includes every bucket end, so a
 * bucket's partials go out before any watermark marker past it), a partial reaching `maxRecords`, or the open
 * partials reaching `maxEntries`. Never the wall clock, a fetch boundary or a checkpoint.
 */

/** What crosses the repartition topic: the accumulator of `records` records aggregated under `key`. */
export interface Partial<A> {
  /** The key the records were aggregated under: the record key, or one that refines it (see refineKey). */
  key: string;
  records: number;
  accumulator: A;
}

export interface PreAggregateOptions<V> {
  /** Names the store of open partials and its changelog; unique in the application. */
  name: string;
  /** Event-time bucket of a partial; must divide the size and advance of every window the partials feed. */
  bucket: Duration;
  /**
   * Open partials go downstream once the watermark passes the next multiple of this after they opened: how much
   * event time early results downstream lag the records behind them. Must divide the bucket. Default 100 ms.
   */
  flushEvery?: Duration;
  /** The key records are aggregated under; default the record key. It must refine the record key. */
  keyOf?: (value: V, recordKey: string) => string;
  /** A partial goes downstream once it holds this many records (a bound on how long a flush can wait). */
  maxRecords?: number;
  /** Bound on open partials; reaching it sends them all downstream. */
  maxEntries?: number;
}

const DEFAULT_FLUSH_EVERY_MS = 100;
const DEFAULT_MAX_RECORDS = 10_000;
const DEFAULT_MAX_OPEN_PARTIALS = 10_000;
/** `flushAtMs` of a partial opened before any watermark: it goes at the first watermark there is. */
const AT_FIRST_WATERMARK = Number.MIN_SAFE_INTEGER;

/** An open partial, as kept in memory and (all but `changed` and `persisted`) in the changelog. */
interface OpenPartial<A> {
  /** The key it is forwarded under (the repartition's partition key). */
  recordKey: string;
  partial: Partial<A>;
  bucketStartMs: number;
  /** The latest event time folded in: the timestamp it goes downstream with (inside the bucket). */
  timestampMs: number;
  /** The watermark at which it goes downstream. */
  flushAtMs: number;
  changed: boolean;
  persisted: boolean;
}

type StoredPartial<A> = Omit<OpenPartial<A>, 'changed' | 'persisted'>;

function isStoredPartial<A>(value: unknown): value is StoredPartial<A> {
  return (
    typeof value === 'object' &&
    value !== null &&
    'recordKey' in value &&
    typeof value.recordKey === 'string' &&
    'bucketStartMs' in value &&
    typeof value.bucketStartMs === 'number' &&
    'timestampMs' in value &&
    typeof value.timestampMs === 'number' &&
    'flushAtMs' in value &&
    typeof value.flushAtMs === 'number' &&
    'partial' in value &&
    typeof value.partial === 'object' &&
    value.partial !== null &&
    'key' in value.partial &&
    typeof value.partial.key === 'string' &&
    'records' in value.partial &&
    typeof value.partial.records === 'number' &&
    'accumulator' in value.partial
  );
}

/** The settings of a pre-aggregation in ms, checked once when the topology is built. */
export interface PreAggregateSettings {
  bucketMs: number;
  flushEveryMs: number;
  maxRecords: number;
  maxEntries: number;
}

export function preAggregateSettings<V>(options: PreAggregateOptions<V>): PreAggregateSettings {
  const bucketMs = toMillis(options.bucket);
  const flushEveryMs = toMillis(options.flushEvery ?? DEFAULT_FLUSH_EVERY_MS);
  if (!Number.isSafeInteger(bucketMs) || bucketMs <= 0)
    throw new RangeError(
      `pre-aggregate '${options.name}': bucket ${bucketMs} ms must be a positive whole number`,
    );
  if (!Number.isSafeInteger(flushEveryMs) || flushEveryMs <= 0 || bucketMs % flushEveryMs !== 0) {
    throw new RangeError(
      `pre-aggregate '${options.name}': flushEvery ${flushEveryMs} ms must be a positive divisor of the bucket ${bucketMs} ms`,
    );
  }
  const maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
  if (!Number.isSafeInteger(maxRecords) || maxRecords < 1)
    throw new RangeError(`pre-aggregate '${options.name}': maxRecords ${maxRecords} must be >= 1`);
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_OPEN_PARTIALS;
  checkMaxEntries(options.name, maxEntries);
  return { bucketMs, flushEveryMs, maxRecords, maxEntries };
}

/** One task's open partials: a state store, so a restore resumes them where the checkpoint left them. */
export class PartialStore<V, A> implements StateStore {
  /** Open partials by bucket start, then key: no changelog key is built per record. */
  private readonly buckets = new Map<number, Map<string, OpenPartial<A>>>();
  /** Records mostly fall in the newest bucket: remember it rather than look it up each time. */
  private lastBucket: { startMs: number; partials: Map<string, OpenPartial<A>> } | null = null;
  private openCount = 0;
  private tombstones: string[] = [];
  /** The least `flushAtMs` of the open partials: advance() has nothing to do below it. */
  private nextFlushAtMs = Number.POSITIVE_INFINITY;

  constructor(
    readonly name: string,
    private readonly aggregation: Aggregation<V, A, unknown>,
    private readonly keyOf: ((value: V, recordKey: string) => string) | null,
    private readonly settings: PreAggregateSettings,
  ) {}

  get size(): number {
    return this.openCount;
  }

  /** Folds a record into its partial; one whose bucket the watermark has already closed goes at once. */
  add(recordKey: string, value: V, eventTimeMs: number, watermark: number, forward: Forward): void {
    const { bucketMs, maxRecords, maxEntries } = this.settings;
    const key = this.keyOf === null ? recordKey : this.keyOf(value, recordKey);
    const bucketStartMs = Math.floor(eventTimeMs / bucketMs) * bucketMs;
    if (watermark >= bucketStartMs + bucketMs) {
      // Late for its bucket: it goes downstream where the record itself would have, before the next marker.
      forward({ key: recordKey, value: partialOf(this.aggregation, key, value), timestamp: eventTimeMs });
      return;
    }
    let partials = this.bucketAt(bucketStartMs);
    let open = partials.get(key);
    if (open === undefined) {
      if (this.openCount >= maxEntries) {
        this.flush(Number.POSITIVE_INFINITY, forward);
        partials = this.bucketAt(bucketStartMs);
      }
      open = this.opened(recordKey, key, bucketStartMs, eventTimeMs, watermark);
      partials.set(key, open);
    }
    open.partial.accumulator = this.aggregation.add(open.partial.accumulator, value);
    open.partial.records++;
    if (eventTimeMs > open.timestampMs) open.timestampMs = eventTimeMs;
    open.changed = true;
    if (open.partial.records >= maxRecords) this.send(open, forward);
  }

  private bucketAt(startMs: number): Map<string, OpenPartial<A>> {
    if (this.lastBucket?.startMs === startMs) return this.lastBucket.partials;
    let partials = this.buckets.get(startMs);
    if (partials === undefined) {
      partials = new Map();
      this.buckets.set(startMs, partials);
    }
    this.lastBucket = { startMs, partials };
    return partials;
  }

  private opened(
    recordKey: string,
    key: string,
    bucketStartMs: number,
    eventTimeMs: number,
    watermark: number,
  ): OpenPartial<A> {
    const { flushEveryMs } = this.settings;
    const flushAtMs = Number.isFinite(watermark)
      ? Math.floor(watermark / flushEveryMs) * flushEveryMs + flushEveryMs
      : AT_FIRST_WATERMARK;
    if (flushAtMs < this.nextFlushAtMs) this.nextFlushAtMs = flushAtMs;
    this.openCount++;
    return {
      recordKey,
      partial: { key, records: 0, accumulator: this.aggregation.init() },
      bucketStartMs,
      timestampMs: eventTimeMs,
      flushAtMs,
      changed: false,
      persisted: false,
    };
  }

  /** Sends the partials due at `watermark` downstream (called before any marker carries it). */
  advance(watermark: number, forward: Forward): void {
    if (watermark >= this.nextFlushAtMs) this.flush(watermark, forward);
  }

  /**
   * Sends every partial due at `watermark` in (bucket, key) order: the order is a function of what is open,
   * not of when each opened, so a task restored from its changelog sends the same records in the same order.
   */
  private flush(watermark: number, forward: Forward): void {
    const due: OpenPartial<A>[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const partials of this.buckets.values()) {
      for (const open of partials.values()) {
        if (open.flushAtMs <= watermark) due.push(open);
        else if (open.flushAtMs < next) next = open.flushAtMs;
      }
    }
    this.nextFlushAtMs = next;
    due.sort((a, b) =>
      a.bucketStartMs !== b.bucketStartMs
        ? a.bucketStartMs - b.bucketStartMs
        : a.partial.key < b.partial.key
          ? -1
          : a.partial.key > b.partial.key
            ? 1
            : 0,
    );
    for (const open of due) this.send(open, forward);
  }

  private send(open: OpenPartial<A>, forward: Forward): void {
    this.remove(open.bucketStartMs, open.partial.key);
    if (open.persisted) this.tombstones.push(windowEntryKey(open.bucketStartMs, open.partial.key));
    forward({ key: open.recordKey, value: open.partial, timestamp: open.timestampMs });
  }

  private remove(bucketStartMs: number, key: string): void {
    const partials = this.buckets.get(bucketStartMs);
    if (partials === undefined || !partials.delete(key)) return;
    this.openCount--;
    if (partials.size > 0) return;
    this.buckets.delete(bucketStartMs);
    if (this.lastBucket?.partials === partials) this.lastBucket = null;
  }

  drainChanges(): Array<[string, unknown]> {
    const changes: Array<[string, unknown]> = this.tombstones.map((entryKey) => [entryKey, null]);
    this.tombstones = [];
    for (const partials of this.buckets.values()) {
      for (const open of partials.values()) {
        if (!open.changed) continue;
        open.changed = false;
        open.persisted = true;
        const { changed: _changed, persisted: _persisted, ...stored } = open;
        changes.push([windowEntryKey(open.bucketStartMs, open.partial.key), stored]);
      }
    }
    return changes;
  }

  restore(entryKey: string, value: unknown): void {
    if (value === null) {
      const { time, key } = decodeWindowEntryKey(this.name, entryKey);
      this.remove(time, key);
      return;
    }
    if (!isStoredPartial<A>(value))
      throw new Error(`state store '${this.name}': malformed open partial under '${entryKey}'`);
    this.remove(value.bucketStartMs, value.partial.key);
    this.bucketAt(value.bucketStartMs).set(value.partial.key, { ...value, changed: false, persisted: true });
    this.openCount++;
    if (value.flushAtMs < this.nextFlushAtMs) this.nextFlushAtMs = value.flushAtMs;
  }

  clear(): void {
    this.buckets.clear();
    this.lastBucket = null;
    this.openCount = 0;
    this.tombstones = [];
    this.nextFlushAtMs = Number.POSITIVE_INFINITY;
  }
}

/**
 * The windowed aggregation of partials: each partial's accumulator merged into the window's. The windows must
 * be whole multiples of the bucket (size and advance), so a partial lies in exactly its records' windows. A
 * partial goes to every window and pane it lies in, so `merge` must not keep parts of its second argument
 * (as pane windows already require).
 */
export function mergingPartials<V, A, R>(
  aggregation: Aggregation<V, A, R>,
  windows: FixedWindows,
  bucketMs: number,
): Aggregation<Partial<A>, A, R> {
  if (windows.sizeMs % bucketMs !== 0 || windows.advanceMs % bucketMs !== 0) {
    throw new RangeError(
      `windows of ${windows.sizeMs} ms advancing by ${windows.advanceMs} ms are not whole multiples of the ` +
        `pre-aggregation bucket ${bucketMs} ms`,
    );
  }
  return {
    init: () => aggregation.init(),
    add: (accumulator, partial) => aggregation.merge(accumulator, partial.accumulator),
    result: (accumulator) => aggregation.result(accumulator),
    merge: (a, b) => aggregation.merge(a, b),
  };
}

/** The partial of one record: how a record written before pre-aggregation is read as one. */
export function partialOf<V, A>(aggregation: Aggregation<V, A, unknown>, key: string, value: V): Partial<A> {
  return { key, records: 1, accumulator: aggregation.add(aggregation.init(), value) };
}

/** First byte of a serialised partial: apart from `{` (JSON) and the small format bytes of record codecs. */
export const PARTIAL_FORMAT = 0x50;

/**
 * Partials as a format byte then JSON. Values without the format byte are handed to `legacy`: records written
 * to the same repartition topic before pre-aggregation, read as partials of one record.
 */
export function partialSerde<A>(
  name: string,
  legacy: ((bytes: Buffer) => Partial<A>) | null,
): Serde<Partial<A>> {
  const body = json<Partial<A>>();
  return {
    name,
    serialize: (partial) => {
      const text = JSON.stringify(partial);
      const bytes = Buffer.allocUnsafe(1 + Buffer.byteLength(text, 'utf8'));
      bytes[0] = PARTIAL_FORMAT;
      bytes.write(text, 1, 'utf8');
      return bytes;
    },
    deserialize: (bytes) => {
      if (bytes[0] === PARTIAL_FORMAT) return body.deserialize(bytes.subarray(1));
      if (legacy === null)
        throw new SerdeError(name, bytes, new RangeError(`unknown format byte ${bytes[0]}`));
      return legacy(bytes);
    },
  };
}
