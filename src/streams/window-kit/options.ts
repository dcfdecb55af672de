import { type Duration, toMillis } from '../duration.js';
import type { EmitMode } from '../window-operator.js';

/** What every window operator is configured with besides its windows. */
export interface WindowStoreOptions {
  /** Names the state store, its changelog topic and metrics. */
  name: string;
  emit: EmitMode;
  /** Bound on state entries (each operator says what an entry is). */
  maxEntries: number;
}

/** What every kind of windows has: a grace period, set by grace() on new windows of the same kind. */
export interface GracedWindows<W> {
  /** How long after a window's end (by event time) late records are still accepted. */
  readonly graceMs: number;
  grace(duration: Duration): W;
}

/**
 * A window length (size, advance, gap) in ms, which must be positive. `wholeMs` where windows are placed 1 ms
 * after a record (sliding windows): their lengths must then be whole milliseconds, as Kafka timestamps are.
 */
export function windowLengthMs(what: string, length: Duration, wholeMs: boolean): number {
  const ms = toMillis(length);
  if (ms <= 0 || (wholeMs && !Number.isSafeInteger(ms)))
    throw new RangeError(`${what} ${ms} ms must be a positive ${wholeMs ? 'whole number' : 'number'}`);
  return ms;
}

/** A grace period in ms: how long after a window's end late records are still accepted (see windowLengthMs). */
export function windowGraceMs(grace: Duration, wholeMs: boolean): number {
  const ms = toMillis(grace);
  if (wholeMs && !Number.isSafeInteger(ms)) throw new RangeError(`grace ${ms} ms must be a whole number`);
  return ms;
}
