import {
  createAPI,
  fetchV13,
  fetchV14,
  fetchV15,
  fetchV16,
  fetchV17,
  type Reader,
  Reader as RecordsReader,
  ResponseError,
  type ResponseErrorWithLocation,
  readRecordsBatch,
} from '@platformatic/kafka';
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  BatchField,
  ByteReader,
  batchSizeAt,
  isControlBatch,
  isLogAppendTime,
  isTransactional,
  readInt64,
} from '../protocol/index.js';
import type { ConsumedRecord } from './types.js';

// Fetch as the remote client sends it: the library's request builders, and a response parser of our own that
// leaves each partition's record batches as the bytes the broker sent. The mirror forwards those bytes; the
// client's fetch() decodes only the batches a read_committed reader keeps.

/** A partition of a Fetch response, its records left as bytes. */
export interface RawFetchPartition {
  partitionIndex: number;
  abortedTransactions: Array<{ producerId: bigint; firstOffset: bigint }>;
  /** Whole batches back to back; a batch the broker cut off at the size limit is left out. */
  records: Buffer;
}

export interface RawFetchResponse {
  responses: Array<{ topicId: string; partitions: RawFetchPartition[] }>;
}

/**
 * The library's Fetch response parser for v13-v17 (they read alike), except that records are sliced, not
 * decoded, and every error is thrown as the library throws it (ResponseError), which the callers look into.
 */
function parseRawFetchResponse(
  _correlationId: number,
  apiKey: number,
  apiVersion: number,
  reader: Reader,
): RawFetchResponse {
  const errors: ResponseErrorWithLocation[] = [];
  reader.readInt32();
  const errorCode = reader.readInt16();
  if (errorCode !== 0) errors.push(['', [errorCode, null]]);
  reader.readInt32();
  const response: RawFetchResponse = {
    responses: reader.readArray((r, i) => ({
      topicId: r.readUUID(),
      partitions: r.readArray((r, j) => {
        const partitionIndex = r.readInt32();
        const partitionError = r.readInt16();
        if (partitionError !== 0) errors.push([`/responses/${i}/partitions/${j}`, [partitionError, null]]);
        r.readInt64();
        r.readInt64();
        r.readInt64();
        const abortedTransactions = r.readArray((r) => ({
          producerId: r.readInt64(),
          firstOffset: r.readInt64(),
        }));
        r.readInt32();
        // COMPACT_RECORDS: the length plus one.
        const recordsBytes = Math.max(0, r.readUnsignedVarInt() - 1);
        const records = wholeBatches(r.buffer.slice(r.position, r.position + recordsBytes));
        r.skip(recordsBytes);
        return { partitionIndex, abortedTransactions, records };
      }),
    })),
  };
  if (errors.length > 0) throw new ResponseError(apiKey, apiVersion, Object.fromEntries(errors), response);
  return response;
}

/**
 * The leading whole batches of `bytes`: a broker may end a partition's records with a partial batch. A length
 * too small for a batch header ends the walk there too, so the batches kept can be walked safely.
 */
function wholeBatches(bytes: Buffer): Buffer {
  let at = 0;
  while (at + BATCH_LENGTH_PREFIX_BYTES <= bytes.length) {
    const size = batchSizeAt(bytes, at);
    if (size < BATCH_HEADER_BYTES || at + size > bytes.length) break;
    at += size;
  }
  return at === bytes.length ? bytes : bytes.subarray(0, at);
}

/** Fetch versions sent (topic ids from v13), newest first, each answering with raw records. */
export const RAW_FETCH_APIS = [fetchV17, fetchV16, fetchV15, fetchV14, fetchV13].map((version) =>
  createAPI<Parameters<typeof version.createRequest>, RawFetchResponse>(
    version.api.key,
    version.api.version,
    version.createRequest,
    parseRawFetchResponse,
  ),
);

/** What a read_committed reader gets of one partition's batches. */
export interface CommittedRemoteBatches {
  /** The batches holding records for readers: no control batches, no batches of aborted transactions. */
  bytes: Buffer;
  /** The offset after the last batch read, kept or left out; `from` when there was none. */
  endOffset: number;
}

/**
 * Leaves out the transaction markers and the batches of aborted transactions, as Kafka's consumer applies a
 * read_committed response's aborted list: a producer's transactional batches are left out from the first
 * offset of its aborted transaction until its abort marker. Only batch headers (and a marker's key) are read;
 * a partition with nothing left out is returned as the same buffer.
 */
export function committedRemoteBatches(partition: RawFetchPartition, from: number): CommittedRemoteBatches {
  const bytes = partition.records;
  const aborted = [...partition.abortedTransactions].sort((a, b) =>
    a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
  );
  const abortedProducers = new Set<number>();
  let nextAborted = 0;
  let endOffset = from;
  let kept: Buffer[] | null = null;
  let runStart = 0;
  for (let at = 0; at < bytes.length; ) {
    const size = batchSizeAt(bytes, at);
    const baseOffset = readInt64(bytes, at + BatchField.baseOffset);
    const lastOffset = baseOffset + bytes.readInt32BE(at + BatchField.lastOffsetDelta);
    endOffset = Math.max(endOffset, lastOffset + 1);
    const attributes = bytes.readInt16BE(at + BatchField.attributes);
    const producerId = readInt64(bytes, at + BatchField.producerId);
    let leftOut = isControlBatch(attributes);
    if (producerId >= 0) {
      for (
        ;
        nextAborted < aborted.length && Number(aborted[nextAborted]!.firstOffset) <= lastOffset;
        nextAborted++
      )
        abortedProducers.add(Number(aborted[nextAborted]!.producerId));
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

/** Appends the records at or after `from` of the batches in `bytes` to `out`, decoded by the library. */
export function appendRecords(
  out: ConsumedRecord[],
  topic: string,
  partition: number,
  from: number,
  bytes: Buffer,
): void {
  for (let at = 0; at < bytes.length; ) {
    const size = batchSizeAt(bytes, at);
    const batch = readRecordsBatch(RecordsReader.from(bytes.subarray(at, at + size)));
    at += size;
    // Offsets and timestamps are safe integers (ConsumedRecord holds them as numbers): converting the batch's
    // bases once keeps BigInt arithmetic, and its allocations, out of the per-record loop.
    const firstOffset = Number(batch.firstOffset);
    const logAppendTime = isLogAppendTime(batch.attributes);
    const maxTimestamp = Number(batch.maxTimestamp);
    const firstTimestamp = Number(batch.firstTimestamp);
    for (const record of batch.records) {
      const offset = firstOffset + record.offsetDelta;
      if (offset < from) continue;
      out.push({
        topic,
        partition,
        offset,
        timestamp: logAppendTime ? maxTimestamp : firstTimestamp + Number(record.timestampDelta),
        key: record.key,
        value: record.value,
        headers: record.headers.map(([key, value]) => ({ key: key?.toString('utf8') ?? '', value })),
      });
    }
  }
}
