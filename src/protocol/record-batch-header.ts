import { crc32c } from '@node-rs/crc32';

/**
 * Byte layout of a Kafka RecordBatch v2 header. The log stores batches exactly as producers sent them and
 * only ever rewrites the fields outside the CRC (baseOffset, partitionLeaderEpoch) or, for LogAppendTime,
 * the timestamp fields followed by a fresh CRC.
 */
export const BatchField = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
} as const;

export const BATCH_HEADER_BYTES = 61;
/** baseOffset and batchLength precede the part of the batch that batchLength counts. */
export const BATCH_LENGTH_PREFIX_BYTES = 12;
export const RECORD_BATCH_MAGIC = 2;
/** The CRC covers everything from attributes to the end of the batch. */
export const CRC_START = BatchField.attributes;

export const Compression = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const;
export type Compression = (typeof Compression)[keyof typeof Compression];

const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_LOG_APPEND_BIT = 0x08;
export const TRANSACTIONAL_BIT = 0x10;
export const CONTROL_BIT = 0x20;

/** Reads an int64 field as a JS number; offsets and millisecond timestamps stay below 2^53. */
export function readInt64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

export function writeInt64(buf: Buffer, at: number, value: number): void {
  if (!Number.isSafeInteger(value)) {
    // A client may send Long.MAX_VALUE-like sentinels, which read back as 2^63 after rounding; echo them
    // saturated instead of failing to encode the response.
    const big = Number.isFinite(value) ? BigInt(Math.trunc(value)) : value > 0 ? INT64_MAX : INT64_MIN;
    buf.writeBigInt64BE(big > INT64_MAX ? INT64_MAX : big < INT64_MIN ? INT64_MIN : big, at);
    return;
  }
  const high = Math.floor(value / 0x1_0000_0000);
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE(value - high * 0x1_0000_0000, at + 4);
}

/** Total size of the batch starting at `at`, taken from its batchLength field. */
export function batchSizeAt(buf: Buffer, at: number): number {
  return BATCH_LENGTH_PREFIX_BYTES + buf.readInt32BE(at + BatchField.batchLength);
}

export function computeBatchCrc(batch: Buffer): number {
  return crc32c(batch.subarray(CRC_START));
}

export function storedBatchCrc(batch: Buffer): number {
  return batch.readUInt32BE(BatchField.crc);
}

export function compressionOf(attributes: number): Compression {
  return (attributes & COMPRESSION_MASK) as Compression;
}

export function isLogAppendTime(attributes: number): boolean {
  return (attributes & TIMESTAMP_TYPE_LOG_APPEND_BIT) !== 0;
}

export function isTransactional(attributes: number): boolean {
  return (attributes & TRANSACTIONAL_BIT) !== 0;
}

export function isControlBatch(attributes: number): boolean {
  return (attributes & CONTROL_BIT) !== 0;
}

/** Header fields of one batch, decoded without touching its records. */
export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

export function readBatchHeader(buf: Buffer, at = 0): BatchHeader {
  return {
    baseOffset: readInt64(buf, at + BatchField.baseOffset),
    batchLength: buf.readInt32BE(at + BatchField.batchLength),
    partitionLeaderEpoch: buf.readInt32BE(at + BatchField.partitionLeaderEpoch),
    magic: buf.readInt8(at + BatchField.magic),
    crc: buf.readUInt32BE(at + BatchField.crc),
    attributes: buf.readInt16BE(at + BatchField.attributes),
    lastOffsetDelta: buf.readInt32BE(at + BatchField.lastOffsetDelta),
    baseTimestamp: readInt64(buf, at + BatchField.baseTimestamp),
    maxTimestamp: readInt64(buf, at + BatchField.maxTimestamp),
    producerId: readInt64(buf, at + BatchField.producerId),
    producerEpoch: buf.readInt16BE(at + BatchField.producerEpoch),
    baseSequence: buf.readInt32BE(at + BatchField.baseSequence),
    recordsCount: buf.readInt32BE(at + BatchField.recordsCount),
  };
}
