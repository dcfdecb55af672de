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
  /** Applies one changelog entry while restoring (null deletes); does not mark anything dirty. */
  restore(key: string, value: unknown): void;
  /** Drops everything (the partition moved to another instance). */
  clear(): void;
}

/** Raised when a store would exceed its configured entry bound. */
export class StateLimitError extends Error {
  readonly code = 'STATE_LIMIT';
  constructor(store: string, limit: number) {
    super(`state store '${store}' would exceed ${limit} entries: raise maxEntries or shorten windows/grace`);
    this.name = 'StateLimitError';
  }
}
