import { LogError } from './errors.js';

/** Something holding an open file descriptor that can give it up and reopen it later. */
export interface FileHolder {
  /** False while the descriptor must stay open: an active segment, or an fsync in flight on it. */
  canCloseFile(): boolean;
  closeFile(): void;
}

/**
 * Bounds the number of segment files open at once across every partition. Inactive segments are closed in
 * least-recently-used order to make room; when every open file is pinned the open is refused.
 */
export class OpenFileLimiter {
  private readonly open = new Map<FileHolder, true>();

  constructor(readonly maxOpenFiles: number) {}

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
      `cannot open ${path}: all ${this.maxOpenFiles} allowed segment files are in use (raise maxOpenSegments)`,
    );
  }
}
