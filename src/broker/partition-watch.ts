/**
 * Wakes long-polling fetches when data arrives: a fetch that found too little registers on the partitions it
 * reads and is called back on the next append to any of them (or times out).
 */
export class PartitionWatch {
  private readonly watchers = new Map<string, Set<() => void>>();

  static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  /** Calls `onData` once, on the first notify of any of `keys`; returns a function that cancels the watch. */
  watch(keys: string[], onData: () => void): () => void {
    let fired = false;
    const callback = () => {
      if (fired) return;
      fired = true;
      cancel();
      onData();
    };
    const cancel = () => {
      for (const key of keys) {
        const set = this.watchers.get(key);
        set?.delete(callback);
        if (set?.size === 0) this.watchers.delete(key);
      }
    };
    for (const key of keys) {
      let set = this.watchers.get(key);
      if (!set) {
        set = new Set();
        this.watchers.set(key, set);
      }
      set.add(callback);
    }
    return cancel;
  }

  notify(topic: string, partition: number): void {
    const set = this.watchers.get(PartitionWatch.key(topic, partition));
    if (!set) return;
    for (const callback of [...set]) callback();
  }

  get size(): number {
    return this.watchers.size;
  }
}
