import {
  BATCH_HEADER_BYTES,
  Compression,
  DecompressionError,
  decodeRecordsTo,
  encodedRecordBytes,
  encodeRecordBatch,
  isLogAppendTime,
  type RecordInput,
  type RecordMaker,
  readBatchHeader,
  splitBatches,
  UnsupportedCompressionError,
} from '../protocol/index.js';
import { checkPartitionIndex } from './client-checks.js';
import { LogClientError } from './client-errors.js';
import type { ConsumedRecord, FetchOptions, TextOutgoingRecord, TopicPartition } from './types.js';

/**
 * Records to and from the record batches a partition log stores, for the clients that hand the log whole
 * batches: the embedded client (same thread as the log) and the port client (a worker thread).
 */

/** A topic's partition count and batch size limit. */
export interface TopicLimits {
  partitions: number;
  maxMessageBytes: number;
}

/** Encoded batches for one partition. */
export interface PartitionAppend extends TopicPartition {
  batches: readonly EncodedBatch[];
}

/** One encoded batch and the number of records in it. */
export interface EncodedBatch {
  bytes: Buffer;
  records: number;
}

/**
 * Batches read committed from one partition, from the batch that holds `offset` on (see committedBatches:
 * markers and aborted transactions' batches are already left out).
 */
export interface PartitionBatches extends TopicPartition {
  /** The offset asked for: records before it in the first batch are skipped. */
  offset: number;
  bytes: Buffer;
  /** The offset after the last batch read, past the batches left out of `bytes`. */
  endOffset: number;
  /** The partition's limit on a batch's decompressed size. */
  maxDecompressedBytes: number;
}

/**
 * The records (checked by the caller) encoded per partition in call order, every partition index checked:
 * everything is encoded before anything is written, so a bad record appends nothing.
 */
export function encodeAppends(
  records: readonly TextOutgoingRecord[],
  limitsOf: (topic: string) => TopicLimits,
): PartitionAppend[] {
  // Per topic, then per partition number: no key string built per record.
  const byTopic = new Map<string, Map<number, TextOutgoingRecord[]>>();
  const groups: Array<{ topic: string; partition: number; records: TextOutgoingRecord[] }> = [];
  for (const record of records) {
    let partitions = byTopic.get(record.topic);
    if (!partitions) {
      partitions = new Map();
      byTopic.set(record.topic, partitions);
    }
    let group = partitions.get(record.partition);
    if (!group) {
      group = [];
      partitions.set(record.partition, group);
      groups.push({ topic: record.topic, partition: record.partition, records: group });
    }
    group.push(record);
  }
  return groups.map(({ topic, partition, records: group }) => {
    const limits = limitsOf(topic);
    checkPartitionIndex(topic, partition, limits.partitions);
    return { topic, partition, batches: encodeBatches({ topic, partition }, group, limits.maxMessageBytes) };
  });
}

/**
 * Record batches within max.message.bytes. Each record's size is exact (its deltas from the batch's first
 * record are known here), so a batch is cut just before the record that would not fit.
 */
function encodeBatches(
  where: TopicPartition,
  records: readonly TextOutgoingRecord[],
  maxMessageBytes: number,
): EncodedBatch[] {
  const batches: EncodedBatch[] = [];
  let chunk: RecordInput[] = [];
  let chunkBytes = BATCH_HEADER_BYTES;
  const flush = () => {
    const bytes = encodeRecordBatch(chunk);
    // Pair assertion: the sizes that cut the batches are the encoder's.
    if (bytes.length !== chunkBytes) {
      throw new Error(`a batch sized at ${chunkBytes} bytes was encoded in ${bytes.length} bytes`);
    }
    batches.push({ bytes, records: chunk.length });
    chunk = [];
    chunkBytes = BATCH_HEADER_BYTES;
  };
  for (const record of records) {
    let recordBytes = bytesInChunk(record, chunk);
    if (chunk.length > 0 && chunkBytes + recordBytes > maxMessageBytes) {
      flush();
      recordBytes = bytesInChunk(record, chunk);
    }
    if (BATCH_HEADER_BYTES + recordBytes > maxMessageBytes) {
      throw new LogClientError(
        'MESSAGE_TOO_LARGE',
        `a record of ${recordBytes} bytes for ${where.topic}-${where.partition} does not fit in a batch of ` +
          `max.message.bytes=${maxMessageBytes}`,
      );
    }
    chunk.push(record);
    chunkBytes += recordBytes;
  }
  if (chunk.length > 0) flush();
  return batches;
}

/** The bytes `record` takes appended to `chunk`, whose first record sets the batch's base timestamp. */
function bytesInChunk(record: TextOutgoingRecord, chunk: RecordInput[]): number {
  const baseTimestamp = chunk[0]?.timestamp ?? record.timestamp;
  return encodedRecordBytes(record, record.timestamp - baseTimestamp, chunk.length);
}

/**
 * Which of `appends` each record went into, in the order of `records`: all recordOffsets() needs of them, so a
 * caller can let the records go once they are encoded instead of holding them until the appends are written.
 */
export function appendIndexes(
  records: readonly TopicPartition[],
  appends: readonly TopicPartition[],
): Uint32Array {
  const indexes = new Map<string, Map<number, number>>();
  for (const [i, append] of appends.entries()) {
    let partitions = indexes.get(append.topic);
    if (!partitions) {
      partitions = new Map();
      indexes.set(append.topic, partitions);
    }
    partitions.set(append.partition, i);
  }
  const appendOf = new Uint32Array(records.length);
  for (const [i, record] of records.entries())
    appendOf[i] = indexes.get(record.topic)!.get(record.partition)!;
  return appendOf;
}

/**
 * Each record's offset, in the order of the records appendIndexes() placed, from the offset the log gave the
 * first batch of each append (`baseOffsets[i]` for append i): encodeAppends keeps a partition's records in call
 * order and its batches are written back to back, so they took consecutive offsets from there.
 */
export function recordOffsets(appendOf: Uint32Array, baseOffsets: readonly number[]): number[] {
  const next = [...baseOffsets];
  return Array.from(appendOf, (append) => next[append]!++);
}

/** Appends the records of `read` at or after the offset asked for to `out`; returns how many it appended. */
export function appendConsumed(
  out: ConsumedRecord[],
  read: PartitionBatches,
  readUpTo?: FetchOptions['readUpTo'],
): number {
  const before = out.length;
  for (const batch of splitBatches(read.bytes)) {
    const header = readBatchHeader(batch);
    const logAppendTimeMs = isLogAppendTime(header.attributes) ? header.maxTimestamp : null;
    const batchStart = out.length;
    decodeBatch(read, batch, header.baseOffset, out, (offset, timestamp, key, value, headers) => ({
      topic: read.topic,
      partition: read.partition,
      offset,
      timestamp: logAppendTimeMs ?? timestamp,
      key,
      value,
      headers,
    }));
    // Only the first batch can hold records before the offset asked for; offsets grow within a batch.
    let asked = batchStart;
    while (asked < out.length && out[asked]!.offset < read.offset) asked++;
    if (asked > batchStart) out.splice(batchStart, asked - batchStart);
  }
  if (read.endOffset > read.offset) readUpTo?.(read.topic, read.partition, read.endOffset);
  return out.length - before;
}

/**
 * Appends the batch's records, inflated to at most the partition's maxDecompressedBytes. A batch this process
 * cannot decode fails the fetch with an error naming it, never skipped: the consumer loses nothing unnoticed.
 */
function decodeBatch(
  read: PartitionBatches,
  batch: Buffer,
  baseOffset: number,
  out: ConsumedRecord[],
  make: RecordMaker<ConsumedRecord>,
): void {
  const where = `the batch at offset ${baseOffset} of ${read.topic}-${read.partition}`;
  try {
    decodeRecordsTo(out, batch, make, read.maxDecompressedBytes);
  } catch (error) {
    if (error instanceof DecompressionError) {
      const code = error.code === 'DECOMPRESSED_TOO_LARGE' ? 'MESSAGE_TOO_LARGE' : 'CORRUPT_MESSAGE';
      throw new LogClientError(code, `${where} cannot be decoded: ${error.message}`);
    }
    if (!(error instanceof UnsupportedCompressionError)) throw error;
    const codec = Object.entries(Compression).find(([, id]) => id === error.compression)?.[0];
    throw new LogClientError(
      'UNSUPPORTED_COMPRESSION_TYPE',
      `${where} is compressed with ` +
        `${codec?.toLowerCase() ?? `codec ${error.compression}`}, which this process cannot decode (only none ` +
        'and gzip); have producers use gzip or none, or read the topic with the remote client',
    );
  }
}
