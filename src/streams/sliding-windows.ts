import type { Aggregation } from './aggregations.js';
import { MinHeap } from './window-kit/min-heap.js';
import { WindowOperatorBase } from './window-kit/operator-base.js';
import type { WindowStoreOptions } from './window-kit/options.js';
import { firstAtOrAfter, hasItemAt } from './window-kit/sorted-search.js';
import {
  decodePrefixedWindowEntryKey,
  malformedEntry,
  prefixedWindowEntryKey,
} from './window-kit/store-keys.js';
import type { Emit, WindowOperator } from './window-operator.js';
import type { SlidingWindows } from './windows.js';

/** `maxEntries` bounds open windows plus distinct (key, event time) record accumulators. */
export interface SlidingWindowOperatorOptions extends WindowStoreOptions {
  windows: SlidingWindows;
}

/** An accumulator placed in time: a window by its start, or the records of one key at one event time. */
interface Slot<A> {
  readonly prefix: typeof WINDOW_PREFIX | typeof RECORDS_PREFIX;
  readonly key: string;
  /** A window's start, or the event time of the records a record accumulator holds. */
  readonly start: number;
  accumulator: A;
  /** Queued in `changed` since the last drain. */
  changed: boolean;
  /** False once closed or expired (or replaced while restoring). */
  held: boolean;
}

/** The keys whose window closes, and whose record accumulator expires, at one watermark. */
interface DueBucket {
  windowKeys: string[];
  recordKeys: string[];
}

/** Changelog key prefixes of windows and of record accumulators. */
const WINDOW_PREFIX = 'w';
const RECORDS_PREFIX = 'r';

/**
 * Sliding windows with Kafka Streams semantics (KIP-450). Kafka's window [start, start + size] includes
 * both ends; here it is reported as { start, end: start + size + 1 } (end exclusive like every Window).
 * Each record at t of a key creates the window ending at it, [t - size, t], and — when records of the key
 * follow within size + 1 — the window starting just after it, [t + 1, t + 1 + size]; windows with the same
 * start are one window. So every distinct set of records some window of that size can hold is exactly one
 * window: a window appears when a record enters it (ends at that record) or when a record drops out (starts
 * just after it). A record also updates every existing window that contains it, and an out-of-order record
 * creates the right window of the record before it when it falls inside that window.
 *
 * A window closes when watermark >= end + grace; a record is late (process returns false) when every window
 * containing it is closed, i.e. when [t, t + size] is. Kafka additionally accepts a record whose only open
 * window is the one starting right after it; that window is then not created here.
 *
 * Update mode emits, per record, every window it created or changed, in start order; final mode emits every
 * window once when it closes, in (start, key) order. Empty windows are never created nor emitted.
 *
 * State: per-window accumulators, so a record updates the windows it falls in with one `add` each and update
 * mode costs O(windows containing the record), which is what it must emit anyway. New windows need the
 * aggregate of records already seen, so each key also keeps one accumulator per distinct event time (the
 * records folded at that time), sorted by time, until no open or future window can contain or start right
 * after them (watermark >= t + size + 2 + grace). Keeping accumulators rather than record values keeps the
 * changelog plain JSON, whatever the record type. A new window is folded from those with `merge` on copies,
 * in event-time order (Kafka folds in arrival order: same result for commutative aggregations). Windows and
 * record accumulators are state entries `w\0${start}\0${key}` and `r\0${time}\0${key}` whose value is the
 * accumulator. What falls due at one watermark (windows closing, record accumulators expiring) shares a
 * bucket, and a heap holds each due watermark once, so advance() visits only what is due and the heap
 * compares numbers only; a bucket's keys are sorted when it closes, for an order independent of history.
 * Event times must be whole milliseconds (as Kafka timestamps are): windows start 1 ms after a record.
 */
export class SlidingWindowOperator<V, A, R>
  extends WindowOperatorBase<V, A, R>
  implements WindowOperator<V, R>
{
  private readonly windowsByKey = new Map<string, Array<Slot<A>>>();
  private readonly recordsByKey = new Map<string, Array<Slot<A>>>();
  /** Due watermark -> what is due then; the heap holds each due watermark once. */
  private readonly dueBuckets = new Map<number, DueBucket>();
  private readonly dueWatermarks = new MinHeap<number>((a, b) => a < b);
  /**
   * Slots changed since the last drain, each once (a window changes with every record it holds: marking a
   * flag keeps building its changelog key off the per-record path), and slots freed since, in order.
   */
  private changed: Array<Slot<A>> = [];
  private freed: Array<Slot<A>> = [];

  constructor(
    aggregation: Aggregation<V, A, R>,
    private readonly options: SlidingWindowOperatorOptions,
  ) {
    super(aggregation, options);
  }

  process(key: string, value: V, eventTime: number, watermark: number, emit: Emit<R>): boolean {
    if (!Number.isSafeInteger(eventTime))
      throw new RangeError(`sliding windows need integer millisecond event times, got ${eventTime}`);
    const { sizeMs } = this.options.windows;
    // The window starting at the record is the last of those containing it to close.
    if (this.isClosed(eventTime, watermark)) return false;
    const records = this.recordsByKey.get(key) ?? [];
    const windows = this.windowsByKey.get(key) ?? [];
    const recordAt = firstAtOrAfter(records, eventTime);
    const seenTime = records[recordAt]?.start === eventTime;
    const previousTime = records[recordAt - 1]?.start;
    const nextTime = records[seenTime ? recordAt + 1 : recordAt]?.start;

    const newStarts: number[] = [];
    const leftStart = eventTime - sizeMs;
    if (!this.isClosed(leftStart, watermark) && !hasItemAt(windows, leftStart)) newStarts.push(leftStart);
    if (previousTime !== undefined && previousTime + 1 + sizeMs >= eventTime) {
      const previousRightStart = previousTime + 1;
      if (
        previousRightStart !== leftStart &&
        !this.isClosed(previousRightStart, watermark) &&
        !hasItemAt(windows, previousRightStart)
      )
        newStarts.push(previousRightStart);
    }
    const rightStart = eventTime + 1;
    if (nextTime !== undefined && nextTime <= rightStart + sizeMs && !hasItemAt(windows, rightStart))
      newStarts.push(rightStart);
    const newEntries = newStarts.length + (seenTime ? 0 : 1);
    this.reserveEntries(newEntries);

    this.foldRecord(key, records, recordAt, seenTime, eventTime, value);
    for (const start of newStarts) this.createWindow(key, windows, start, records);
    this.updateWindows(key, windows, eventTime, newStarts, value, watermark, emit);
    return true;
  }

  private isClosed(start: number, watermark: number): boolean {
    return watermark >= this.windowDue(start);
  }

  private foldRecord(
    key: string,
    records: Array<Slot<A>>,
    at: number,
    seenTime: boolean,
    eventTime: number,
    value: V,
  ): void {
    let slot = records[at];
    if (seenTime) {
      slot!.accumulator = this.aggregation.add(slot!.accumulator, value);
    } else {
      const accumulator = this.aggregation.add(this.aggregation.init(), value);
      slot = { prefix: RECORDS_PREFIX, key, start: eventTime, accumulator, changed: false, held: true };
      records.splice(at, 0, slot);
      if (!this.recordsByKey.has(key)) this.recordsByKey.set(key, records);
      this.schedule(this.recordDue(eventTime), key, false);
      this.entries++;
    }
    this.markChanged(slot!);
  }

  /** A window that did not exist: its aggregate is that of the key's records it covers (the new one included). */
  private createWindow(key: string, windows: Array<Slot<A>>, start: number, records: Array<Slot<A>>): void {
    const end = start + this.options.windows.sizeMs;
    let accumulator = this.aggregation.init();
    for (let i = firstAtOrAfter(records, start); i < records.length && records[i]!.start <= end; i++)
      accumulator = this.aggregation.merge(accumulator, copyJson(records[i]!.accumulator));
    const slot: Slot<A> = {
      prefix: WINDOW_PREFIX,
      key,
      start,
      accumulator,
      changed: false,
      held: true,
    };
    windows.splice(firstAtOrAfter(windows, start), 0, slot);
    if (!this.windowsByKey.has(key)) this.windowsByKey.set(key, windows);
    this.schedule(this.windowDue(start), key, true);
    this.entries++;
    this.markChanged(slot);
  }

  /** Adds the record to the existing open windows containing it and emits those and the new ones. */
  private updateWindows(
    key: string,
    windows: Array<Slot<A>>,
    eventTime: number,
    newStarts: number[],
    value: V,
    watermark: number,
    emit: Emit<R>,
  ): void {
    const update = this.emitsUpdates;
    const { sizeMs } = this.options.windows;
    for (let i = firstAtOrAfter(windows, eventTime - sizeMs); i < windows.length; i++) {
      const window = windows[i]!;
      if (window.start > eventTime + 1) break;
      if (newStarts.includes(window.start)) {
        if (update) this.emitWindow(key, window, false, emit);
        continue;
      }
      if (window.start > eventTime || this.isClosed(window.start, watermark)) continue;
      window.accumulator = this.aggregation.add(window.accumulator, value);
      this.markChanged(window);
      if (update) this.emitWindow(key, window, false, emit);
    }
  }

  private markChanged(slot: Slot<A>): void {
    if (slot.changed) return;
    slot.changed = true;
    this.changed.push(slot);
  }

  private emitWindow(key: string, window: Slot<A>, final: boolean, emit: Emit<R>): void {
    const { start, accumulator } = window;
    this.emitResult(emit, key, start, start + this.options.windows.sizeMs + 1, accumulator, final);
  }

  /** The watermark that closes the window starting at `start`. */
  private windowDue(start: number): number {
    const { sizeMs, graceMs } = this.options.windows;
    return start + sizeMs + 1 + graceMs;
  }

  /** A record's accumulator is needed until the window starting right after it has closed. */
  private recordDue(time: number): number {
    return this.windowDue(time + 1);
  }

  private schedule(due: number, key: string, isWindow: boolean): void {
    let bucket = this.dueBuckets.get(due);
    if (!bucket) {
      bucket = { windowKeys: [], recordKeys: [] };
      this.dueBuckets.set(due, bucket);
      this.dueWatermarks.push(due);
    }
    (isWindow ? bucket.windowKeys : bucket.recordKeys).push(key);
  }

  advance(watermark: number, emit: Emit<R>): void {
    const { sizeMs, graceMs } = this.options.windows;
    for (;;) {
      const due = this.dueWatermarks.peek();
      if (due === undefined || due > watermark) return;
      this.dueWatermarks.pop();
      const bucket = this.dueBuckets.get(due)!;
      this.dueBuckets.delete(due);
      const start = due - sizeMs - 1 - graceMs;
      // Sorted so that results closing together come out in the same order whatever the arrival order.
      for (const key of bucket.windowKeys.sort()) {
        const window = this.removeSlot(this.windowsByKey, key, start);
        if (window && this.emitsFinal) this.emitWindow(key, window, true, emit);
      }
      for (const key of bucket.recordKeys) this.removeSlot(this.recordsByKey, key, start - 1);
    }
  }

  /** Removes a queued slot; it may be gone already when restore replaced or deleted it. */
  private removeSlot(slotsByKey: Map<string, Array<Slot<A>>>, key: string, start: number) {
    const slots = slotsByKey.get(key);
    if (!slots) return undefined;
    const at = firstAtOrAfter(slots, start);
    const slot = slots[at];
    if (slot?.start !== start) return undefined;
    // Slots of a key are freed oldest first: shift() avoids the array splice() allocates.
    if (at === 0) slots.shift();
    else slots.splice(at, 1);
    if (slots.length === 0) slotsByKey.delete(key);
    this.entries--;
    slot.held = false;
    this.freed.push(slot);
    return slot;
  }

  drainChanges(): Array<[string, unknown]> {
    // Tombstones first: a slot created after another at the same time and key was freed must win.
    const changes: Array<[string, unknown]> = [];
    for (const slot of this.freed) changes.push([entryKeyOf(slot), null]);
    for (const slot of this.changed) {
      slot.changed = false;
      if (slot.held) changes.push([entryKeyOf(slot), slot.accumulator]);
    }
    this.changed = [];
    this.freed = [];
    return changes;
  }

  restore(changelogKey: string, value: unknown): void {
    const { prefix, time, key } = decodePrefixedWindowEntryKey(this.name, changelogKey);
    const isWindow = prefix === WINDOW_PREFIX;
    if ((!isWindow && prefix !== RECORDS_PREFIX) || !Number.isSafeInteger(time))
      throw malformedEntry(this.name, 'key', changelogKey);
    const slotsByKey = isWindow ? this.windowsByKey : this.recordsByKey;
    const slots = slotsByKey.get(key);
    const at = slots ? firstAtOrAfter(slots, time) : 0;
    const existing = slots?.[at]?.start === time ? slots[at] : undefined;
    if (value === null) {
      if (existing) {
        slots!.splice(at, 1);
        if (slots!.length === 0) slotsByKey.delete(key);
        existing.held = false;
        this.entries--;
      }
      return;
    }
    if (existing) {
      existing.accumulator = value as A;
      return;
    }
    const slot: Slot<A> = {
      prefix: isWindow ? WINDOW_PREFIX : RECORDS_PREFIX,
      key,
      start: time,
      accumulator: value as A,
      changed: false,
      held: true,
    };
    if (slots) slots.splice(at, 0, slot);
    else slotsByKey.set(key, [slot]);
    this.schedule(isWindow ? this.windowDue(time) : this.recordDue(time), key, isWindow);
    this.entries++;
  }

  clear(): void {
    this.windowsByKey.clear();
    this.recordsByKey.clear();
    this.dueBuckets.clear();
    this.dueWatermarks.clear();
    this.changed = [];
    this.freed = [];
    this.entries = 0;
  }
}

function entryKeyOf(slot: Slot<unknown>): string {
  return prefixedWindowEntryKey(slot.prefix, slot.start, slot.key);
}

/**
 * A deep copy of a JSON accumulator: `merge` may reuse or return its arguments, and the records' own
 * accumulators must stay unchanged for the windows created after this one.
 */
function copyJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyJson) as T;
  const copy: Record<string, unknown> = {};
  for (const [field, fieldValue] of Object.entries(value)) copy[field] = copyJson(fieldValue);
  return copy as T;
}
