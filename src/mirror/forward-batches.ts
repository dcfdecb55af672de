import type { PartitionBatches } from '../client/batch-records.js';
import type { ConsumedRecord, EncodedRecords, RecordHeader } from '../client/types.js';
import { decompressForConversion } from '../protocol/conversion-codecs.js';
import {
  BATCH_HEADER_BYTES,
  ByteReader,
  Compression,
  compressionOf,
  isLogAppendTime,
  readBatchHeader,
  splitBatches,
  varintSize,
  writeVarint,
} from '../protocol/index.js';
import { admits, type TopicPolicy } from './policy.js';
import type { ProvenanceWriter } from './provenance.js';

/**
 * The records of one partition's source batches re-framed for the target without decoding them: each record's
 * key, value and headers are copied as bytes, and only what must change is written anew: its length, its
 * timestamp and offset deltas (a forwarded batch may join several source batches and leave records out), its
 * header count, and the provenance header appended after its own headers.
 */

/** One source partition's read, as forwarded. */
export interface ForwardedRead {
  /** The target batches, each at most maxBatchBytes of records (one record may go over alone). */
  batches: EncodedRecords[];
  /** Records forwarded and their key, value and header bytes (without the provenance header). */
  records: number;
  bytes: number;
  /** Records left out by the topic's policy. */
  filtered: number;
  /** The offset after the last record looked at, or null when there was none at or after `from`. */
  nextOffset: number | null;
  /** The timestamp of the last record forwarded. */
  timestamp: number | null;
}

/** Where a partition's records go and what is added to them. */
export interface ForwardTarget {
  topic: string;
  partition: number;
  /** The source topic, for the records a policy looks at. */
  sourceTopic: string;
  policy: TopicPolicy | undefined;
  provenance: ProvenanceWriter;
}

/** The records at or after `from` of `read`, re-framed for `target`. */
export function forwardRead(
  read: PartitionBatches,
  from: number,
  target: ForwardTarget,
  maxBatchBytes: number,
): ForwardedRead {
  // The records grow by their provenance headers: a quarter more than they were is room enough for most.
  const out = new BatchBuilder(target, maxBatchBytes, read.bytes.length + (read.bytes.length >> 2));
  const result: ForwardedRead = {
    batches: out.batches,
    records: 0,
    bytes: 0,
    filtered: 0,
    nextOffset: null,
    timestamp: null,
  };
  for (const batch of splitBatches(read.bytes)) {
    const header = readBatchHeader(batch);
    if (header.baseOffset + header.lastOffsetDelta < from) continue;
    const compression = compressionOf(header.attributes);
    const records =
      compression === Compression.None
        ? batch.subarray(BATCH_HEADER_BYTES)
        : decompressForConversion(compression, batch.subarray(BATCH_HEADER_BYTES), read.maxDecompressedBytes);
    const reader = new ByteReader(records);
    const logAppendTimeMs = isLogAppendTime(header.attributes) ? header.maxTimestamp : null;
    for (let i = 0; i < header.recordsCount; i++) {
      const length = reader.varint();
      const end = reader.pos + length;
      reader.int8();
      const timestampDelta = reader.varint();
      const offset = header.baseOffset + reader.varint();
      if (offset < from) {
        reader.pos = end;
        continue;
      }
      const keyValueStart = reader.pos;
      const keyBytes = skipBytes(reader);
      const valueBytes = skipBytes(reader);
      const keyValueEnd = reader.pos;
      const headerCount = reader.varint();
      const headersStart = reader.pos;
      let headerBytes = 0;
      for (let h = 0; h < headerCount; h++) headerBytes += skipBytes(reader) + skipBytes(reader);
      if (reader.pos !== end) throw new RangeError(`record ${i} length ${length} disagrees with its fields`);
      const timestamp = logAppendTimeMs ?? header.baseTimestamp + timestampDelta;
      result.nextOffset = offset + 1;
      if (
        target.policy &&
        !admits(target.policy, consumedRecord(records, target, offset, timestamp, keyValueStart, headerCount))
      ) {
        result.filtered += 1;
        continue;
      }
      out.add(records, { keyValueStart, keyValueEnd, headerCount, headersStart, end }, offset, timestamp);
      result.records += 1;
      result.bytes += keyBytes + valueBytes + headerBytes;
      result.timestamp = timestamp;
    }
  }
  out.finish();
  return result;
}

/** Skips a nullable varint-length byte string without making a view of it; returns its length (0 for null). */
function skipBytes(reader: ByteReader): number {
  const length = reader.varint();
  if (length <= 0) return 0;
  if (reader.pos + length > reader.end) {
    throw new RangeError(
      `need ${length} bytes at position ${reader.pos}, only ${reader.end - reader.pos} left`,
    );
  }
  reader.pos += length;
  return length;
}

/** The record as a policy sees it: decoded only for topics that have a policy. */
function consumedRecord(
  records: Buffer,
  target: ForwardTarget,
  offset: number,
  timestamp: number,
  keyValueStart: number,
  headerCount: number,
): ConsumedRecord {
  const reader = new ByteReader(records, keyValueStart);
  const key = reader.nullableVarintBytes();
  const value = reader.nullableVarintBytes();
  reader.varint();
  const headers: RecordHeader[] = [];
  for (let h = 0; h < headerCount; h++) {
    const headerKey = reader.nullableVarintBytes();
    headers.push({ key: headerKey ? headerKey.toString() : '', value: reader.nullableVarintBytes() });
  }
  return { topic: target.sourceTopic, partition: target.partition, offset, timestamp, key, value, headers };
}

/** Where a source record's parts sit in its batch's records. */
interface RecordSpans {
  keyValueStart: number;
  keyValueEnd: number;
  headerCount: number;
  headersStart: number;
  end: number;
}

/** Target batches of one partition, written record by record into one growing buffer per batch. */
class BatchBuilder {
  readonly batches: EncodedRecords[] = [];
  /** The batch being written: room for a batch header (which the writer fills in place), then the records. */
  private buffer: Buffer;
  private at = BATCH_HEADER_BYTES;
  private count = 0;
  private baseTimestamp = 0;
  private maxTimestamp = 0;

  /** Bytes the records of the read are expected to take, to size the buffers. */
  private expectedBytes: number;

  constructor(
    private readonly target: ForwardTarget,
    private readonly maxBatchBytes: number,
    expectedBytes: number,
  ) {
    this.expectedBytes = expectedBytes;
    this.buffer = this.allocate();
  }

  private allocate(): Buffer {
    return Buffer.allocUnsafe(
      BATCH_HEADER_BYTES + Math.max(1024, Math.min(this.maxBatchBytes, this.expectedBytes)),
    );
  }

  add(records: Buffer, spans: RecordSpans, offset: number, timestamp: number): void {
    if (this.count === 0) {
      this.baseTimestamp = timestamp;
      this.maxTimestamp = timestamp;
    }
    const timestampDelta = timestamp - this.baseTimestamp;
    const provenanceBytes = this.target.provenance.bytes(offset);
    const bodyBytes =
      1 +
      varintSize(timestampDelta) +
      varintSize(this.count) +
      (spans.keyValueEnd - spans.keyValueStart) +
      varintSize(spans.headerCount + 1) +
      (spans.end - spans.headersStart) +
      provenanceBytes;
    const recordBytes = varintSize(bodyBytes) + bodyBytes;
    if (this.count > 0 && this.at - BATCH_HEADER_BYTES + recordBytes > this.maxBatchBytes) {
      this.finish();
      this.add(records, spans, offset, timestamp);
      return;
    }
    this.reserve(recordBytes);
    const buffer = this.buffer;
    let at = writeVarint(buffer, this.at, bodyBytes);
    buffer[at++] = 0;
    at = writeVarint(buffer, at, timestampDelta);
    at = writeVarint(buffer, at, this.count);
    at += records.copy(buffer, at, spans.keyValueStart, spans.keyValueEnd);
    at = writeVarint(buffer, at, spans.headerCount + 1);
    at += records.copy(buffer, at, spans.headersStart, spans.end);
    at = this.target.provenance.write(offset, buffer, at);
    this.at = at;
    this.count += 1;
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
  }

  /** Closes the batch being written, if it holds records. */
  finish(): void {
    if (this.count === 0) return;
    this.batches.push({
      topic: this.target.topic,
      partition: this.target.partition,
      records: this.buffer.subarray(BATCH_HEADER_BYTES, this.at),
      framed: this.buffer.subarray(0, this.at),
      count: this.count,
      baseTimestamp: this.baseTimestamp,
      maxTimestamp: this.maxTimestamp,
    });
    this.expectedBytes = Math.max(0, this.expectedBytes - (this.at - BATCH_HEADER_BYTES));
    this.buffer = this.allocate();
    this.at = BATCH_HEADER_BYTES;
    this.count = 0;
  }

  private reserve(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.at + bytes));
    this.buffer.copy(grown, 0, 0, this.at);
    this.buffer = grown;
  }
}
