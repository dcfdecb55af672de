import { ioError, LogError } from './errors.js';

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Group commit: callers that ask for durability while an fsync is running all share the next one, so the
 * number of fsyncs per second stays bounded by the disk's fsync latency, not by the append rate.
 */
export class GroupCommit {
  private waiting: Waiter[] = [];
  private running: Promise<void> | null = null;
  private failure: LogError | null = null;

  /** `syncToDisk` makes everything written so far durable. */
  constructor(private readonly syncToDisk: () => Promise<void>) {}

  get failed(): LogError | null {
    return this.failure;
  }

  /** Resolves once an fsync that started after this call has completed. */
  waitForDurable(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.running) this.running = this.runRounds();
    });
  }

  /** Flushes whatever is written, whether or not anyone waits; used by the interval policy and close. */
  flush(): Promise<void> {
    return this.waitForDurable();
  }

  /** Waits for the fsync in flight, if any, without starting another. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  private async runRounds(): Promise<void> {
    while (this.waiting.length > 0) {
      const round = this.waiting;
      this.waiting = [];
      try {
        await this.syncToDisk();
        for (const waiter of round) waiter.resolve();
      } catch (error) {
        // After a failed fsync the kernel may have dropped the dirty pages: nothing written since the last
        // good fsync can be called durable again, so the log stops accepting writes.
        this.failure = error instanceof LogError ? error : ioError(error, 'fsync');
        for (const waiter of [...round, ...this.waiting]) waiter.reject(this.failure);
        this.waiting = [];
      }
    }
    this.running = null;
  }
}
