import type { Aggregation } from './aggregations.js';
import { type Duration, toMillis } from './duration.js';
import { StateLimitError } from './state-store.js';
import {
  type Emit,
  type EmitMode,
  emitsFinal,
  emitsUpdates,
  type WindowOperator,
} from './window-operator.js';
import type { Window } from './windows.js';

/** Sessions of activity per key separated by at least `gapMs` of inactivity (Kafka Streams' SessionWindows). */
export interface SessionWindows {
  readonly gapMs: number;
  readonly graceMs: number;
  /** Grace period after a session could last have been extended during which late records are still accepted. */
  grace(duration: Duration): SessionWindows;
}

function sessions(gapMs: number, graceMs: number): SessionWindows {
  if (gapMs <= 0) throw new RangeError(`session gap ${gapMs} ms must be positive`);
  return {
    gapMs,
    graceMs,
    grace(duration) {
      return sessions(gapMs, toMillis(duration));
    },
  };
}

/** Records of one key at most `gap` apart (inclusive) belong to one session. */
export function sessionWindows(gap: Duration): SessionWindows {
  return sessions(toMillis(gap), 0);
}

export interface SessionWindowOperatorOptions {
  name: string;
  windows: SessionWindows;
  emit: EmitMode;
  /** Bound on open sessions across all keys. */
  maxEntries: number;
}

interface Session<A> {
  readonly key: string;
  /** Event times of the earliest and latest record in the session. */
  first: number;
  last: number;
  accumulator: A;
  /** False once closed or merged into another session: its close-queue entry is then skipped. */
  live: boolean;
}

/** A session's place in the close queue, ordered by the `last` it had when queued. */
interface CloseEntry<A> {
  session: Session<A>;
  last: number;
}

/** The changelog value of a session; its first event time and key are in the entry key. */
interface SessionEntry {
  last: number;
  accumulator: unknown;
}

/** Separates the first event time and key in changelog keys; the key comes last so it may contain anything. */
const KEY_SEPARATOR = '\u0000';

/** A binary min-heap; `before(a, b)` is the strict order, which must be total for a deterministic pop order. */
export class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get length(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    let at = items.length;
    items.push(item);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.before(item, items[parent]!)) break;
      items[at] = items[parent]!;
      at = parent;
    }
    items[at] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const tail = items.pop();
    if (items.length === 0 || tail === undefined) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && this.before(items[right]!, items[left]!) ? right : left;
      if (!this.before(items[child]!, tail)) break;
      items[at] = items[child]!;
      at = child;
    }
    items[at] = tail;
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}

/**
 * Session windows with Kafka Streams semantics. A session of a key spans the event times of its first and
 * last record; a record at t joins every session with first - gap <= t <= last + gap (both inclusive), so a
 * record can create a session, extend one at either end (out-of-order records extend it backwards) or bridge
 * two sessions, which are then merged with `aggregation.merge`.
 *
 * Reported windows are { start: first, end: last + 1 }: end exclusive like every Window, so a session of one
 * record at t is [t, t + 1). A session is final once no record within grace of the watermark could extend
 * it: it closes when watermark >= last + 1 + gap + grace. A record is late (process returns false) when the
 * window it would end up in has end + grace <= watermark, as in Kafka: a record more than grace behind the
 * watermark is only accepted into an open session that is itself still within grace. Such a record could
 * also lie within gap of a session already closed (and emitted as final): that session stays as it was
 * and is not merged (Kafka merges it if it is still in its store). The runtime advances the operator to a
 * watermark before processing records with it, so every session held is open.
 *
 * Update mode emits the session's new result on every record. When a record changes a session's bounds or
 * merges sessions, the windows that no longer exist are first emitted as tombstones: results with
 * `result: null` and final=false, exactly one per replaced window, before the result of the window that
 * replaces them (Kafka Streams forwards the same tombstones). A record inside a session's bounds changes no
 * window, so it emits no tombstone. Final mode emits one final result per session when it closes and never
 * a tombstone.
 *
 * Each open session is one state entry, keyed `${first}\u0000${key}` with value { last, accumulator }.
 * Sessions of a key are kept sorted by first event time; they never overlap, so the (at most two) sessions a
 * record touches are found by binary search. Closing uses a heap ordered by `last` (then key): a session's
 * entry is not moved when it grows; when the entry surfaces, a session that has grown since is re-queued
 * with its new `last`, so each record costs O(log n) at most and advance() visits only due entries.
 */
export class SessionWindowOperator<V, A, R> implements WindowOperator<V, R | null> {
  readonly name: string;
  private readonly sessionsByKey = new Map<string, Array<Session<A>>>();
  private readonly closeQueue = new MinHeap<CloseEntry<A>>(
    (a, b) => a.last < b.last || (a.last === b.last && a.session.key < b.session.key),
  );
  /** Entries changed since the last drain: the live session, or null once it was closed or replaced. */
  private readonly dirty = new Map<string, Session<A> | null>();
  private entries = 0;

  constructor(
    private readonly aggregation: Aggregation<V, A, R>,
    private readonly options: SessionWindowOperatorOptions,
  ) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries <= 0)
      throw new RangeError(`state store '${options.name}': maxEntries ${options.maxEntries} must be >= 1`);
    this.name = options.name;
  }

  get size(): number {
    return this.entries;
  }

  process(key: string, value: V, eventTime: number, watermark: number, emit: Emit<R | null>): boolean {
    const { gapMs } = this.options.windows;
    const keySessions = this.sessionsByKey.get(key);
    let from = 0;
    let to = 0;
    let first = eventTime;
    let last = eventTime;
    if (keySessions) {
      from = firstEndingAtOrAfter(keySessions, eventTime - gapMs);
      to = from;
      while (to < keySessions.length && keySessions[to]!.first <= eventTime + gapMs) {
        first = Math.min(first, keySessions[to]!.first);
        last = Math.max(last, keySessions[to]!.last);
        to++;
      }
    }
    if (last + 1 + this.options.windows.graceMs <= watermark) return false;
    if (!keySessions || from === to) {
      this.openSession(key, value, eventTime, from, emit);
      return true;
    }
    this.growSessions(keySessions, from, to, first, last, value, emit);
    return true;
  }

  private isClosed(last: number, watermark: number): boolean {
    const { gapMs, graceMs } = this.options.windows;
    return watermark >= last + 1 + gapMs + graceMs;
  }

  private openSession(key: string, value: V, eventTime: number, at: number, emit: Emit<R | null>): void {
    if (this.entries >= this.options.maxEntries)
      throw new StateLimitError(this.name, this.options.maxEntries);
    const session: Session<A> = {
      key,
      first: eventTime,
      last: eventTime,
      accumulator: this.aggregation.add(this.aggregation.init(), value),
      live: true,
    };
    let keySessions = this.sessionsByKey.get(key);
    if (!keySessions) {
      keySessions = [];
      this.sessionsByKey.set(key, keySessions);
    }
    keySessions.splice(at, 0, session);
    this.closeQueue.push({ session, last: eventTime });
    this.entries++;
    this.dirty.set(entryKeyOf(session), session);
    if (emitsUpdates(this.options.emit)) this.emitUpdate(session, emit);
  }

  /** Folds the record into sessions [from, to) of the key, merged into the first of them. */
  private growSessions(
    keySessions: Array<Session<A>>,
    from: number,
    to: number,
    first: number,
    last: number,
    value: V,
    emit: Emit<R | null>,
  ): void {
    const survivor = keySessions[from]!;
    if (emitsUpdates(this.options.emit)) {
      for (let i = from; i < to; i++) {
        const replaced = keySessions[i]!;
        if (replaced.first !== first || replaced.last !== last)
          emit({ key: replaced.key, window: windowOf(replaced), result: null, final: false });
      }
    }
    for (let i = from + 1; i < to; i++) {
      const merged = keySessions[i]!;
      survivor.accumulator = this.aggregation.merge(survivor.accumulator, merged.accumulator);
      merged.live = false;
      this.dirty.set(entryKeyOf(merged), null);
      this.entries--;
    }
    keySessions.splice(from + 1, to - from - 1);
    survivor.accumulator = this.aggregation.add(survivor.accumulator, value);
    if (survivor.first !== first) {
      this.dirty.set(entryKeyOf(survivor), null);
      survivor.first = first;
    }
    // The survivor's close entry still holds its old `last`; advance() re-queues it when it surfaces.
    survivor.last = last;
    this.dirty.set(entryKeyOf(survivor), survivor);
    if (emitsUpdates(this.options.emit)) this.emitUpdate(survivor, emit);
  }

  private emitUpdate(session: Session<A>, emit: Emit<R | null>): void {
    emit({
      key: session.key,
      window: windowOf(session),
      result: this.aggregation.result(session.accumulator),
      final: false,
    });
  }

  advance(watermark: number, emit: Emit<R | null>): void {
    for (;;) {
      const due = this.closeQueue.peek();
      if (!due || !this.isClosed(due.last, watermark)) return;
      this.closeQueue.pop();
      const session = due.session;
      if (!session.live) continue;
      if (session.last !== due.last) {
        this.closeQueue.push({ session, last: session.last });
        continue;
      }
      this.remove(session);
      this.dirty.set(entryKeyOf(session), null);
      if (emitsFinal(this.options.emit)) {
        emit({
          key: session.key,
          window: windowOf(session),
          result: this.aggregation.result(session.accumulator),
          final: true,
        });
      }
    }
  }

  private remove(session: Session<A>): void {
    const keySessions = this.sessionsByKey.get(session.key)!;
    const at = firstStartingAtOrAfter(keySessions, session.first);
    keySessions.splice(at, 1);
    if (keySessions.length === 0) this.sessionsByKey.delete(session.key);
    session.live = false;
    this.entries--;
  }

  drainChanges(): Array<[string, unknown]> {
    const changes: Array<[string, unknown]> = [];
    for (const [entryKey, session] of this.dirty) {
      const entry: SessionEntry | null = session && { last: session.last, accumulator: session.accumulator };
      changes.push([entryKey, entry]);
    }
    this.dirty.clear();
    return changes;
  }

  restore(entryKey: string, value: unknown): void {
    const separator = entryKey.indexOf(KEY_SEPARATOR);
    const first = Number(entryKey.slice(0, separator));
    if (separator < 0 || !Number.isFinite(first))
      throw new Error(`state store '${this.name}': malformed changelog key ${JSON.stringify(entryKey)}`);
    const key = entryKey.slice(separator + 1);
    const existing = this.sessionsByKey.get(key)?.find((session) => session.first === first);
    // A replaced session gets a new object so its close entry is queued afresh with its restored `last`.
    if (existing) this.remove(existing);
    if (value === null) return;
    if (!isSessionEntry(value))
      throw new Error(
        `state store '${this.name}': malformed changelog value for ${JSON.stringify(entryKey)}`,
      );
    let keySessions = this.sessionsByKey.get(key);
    if (!keySessions) {
      keySessions = [];
      this.sessionsByKey.set(key, keySessions);
    }
    const session: Session<A> = {
      key,
      first,
      last: value.last,
      accumulator: value.accumulator as A,
      live: true,
    };
    keySessions.splice(firstStartingAtOrAfter(keySessions, first), 0, session);
    this.closeQueue.push({ session, last: session.last });
    this.entries++;
  }

  clear(): void {
    this.sessionsByKey.clear();
    this.closeQueue.clear();
    this.dirty.clear();
    this.entries = 0;
  }
}

function windowOf(session: Session<unknown>): Window {
  return { start: session.first, end: session.last + 1 };
}

function entryKeyOf(session: Session<unknown>): string {
  return `${session.first}${KEY_SEPARATOR}${session.key}`;
}

function isSessionEntry(value: unknown): value is SessionEntry {
  return (
    typeof value === 'object' &&
    value !== null &&
    'last' in value &&
    typeof value.last === 'number' &&
    'accumulator' in value
  );
}

/** Index of the first session whose last event time is >= time (sessions of a key never overlap). */
function firstEndingAtOrAfter(keySessions: Array<Session<unknown>>, time: number): number {
  let low = 0;
  let high = keySessions.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (keySessions[middle]!.last < time) low = middle + 1;
    else high = middle;
  }
  return low;
}

function firstStartingAtOrAfter(keySessions: Array<Session<unknown>>, time: number): number {
  let low = 0;
  let high = keySessions.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (keySessions[middle]!.first < time) low = middle + 1;
    else high = middle;
  }
  return low;
}
