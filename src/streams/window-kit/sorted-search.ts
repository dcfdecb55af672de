/**
 * What the window operators keep sorted per key: windows by their start, sessions by their first record,
 * record accumulators by their event time, all under the one name `start` so one search serves them all.
 */
export interface Placed {
  readonly start: number;
}

/** Index of the first item starting at or after `start` in items sorted by start (where it would go). */
export function firstAtOrAfter(items: ReadonlyArray<Placed>, start: number): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (items[middle]!.start < start) low = middle + 1;
    else high = middle;
  }
  return low;
}

export function hasItemAt(items: ReadonlyArray<Placed>, start: number): boolean {
  return items[firstAtOrAfter(items, start)]?.start === start;
}
