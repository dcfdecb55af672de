import fs from 'node:fs';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import {
  BatchField,
  ControlRecordType,
  controlRecordType,
  decodeRecords,
  isControlBatch,
  readInt64,
  writeInt64,
} from '../protocol/index.js';
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

interface TransactionalProducer {
  /** The newest epoch seen in a transactional batch or marker; older ones are fenced. */
  epoch: number;
  /** First offset of its ongoing transaction in this partition, or -1 when none is open. */
  ongoingFirstOffset: number;
}

/** Kafka's .snapshot files hold producer state; ours holds the transactional part of it, one file per partition. */
export const TRANSACTION_SNAPSHOT_FILE = 'transactions.snapshot';
const SNAPSHOT_VERSION = 1;
/** version int16, crc uint32, endOffset int64, producer count int32, aborted count int32. */
const SNAPSHOT_HEADER_BYTES = 2 + 4 + 8 + 4 + 4;
/** producerId int64, epoch int16, ongoing first offset int64. */
const PRODUCER_ENTRY_BYTES = 8 + 2 + 8;
/** producerId int64, first offset int64, last offset int64. */
const ABORTED_ENTRY_BYTES = 8 + 8 + 8;
/** The CRC covers everything after the version and the CRC itself. */
const SNAPSHOT_CRC_START = 6;

/**
 * The transactional half of a partition's producer state (KIP-98): per producer its epoch and the first
 * offset of its open transaction, and the aborted transactions read_committed consumers must be told of.
 * Updated from the header of every transactional batch the log appends, as leader or as follower, so a new
 * leader holds the same state; the plain idempotent path never reaches it (one attribute bit per batch).
 */
export class TransactionState {
  private readonly producers = new Map<number, TransactionalProducer>();
  /** In increasing lastOffset order (markers are appended in offset order). */
  private aborted: AbortedTransaction[] = [];
  private ongoing = 0;

  /** Batches below this offset are reflected here; the log sets it before a snapshot. */
  constructor(public endOffset: number) {}

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

  /** Takes in one transactional batch (offsets assigned) of `payload` at byte `at`. */
  apply(payload: Buffer, at: number, size: number): void {
    const producerId = readInt64(payload, at + BatchField.producerId);
    const epoch = payload.readInt16BE(at + BatchField.producerEpoch);
    const baseOffset = readInt64(payload, at + BatchField.baseOffset);
    const lastOffset = baseOffset + payload.readInt32BE(at + BatchField.lastOffsetDelta);
    let producer = this.producers.get(producerId);
    if (!producer) {
      producer = { epoch, ongoingFirstOffset: -1 };
      this.producers.set(producerId, producer);
    }
    producer.epoch = Math.max(producer.epoch, epoch);
    if (!isControlBatch(payload.readInt16BE(at + BatchField.attributes))) {
      if (producer.ongoingFirstOffset < 0) {
        producer.ongoingFirstOffset = baseOffset;
        this.ongoing++;
      }
      return;
    }
    const type = markerType(payload.subarray(at, at + size));
    if (type === null) return;
    if (type === ControlRecordType.ABORT && producer.ongoingFirstOffset >= 0) {
      this.aborted.push({ producerId, firstOffset: producer.ongoingFirstOffset, lastOffset });
    }
    if (producer.ongoingFirstOffset >= 0) {
      producer.ongoingFirstOffset = -1;
      this.ongoing--;
    }
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

  /** Retention deleted everything below `logStartOffset`: aborted entries wholly below it go with it. */
  dropBefore(logStartOffset: number): void {
    const keep = lowerBound(this.aborted, logStartOffset);
    if (keep > 0) this.aborted = this.aborted.slice(keep);
  }

  /** The epoch this partition knows for the producer, or -1. */
  epochOf(producerId: number): number {
    return this.producers.get(producerId)?.epoch ?? -1;
  }

  encode(): Buffer {
    const producers = [...this.producers];
    const buf = Buffer.alloc(
      SNAPSHOT_HEADER_BYTES +
        producers.length * PRODUCER_ENTRY_BYTES +
        this.aborted.length * ABORTED_ENTRY_BYTES,
    );
    buf.writeInt16BE(SNAPSHOT_VERSION, 0);
    writeInt64(buf, 6, this.endOffset);
    buf.writeInt32BE(producers.length, 14);
    buf.writeInt32BE(this.aborted.length, 18);
    let at = SNAPSHOT_HEADER_BYTES;
    for (const [producerId, producer] of producers) {
      writeInt64(buf, at, producerId);
      buf.writeInt16BE(producer.epoch, at + 8);
      writeInt64(buf, at + 10, producer.ongoingFirstOffset);
      at += PRODUCER_ENTRY_BYTES;
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
  static decode(buf: Buffer): TransactionState | string {
    if (buf.length < SNAPSHOT_HEADER_BYTES) return `${buf.length} bytes is shorter than a snapshot header`;
    const version = buf.readInt16BE(0);
    if (version !== SNAPSHOT_VERSION) return `unknown snapshot version ${version}`;
    if (buf.readUInt32BE(2) !== crc32c(buf.subarray(SNAPSHOT_CRC_START))) return 'CRC-32C mismatch';
    const producerCount = buf.readInt32BE(14);
    const abortedCount = buf.readInt32BE(18);
    const expected =
      SNAPSHOT_HEADER_BYTES + producerCount * PRODUCER_ENTRY_BYTES + abortedCount * ABORTED_ENTRY_BYTES;
    if (producerCount < 0 || abortedCount < 0 || buf.length !== expected)
      return `entry counts disagree with its ${buf.length} bytes`;
    const state = new TransactionState(readInt64(buf, 6));
    let at = SNAPSHOT_HEADER_BYTES;
    for (let i = 0; i < producerCount; i++) {
      const ongoingFirstOffset = readInt64(buf, at + 10);
      state.producers.set(readInt64(buf, at), { epoch: buf.readInt16BE(at + 8), ongoingFirstOffset });
      if (ongoingFirstOffset >= 0) state.ongoing++;
      at += PRODUCER_ENTRY_BYTES;
    }
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
    writeFileAtomic(path.join(dir, TRANSACTION_SNAPSHOT_FILE), this.encode());
  }

  /**
   * The snapshot in `dir` if it is sound and covers no more than [logStartOffset, logEndOffset]; otherwise
   * an empty state at logStartOffset (the log is then scanned from its start).
   */
  static load(dir: string, logStartOffset: number, logEndOffset: number, logger: Logger): TransactionState {
    const file = path.join(dir, TRANSACTION_SNAPSHOT_FILE);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (error) {
      if (isNodeError(error, 'ENOENT')) return new TransactionState(logStartOffset);
      throw new LogError('IO_ERROR', `read ${file}: ${String(error)}`, { cause: error });
    }
    const state = TransactionState.decode(bytes);
    if (typeof state === 'string') {
      logger.warn({ file, reason: state }, 'transaction snapshot unusable; rebuilding from the log');
      return new TransactionState(logStartOffset);
    }
    if (state.endOffset < logStartOffset || state.endOffset > logEndOffset)
      return new TransactionState(logStartOffset);
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
