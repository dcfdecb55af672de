import type { Logger } from 'pino';
import { CoordinationError, type Coordinator } from './coordinator.js';

/**
 * Runs one idempotent pass (read the coordinator's state, act on it, set watches) at a time, again whenever a
 * watch fires, the session (re)connects or a pass failed. Watches and reconnects only say "look again", so a
 * missed or doubled trigger costs a read, never a wrong state; and after an expiry the pass re-reads everything
 * with the new session, which also re-sets the watches the old session lost.
 */
export class Reconciler {
  private running = false;
  private again = false;
  private stopped = false;
  /** Passes failed in a row: only the first of a streak is a warning (an outage would repeat it every retry). */
  private failuresInARow = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;

  constructor(
    coordinator: Coordinator,
    private readonly pass: () => Promise<void>,
    private readonly options: { what: string; retryDelayMs: number; logger: Logger },
  ) {
    this.unsubscribe = coordinator.onState((state) => {
      if (state === 'connected') this.trigger();
    });
  }

  /** Bound once so the coordinator's client sees one watcher per path rather than one per pass. */
  readonly trigger = (): void => {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.run();
  };

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
  }

  private async run(): Promise<void> {
    this.running = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    do {
      this.again = false;
      try {
        await this.pass();
        if (this.failuresInARow > 0) {
          this.options.logger.info(
            { failures: this.failuresInARow },
            `${this.options.what}: coordination pass succeeded again`,
          );
        }
        this.failuresInARow = 0;
      } catch (error) {
        if (error instanceof CoordinationError && error.code === 'CLOSED') {
          this.stop();
          break;
        }
        this.failuresInARow++;
        this.options.logger[this.failuresInARow === 1 ? 'warn' : 'debug'](
          { err: error, retryDelayMs: this.options.retryDelayMs, failures: this.failuresInARow },
          `${this.options.what}: coordination pass failed; retrying`,
        );
        if (!this.stopped) this.retryTimer = setTimeout(this.trigger, this.options.retryDelayMs);
        break;
      }
    } while (this.again && !this.stopped);
    this.running = false;
  }
}
