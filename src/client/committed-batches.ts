import {
  BATCH_HEADER_BYTES,
  BatchField,
  ByteReader,
  batchSizeAt,
  isControlBatch,
  isTransactional,
  readInt64,
} from '../protocol/index.js';

/** What a read_committed reader gets of the batches read below the last stable offset. */
export interface CommittedBatches {
  /** The batches that hold records for readers: no control batches, no batches of aborted transactions. */
  bytes: Buffer;
  /** The offset after the last batch read, whether kept or left out: where the next read starts. */
  endOffset: number;
}

/** An aborted transaction as a reader needs it: the producer and the offset of its transaction's first batch. */
export interface AbortedRange {
  producerId: number;
  firstOffset: number;
}

/**
 * Leaves out of `bytes` (whole batches read from `fromOffset` on, below the last stable offset) the transaction
 * markers and the batches of the aborted transactions listed for them, as Kafka's consumer does with a
 * read_committed fetch: walking the batches in order, a producer's aborted transaction starts counting once a
 * batch reaches its first offset, a transactional batch of a producer with one counting is left out, and the
 * producer's abort marker ends it. One function for the local log's list and a remote Fetch response's list,
 * so both readers leave out exactly the same batches.
 *
 * Only batch headers (and a marker's key) are read. A read that needs nothing left out (no marker, nothing
 * aborted: every non-transactional read) is returned as the same buffer, not copied.
 */
export function committedBatches(
  bytes: Buffer,
  fromOffset: number,
  aborted: readonly AbortedRange[],
): CommittedBatches {
  const byFirstOffset =
    aborted.length > 1 ? [...aborted].sort((a, b) => a.firstOffset - b.firstOffset) : aborted;
  const abortedProducers = new Set<number>();
  let nextAborted = 0;
  let endOffset = fromOffset;
  /** The runs of kept batches, from the first batch left out on; null while every batch is kept. */
  let kept: Buffer[] | null = null;
  let runStart = 0;
  for (let at = 0; at < bytes.length; ) {
    const size = batchSizeAt(bytes, at);
    const baseOffset = readInt64(bytes, at + BatchField.baseOffset);
    const lastOffset = baseOffset + bytes.readInt32BE(at + BatchField.lastOffsetDelta);
    endOffset = Math.max(endOffset, lastOffset + 1);
    const attributes = bytes.readInt16BE(at + BatchField.attributes);
    let leftOut = isControlBatch(attributes);
    const producerId = readInt64(bytes, at + BatchField.producerId);
    if (producerId >= 0) {
      for (; nextAborted < byFirstOffset.length; nextAborted++) {
        const entry = byFirstOffset[nextAborted]!;
        if (entry.firstOffset > lastOffset) break;
        abortedProducers.add(entry.producerId);
      }
      if (leftOut && isAbortMarker(bytes, at)) abortedProducers.delete(producerId);
      else if (isTransactional(attributes) && abortedProducers.has(producerId)) leftOut = true;
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

/** A control batch holds one record whose key is its version and type (int16 each); type 0 is an abort. */
function isAbortMarker(bytes: Buffer, batchAt: number): boolean {
  // Control batches are never compressed: the record follows the header.
  const reader = new ByteReader(bytes, batchAt + BATCH_HEADER_BYTES, batchAt + batchSizeAt(bytes, batchAt));
  reader.varint();
  reader.int8();
  reader.varint();
  reader.varint();
  const key = reader.nullableVarintBytes();
  return key !== null && key.length >= 4 && key.readInt16BE(2) === 0;
}
