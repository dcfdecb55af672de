import fs from 'node:fs';
import path from 'node:path';
import { LogError, type PartitionLog, writeFileAtomic } from '../log/index.js';
import { ErrorCode, readBatchHeader, splitBatches } from '../protocol/index.js';

/** Kafka keeps the last five batches per producer and partition so retried in-flight batches are recognised. */
const RECENT_BATCHES = 5;
const PRODUCER_ID_BLOCK = 1000;
const SEQUENCE_LIMIT = 2 ** 31;

interface BatchEntry {
  firstSequence: number;
  lastSequence: number;
  baseOffset: number;
  lastOffset: number;
  /** The batch's max timestamp (ms): DescribeProducers' last timestamp. */
  maxTimestamp: number;
}

/**
 * A producer as DescribeProducers (KIP-664) shows it. Transactions are not kept here (yet): coordinator
 * epoch and transaction start are -1, Kafka's "unknown".
 */
export interface ActiveProducer {
  producerId: number;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: number;
  coordinatorEpoch: number;
  currentTxnStartOffset: number;
}

interface ProducerEntry {
  epoch: number;
  recent: BatchEntry[];
}

export type SequenceVerdict =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number; lastOffset: number }
  | { kind: 'reject'; errorCode: number; message: string };

function nextSequence(sequence: number): number {
  return sequence + 1 === SEQUENCE_LIMIT ? 0 : sequence + 1;
}

/**
 * Idempotent-producer bookkeeping for one partition: duplicates of a recent batch are acknowledged with their
 * original offsets without a second append; a gap or reordering is refused with OUT_OF_ORDER_SEQUENCE_NUMBER.
 */
export class PartitionProducers {
  private readonly producers = new Map<number, ProducerEntry>();

  check(producerId: number, epoch: number, firstSequence: number, lastSequence: number): SequenceVerdict {
    const entry = this.producers.get(producerId);
    if (!entry) return { kind: 'append' };
    if (epoch < entry.epoch) {
      return {
        kind: 'reject',
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer ${producerId} epoch ${epoch} is older than ${entry.epoch}`,
      };
    }
    if (epoch > entry.epoch) {
      return firstSequence === 0
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
    const last = entry.recent[entry.recent.length - 1];
    if (last && firstSequence !== nextSequence(last.lastSequence)) {
      return {
        kind: 'reject',
        errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `producer ${producerId} expected sequence ${nextSequence(last.lastSequence)}, got ${firstSequence}`,
      };
    }
    return { kind: 'append' };
  }

  record(producerId: number, epoch: number, batch: BatchEntry): void {
    let entry = this.producers.get(producerId);
    if (!entry || entry.epoch !== epoch) {
      entry = { epoch, recent: [] };
      this.producers.set(producerId, entry);
    }
    entry.recent.push(batch);
    if (entry.recent.length > RECENT_BATCHES) entry.recent.shift();
  }

  /** The producers with batches in this partition's recent history, in producer id order. */
  active(): ActiveProducer[] {
    return [...this.producers]
      .sort((a, b) => a[0] - b[0])
      .map(([producerId, entry]) => {
        const last = entry.recent[entry.recent.length - 1];
        return {
          producerId,
          producerEpoch: entry.epoch,
          lastSequence: last?.lastSequence ?? -1,
          lastTimestamp: last?.maxTimestamp ?? -1,
          coordinatorEpoch: -1,
          currentTxnStartOffset: -1,
        };
      });
  }

  /** Rebuilds state after a restart from the batch headers of the segment being written. */
  static rebuild(log: PartitionLog): PartitionProducers {
    const producers = new PartitionProducers();
    // Appends still on their way to the file count too.
    log.settleWrites();
    let offset = Math.max(log.logStartOffset, log.activeSegmentBaseOffset);
    // Up to the log end, not the high watermark: a batch written but not yet committed is still a
    // duplicate when its producer retries it (after a leader change, say).
    while (offset < log.logEndOffset) {
      const batches = splitBatches(log.readForReplica(offset, 1 << 20).records);
      if (batches.length === 0) break;
      for (const batch of batches) {
        const header = readBatchHeader(batch);
        const lastOffset = header.baseOffset + header.lastOffsetDelta;
        if (header.producerId >= 0 && header.baseSequence >= 0) {
          producers.record(header.producerId, header.producerEpoch, {
            firstSequence: header.baseSequence,
            lastSequence: (header.baseSequence + header.lastOffsetDelta) % SEQUENCE_LIMIT,
            baseOffset: header.baseOffset,
            lastOffset,
            maxTimestamp: header.maxTimestamp,
          });
        }
        offset = lastOffset + 1;
      }
    }
    return producers;
  }
}

/** Where InitProducerId gets ids: this node's own counter, or on a cluster the shared one. */
export interface ProducerIdSource {
  allocate(): Promise<number>;
}

/** Hands out producer ids that never repeat across restarts, persisting one block of ids at a time. */
export class ProducerIdAllocator implements ProducerIdSource {
  private next: number;
  private blockEnd: number;
  private readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'producer-ids.json');
    let start = 0;
    if (fs.existsSync(this.file)) {
      const saved = JSON.parse(fs.readFileSync(this.file, 'utf8')) as { nextBlock?: unknown };
      if (
        typeof saved.nextBlock !== 'number' ||
        !Number.isSafeInteger(saved.nextBlock) ||
        saved.nextBlock < 0
      ) {
        throw new LogError('INVALID_CONFIG', `${this.file}: expected {"nextBlock": <integer >= 0>}`);
      }
      start = saved.nextBlock;
    }
    this.next = start;
    this.blockEnd = start;
  }

  async allocate(): Promise<number> {
    if (this.next >= this.blockEnd) {
      this.blockEnd = this.next + PRODUCER_ID_BLOCK;
      writeFileAtomic(this.file, JSON.stringify({ nextBlock: this.blockEnd }));
    }
    return this.next++;
  }
}
