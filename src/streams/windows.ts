import type { Duration } from './duration.js';
import { type GracedWindows, windowGraceMs, windowLengthMs } from './window-kit/options.js';

/** A time window [start, end) in event-time milliseconds. */
export interface Window {
  start: number;
  end: number;
}

/** Assigns event times to the fixed windows they belong to; `graceMs` keeps a window open for late records. */
export interface FixedWindows extends GracedWindows<FixedWindows> {
  readonly kind: 'tumbling' | 'hopping';
  readonly sizeMs: number;
  readonly advanceMs: number;
  windowsFor(timestamp: number): Window[];
}

function fixed(
  kind: 'tumbling' | 'hopping',
  sizeMs: number,
  advanceMs: number,
  graceMs: number,
): FixedWindows {
  if (advanceMs > sizeMs)
    throw new RangeError(`window advance ${advanceMs} ms must not exceed the size ${sizeMs} ms`);
  return {
    kind,
    sizeMs,
    advanceMs,
    graceMs,
    windowsFor(timestamp) {
      // Every window whose start is a multiple of the advance and lies in (timestamp - size, timestamp].
      const lastStart = Math.floor(timestamp / advanceMs) * advanceMs;
      const windows: Window[] = [];
      for (let start = lastStart; start > timestamp - sizeMs; start -= advanceMs)
        windows.push({ start, end: start + sizeMs });
      return windows.reverse();
    },
    grace(duration) {
      return fixed(kind, sizeMs, advanceMs, windowGraceMs(duration, false));
    },
  };
}

/** Non-overlapping windows of one size, aligned to the epoch: each record falls in exactly one. */
export function tumbling(size: Duration): FixedWindows {
  const sizeMs = windowLengthMs('window size', size, false);
  return fixed('tumbling', sizeMs, sizeMs, 0);
}

/** Overlapping windows of `size` starting every `advance`: each record falls in size/advance windows. */
export function hopping(size: Duration, advance: Duration): FixedWindows {
  return fixed(
    'hopping',
    windowLengthMs('window size', size, false),
    windowLengthMs('window advance', advance, false),
    0,
  );
}

/** Windows of a fixed size placed by record timestamps (Kafka Streams' SlidingWindows, KIP-450). */
export interface SlidingWindows extends GracedWindows<SlidingWindows> {
  /** Kafka's time difference: the most two records of one window can be apart. */
  readonly sizeMs: number;
}

// Windows start 1 ms after a record: lengths and times are whole milliseconds, as Kafka timestamps are.
function sliding(sizeMs: number, graceMs: number): SlidingWindows {
  return { sizeMs, graceMs, grace: (duration) => sliding(sizeMs, windowGraceMs(duration, true)) };
}

/** At every record at t, the window of its key's records in [t - size, t] (both inclusive). */
export function slidingWindows(size: Duration): SlidingWindows {
  return sliding(windowLengthMs('sliding window size', size, true), 0);
}

/**
 * Sessions of activity per key separated by at least `gapMs` of inactivity (Kafka Streams' SessionWindows).
 * A session's grace runs from when it could last have been extended (its last record plus the gap).
 */
export interface SessionWindows extends GracedWindows<SessionWindows> {
  readonly gapMs: number;
}

function sessions(gapMs: number, graceMs: number): SessionWindows {
  return { gapMs, graceMs, grace: (duration) => sessions(gapMs, windowGraceMs(duration, false)) };
}

/** Records of one key at most `gap` apart (inclusive) belong to one session. */
export function sessionWindows(gap: Duration): SessionWindows {
  return sessions(windowLengthMs('session gap', gap, false), 0);
}

/** A window is final once the watermark has passed its end plus the grace period. */
export function isClosed(window: Window, graceMs: number, watermark: number): boolean {
  return watermark >= window.end + graceMs;
}
