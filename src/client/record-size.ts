import { encodedRecordBytes } from '../protocol/index.js';
import type { OutgoingRecord } from './types.js';

/**
 * Where a record may sit in a batch someone else builds (the remote client's library batches per partition):
 * Kafka's offsetDelta is an int32, and a timestamp delta is the difference of two timestamps that
 * checkProduceRecords() accepted (safe integers >= 0), whose zig-zag varint is longest when most negative.
 */
const OFFSET_DELTA_MAX = 2 ** 31 - 1;
const TIMESTAMP_DELTA_LONGEST_MS = -Number.MAX_SAFE_INTEGER;

/**
 * Upper bound on the bytes `record` takes in any RecordBatch v2, wherever in the batch it sits: the exact
 * encoded size (encodedRecordBytes) at the deltas whose varints are longest: at most 12 bytes above its size
 * first in a batch (7 more for the timestamp delta, 4 for the offset delta, 1 for the length).
 */
export function recordBytesMax(record: OutgoingRecord): number {
  return encodedRecordBytes(record, TIMESTAMP_DELTA_LONGEST_MS, OFFSET_DELTA_MAX);
}
