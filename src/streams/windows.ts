import { type Duration, toMillis } from './duration.js';

/** A time window [start, end) in event-time milliseconds. */
export interface Window {
  start: number;
  end: number;
}

/** Assigns event times to the fixed windows they belong to; `graceMs` keeps a window open for late records. */
export interface FixedWindows {
  readonly kind: 'tumbling' | 'hopping';
  readonly sizeMs: number;
  readonly advanceMs: number;
  readonly graceMs: number;
  windowsFor(timestamp: number): Window[];
  /** Grace period after the window end during which late records are still accepted. */
  grace(duration: Duration): FixedWindows;
}

function fixed(
  kind: 'tumbling' | 'hopping',
  sizeMs: number,
  advanceMs: number,
  graceMs: number,
): FixedWindows {
  if (sizeMs <= 0) throw new RangeError('window size must be positive');
  if (advanceMs <= 0 || advanceMs > sizeMs)
    throw new RangeError(`window advance ${advanceMs} ms must be in (0, size ${sizeMs} ms]`);
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
      return fixed(kind, sizeMs, advanceMs, toMillis(duration));
    },
  };
}

/** Non-overlapping windows of one size, aligned to the epoch: each record falls in exactly one. */
export function tumbling(size: Duration): FixedWindows {
  const sizeMs = toMillis(size);
  return fixed('tumbling', sizeMs, sizeMs, 0);
}

/** Overlapping windows of `size` starting every `advance`: each record falls in size/advance windows. */
export function hopping(size: Duration, advance: Duration): FixedWindows {
  return fixed('hopping', toMillis(size), toMillis(advance), 0);
}

/** A window is final once the watermark has passed its end plus the grace period. */
export function isClosed(window: Window, graceMs: number, watermark: number): boolean {
  return watermark >= window.end + graceMs;
}
