import { LogError } from './errors.js';

/** Something holding an open file descriptor that can give it up and reopen it later. */
export interface FileHolder {
  /** False while the descriptor must stay open: an fsync is in flight on it. */
  canCloseFile(): boolean;
  closeFile(): void;
}

/**
 * Bounds the number of segment files open at once across every partition. Any segment, the active one
 * included, is closed in least-recently-used order to make room and reopened on its next use, so idle
 * partitions never hold descriptors that active ones need: a partition being written is touched on every
 * append and stays at the recent end. Only a descriptor with an fsync in flight is pinned; when every open
 * one is, the open is refused until an fsync ends.
 */
export class OpenFileLimiter {
  private readonly open = new Map<FileHolder, true>();
  /** Files opened since start, first opens and reopens after eviction alike: a measure of churn. */
  openedTotal = 0;

  constructor(readonly maxOpenFiles: number) {
    if (!Number.isInteger(maxOpenFiles) || maxOpenFiles < 1) {
      throw new LogError(
        'INVALID_CONFIG',
        `maxOpenSegments=${maxOpenFiles} is invalid: expected an integer >= 1`,
      );
    }
  }

  get openCount(): number {
    return this.open.size;
  }

  /** Call before opening a file for `holder`, and on every use so eviction order tracks recency. */
  touch(holder: FileHolder, path: string): void {
    if (this.open.delete(holder)) {
      this.open.set(holder, true);
      return;
    }
    if (this.open.size >= this.maxOpenFiles) this.evictOne(path);
    this.open.set(holder, true);
    this.openedTotal++;
  }

  forget(holder: FileHolder): void {
    this.open.delete(holder);
  }

  private evictOne(path: string): void {
    for (const candidate of this.open.keys()) {
      if (candidate.canCloseFile()) {
        this.open.delete(candidate);
        candidate.closeFile();
        return;
      }
    }
    throw new LogError(
      'TOO_MANY_OPEN_SEGMENTS',
      `cannot open ${path}: all ${this.maxOpenFiles} allowed segment files have an fsync in flight ` +
        '(retry, or raise maxOpenSegments)',
    );
  }
}
