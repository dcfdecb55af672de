import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  BatchField,
  computeBatchCrc,
  RECORD_BATCH_MAGIC,
  readInt64,
} from '../protocol/index.js';
import { LogError } from './errors.js';

/** What the log needs to know of each batch it appends or recovers, read from the header only. */
export interface BatchSummary {
  /** Byte position of the batch inside the buffer it came in. */
  position: number;
  size: number;
  /** Offsets the batch occupies: lastOffsetDelta + 1. */
  offsetCount: number;
  maxTimestamp: number;
  /** The batch's attributes: compression, timestamp type, transactional and control bits. */
  attributes: number;
}

/**
 * Why the batch at `at` is malformed, or null when it is sound. Checks framing, magic and CRC-32C;
 * `maxBatchBytes` bounds the size a length field may claim before we trust it.
 */
export function batchDefect(buf: Buffer, at: number, end: number, maxBatchBytes: number): string | null {
  if (end - at < BATCH_HEADER_BYTES) {
    return `only ${end - at} bytes left, a batch header needs ${BATCH_HEADER_BYTES}`;
  }
  const size = BATCH_LENGTH_PREFIX_BYTES + buf.readInt32BE(at + BatchField.batchLength);
  if (size < BATCH_HEADER_BYTES) return `batch length ${size} is shorter than a batch header`;
  if (size > maxBatchBytes) return `batch of ${size} bytes is larger than the limit of ${maxBatchBytes}`;
  if (at + size > end) return `batch claims ${size} bytes but only ${end - at} are present`;
  const magic = buf.readInt8(at + BatchField.magic);
  if (magic !== RECORD_BATCH_MAGIC) return `magic byte is ${magic}, only RecordBatch v2 (magic 2) is stored`;
  if (buf.readInt32BE(at + BatchField.lastOffsetDelta) < 0) return 'lastOffsetDelta is negative';
  const stored = buf.readUInt32BE(at + BatchField.crc);
  const actual = computeBatchCrc(buf.subarray(at, at + size));
  if (stored !== actual) return `CRC-32C mismatch: stored ${stored}, computed ${actual}`;
  return null;
}

export function summarizeBatch(buf: Buffer, at: number): BatchSummary {
  return {
    position: at,
    size: BATCH_LENGTH_PREFIX_BYTES + buf.readInt32BE(at + BatchField.batchLength),
    offsetCount: buf.readInt32BE(at + BatchField.lastOffsetDelta) + 1,
    maxTimestamp: readInt64(buf, at + BatchField.maxTimestamp),
    attributes: buf.readInt16BE(at + BatchField.attributes),
  };
}

/**
 * Validates every batch in a produce payload before anything is written: one bad batch rejects the
 * whole payload, so an append is all or nothing.
 */
export function validateBatches(payload: Buffer, maxMessageBytes: number): BatchSummary[] {
  if (payload.length === 0) throw new LogError('CORRUPT_MESSAGE', 'no record batch in payload');
  const summaries: BatchSummary[] = [];
  let at = 0;
  while (at < payload.length) {
    if (payload.length - at >= BATCH_HEADER_BYTES) {
      const size = BATCH_LENGTH_PREFIX_BYTES + payload.readInt32BE(at + BatchField.batchLength);
      if (size > maxMessageBytes && size >= BATCH_HEADER_BYTES && at + size <= payload.length) {
        throw new LogError(
          'MESSAGE_TOO_LARGE',
          `record batch of ${size} bytes exceeds max.message.bytes=${maxMessageBytes}`,
        );
      }
    }
    const defect = batchDefect(payload, at, payload.length, Number.MAX_SAFE_INTEGER);
    if (defect) throw new LogError('CORRUPT_MESSAGE', `batch at byte ${at} of payload: ${defect}`);
    const summary = summarizeBatch(payload, at);
    summaries.push(summary);
    at += summary.size;
  }
  return summaries;
}
