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
  batchSizeAt,
  isLogAppendTime,
} from '../protocol/index.js';
import { type CommittedBatches, committedBatches } from './committed-batches.js';
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

/**
 * The batches of one partition a read_committed reader keeps: the response's aborted list applied as Kafka's
 * consumer applies it (see committedBatches).
 */
export function committedRemoteBatches(partition: RawFetchPartition, from: number): CommittedBatches {
  const aborted = partition.abortedTransactions.map((entry) => ({
    producerId: Number(entry.producerId),
    firstOffset: Number(entry.firstOffset),
  }));
  return committedBatches(partition.records, from, aborted);
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
