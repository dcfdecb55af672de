import type { Aggregation } from './aggregations.js';
import type { StateChanges } from './state-store.js';
import { WindowOperatorBase } from './window-kit/operator-base.js';
import type { WindowStoreOptions } from './window-kit/options.js';
import {
  decodePrefixedWindowEntryKey,
  decodeWindowEntryKey,
  malformedEntry,
  prefixedWindowEntryKey,
  type WindowEntry,
  windowEntryKey,
} from './window-kit/store-keys.js';
import type { Emit, WindowOperator } from './window-operator.js';
import type { FixedWindows } from './windows.js';

/** `maxEntries` bounds open (key, window) accumulators across all windows. */
export interface FixedWindowOperatorOptions extends WindowStoreOptions {
  windows: FixedWindows;
  /**
   * Early results once per batch of records for each (key, window) they changed, instead of once per record
   * (Kafka Streams' record cache does the same at commit). A batch takes milliseconds, so detection stays
   * prompt while a busy key costs one result per batch rather than one per record.
   */
  coalesceUpdates?: boolean;
}

/** `Slot.changedIn` of a slot with no change waiting for a changelog. */
const UNCHANGED = -1;
/** `takingDrain` before the first drain: matches no slot, UNCHANGED ones included. */
const NO_DRAIN = -2;
/** Changelog keys of pane accumulators are `p\u0000${paneStart}\u0000${key}`, apart from whole windows'. */
const PANE_PREFIX = 'p';
/** Changelog key of the watermark the pane windows were closed through (not a window entry key). */
const CLOSED_THROUGH_KEY = 'closedThrough';

/**
 * The pane length of hopping windows with final results only: the greatest common divisor of size and
 * advance, so every window is a whole number of panes and a record is folded into one pane instead of
 * size/advance windows. Null (a record folds into each of its windows) for tumbling windows, where a window
 * is its own pane; for early results, which would merge panes on every record; and for lengths that are not
 * whole milliseconds.
 */
function paneLengthMs(windows: FixedWindows, emitsUpdates: boolean): number | null {
  const { kind, sizeMs, advanceMs } = windows;
  if (kind !== 'hopping' || emitsUpdates || advanceMs === sizeMs) return null;
  if (!Number.isSafeInteger(sizeMs) || !Number.isSafeInteger(advanceMs)) return null;
  let a = sizeMs;
  let b = advanceMs;
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** The first multiple of `stepMs` after `time`. */
function firstStartAfter(time: number, stepMs: number): number {
  return Math.floor(time / stepMs) * stepMs + stepMs;
}

/**
 * One key's accumulator in one window. `changedIn` numbers the drain its latest change belongs to: equal to
 * the operator's `drains`, the slot is listed in its window's `dirty` for the next drain; equal to the drain
 * being taken (`takingDrain`), its value is owed to that checkpoint and not serialised yet. A record arriving
 * then first freezes that value (copy on write). Numbers rather than flags, so a drain marks every listed slot
 * at once by counting up, instead of visiting each of them while processing waits.
 */
interface Slot<A> {
  readonly key: string;
  accumulator: A;
  changedIn: number;
  frozen: string | null;
  /** Whether a value of it went to the changelog: only then does its window's close need a tombstone. */
  persisted: boolean;
  /** Changed in this batch with its early result not yet emitted (coalesced updates only). */
  updatePending: boolean;
}

/**
 * The keys of one window start (one pane start with panes), with the slots changed since the last drain
 * listed once each.
 */
interface WindowSlots<A> {
  readonly start: number;
  readonly slots: Map<string, Slot<A>>;
  dirty: Slot<A>[];
  /** How many of its slots are persisted: the tombstones its close costs, counted without visiting them. */
  persistedCount: number;
  /**
   * How many of its slots have a coalesced early result waiting: its close visits its slots for them only
   * when there are some (a visit of 100k slots is tens of ms in one step).
   */
  pendingCount: number;
}

/**
 * Tumbling and hopping windows: accumulators are grouped by window start, so closing a window frees all of
 * its keys at once and the watermark only ever visits the oldest open starts (there are size/advance + a few
 * of them), never every key.
 *
 * Hopping windows with final results only keep panes instead (see paneLengthMs, as Li et al., "No pane, no
 * gain", 2005): a record is added to one pane, and a window's result is its panes merged when it closes.
 * A pane is freed once the last window over it has closed. Which windows have closed is the watermark they
 * were closed through (`closedThroughMs`), kept in the changelog beside the panes, since the panes of a
 * partly emitted window cannot tell.
 */
export class FixedWindowOperator<V, A, R>
  extends WindowOperatorBase<V, A, R>
  implements WindowOperator<V, R>
{
  private readonly windowsByStart = new Map<number, WindowSlots<A>>();
  private sortedStarts: number[] = [];
  /** Windows closed since the last drain: their keys become tombstones in the changelog. */
  private closedSinceDrain: WindowSlots<A>[] = [];
  /** Records mostly hit the newest window: remember it rather than look it up each time. */
  private lastWindow: WindowSlots<A> | null = null;
  private pendingUpdates: Array<{ slot: Slot<A>; window: WindowSlots<A> }> = [];
  /** Drains so far: the number a slot changed now is listed under (see Slot). */
  private drains = 0;
  /** The drain whose values are being taken (or were last taken). */
  private takingDrain = NO_DRAIN;
  /** Null: accumulators are per window; else per pane of this length (the starts above are pane starts). */
  private readonly paneMs: number | null;
  /** Panes: every window whose end plus grace this watermark has reached has been emitted. */
  private closedThroughMs = Number.NEGATIVE_INFINITY;
  /** Panes: closedThroughMs moved since the last drain, so the changelog needs it. */
  private closedThroughChanged = false;
  /**
   * Panes: whole windows restored from a changelog written before panes (window start -> key -> accumulator).
   * They hold the records folded before the upgrade; a window's result merges its entry here with its panes,
   * which hold the records after, so nothing counted before the upgrade is lost or counted twice.
   */
  private wholeWindows = new Map<number, Map<string, A>>();
  /** Panes: changelog keys of whole windows emitted since the last drain. */
  private wholeWindowTombstones: string[] = [];

  constructor(
    aggregation: Aggregation<V, A, R>,
    private readonly options: FixedWindowOperatorOptions,
  ) {
    super(aggregation, options);
    this.paneMs = paneLengthMs(options.windows, this.emitsUpdates);
  }

  process(key: string, value: V, eventTime: number, watermark: number, emit: Emit<R>): boolean {
    if (this.paneMs !== null)
      return this.processIntoPane(this.paneMs, key, value, eventTime, watermark, emit);
    const { sizeMs, advanceMs, graceMs } = this.options.windows;
    let accepted = false;
    const lastStart = Math.floor(eventTime / advanceMs) * advanceMs;
    for (let start = lastStart - sizeMs + advanceMs; start <= lastStart; start += advanceMs) {
      if (start <= eventTime - sizeMs) continue;
      const end = start + sizeMs;
      if (watermark >= end + graceMs) continue;
      accepted = true;
      const slot = this.fold(start, key, value);
      if (!this.emitsUpdates) continue;
      if (this.options.coalesceUpdates) {
        if (!slot.updatePending) {
          slot.updatePending = true;
          const window = this.windowAt(start);
          window.pendingCount++;
          this.pendingUpdates.push({ slot, window });
        }
      } else {
        this.emitResult(emit, key, start, end, slot.accumulator, false);
      }
    }
    return accepted;
  }

  /**
   * Adds the record to its pane if a window over it is still open at `watermark`. Windows the watermark has
   * closed but advance() has not yet emitted are emitted first: they must not count the record, and a pane
   * cannot count it for some of its windows only.
   */
  private processIntoPane(
    paneMs: number,
    key: string,
    value: V,
    eventTime: number,
    watermark: number,
    emit: Emit<R>,
  ): boolean {
    const { sizeMs, advanceMs, graceMs } = this.options.windows;
    const lastStart = Math.floor(eventTime / advanceMs) * advanceMs;
    if (watermark >= lastStart + sizeMs + graceMs) return false;
    const firstStart = firstStartAfter(eventTime - sizeMs, advanceMs);
    if (watermark > this.closedThroughMs && watermark >= firstStart + sizeMs + graceMs)
      this.advance(watermark, emit);
    this.fold(Math.floor(eventTime / paneMs) * paneMs, key, value);
    return true;
  }

  /** Emits the coalesced early results of the batch that just ended. */
  flushUpdates(emit: Emit<R>): void {
    if (this.pendingUpdates.length === 0) return;
    const { sizeMs } = this.options.windows;
    const pending = this.pendingUpdates;
    this.pendingUpdates = [];
    for (const { slot, window } of pending) {
      if (!slot.updatePending) continue;
      slot.updatePending = false;
      window.pendingCount--;
      this.emitResult(emit, slot.key, window.start, window.start + sizeMs, slot.accumulator, false);
    }
  }

  private fold(start: number, key: string, value: V): Slot<A> {
    const window = this.windowAt(start);
    let slot = window.slots.get(key);
    if (slot === undefined) {
      this.reserveEntries(1);
      slot = {
        key,
        accumulator: this.aggregation.init(),
        changedIn: UNCHANGED,
        frozen: null,
        persisted: false,
        updatePending: false,
      };
      window.slots.set(key, slot);
      this.entries++;
    }
    if (slot.changedIn !== this.drains) {
      if (slot.changedIn === this.takingDrain) slot.frozen = JSON.stringify(slot.accumulator);
      slot.changedIn = this.drains;
      window.dirty.push(slot);
    }
    slot.accumulator = this.aggregation.add(slot.accumulator, value);
    return slot;
  }

  private windowAt(start: number): WindowSlots<A> {
    if (this.lastWindow?.start === start) return this.lastWindow;
    let window = this.windowsByStart.get(start);
    if (!window) {
      window = { start, slots: new Map(), dirty: [], persistedCount: 0, pendingCount: 0 };
      this.windowsByStart.set(start, window);
      this.insertStart(start);
    }
    this.lastWindow = window;
    return window;
  }

  private insertStart(start: number): void {
    const starts = this.sortedStarts;
    let at = starts.length;
    while (at > 0 && starts[at - 1]! > start) at--;
    starts.splice(at, 0, start);
  }

  advance(watermark: number, emit: Emit<R>): void {
    if (this.paneMs !== null) {
      this.advancePanes(this.paneMs, watermark, emit);
      return;
    }
    const { sizeMs, graceMs } = this.options.windows;
    while (this.sortedStarts.length > 0) {
      const start = this.sortedStarts[0]!;
      const end = start + sizeMs;
      if (watermark < end + graceMs) return;
      const window = this.closeOldest();
      if (window.pendingCount > 0) {
        for (const slot of window.slots.values()) {
          if (!slot.updatePending) continue;
          // A coalesced early result still owed: in update mode it is the window's last word, so send it now.
          slot.updatePending = false;
          if (!this.emitsFinal) this.emitResult(emit, slot.key, start, end, slot.accumulator, false);
        }
        window.pendingCount = 0;
      }
      if (this.emitsFinal) {
        for (const slot of window.slots.values())
          this.emitResult(emit, slot.key, start, end, slot.accumulator, true);
      }
    }
  }

  /** Frees the oldest start's accumulators; their persisted keys become tombstones at the next drain. */
  private closeOldest(): WindowSlots<A> {
    const start = this.sortedStarts.shift()!;
    const window = this.windowsByStart.get(start)!;
    this.windowsByStart.delete(start);
    if (this.lastWindow === window) this.lastWindow = null;
    this.closedSinceDrain.push(window);
    this.entries -= window.slots.size;
    return window;
  }

  /**
   * Emits, oldest first, the windows closed between the last watermark and this one that hold records,
   * skipping runs of empty windows, and frees each pane once the last window over it has been emitted.
   */
  private advancePanes(paneMs: number, watermark: number, emit: Emit<R>): void {
    if (watermark <= this.closedThroughMs) return;
    const { sizeMs, advanceMs, graceMs } = this.options.windows;
    let start = firstStartAfter(this.closedThroughMs - graceMs - sizeMs, advanceMs);
    this.closedThroughMs = watermark;
    this.closedThroughChanged = true;
    for (;;) {
      const next = this.nextHeldWindowStart(start);
      if (next === null || watermark < next + sizeMs + graceMs) return;
      start = next;
      this.emitMergedPanes(paneMs, start, emit);
      start += advanceMs;
      // A pane's last window starts at the last multiple of the advance at or before the pane.
      while (
        this.sortedStarts.length > 0 &&
        Math.floor(this.sortedStarts[0]! / advanceMs) * advanceMs < start
      )
        this.closeOldest();
    }
  }

  /** The first window start at or after `from` that holds records (in a pane or a whole window); null if none. */
  private nextHeldWindowStart(from: number): number | null {
    const { sizeMs, advanceMs } = this.options.windows;
    let next =
      this.sortedStarts.length > 0
        ? Math.max(from, firstStartAfter(this.sortedStarts[0]! - sizeMs, advanceMs))
        : Number.POSITIVE_INFINITY;
    for (const start of this.wholeWindows.keys()) if (start >= from && start < next) next = start;
    return next === Number.POSITIVE_INFINITY ? null : next;
  }

  /**
   * The final result of each key of window [start, start + size): its panes (and its whole-window entry from
   * before panes, if any) merged into a fresh accumulator, as panes are shared with the windows still open.
   * Keys come in the order of their first pane.
   */
  private emitMergedPanes(paneMs: number, start: number, emit: Emit<R>): void {
    const end = start + this.options.windows.sizeMs;
    const panes: WindowSlots<A>[] = [];
    for (let paneStart = start; paneStart < end; paneStart += paneMs) {
      const pane = this.windowsByStart.get(paneStart);
      if (pane !== undefined) panes.push(pane);
    }
    const whole = this.wholeWindows.get(start);
    this.wholeWindows.delete(start);
    const emitted = new Set<string>();
    for (let first = 0; first < panes.length; first++) {
      for (const key of panes[first]!.slots.keys()) {
        if (emitted.has(key)) continue;
        emitted.add(key);
        // The whole-window accumulator is this window's alone (dropped below), so merging into it is safe.
        let accumulator = whole?.get(key) ?? this.aggregation.init();
        // Earlier panes do not hold the key: it would have been emitted from them.
        for (let at = first; at < panes.length; at++) {
          const slot = panes[at]!.slots.get(key);
          if (slot !== undefined) accumulator = this.aggregation.merge(accumulator, slot.accumulator);
        }
        this.emitResult(emit, key, start, end, accumulator, true);
      }
    }
    if (whole === undefined) return;
    for (const [key, accumulator] of whole) {
      if (!emitted.has(key)) this.emitResult(emit, key, start, end, accumulator, true);
      this.wholeWindowTombstones.push(windowEntryKey(start, key));
    }
  }

  drainChanges(): Array<[string, unknown]> {
    const changes = this.drainChangesGradually();
    return changes.take(changes.count).map(([key, json]) => [key, json === null ? null : JSON.parse(json)]);
  }

  /**
   * Takes the changes since the last drain: tombstones for the persisted keys of windows closed since, then
   * the changed slots' values. Only the lists are taken here (work per window, not per entry); keys and values
   * are built as the checkpoint takes them, a slice at a time.
   */
  drainChangesGradually(): StateChanges {
    const closed = this.closedSinceDrain;
    this.closedSinceDrain = [];
    const changed: Array<{ window: WindowSlots<A>; dirty: Slot<A>[] }> = [];
    let count = 0;
    for (const window of closed) count += window.persistedCount;
    const wholeWindowTombstones = this.wholeWindowTombstones;
    this.wholeWindowTombstones = [];
    count += wholeWindowTombstones.length;
    for (const window of this.windowsByStart.values()) {
      if (window.dirty.length === 0) continue;
      changed.push({ window, dirty: window.dirty });
      count += window.dirty.length;
      window.dirty = [];
    }
    const drain = this.drains;
    this.takingDrain = drain;
    this.drains++;
    const entryKey = this.paneMs === null ? windowEntryKey : paneEntryKey;
    const tombstones = chain(wholeWindowTombstones, persistedEntryKeys(closed, entryKey));
    const values = changedEntries(changed, drain, entryKey);
    // Taken with the panes it is consistent with: a restore must neither emit a window again nor miss one.
    let closedThrough: [string, string] | null = null;
    if (this.closedThroughChanged) {
      closedThrough = [CLOSED_THROUGH_KEY, JSON.stringify(this.closedThroughMs)];
      this.closedThroughChanged = false;
      count++;
    }
    return {
      count,
      take(max) {
        const taken: Array<[string, string | null]> = [];
        while (taken.length < max) {
          const next = tombstones.next();
          if (next.done) break;
          taken.push([next.value, null]);
        }
        while (taken.length < max) {
          const next = values.next();
          if (next.done) break;
          taken.push(next.value);
        }
        if (closedThrough !== null && taken.length < max) {
          taken.push(closedThrough);
          closedThrough = null;
        }
        return taken;
      },
    };
  }

  restore(entryKey: string, value: unknown): void {
    if (this.paneMs === null) {
      this.restoreEntry(decodeWindowEntryKey(this.name, entryKey), value);
      return;
    }
    if (entryKey === CLOSED_THROUGH_KEY) {
      if (typeof value !== 'number') throw malformedEntry(this.name, 'value for', entryKey);
      this.closedThroughMs = value;
      return;
    }
    if (entryKey[0] !== PANE_PREFIX) {
      this.restoreWholeWindow(decodeWindowEntryKey(this.name, entryKey), value);
      return;
    }
    const { prefix: _pane, ...entry } = decodePrefixedWindowEntryKey(this.name, entryKey);
    this.restoreEntry(entry, value);
  }

  /** A whole window written before panes (or by the early-results mode): kept apart and merged at its close. */
  private restoreWholeWindow({ time: start, key }: WindowEntry, value: unknown): void {
    let window = this.wholeWindows.get(start);
    if (value === null) {
      window?.delete(key);
      if (window?.size === 0) this.wholeWindows.delete(start);
      return;
    }
    if (window === undefined) {
      window = new Map();
      this.wholeWindows.set(start, window);
    }
    window.set(key, value as A);
  }

  private restoreEntry({ time: start, key }: WindowEntry, value: unknown): void {
    if (value === null) {
      const window = this.windowsByStart.get(start);
      const slot = window?.slots.get(key);
      if (window && slot) {
        window.slots.delete(key);
        if (slot.persisted) window.persistedCount--;
        this.entries--;
      }
      if (window?.slots.size === 0) {
        this.windowsByStart.delete(start);
        if (this.lastWindow === window) this.lastWindow = null;
        this.sortedStarts = this.sortedStarts.filter((s) => s !== start);
      }
      return;
    }
    const window = this.windowAt(start);
    const slot = window.slots.get(key);
    if (slot) {
      slot.accumulator = value as A;
      return;
    }
    window.slots.set(key, {
      key,
      accumulator: value as A,
      changedIn: UNCHANGED,
      frozen: null,
      persisted: true,
      updatePending: false,
    });
    window.persistedCount++;
    this.entries++;
  }

  clear(): void {
    this.windowsByStart.clear();
    this.pendingUpdates = [];
    this.sortedStarts = [];
    this.closedSinceDrain = [];
    this.lastWindow = null;
    this.entries = 0;
    this.takingDrain = NO_DRAIN;
    this.closedThroughMs = Number.NEGATIVE_INFINITY;
    this.closedThroughChanged = false;
    this.wholeWindows = new Map();
    this.wholeWindowTombstones = [];
  }
}

function* chain<T>(first: Iterable<T>, second: Iterable<T>): Generator<T> {
  yield* first;
  yield* second;
}

function paneEntryKey(paneStart: number, key: string): string {
  return prefixedWindowEntryKey(PANE_PREFIX, paneStart, key);
}

/** Changelog keys of the persisted slots of closed windows. */
function* persistedEntryKeys<A>(
  closed: WindowSlots<A>[],
  entryKey: (start: number, key: string) => string,
): Generator<string> {
  for (const window of closed) {
    for (const slot of window.slots.values()) {
      if (slot.persisted) yield entryKey(window.start, slot.key);
    }
  }
}

/**
 * [key, JSON] of each listed slot as it was at drain `drain`: its accumulator if it has not changed since,
 * else the value frozen when it did.
 */
function* changedEntries<A>(
  changed: Array<{ window: WindowSlots<A>; dirty: Slot<A>[] }>,
  drain: number,
  entryKey: (start: number, key: string) => string,
): Generator<[string, string]> {
  for (const { window, dirty } of changed) {
    for (const slot of dirty) {
      const json = slot.changedIn === drain ? JSON.stringify(slot.accumulator) : slot.frozen!;
      if (slot.changedIn === drain) slot.changedIn = UNCHANGED;
      slot.frozen = null;
      if (!slot.persisted) {
        slot.persisted = true;
        window.persistedCount++;
      }
      yield [entryKey(window.start, slot.key), json];
    }
  }
}
