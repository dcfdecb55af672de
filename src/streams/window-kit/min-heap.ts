/**
 * A binary min-heap; `before(a, b)` is the strict order, which must be total for a deterministic pop order.
 * Window operators queue what falls due by watermark in one, so closing visits only what is due.
 */
export class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get length(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    let at = items.length;
    items.push(item);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.before(item, items[parent]!)) break;
      items[at] = items[parent]!;
      at = parent;
    }
    items[at] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const tail = items.pop();
    if (items.length === 0 || tail === undefined) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && this.before(items[right]!, items[left]!) ? right : left;
      if (!this.before(items[child]!, tail)) break;
      items[at] = items[child]!;
      at = child;
    }
    items[at] = tail;
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}
