import fs from 'node:fs';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import {
  BatchField,
  ControlRecordType,
  controlRecordType,
  decodeRecords,
  ErrorCode,
  isControlBatch,
  isTransactional,
  readInt64,
  writeInt64,
} from '../protocol/index.js';
import type { CompactionTransactions } from './compaction.js';
import { isNodeError, LogError } from './errors.js';
import type { Logger } from './logger.js';
import { writeFileAtomic } from './segment.js';

/** A transaction a producer aborted in this partition: its data batches lie in [firstOffset, lastOffset]. */
export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
  /** The offset of the abort marker. */
  lastOffset: number;
}

/** One of a producer's recent batches: a retry of it is answered with its offsets instead of appended. */
interface BatchEntry {
  firstSequence: number;
  lastSequence: number;
  baseOffset: number;
  lastOffset: number;
}

interface ProducerEntry {
  /** The newest epoch seen from the producer; batches and markers of older ones are fenced. */
  epoch: number;
  /** Its last batches of this epoch, oldest first, at most RECENT_BATCHES. */
  recent: BatchEntry[];
  /** First offset of its ongoing transaction in this partition, or -1 when none is open. */
  ongoingFirstOffset: number;
  /**
   * The max timestamp (ms) of its last batch, data or marker, or -1: DescribeProducers' last timestamp, and
   * what its expiration counts from (as in Kafka, the batch's own timestamp, not the time it was appended).
   */
  lastTimestamp: number;
}

/** A producer as DescribeProducers (KIP-664) shows it; -1 where unknown. */
export interface ActiveProducer {
  producerId: number;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: number;
  coordinatorEpoch: number;
  currentTxnStartOffset: number;
}

export type SequenceVerdict =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number; lastOffset: number }
  | { kind: 'reject'; errorCode: number; message: string };

/** Kafka keeps the last five batches per producer and partition so retried in-flight batches are recognised. */
const RECENT_BATCHES = 5;
const SEQUENCE_LIMIT = 2 ** 31;

/** Kafka's producer.id.expiration.ms default (KIP-854): a day. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 24 * 60 * 60 * 1000;

/** Kafka's .snapshot files: the producer state at an offset, so that open scans only what follows. */
export const PRODUCER_SNAPSHOT_FILE = 'producer-state.snapshot';
const SNAPSHOT_VERSION = 1;
/** version int16, crc uint32, endOffset int64, producer count int32, aborted count int32. */
const SNAPSHOT_HEADER_BYTES = 2 + 4 + 8 + 4 + 4;
/** producerId int64, epoch int16, ongoing first offset int64, recent batch count int8, last timestamp int64. */
const PRODUCER_ENTRY_BYTES = 8 + 2 + 8 + 1 + 8;
/** first and last sequence int32, base and last offset int64. */
const BATCH_ENTRY_BYTES = 4 + 4 + 8 + 8;
/** producerId int64, first offset int64, last offset int64. */
const ABORTED_ENTRY_BYTES = 8 + 8 + 8;
/** The CRC covers everything after the version and the CRC itself. */
const SNAPSHOT_CRC_START = 6;

function nextSequence(sequence: number): number {
  return sequence + 1 === SEQUENCE_LIMIT ? 0 : sequence + 1;
}

/** The last sequence of a batch: sequences wrap at 2^31 as Kafka's do. */
export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  return (baseSequence + lastOffsetDelta) % SEQUENCE_LIMIT;
}

/**
 * A partition's producer state: per producer its epoch, its recent batches (idempotence: a retried batch is
 * recognised, a gap refused) and the first offset of its open transaction (KIP-98), and the aborted
 * transactions read_committed consumers must be told of. The log updates it from the header of every batch
 * with a producer id it appends, as leader or as follower, so a new leader holds the same state; batches
 * without one cost a single field read.
 */
export class ProducerState implements CompactionTransactions {
  private readonly producers = new Map<number, ProducerEntry>();
  /** In increasing lastOffset order (markers are appended in offset order). */
  private aborted: AbortedTransaction[] = [];
  private ongoing = 0;

  /** Batches below this offset are reflected here; the log sets it before a snapshot. */
  constructor(public endOffset: number) {}

  /**
   * Whether an idempotent batch is appended, answered as a duplicate of a recent one, or refused
   * (an older epoch: INVALID_PRODUCER_EPOCH; a gap or a new epoch not at 0: OUT_OF_ORDER_SEQUENCE_NUMBER).
   */
  checkSequence(
    producerId: number,
    epoch: number,
    firstSequence: number,
    lastSequence: number,
  ): SequenceVerdict {
    const entry = this.producers.get(producerId);
    if (!entry) return { kind: 'append' };
    if (epoch < entry.epoch) {
      return {
        kind: 'reject',
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer ${producerId} epoch ${epoch} is older than ${entry.epoch}`,
      };
    }
    const last = entry.recent[entry.recent.length - 1];
    if (epoch > entry.epoch || !last) {
      // A new epoch, or a producer only known by its markers, starts its sequences afresh.
      return firstSequence === 0 || (epoch === entry.epoch && !last)
        ? { kind: 'append' }
        : {
            kind: 'reject',
            errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
            message: `producer ${producerId} new epoch ${epoch} must start at sequence 0, got ${firstSequence}`,
          };
    }
    const duplicate = entry.recent.find(
      (b) => b.firstSequence === firstSequence && b.lastSequence === lastSequence,
    );
    if (duplicate)
      return { kind: 'duplicate', baseOffset: duplicate.baseOffset, lastOffset: duplicate.lastOffset };
    if (firstSequence !== nextSequence(last.lastSequence)) {
      return {
        kind: 'reject',
        errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `producer ${producerId} expected sequence ${nextSequence(last.lastSequence)}, got ${firstSequence}`,
      };
    }
    return { kind: 'append' };
  }

  /**
   * Why a leader must refuse the transactional batch at `at` (data or marker) of `payload`: its epoch is
   * older than one this partition has seen from the producer. Null when it may be appended.
   */
  fencing(payload: Buffer, at: number): string | null {
    const producerId = readInt64(payload, at + BatchField.producerId);
    const epoch = payload.readInt16BE(at + BatchField.producerEpoch);
    const known = this.producers.get(producerId);
    if (!known || epoch >= known.epoch) return null;
    return `producer ${producerId} epoch ${epoch} is older than ${known.epoch}`;
  }

  /** Takes in one batch with a producer id (offsets assigned) of `payload` at byte `at`. */
  apply(payload: Buffer, at: number, size: number): void {
    const producerId = readInt64(payload, at + BatchField.producerId);
    const epoch = payload.readInt16BE(at + BatchField.producerEpoch);
    const baseOffset = readInt64(payload, at + BatchField.baseOffset);
    const lastOffsetDelta = payload.readInt32BE(at + BatchField.lastOffsetDelta);
    const attributes = payload.readInt16BE(at + BatchField.attributes);
    let producer = this.producers.get(producerId);
    if (!producer) {
      producer = { epoch, recent: [], ongoingFirstOffset: -1, lastTimestamp: -1 };
      this.producers.set(producerId, producer);
    } else if (epoch > producer.epoch) {
      producer.epoch = epoch;
      producer.recent = [];
    }
    producer.lastTimestamp = readInt64(payload, at + BatchField.maxTimestamp);
    if (isControlBatch(attributes)) {
      this.endTransaction(
        producer,
        producerId,
        payload.subarray(at, at + size),
        baseOffset + lastOffsetDelta,
      );
      return;
    }
    const baseSequence = payload.readInt32BE(at + BatchField.baseSequence);
    if (baseSequence >= 0) {
      producer.recent.push({
        firstSequence: baseSequence,
        lastSequence: lastSequenceOf(baseSequence, lastOffsetDelta),
        baseOffset,
        lastOffset: baseOffset + lastOffsetDelta,
      });
      if (producer.recent.length > RECENT_BATCHES) producer.recent.shift();
    }
    if (isTransactional(attributes) && producer.ongoingFirstOffset < 0) {
      producer.ongoingFirstOffset = baseOffset;
      this.ongoing++;
    }
  }

  private endTransaction(
    producer: ProducerEntry,
    producerId: number,
    batch: Buffer,
    markerOffset: number,
  ): void {
    const type = markerType(batch);
    if (type === null || producer.ongoingFirstOffset < 0) return;
    if (type === ControlRecordType.ABORT) {
      this.aborted.push({ producerId, firstOffset: producer.ongoingFirstOffset, lastOffset: markerOffset });
    }
    producer.ongoingFirstOffset = -1;
    this.ongoing--;
  }

  /** The first offset of the oldest open transaction, or null when none is open: the LSO is below it. */
  firstUnstableOffset(): number | null {
    if (this.ongoing === 0) return null;
    let first = Number.MAX_SAFE_INTEGER;
    for (const producer of this.producers.values()) {
      if (producer.ongoingFirstOffset >= 0 && producer.ongoingFirstOffset < first)
        first = producer.ongoingFirstOffset;
    }
    return first;
  }

  /** Aborted transactions with data in [fromOffset, toOffset): what a read_committed fetch of that range lists. */
  abortedIn(fromOffset: number, toOffset: number): AbortedTransaction[] {
    const found: AbortedTransaction[] = [];
    // Entries ending before fromOffset cannot overlap; they sort first.
    for (let i = lowerBound(this.aborted, fromOffset); i < this.aborted.length; i++) {
      const entry = this.aborted[i]!;
      if (entry.firstOffset < toOffset) found.push(entry);
    }
    return found;
  }

  /** Whether the producer's transactional data at `offset` lies in a transaction it aborted. */
  isAborted(producerId: number, offset: number): boolean {
    for (let i = lowerBound(this.aborted, offset); i < this.aborted.length; i++) {
      const entry = this.aborted[i]!;
      if (entry.producerId === producerId && entry.firstOffset <= offset) return true;
    }
    return false;
  }

  /** Retention deleted everything below `logStartOffset`: aborted entries wholly below it go with it. */
  dropBefore(logStartOffset: number): void {
    const keep = lowerBound(this.aborted, logStartOffset);
    if (keep > 0) this.aborted = this.aborted.slice(keep);
  }

  /**
   * Forgets the producers with no open transaction whose last batch is `expirationMs` or more older than
   * `nowMs` (Kafka's producer.id.expiration.ms): without it every producer id that ever wrote is kept for
   * good. A forgotten producer's next batch is taken as a new producer's; aborted transactions stay listed.
   * Returns how many were forgotten.
   */
  removeExpired(nowMs: number, expirationMs: number): number {
    let removed = 0;
    for (const [producerId, producer] of this.producers) {
      if (producer.ongoingFirstOffset < 0 && nowMs - producer.lastTimestamp >= expirationMs) {
        this.producers.delete(producerId);
        removed++;
      }
    }
    return removed;
  }

  /** The producers this partition knows, in producer id order. */
  active(): ActiveProducer[] {
    return [...this.producers]
      .sort((a, b) => a[0] - b[0])
      .map(([producerId, producer]) => ({
        producerId,
        producerEpoch: producer.epoch,
        lastSequence: producer.recent.at(-1)?.lastSequence ?? -1,
        lastTimestamp: producer.lastTimestamp,
        // Markers carry the coordinator's epoch, but the state keeps none: Kafka's "unknown".
        coordinatorEpoch: -1,
        currentTxnStartOffset: producer.ongoingFirstOffset,
      }));
  }

  /** The epoch this partition knows for the producer, or -1. */
  epochOf(producerId: number): number {
    return this.producers.get(producerId)?.epoch ?? -1;
  }

  encode(): Buffer {
    let size = SNAPSHOT_HEADER_BYTES + this.aborted.length * ABORTED_ENTRY_BYTES;
    for (const producer of this.producers.values())
      size += PRODUCER_ENTRY_BYTES + producer.recent.length * BATCH_ENTRY_BYTES;
    const buf = Buffer.alloc(size);
    buf.writeInt16BE(SNAPSHOT_VERSION, 0);
    writeInt64(buf, 6, this.endOffset);
    buf.writeInt32BE(this.producers.size, 14);
    buf.writeInt32BE(this.aborted.length, 18);
    let at = SNAPSHOT_HEADER_BYTES;
    for (const [producerId, producer] of this.producers) {
      writeInt64(buf, at, producerId);
      buf.writeInt16BE(producer.epoch, at + 8);
      writeInt64(buf, at + 10, producer.ongoingFirstOffset);
      buf.writeInt8(producer.recent.length, at + 18);
      writeInt64(buf, at + 19, producer.lastTimestamp);
      at += PRODUCER_ENTRY_BYTES;
      for (const batch of producer.recent) {
        buf.writeInt32BE(batch.firstSequence, at);
        buf.writeInt32BE(batch.lastSequence, at + 4);
        writeInt64(buf, at + 8, batch.baseOffset);
        writeInt64(buf, at + 16, batch.lastOffset);
        at += BATCH_ENTRY_BYTES;
      }
    }
    for (const entry of this.aborted) {
      writeInt64(buf, at, entry.producerId);
      writeInt64(buf, at + 8, entry.firstOffset);
      writeInt64(buf, at + 16, entry.lastOffset);
      at += ABORTED_ENTRY_BYTES;
    }
    buf.writeUInt32BE(crc32c(buf.subarray(SNAPSHOT_CRC_START)), 2);
    return buf;
  }

  /** The state a snapshot holds, or a reason it cannot be used (damaged, unknown version). */
  static decode(buf: Buffer): ProducerState | string {
    if (buf.length < SNAPSHOT_HEADER_BYTES) return `${buf.length} bytes is shorter than a snapshot header`;
    const version = buf.readInt16BE(0);
    if (version !== SNAPSHOT_VERSION) return `unknown snapshot version ${version}`;
    if (buf.readUInt32BE(2) !== crc32c(buf.subarray(SNAPSHOT_CRC_START))) return 'CRC-32C mismatch';
    const producerCount = buf.readInt32BE(14);
    const abortedCount = buf.readInt32BE(18);
    if (producerCount < 0 || abortedCount < 0) return 'negative entry counts';
    const state = new ProducerState(readInt64(buf, 6));
    let at = SNAPSHOT_HEADER_BYTES;
    for (let i = 0; i < producerCount; i++) {
      if (at + PRODUCER_ENTRY_BYTES > buf.length) return 'producer entries run past its end';
      const ongoingFirstOffset = readInt64(buf, at + 10);
      const recentCount = buf.readInt8(at + 18);
      const entry: ProducerEntry = {
        epoch: buf.readInt16BE(at + 8),
        recent: [],
        ongoingFirstOffset,
        lastTimestamp: readInt64(buf, at + 19),
      };
      state.producers.set(readInt64(buf, at), entry);
      if (ongoingFirstOffset >= 0) state.ongoing++;
      at += PRODUCER_ENTRY_BYTES;
      if (
        recentCount < 0 ||
        recentCount > RECENT_BATCHES ||
        at + recentCount * BATCH_ENTRY_BYTES > buf.length
      )
        return `producer entry ${i} has a bad batch count ${recentCount}`;
      for (let b = 0; b < recentCount; b++) {
        entry.recent.push({
          firstSequence: buf.readInt32BE(at),
          lastSequence: buf.readInt32BE(at + 4),
          baseOffset: readInt64(buf, at + 8),
          lastOffset: readInt64(buf, at + 16),
        });
        at += BATCH_ENTRY_BYTES;
      }
    }
    if (at + abortedCount * ABORTED_ENTRY_BYTES !== buf.length)
      return `entry counts disagree with its ${buf.length} bytes`;
    for (let i = 0; i < abortedCount; i++) {
      state.aborted.push({
        producerId: readInt64(buf, at),
        firstOffset: readInt64(buf, at + 8),
        lastOffset: readInt64(buf, at + 16),
      });
      at += ABORTED_ENTRY_BYTES;
    }
    return state;
  }

  /** Writes the snapshot atomically (temporary file, fsync, rename). */
  persist(dir: string): void {
    writeFileAtomic(path.join(dir, PRODUCER_SNAPSHOT_FILE), this.encode());
  }

  /**
   * The snapshot in `dir` if it is sound and covers no more than [logStartOffset, logEndOffset]; otherwise
   * an empty state at logStartOffset (the log is then scanned from its start).
   */
  static load(dir: string, logStartOffset: number, logEndOffset: number, logger: Logger): ProducerState {
    const file = path.join(dir, PRODUCER_SNAPSHOT_FILE);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (error) {
      if (isNodeError(error, 'ENOENT')) return new ProducerState(logStartOffset);
      throw new LogError('IO_ERROR', `read ${file}: ${String(error)}`, { cause: error });
    }
    const state = ProducerState.decode(bytes);
    if (typeof state === 'string') {
      logger.warn({ file, reason: state }, 'producer state snapshot unusable; rebuilding from the log');
      return new ProducerState(logStartOffset);
    }
    if (state.endOffset < logStartOffset || state.endOffset > logEndOffset)
      return new ProducerState(logStartOffset);
    state.dropBefore(logStartOffset);
    return state;
  }
}

/** The control type of a control batch's (single) record, or null when it has none readable. */
function markerType(batch: Buffer): number | null {
  try {
    const records = decodeRecords(batch);
    return records.length === 0 ? null : controlRecordType(records[0]!.key);
  } catch {
    // A control batch whose record cannot be read ends nothing, as Kafka skips unknown control records.
    return null;
  }
}

/** Index of the first entry whose lastOffset is >= offset. */
function lowerBound(entries: readonly AbortedTransaction[], offset: number): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (entries[mid]!.lastOffset < offset) low = mid + 1;
    else high = mid;
  }
  return low;
}
