import type { Aggregation } from './aggregations.js';
import { MinHeap } from './window-kit/min-heap.js';
import { WindowOperatorBase } from './window-kit/operator-base.js';
import type { WindowStoreOptions } from './window-kit/options.js';
import { firstAtOrAfter } from './window-kit/sorted-search.js';
import { decodeWindowEntryKey, malformedEntry, windowEntryKey } from './window-kit/store-keys.js';
import type { Emit, WindowOperator } from './window-operator.js';
import type { SessionWindows, Window } from './windows.js';

/** `maxEntries` bounds open sessions across all keys. */
export interface SessionWindowOperatorOptions extends WindowStoreOptions {
  windows: SessionWindows;
}

interface Session<A> {
  readonly key: string;
  /** Event times of the earliest and latest record in the session. */
  start: number;
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

/**
 * Session windows with Kafka Streams semantics. A session of a key spans the event times of its first (start)
 * and last record; a record at t joins every session with start - gap <= t <= last + gap (both inclusive), so a
 * record can create a session, extend one at either end (out-of-order records extend it backwards) or bridge
 * two sessions, which are then merged with `aggregation.merge`.
 *
 * Reported windows are { start, end: last + 1 }: end exclusive like every Window, so a session of one
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
 * Each open session is one state entry, keyed `${start}\u0000${key}` with value { last, accumulator }.
 * Sessions of a key are kept sorted by first event time; they never overlap, so the (at most two) sessions a
 * record touches are found by binary search. Closing uses a heap ordered by `last` (then key): a session's
 * entry is not moved when it grows; when the entry surfaces, a session that has grown since is re-queued
 * with its new `last`, so each record costs O(log n) at most and advance() visits only due entries.
 */
export class SessionWindowOperator<V, A, R>
  extends WindowOperatorBase<V, A, R>
  implements WindowOperator<V, R | null>
{
  private readonly sessionsByKey = new Map<string, Array<Session<A>>>();
  private readonly closeQueue = new MinHeap<CloseEntry<A>>(
    (a, b) => a.last < b.last || (a.last === b.last && a.session.key < b.session.key),
  );
  /** Entries changed since the last drain: the live session, or null once it was closed or replaced. */
  private readonly dirty = new Map<string, Session<A> | null>();

  constructor(
    aggregation: Aggregation<V, A, R>,
    private readonly options: SessionWindowOperatorOptions,
  ) {
    super(aggregation, options);
  }

  process(key: string, value: V, eventTime: number, watermark: number, emit: Emit<R | null>): boolean {
    const { gapMs } = this.options.windows;
    const keySessions = this.sessionsByKey.get(key);
    let from = 0;
    let to = 0;
    let start = eventTime;
    let last = eventTime;
    if (keySessions) {
      // The first session ending at or after t - gap. Sessions never overlap, so of those that start before
      // t - gap only the latest can end at or after it.
      from = firstAtOrAfter(keySessions, eventTime - gapMs);
      if (from > 0 && keySessions[from - 1]!.last >= eventTime - gapMs) from--;
      to = from;
      while (to < keySessions.length && keySessions[to]!.start <= eventTime + gapMs) {
        start = Math.min(start, keySessions[to]!.start);
        last = Math.max(last, keySessions[to]!.last);
        to++;
      }
    }
    if (last + 1 + this.options.windows.graceMs <= watermark) return false;
    if (!keySessions || from === to) {
      this.openSession(key, value, eventTime, from, emit);
      return true;
    }
    this.growSessions(keySessions, from, to, start, last, value, emit);
    return true;
  }

  private isClosed(last: number, watermark: number): boolean {
    const { gapMs, graceMs } = this.options.windows;
    return watermark >= last + 1 + gapMs + graceMs;
  }

  private openSession(key: string, value: V, eventTime: number, at: number, emit: Emit<R | null>): void {
    this.reserveEntries(1);
    const session: Session<A> = {
      key,
      start: eventTime,
      last: eventTime,
      accumulator: this.aggregation.add(this.aggregation.init(), value),
      live: true,
    };
    this.insert(session, at);
    this.dirty.set(entryKeyOf(session), session);
    if (this.emitsUpdates) this.emitSession(session, false, emit);
  }

  /** Holds a new session at index `at` of its key's sessions and queues its close. */
  private insert(session: Session<A>, at: number): void {
    let keySessions = this.sessionsByKey.get(session.key);
    if (!keySessions) {
      keySessions = [];
      this.sessionsByKey.set(session.key, keySessions);
    }
    keySessions.splice(at, 0, session);
    this.closeQueue.push({ session, last: session.last });
    this.entries++;
  }

  /** Folds the record into sessions [from, to) of the key, merged into the first of them. */
  private growSessions(
    keySessions: Array<Session<A>>,
    from: number,
    to: number,
    start: number,
    last: number,
    value: V,
    emit: Emit<R | null>,
  ): void {
    const survivor = keySessions[from]!;
    if (this.emitsUpdates) {
      for (let i = from; i < to; i++) {
        const replaced = keySessions[i]!;
        if (replaced.start !== start || replaced.last !== last)
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
    if (survivor.start !== start) {
      this.dirty.set(entryKeyOf(survivor), null);
      survivor.start = start;
    }
    // The survivor's close entry still holds its old `last`; advance() re-queues it when it surfaces.
    survivor.last = last;
    this.dirty.set(entryKeyOf(survivor), survivor);
    if (this.emitsUpdates) this.emitSession(survivor, false, emit);
  }

  private emitSession(session: Session<A>, final: boolean, emit: Emit<R | null>): void {
    const { key, start, last, accumulator } = session;
    this.emitResult(emit, key, start, last + 1, accumulator, final);
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
      if (this.emitsFinal) this.emitSession(session, true, emit);
    }
  }

  private remove(session: Session<A>): void {
    const keySessions = this.sessionsByKey.get(session.key)!;
    const at = firstAtOrAfter(keySessions, session.start);
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
    const { time: start, key } = decodeWindowEntryKey(this.name, entryKey);
    const existing = this.sessionsByKey.get(key)?.find((session) => session.start === start);
    // A replaced session gets a new object so its close entry is queued afresh with its restored `last`.
    if (existing) this.remove(existing);
    if (value === null) return;
    if (!isSessionEntry(value)) throw malformedEntry(this.name, 'value for', entryKey);
    const session: Session<A> = {
      key,
      start,
      last: value.last,
      accumulator: value.accumulator as A,
      live: true,
    };
    const keySessions = this.sessionsByKey.get(key);
    this.insert(session, keySessions ? firstAtOrAfter(keySessions, start) : 0);
  }

  clear(): void {
    this.sessionsByKey.clear();
    this.closeQueue.clear();
    this.dirty.clear();
    this.entries = 0;
  }
}

function windowOf(session: Session<unknown>): Window {
  return { start: session.start, end: session.last + 1 };
}

function entryKeyOf(session: Session<unknown>): string {
  return windowEntryKey(session.start, session.key);
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
