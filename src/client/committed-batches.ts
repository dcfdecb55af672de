import type { AbortedTransaction } from '../log/index.js';
import { BatchField, batchSizeAt, isControlBatch, isTransactional, readInt64 } from '../protocol/index.js';

/** What a read_committed reader gets of the batches read below the last stable offset. */
export interface CommittedBatches {
  /** The batches that hold records for readers: no control batches, no batches of aborted transactions. */
  bytes: Buffer;
  /** The offset after the last batch read, whether kept or left out: where the next read starts. */
  endOffset: number;
}

/**
 * Leaves out of `bytes` (whole batches read from `fromOffset` on, below the last stable offset) the transaction
 * markers and the batches of the aborted transactions the log listed for them, as Kafka's consumer does with a
 * read_committed fetch: walking the batches in order, a producer's aborted transaction starts counting once a
 * batch of that producer reaches its first offset, a transactional batch of a producer with one counting is
 * left out, and the producer's abort marker ends it. The log knows each abort marker's offset, so the marker
 * is recognized by it, without decoding its record.
 *
 * Only batch headers are read. A read that needs nothing left out (no marker, nothing aborted: every
 * non-transactional read) is returned as the same buffer, not copied.
 */
export function committedBatches(
  bytes: Buffer,
  fromOffset: number,
  aborted: readonly AbortedTransaction[],
): CommittedBatches {
  const byFirstOffset =
    aborted.length > 1 ? [...aborted].sort((a, b) => a.firstOffset - b.firstOffset) : aborted;
  /** Producer id -> the offset of the abort marker of its aborted transaction reached so far. */
  const counting = new Map<number, number>();
  let nextAborted = 0;
  let endOffset = fromOffset;
  /** The runs of kept batches, from the first batch left out on; null while every batch is kept. */
  let kept: Buffer[] | null = null;
  let runStart = 0;
  for (let at = 0; at < bytes.length; ) {
    const size = batchSizeAt(bytes, at);
    const baseOffset = readInt64(bytes, at + BatchField.baseOffset);
    const lastOffset = baseOffset + bytes.readInt32BE(at + BatchField.lastOffsetDelta);
    endOffset = lastOffset + 1;
    const attributes = bytes.readInt16BE(at + BatchField.attributes);
    let leftOut = isControlBatch(attributes);
    const producerId = readInt64(bytes, at + BatchField.producerId);
    if (producerId >= 0) {
      for (; nextAborted < byFirstOffset.length; nextAborted++) {
        const entry = byFirstOffset[nextAborted]!;
        if (entry.firstOffset > lastOffset) break;
        counting.set(entry.producerId, entry.lastOffset);
      }
      const markerOffset = counting.get(producerId);
      if (markerOffset !== undefined) {
        if (leftOut && markerOffset === baseOffset) counting.delete(producerId);
        else if (isTransactional(attributes)) leftOut = true;
      }
    }
    if (leftOut) {
      kept ??= [];
      if (at > runStart) kept.push(bytes.subarray(runStart, at));
      runStart = at + size;
    }
    at += size;
  }
  if (kept === null) return { bytes, endOffset };
  if (runStart < bytes.length) kept.push(bytes.subarray(runStart));
  return { bytes: Buffer.concat(kept), endOffset };
}
