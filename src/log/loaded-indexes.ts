/** A sealed segment whose indexes load on first use and can be dropped again. */
export interface IndexHolder {
  releaseIndexes(): void;
}

/**
 * Sealed segments whose indexes are in memory, at most `maxLoaded`, least recently used released first. A
 * sealed segment's indexes are read from disk when a fetch or a time search first needs them; without a bound,
 * every segment ever read would keep them for the life of the process (megabytes per segment of a busy
 * partition), and memory would grow with the log. The active segments' indexes are not counted: they are
 * being appended to and are released at roll.
 */
export class LoadedIndexLimiter {
  private readonly loaded = new Map<IndexHolder, true>();

  constructor(readonly maxLoaded: number) {
    if (!Number.isInteger(maxLoaded) || maxLoaded < 1)
      throw new RangeError(`maxLoaded=${maxLoaded} is invalid: expected an integer >= 1`);
  }

  get loadedCount(): number {
    return this.loaded.size;
  }

  /** Call on every use of a sealed segment's indexes, so release order tracks recency. */
  touch(holder: IndexHolder): void {
    if (this.loaded.delete(holder)) {
      this.loaded.set(holder, true);
      return;
    }
    for (const oldest of this.loaded.keys()) {
      if (this.loaded.size < this.maxLoaded) break;
      this.loaded.delete(oldest);
      oldest.releaseIndexes();
    }
    this.loaded.set(holder, true);
  }

  forget(holder: IndexHolder): void {
    this.loaded.delete(holder);
  }
}

/**
 * Sealed segments with their indexes loaded, over every log of the process. Readers mostly follow the newest
 * segments, so a few dozen cover them; an old segment read once loads its indexes again when next read.
 */
const MAX_LOADED_SEALED_INDEXES = 64;

let shared: LoadedIndexLimiter | null = null;

export function sharedLoadedIndexes(): LoadedIndexLimiter {
  shared ??= new LoadedIndexLimiter(MAX_LOADED_SEALED_INDEXES);
  return shared;
}
