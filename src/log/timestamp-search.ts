import {
  type BatchHeader,
  ByteReader,
  DecompressionError,
  decompressRecords,
  isLogAppendTime,
  readBatchHeader,
  UnsupportedCompressionError,
} from '../protocol/index.js';
import { LogError } from './errors.js';

export interface TimestampAndOffset {
  offset: number;
  timestamp: number;
}

/**
 * The first record of `batch` whose timestamp is at or after `timestamp`, or null if none is: Kafka's answer
 * to ListOffsets by timestamp. The header answers whenever it can, so a lookup decompresses only a batch
 * whose first record is older than the target and that holds more than one; that decompression inflates to
 * at most `maxDecompressedBytes`, past which the lookup fails with CORRUPT_MESSAGE.
 */
export function firstRecordAtOrAfter(
  batch: Buffer,
  timestamp: number,
  maxDecompressedBytes: number,
): TimestampAndOffset | null {
  const header = readBatchHeader(batch);
  if (header.maxTimestamp < timestamp) return null;
  // Under LogAppendTime every record carries the batch's timestamp.
  if (isLogAppendTime(header.attributes))
    return { offset: header.baseOffset, timestamp: header.maxTimestamp };
  // With no record compacted away the first one is at baseOffset and, by the format's definition, carries
  // baseTimestamp; a single record carries maxTimestamp.
  if (header.recordsCount === header.lastOffsetDelta + 1) {
    if (header.baseTimestamp >= timestamp)
      return { offset: header.baseOffset, timestamp: header.baseTimestamp };
    if (header.recordsCount === 1) return { offset: header.baseOffset, timestamp: header.maxTimestamp };
  }
  return scanRecords(batch, header, timestamp, maxDecompressedBytes);
}

/** Reads each record's timestamp and offset only, skipping keys and values without copying them. */
function scanRecords(
  batch: Buffer,
  header: BatchHeader,
  timestamp: number,
  maxDecompressedBytes: number,
): TimestampAndOffset | null {
  const body = recordsOf(batch, header, maxDecompressedBytes);
  if (!body) return { offset: header.baseOffset, timestamp: header.maxTimestamp };
  const reader = new ByteReader(body);
  try {
    for (let i = 0; i < header.recordsCount; i++) {
      const length = reader.varint();
      const end = reader.pos + length;
      reader.int8();
      const recordTimestamp = header.baseTimestamp + reader.varint();
      const offsetDelta = reader.varint();
      if (recordTimestamp >= timestamp)
        return { offset: header.baseOffset + offsetDelta, timestamp: recordTimestamp };
      if (length < 0 || end > body.length) throw new RangeError(`record ${i} claims ${length} bytes`);
      reader.pos = end;
    }
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw corrupt(header, `records are malformed: ${error.message}`, error);
  }
  return null;
}

/**
 * The decompressed records, or null when this process has no decoder for the codec: then the batch's first
 * offset is the safe answer, since it never skips a matching record.
 */
function recordsOf(batch: Buffer, header: BatchHeader, maxDecompressedBytes: number): Buffer | null {
  try {
    return decompressRecords(batch, maxDecompressedBytes);
  } catch (error) {
    if (error instanceof UnsupportedCompressionError) return null;
    if (error instanceof DecompressionError) throw corrupt(header, error.message, error);
    throw error;
  }
}

function corrupt(header: BatchHeader, reason: string, cause: Error): LogError {
  return new LogError('CORRUPT_MESSAGE', `batch at offset ${header.baseOffset}: ${reason}`, { cause });
}
