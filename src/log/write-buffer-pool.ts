import assert from 'node:assert/strict';

/** The smallest buffer handed out: smaller copies share this size class. */
const MIN_CLASS_BYTES = 1024;
/** Copies larger than this get a buffer of their own, never pooled: they are rare and would pin memory. */
const MAX_CLASS_BYTES = 1024 * 1024;
/**
 * What one size class may keep for reuse: a turn's writes are in flight at once, so a class needs few. At most 11
 * classes, so the pool never holds more than 2.75 MiB.
 */
const KEPT_BYTES_PER_CLASS = 256 * 1024;

function sizeClass(bytes: number): number {
  return Math.max(MIN_CLASS_BYTES, 2 ** Math.ceil(Math.log2(bytes)));
}

/**
 * Buffers for the copies moved to the writer thread, which moves them back once written. Freed in the writer
 * thread instead, they were garbage of an isolate that allocates almost nothing else and so rarely collects:
 * tens of megabytes of written copies waited there for its next GC. Reused here, a busy log allocates
 * almost nothing per write.
 */
export class WriteBufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();

  /** A buffer of exactly `bytes` bytes, on an ArrayBuffer of its own that can be moved to another thread. */
  take(bytes: number): Buffer<ArrayBuffer> {
    assert.ok(Number.isInteger(bytes) && bytes >= 0, `cannot take ${bytes} bytes`);
    if (bytes > MAX_CLASS_BYTES) return Buffer.allocUnsafeSlow(bytes);
    const size = sizeClass(bytes);
    const reused = this.free.get(size)?.pop();
    return Buffer.from(reused ?? Buffer.allocUnsafeSlow(size).buffer, 0, bytes);
  }

  /** Takes back a buffer `take` gave out, once nothing refers to it any more. */
  give(buffer: ArrayBuffer): void {
    const size = buffer.byteLength;
    if (size > MAX_CLASS_BYTES || size !== sizeClass(size)) return;
    let kept = this.free.get(size);
    if (!kept) {
      kept = [];
      this.free.set(size, kept);
    }
    if ((kept.length + 1) * size <= KEPT_BYTES_PER_CLASS) kept.push(buffer);
  }
}
