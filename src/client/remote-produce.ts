import {
  type ClusterMetadata,
  compressionsAlgorithms,
  createAPI,
  type MessageToProduce,
  noopSerializer,
  produceV7,
  produceV8,
  produceV9,
  produceV10,
  produceV11,
  type Serializers,
  Writer,
} from '@platformatic/kafka';
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  BatchField,
  computeBatchCrc,
  RECORD_BATCH_MAGIC,
  TRANSACTIONAL_BIT,
  writeInt64,
} from '../protocol/index.js';
import { checkPartitionIndex } from './client-checks.js';
import { LogClientError, UnknownTopicError } from './client-errors.js';
import { recordBytesMax } from './record-size.js';
import type { RemoteCompression, ResolvedOptions } from './remote-common.js';
import { kafkaErrorWhere, NETWORK_ERROR_CODE } from './remote-errors.js';
import type { EncodedRecords, OutgoingRecord, TopicPartition } from './types.js';

// What the remote client's producers share: the plain idempotent one (remote-client.ts) and the transactional
// writers (remote-transactions.ts). Records become library messages, are cut into requests of bounded size, and
// get their offsets back from the responses.

/** Keys, values and header values travel as the Buffers we are given; null becomes Kafka's null. */
export type ProducedMessage = MessageToProduce<Buffer, Buffer, Buffer, Buffer | undefined>;
export const bufferSerializers: Serializers<Buffer, Buffer, Buffer, Buffer | undefined> = {
  key: noopSerializer,
  value: noopSerializer,
  headerKey: noopSerializer,
  headerValue: noopSerializer,
};

/** Records of one call, sized once, with the slots their offsets are written to. */
export interface SizedRecords {
  records: OutgoingRecord[];
  /** recordBytesMax() of each record, computed once when the call is queued. */
  recordsBytesMax: number[];
  /** Filled as the requests carrying the records are acknowledged. */
  offsets: number[];
}

/** Records sent in one request, and where each one's offset goes: its call's offsets, at its index there. */
export interface ProduceChunk {
  messages: ProducedMessage[];
  offsetSlots: Array<{ offsets: number[]; index: number }>;
}

/**
 * Attempts acrossLeaderChanges makes at least, whatever its time budget: the library spends the budget on the
 * broker it chose first, and only a new attempt looks the leaders up again.
 */
const LEADER_CHANGE_ATTEMPTS_MIN = 3;

/** Whether a failure is one that a new attempt, with the cluster's metadata looked up afresh, may get past. */
export function worthRetryingElsewhere(error: unknown): boolean {
  return (
    kafkaErrorWhere(error, 'code', NETWORK_ERROR_CODE) ||
    kafkaErrorWhere(error, 'hasStaleMetadata', true) ||
    kafkaErrorWhere(error, 'canRetry', true)
  );
}

/**
 * Runs `attempt` again while a broker it used is unreachable or no longer leads, with the cluster's metadata
 * looked up afresh each time, for retries x retryDelayMs (and LEADER_CHANGE_ATTEMPTS_MIN attempts): the
 * library retries such a request on the broker it had chosen, which after a broker's death is the dead one.
 * `retryable` decides, per failure, whether another attempt is made (worthRetryingElsewhere, say).
 */
export async function acrossLeaderChanges<T>(
  options: Pick<ResolvedOptions, 'retries' | 'retryDelayMs'>,
  client: { clearMetadata(): void },
  attempt: () => Promise<T>,
  retryable: (error: unknown) => boolean,
): Promise<T> {
  const deadline = Date.now() + options.retries * options.retryDelayMs;
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (error) {
      const spent = attempts >= LEADER_CHANGE_ATTEMPTS_MIN && Date.now() >= deadline;
      if (!retryable(error) || spent) throw error;
      client.clearMetadata();
      await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs));
    }
  }
}

/** The partition exists, as the cluster metadata says. */
export function checkPartitionOf(metadata: ClusterMetadata, target: TopicPartition): void {
  const count = metadata.topics.get(target.topic)?.partitionsCount;
  if (count === undefined) throw new UnknownTopicError(target.topic);
  checkPartitionIndex(target.topic, target.partition, count);
}

/** An upper bound on each record's encoded size; each record must fit in a produce request alone. */
export function recordsBytesMax(records: OutgoingRecord[], maxProduceRequestBytes: number): number[] {
  const bounds: number[] = new Array(records.length);
  for (const [i, record] of records.entries()) {
    const recordBytes = recordBytesMax(record);
    if (recordBytes > maxProduceRequestBytes) {
      throw new LogClientError(
        'MESSAGE_TOO_LARGE',
        `a record of up to ${recordBytes} bytes for ${record.topic}-${record.partition} exceeds ` +
          `maxProduceRequestBytes=${maxProduceRequestBytes}`,
      );
    }
    bounds[i] = recordBytes;
  }
  return bounds;
}

/**
 * Header names as the library writes them, one Buffer per name instead of one per header of every record; the
 * library only reads them. Bounded: past HEADER_KEYS_CACHED_MAX names, the rest are encoded per header.
 */
const headerKeyBuffers = new Map<string, Buffer>();
const HEADER_KEYS_CACHED_MAX = 1_024;

function headerKeyBuffer(key: string): Buffer {
  let buffer = headerKeyBuffers.get(key);
  if (buffer) return buffer;
  buffer = Buffer.from(key, 'utf8');
  if (headerKeyBuffers.size < HEADER_KEYS_CACHED_MAX) headerKeyBuffers.set(key, buffer);
  return buffer;
}

function toMessage(record: OutgoingRecord): ProducedMessage {
  // Buffer keys keep repeated header names apart, which a string-keyed map would merge: a name repeated in
  // one record gets a Buffer of its own, as the shared one is already a key.
  const headers = new Map<Buffer, Buffer | undefined>();
  for (const header of record.headers ?? []) {
    let key = headerKeyBuffer(header.key);
    if (headers.has(key)) key = Buffer.from(header.key, 'utf8');
    headers.set(key, header.value ?? undefined);
  }
  return {
    topic: record.topic,
    partition: record.partition,
    key: record.key ?? undefined,
    value: record.value ?? undefined,
    headers,
    timestamp: BigInt(record.timestamp),
  };
}

/**
 * The calls' records as messages, in consecutive runs whose size bounds add up to at most maxBytes (each record
 * fits alone), using the bounds computed when each call was queued.
 */
export function chunkByBytes(calls: SizedRecords[], maxBytes: number): ProduceChunk[] {
  const chunks: ProduceChunk[] = [];
  let chunk: ProduceChunk = { messages: [], offsetSlots: [] };
  let chunkBytes = 0;
  for (const call of calls) {
    for (const [i, record] of call.records.entries()) {
      const bytes = call.recordsBytesMax[i]!;
      if (chunk.messages.length > 0 && chunkBytes + bytes > maxBytes) {
        chunks.push(chunk);
        chunk = { messages: [], offsetSlots: [] };
        chunkBytes = 0;
      }
      chunk.messages.push(toMessage(record));
      chunk.offsetSlots.push({ offsets: call.offsets, index: i });
      chunkBytes += bytes;
    }
  }
  if (chunk.messages.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * Each message's offset from the base offset its partition's batch got in the request: the library sends one
 * batch per partition, its messages in the order given, so they took consecutive offsets from there.
 */
export function fillOffsets(
  chunk: ProduceChunk,
  baseOffsets: ReadonlyArray<{ topic: string; partition: number; offset: bigint }>,
): void {
  const next = new Map<string, number>();
  for (const { topic, partition, offset } of baseOffsets) next.set(`${topic}\0${partition}`, Number(offset));
  for (const [i, message] of chunk.messages.entries()) {
    const key = `${message.topic}\0${message.partition}`;
    const offset = next.get(key);
    // acks=all answers every partition of the request or fails it.
    if (offset === undefined)
      throw new Error(`the produce response has no offset for ${message.topic}-${message.partition}`);
    next.set(key, offset + 1);
    const slot = chunk.offsetSlots[i]!;
    slot.offsets[slot.index] = offset;
  }
}

/** What a batch header says of the producer that sends it. */
export interface BatchProducerFields {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  transactional: boolean;
}

/**
 * A RecordBatch v2 around pre-encoded records: the records compressed with the client's codec, the producer's
 * fields, a fresh CRC. The base offset is 0 and the partition leader epoch -1: the leader sets both.
 */
export function encodedBatch(
  encoded: EncodedRecords,
  producer: BatchProducerFields,
  compression: RemoteCompression,
): Buffer {
  const algorithm = compressionsAlgorithms[compression];
  const body = compression === 'none' ? encoded.records : algorithm.compressSync(encoded.records);
  const { framed } = encoded;
  const inPlace =
    body === encoded.records && framed !== undefined && framed.length === BATCH_HEADER_BYTES + body.length;
  const batch = inPlace ? framed : Buffer.allocUnsafe(BATCH_HEADER_BYTES + body.length);
  writeInt64(batch, BatchField.baseOffset, 0);
  batch.writeInt32BE(batch.length - BATCH_LENGTH_PREFIX_BYTES, BatchField.batchLength);
  batch.writeInt32BE(-1, BatchField.partitionLeaderEpoch);
  batch.writeInt8(RECORD_BATCH_MAGIC, BatchField.magic);
  batch.writeInt16BE(
    algorithm.bitmask | (producer.transactional ? TRANSACTIONAL_BIT : 0),
    BatchField.attributes,
  );
  batch.writeInt32BE(encoded.count - 1, BatchField.lastOffsetDelta);
  writeInt64(batch, BatchField.baseTimestamp, encoded.baseTimestamp);
  writeInt64(batch, BatchField.maxTimestamp, encoded.maxTimestamp);
  batch.writeBigInt64BE(producer.producerId, BatchField.producerId);
  batch.writeInt16BE(producer.producerEpoch, BatchField.producerEpoch);
  batch.writeInt32BE(producer.baseSequence, BatchField.baseSequence);
  batch.writeInt32BE(encoded.count, BatchField.recordsCount);
  if (!inPlace) body.copy(batch, BATCH_HEADER_BYTES);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  return batch;
}

/** One partition's batch in a Produce request (Kafka takes one batch per partition per request). */
export interface PartitionBatch extends TopicPartition {
  bytes: Buffer;
}

/** What the writers read of a Produce response: each partition's base offset. */
export interface ProduceAnswer {
  responses: Array<{ name: string; partitionResponses: Array<{ index: number; baseOffset: bigint }> }>;
}

/** A Produce request carrying batches built already, flexible (compact) from v9 on. */
function encodedProduceRequest(flexible: boolean) {
  return (acks: number, timeoutMs: number, transactionalId: string | null, batches: PartitionBatch[]) => {
    const byTopic = new Map<string, PartitionBatch[]>();
    for (const batch of batches) {
      const partitions = byTopic.get(batch.topic);
      if (partitions) partitions.push(batch);
      else byTopic.set(batch.topic, [batch]);
    }
    const writer = Writer.create()
      .appendString(transactionalId, flexible)
      .appendInt16(acks)
      .appendInt32(timeoutMs)
      .appendArray(
        [...byTopic],
        (w, [topic, partitions]) => {
          w.appendString(topic, flexible).appendArray(
            partitions,
            (w, { partition, bytes }) => {
              w.appendInt32(partition);
              if (flexible) w.appendUnsignedVarInt(bytes.length + 1);
              else w.appendInt32(bytes.length);
              w.append(bytes);
            },
            flexible,
            flexible,
          );
        },
        flexible,
        flexible,
      );
    return flexible ? writer.appendTaggedFields() : writer;
  };
}

/** Produce versions for pre-built batches, newest first; the library's response parsers. */
export const ENCODED_PRODUCE_APIS = [produceV11, produceV10, produceV9, produceV8, produceV7].map(
  (version) => {
    const flexible = version.api.version >= 9;
    return createAPI<
      [acks: number, timeoutMs: number, transactionalId: string | null, batches: PartitionBatch[]],
      ProduceAnswer
    >(
      version.api.key,
      version.api.version,
      encodedProduceRequest(flexible),
      version.parseResponse,
      flexible,
      flexible,
    );
  },
);
