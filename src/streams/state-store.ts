/**
 * State an operator keeps per key, in memory, made fault tolerant by a changelog: every change marks its
 * entry dirty, and each checkpoint drains the dirty entries into the store's changelog topic (a compacted
 * topic keyed by entry key). Restoring replays the changelog into an empty store.
 */
export interface StateStore {
  readonly name: string;
  /** Entries held now (what the memory bound applies to). */
  readonly size: number;
  /** Entries changed since the previous call, with their current JSON value; null means deleted. */
  drainChanges(): Array<[key: string, value: unknown]>;
  /**
   * The same changes, serialised as they are taken rather than all at once, so a checkpoint of many entries
   * does not stall processing; the store keeps each entry's drained value even if it changes meanwhile.
   */
  drainChangesGradually?(): StateChanges;
  /** Applies one changelog entry while restoring (null deletes); does not mark anything dirty. */
  restore(key: string, value: unknown): void;
  /** Drops everything (the partition moved to another instance). */
  clear(): void;
}

/** Drained changes, taken a slice at a time: [key, JSON text, or null for deleted]. */
export interface StateChanges {
  readonly count: number;
  take(max: number): Array<[key: string, json: string | null]>;
}

/** Serialises changes at once: for stores whose values may change before they are taken. */
export function serialisedNow(changes: Array<[string, unknown]>): StateChanges {
  const texts = changes.map(([key, value]): [string, string | null] => [
    key,
    value === null ? null : JSON.stringify(value),
  ]);
  let at = 0;
  return {
    count: texts.length,
    take(max) {
      const slice = texts.slice(at, at + max);
      at += slice.length;
      return slice;
    },
  };
}

/** Raised when a store would exceed its configured entry bound. */
export class StateLimitError extends Error {
  readonly code = 'STATE_LIMIT';
  constructor(store: string, limit: number) {
    super(`state store '${store}' would exceed ${limit} entries: raise maxEntries or shorten windows/grace`);
    this.name = 'StateLimitError';
  }
}

/** Entries a store may hold unless its options say otherwise. */
export const DEFAULT_MAX_ENTRIES = 2_000_000;

/** A store's entry bound must let it hold something, or every first record would fail. */
export function checkMaxEntries(store: string, maxEntries: number): void {
  if (!Number.isInteger(maxEntries) || maxEntries <= 0)
    throw new RangeError(`state store '${store}': maxEntries ${maxEntries} must be >= 1`);
}
