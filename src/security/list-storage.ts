/**
 * Where a list of security settings (ACL bindings, client quotas) is kept whole: a file for one broker, a
 * coordination-service node shared by the brokers of a cluster. Several writers may change the same list, so
 * a change is a function of the newest list, applied again if another writer got in first: no change is lost.
 */
export interface ListStorage<T> {
  /** Every item kept, each validated; a damaged copy is an error naming where it is. */
  load(): Promise<T[]>;
  /**
   * Applies `change` to the newest list kept and keeps its result (null: nothing to change); `change` may run
   * more than once, so it must have no effect but its result. Resolves, once the result is durable, with the
   * newest list known (the one written, or a later one another writer kept meanwhile).
   */
  update(change: (current: readonly T[]) => T[] | null): Promise<readonly T[]>;
  /** Calls `listener` with the newest list each time another writer changed it. */
  watch(listener: (items: readonly T[]) => void): void;
}

/** A storage only this process writes (a broker's data directory): a change is load, change, save. */
export abstract class SingleWriterStorage<T> implements ListStorage<T> {
  abstract load(): Promise<T[]>;
  /** Replaces every item kept; durable when it resolves. */
  abstract save(items: readonly T[]): Promise<void>;

  async update(change: (current: readonly T[]) => T[] | null): Promise<readonly T[]> {
    const current = await this.load();
    const next = change(current);
    if (next === null) return current;
    await this.save(next);
    return next;
  }

  /** Nobody else writes it: there is nothing to watch. */
  watch(): void {}
}
