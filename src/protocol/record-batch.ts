import { gunzipSync, gzipSync } from 'node:zlib';
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  BatchField,
  Compression,
  compressionOf,
  computeBatchCrc,
  readBatchHeader,
  writeInt64,
} from './record-batch-header.js';
import { ByteReader, varintSize, writeVarint } from './varint.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface RecordInput {
  key: Buffer | null;
  /** Text is written as its UTF-8 bytes straight into the batch: no Buffer of its own per record. */
  value: Buffer | string | null;
  headers?: RecordHeader[];
  /** Milliseconds since the epoch; defaults to the batch's base timestamp. */
  timestamp?: number;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface BatchOptions {
  baseOffset?: number;
  baseTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  compression?: typeof Compression.None | typeof Compression.Gzip;
  /** Attribute bits beside the compression codec: the transactional (0x10) and control (0x20) flags. */
  flags?: number;
}

function recordBodySize(record: RecordInput, timestampDelta: number, offsetDelta: number): number {
  let size = 1 + varintSize(timestampDelta) + varintSize(offsetDelta);
  size += nullableBytesSize(record.key) + nullableBytesSize(record.value);
  const headers = record.headers ?? [];
  size += varintSize(headers.length);
  for (const header of headers) size += nullableBytesSize(header.key) + nullableBytesSize(header.value);
  return size;
}

/**
 * Bytes one record takes inside a batch, its length varint included, when it sits `timestampDeltaMs` after the
 * batch's base timestamp and `offsetDelta` after its base offset: the size encodeRecordBatch() writes.
 */
export function encodedRecordBytes(
  record: RecordInput,
  timestampDeltaMs: number,
  offsetDelta: number,
): number {
  const body = recordBodySize(record, timestampDeltaMs, offsetDelta);
  return varintSize(body) + body;
}

function nullableBytesSize(bytes: Buffer | string | null): number {
  if (bytes === null) return 1;
  const length = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
  return varintSize(length) + length;
}

/** Writes `bytes` length-prefixed; text as its UTF-8 bytes. */
function writeNullableBytes(buf: Buffer, at: number, bytes: Buffer | string | null): number {
  if (bytes === null) return writeVarint(buf, at, -1);
  if (typeof bytes === 'string') {
    at = writeVarint(buf, at, Buffer.byteLength(bytes));
    return at + buf.write(bytes, at, 'utf8');
  }
  at = writeVarint(buf, at, bytes.length);
  return at + bytes.copy(buf, at);
}

/** Each record's body size, and the bytes of the records section (each body after its length varint). */
function recordsLayout(
  records: RecordInput[],
  baseTimestamp: number,
): { sizes: number[]; totalBytes: number } {
  const sizes = records.map((record, i) =>
    recordBodySize(record, (record.timestamp ?? baseTimestamp) - baseTimestamp, i),
  );
  return { sizes, totalBytes: sizes.reduce((sum, size) => sum + varintSize(size) + size, 0) };
}

/** Writes the records section into `buf` from `at`, laid out as recordsLayout() sized it. */
function writeRecords(
  buf: Buffer,
  at: number,
  records: RecordInput[],
  sizes: number[],
  baseTimestamp: number,
): void {
  records.forEach((record, i) => {
    at = writeVarint(buf, at, sizes[i]!);
    buf[at++] = 0;
    at = writeVarint(buf, at, (record.timestamp ?? baseTimestamp) - baseTimestamp);
    at = writeVarint(buf, at, i);
    at = writeNullableBytes(buf, at, record.key);
    at = writeNullableBytes(buf, at, record.value);
    const headers = record.headers ?? [];
    at = writeVarint(buf, at, headers.length);
    for (const header of headers) {
      at = writeNullableBytes(buf, at, header.key);
      at = writeNullableBytes(buf, at, header.value);
    }
  });
}

/**
 * Encodes a RecordBatch v2 as a producer would send it. Uncompressed records are written straight into the
 * batch; only gzip needs them apart first, as its input.
 */
export function encodeRecordBatch(records: RecordInput[], options: BatchOptions = {}): Buffer {
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  const baseTimestamp = options.baseTimestamp ?? records[0]!.timestamp ?? Date.now();
  const compression = options.compression ?? Compression.None;
  const { sizes, totalBytes } = recordsLayout(records, baseTimestamp);
  let batch: Buffer;
  if (compression === Compression.Gzip) {
    const plain = Buffer.allocUnsafe(totalBytes);
    writeRecords(plain, 0, records, sizes, baseTimestamp);
    const body = gzipSync(plain);
    batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + body.length);
    body.copy(batch, BATCH_HEADER_BYTES);
  } else {
    batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + totalBytes);
    writeRecords(batch, BATCH_HEADER_BYTES, records, sizes, baseTimestamp);
  }
  const maxTimestamp = records.reduce((max, r) => Math.max(max, r.timestamp ?? baseTimestamp), baseTimestamp);
  writeInt64(batch, BatchField.baseOffset, options.baseOffset ?? 0);
  batch.writeInt32BE(batch.length - BATCH_LENGTH_PREFIX_BYTES, BatchField.batchLength);
  batch.writeInt32BE(-1, BatchField.partitionLeaderEpoch);
  batch.writeInt8(2, BatchField.magic);
  batch.writeInt16BE(compression | (options.flags ?? 0), BatchField.attributes);
  batch.writeInt32BE(records.length - 1, BatchField.lastOffsetDelta);
  writeInt64(batch, BatchField.baseTimestamp, baseTimestamp);
  writeInt64(batch, BatchField.maxTimestamp, maxTimestamp);
  writeInt64(batch, BatchField.producerId, options.producerId ?? -1);
  batch.writeInt16BE(options.producerEpoch ?? -1, BatchField.producerEpoch);
  batch.writeInt32BE(options.baseSequence ?? -1, BatchField.baseSequence);
  batch.writeInt32BE(records.length, BatchField.recordsCount);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  return batch;
}

export class UnsupportedCompressionError extends Error {
  readonly code = 'UNSUPPORTED_COMPRESSION_TYPE';
  constructor(readonly compression: number) {
    super(`compression codec ${compression} cannot be decoded by this process`);
  }
}

/**
 * Default bound on the bytes the records of one batch may inflate to. A batch is at most max.message.bytes
 * on the wire, but gzip turns 200 KiB of zeros into 200 MiB: without a bound, a stored batch costs whatever
 * memory its producer chose every time it is decoded.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

export type DecompressionErrorCode = 'DECOMPRESSED_TOO_LARGE' | 'MALFORMED_COMPRESSED_DATA';

export class DecompressionError extends Error {
  constructor(
    readonly code: DecompressionErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'DecompressionError';
  }
}

/**
 * The records section of a whole batch, decompressed into at most `maxDecompressedBytes` (the output is
 * never allocated past it).
 */
export function decompressRecords(
  batch: Buffer,
  maxDecompressedBytes: number,
  inflate: Inflate = decompress,
): Buffer {
  const compression = compressionOf(batch.readInt16BE(BatchField.attributes));
  return inflate(compression, batch.subarray(BATCH_HEADER_BYTES), maxDecompressedBytes);
}

/** A decompressor bounded to `maxDecompressedBytes`: `decompress`, or one that knows more codecs. */
export type Inflate = (compression: Compression, body: Buffer, maxDecompressedBytes: number) => Buffer;

/**
 * `body` compressed with `compression`, inflated into at most `maxDecompressedBytes`: a record batch's records
 * or a legacy wrapper message's inner message set. gzip is the only codec decoded in-process: snappy, lz4 and
 * zstd raise UnsupportedCompressionError, and a decoder added here must take the same bound.
 */
export function decompress(compression: Compression, body: Buffer, maxDecompressedBytes: number): Buffer {
  if (compression === Compression.None) return body;
  if (compression !== Compression.Gzip) throw new UnsupportedCompressionError(compression);
  try {
    return gunzipSync(body, { maxOutputLength: maxDecompressedBytes });
  } catch (error) {
    if (error instanceof RangeError && 'code' in error && error.code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DecompressionError(
        'DECOMPRESSED_TOO_LARGE',
        `gzip records inflate past the limit of ${maxDecompressedBytes} bytes (maxDecompressedBytes)`,
      );
    }
    const detail = error instanceof Error ? error.message : String(error);
    throw new DecompressionError('MALFORMED_COMPRESSED_DATA', `gzip records do not inflate: ${detail}`, {
      cause: error,
    });
  }
}

/**
 * Decodes the records of one whole batch (uncompressed or gzip, or what `inflate` knows, inflating to at most
 * `maxDecompressedBytes`).
 */
export function decodeRecords(
  batch: Buffer,
  maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
  inflate: Inflate = decompress,
): DecodedRecord[] {
  const records: DecodedRecord[] = [];
  decodeRecordsTo(records, batch, decodedRecord, maxDecompressedBytes, inflate);
  return records;
}

/** Makes the object a decoded record is handed on as. */
export type RecordMaker<R> = (
  offset: number,
  timestamp: number,
  key: Buffer | null,
  value: Buffer | null,
  headers: RecordHeader[],
) => R;

const decodedRecord: RecordMaker<DecodedRecord> = (offset, timestamp, key, value, headers) => ({
  offset,
  timestamp,
  key,
  value,
  headers,
});

/**
 * decodeRecords() appending to `out` the objects `make` makes of each record, so a reader that hands records
 * on in a form of its own makes one object per record, not two.
 */
export function decodeRecordsTo<R>(
  out: R[],
  batch: Buffer,
  make: RecordMaker<R>,
  maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
  inflate: Inflate = decompress,
): void {
  const header = readBatchHeader(batch);
  const reader = new ByteReader(decompressRecords(batch, maxDecompressedBytes, inflate));
  for (let i = 0; i < header.recordsCount; i++) {
    const length = reader.varint();
    const end = reader.pos + length;
    reader.int8();
    const timestampDelta = reader.varint();
    const offsetDelta = reader.varint();
    const key = reader.nullableVarintBytes();
    const value = reader.nullableVarintBytes();
    const headerCount = reader.varint();
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const headerKey = reader.nullableVarintText();
      headers.push({ key: headerKey ?? '', value: reader.nullableVarintBytes() });
    }
    if (reader.pos !== end) throw new RangeError(`record ${i} length ${length} disagrees with its fields`);
    out.push(
      make(header.baseOffset + offsetDelta, header.baseTimestamp + timestampDelta, key, value, headers),
    );
  }
}

/** Splits a buffer of back-to-back whole batches into one view per batch. */
export function splitBatches(bytes: Buffer): Buffer[] {
  const batches: Buffer[] = [];
  let at = 0;
  while (at + BATCH_LENGTH_PREFIX_BYTES <= bytes.length) {
    const size = BATCH_LENGTH_PREFIX_BYTES + bytes.readInt32BE(at + BatchField.batchLength);
    if (at + size > bytes.length) break;
    batches.push(bytes.subarray(at, at + size));
    at += size;
  }
  return batches;
}
