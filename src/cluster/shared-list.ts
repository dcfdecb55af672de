import type { Logger } from 'pino';
import { CoordinationError, type Coordinator, onNewSession } from '../coordination/index.js';
import type { ListStorage } from '../security/index.js';

/**
 * ZooKeeper refuses a node over 1 MiB (jute.maxbuffer); a shared list stays below 900 KiB so the request
 * around it fits too. A change that would make it larger is refused with `tooLarge`.
 */
export const MAX_SHARED_LIST_BYTES = 900 * 1024;

/**
 * Compare-and-set attempts per change. Each retry follows another broker's successful change, so running
 * out means this many admin changes landed while one was being made: refused, never lost.
 */
const MAX_UPDATE_ATTEMPTS = 20;

/** A read that ZooKeeper did not answer set no watch: it is tried again after this long. */
const RELOAD_RETRY_MS = 1_000;

export interface SharedListOptions<T> {
  path: string;
  /** The JSON text of the list; what parse reads back. */
  format(items: readonly T[]): string;
  /** The list of a node's text; throws an error naming `path` when it is damaged. */
  parse(text: string, where: string): T[];
  /** The error a change is refused with when the list would not fit in a node. */
  tooLarge(bytes: number): Error;
  logger: Logger;
}

/**
 * A list shared by the brokers of a cluster in one coordination-service node (absent: empty). A change is a
 * compare-and-set on the node's version, made again on the newest list when another broker's change came
 * first, so no change is lost. The node is watched: another broker's change reaches `watch`'s listener, and
 * after a session expiry (whose watches are gone) the node is read and watched again.
 */
export class SharedList<T> implements ListStorage<T> {
  /** The newest version read or written (-1: no node), and its list. */
  private version = -1;
  private items: readonly T[] = [];
  private listener: (items: readonly T[]) => void = () => undefined;
  private closed = false;
  /** A reload failed for want of ZooKeeper and is being tried again. */
  private retrying = false;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly options: SharedListOptions<T>,
  ) {}

  /** Reads the node and watches it from now on, in this session and the next ones. */
  async load(): Promise<T[]> {
    this.unsubscribe ??= onNewSession(this.coordinator, () => this.reload());
    await this.read();
    return [...this.items];
  }

  async update(change: (current: readonly T[]) => T[] | null): Promise<readonly T[]> {
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const node = await this.coordinator.get(this.options.path);
      const version = node?.version ?? -1;
      const current = node === null ? [] : this.parse(node.data);
      const next = change(current);
      if (next === null) return this.accept(version, current);
      const data = Buffer.from(this.options.format(next));
      if (data.length > MAX_SHARED_LIST_BYTES) throw this.options.tooLarge(data.length);
      // No node yet: creating it is the compare-and-set (a concurrent creator makes this one try again).
      const written =
        node === null
          ? (await this.coordinator.create(this.options.path, data, { parents: true }))
            ? 0
            : null
          : await this.coordinator.set(this.options.path, data, version);
      if (written !== null) return this.accept(written, next);
    }
    throw new Error(
      `${this.options.path}: changed by other brokers ${MAX_UPDATE_ATTEMPTS} times while this change was made; try again`,
    );
  }

  watch(listener: (items: readonly T[]) => void): void {
    this.listener = listener;
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
  }

  /** Reads the node with a watch that reads it again on change; a newer version reaches the listener. */
  private async read(): Promise<void> {
    const node = await this.coordinator.get(this.options.path, () => this.reload());
    if (node === null) this.changed(-1, []);
    else this.changed(node.version, this.parse(node.data));
  }

  private reload(): void {
    if (this.closed) return;
    this.read().then(
      () => {
        this.retrying = false;
      },
      (error: unknown) => {
        // What was read before stays in force. A damaged node was read with its watch set: its next change
        // is read again. A read ZooKeeper did not answer set no watch: tried again (logged once per outage).
        if (!(error instanceof CoordinationError)) {
          this.options.logger.error(
            { err: error, path: this.options.path },
            'shared security settings not reloaded; those read before stay in force',
          );
          return;
        }
        if (!this.retrying) {
          this.options.logger.warn(
            { err: error, path: this.options.path },
            'shared security settings not reloaded; those read before stay in force, trying again every second',
          );
        }
        this.retrying = true;
        setTimeout(() => this.reload(), RELOAD_RETRY_MS).unref();
      },
    );
  }

  private changed(version: number, items: readonly T[]): void {
    if (version === this.version) return;
    const known = this.accept(version, items);
    if (known === items) this.listener(items);
  }

  /**
   * Takes `items` at `version` as the newest unless a newer version is known already (a watch and a write
   * can complete in either order). Returns the newest list. A deleted node (-1) is taken as read.
   */
  private accept(version: number, items: readonly T[]): readonly T[] {
    if (version > this.version || version === -1) {
      this.version = version;
      this.items = items;
    }
    return this.items;
  }

  private parse(data: Buffer): T[] {
    return this.options.parse(data.toString('utf8'), `ZooKeeper ${this.options.path}`);
  }
}
