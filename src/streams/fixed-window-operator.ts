import type { Aggregation } from './aggregations.js';
import type { StateChanges } from './state-store.js';
import { WindowOperatorBase } from './window-kit/operator-base.js';
import type { WindowStoreOptions } from './window-kit/options.js';
import { decodeWindowEntryKey, windowEntryKey } from './window-kit/store-keys.js';
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

/** The keys of one window start, with the slots changed since the last drain listed once each. */
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

  constructor(
    aggregation: Aggregation<V, A, R>,
    private readonly options: FixedWindowOperatorOptions,
  ) {
    super(aggregation, options);
  }

  process(key: string, value: V, eventTime: number, watermark: number, emit: Emit<R>): boolean {
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
    const { sizeMs, graceMs } = this.options.windows;
    while (this.sortedStarts.length > 0) {
      const start = this.sortedStarts[0]!;
      const end = start + sizeMs;
      if (watermark < end + graceMs) return;
      this.sortedStarts.shift();
      const window = this.windowsByStart.get(start)!;
      this.windowsByStart.delete(start);
      if (this.lastWindow === window) this.lastWindow = null;
      this.closedSinceDrain.push(window);
      this.entries -= window.slots.size;
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
    for (const window of this.windowsByStart.values()) {
      if (window.dirty.length === 0) continue;
      changed.push({ window, dirty: window.dirty });
      count += window.dirty.length;
      window.dirty = [];
    }
    const drain = this.drains;
    this.takingDrain = drain;
    this.drains++;
    const tombstones = persistedEntryKeys(closed);
    const values = changedEntries(changed, drain);
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
        return taken;
      },
    };
  }

  restore(entryKey: string, value: unknown): void {
    const { time: start, key } = decodeWindowEntryKey(this.name, entryKey);
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
  }
}

/** Changelog keys of the persisted slots of closed windows. */
function* persistedEntryKeys<A>(closed: WindowSlots<A>[]): Generator<string> {
  for (const window of closed) {
    for (const slot of window.slots.values()) {
      if (slot.persisted) yield windowEntryKey(window.start, slot.key);
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
      yield [windowEntryKey(window.start, slot.key), json];
    }
  }
}
