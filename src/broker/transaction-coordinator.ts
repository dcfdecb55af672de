import { LogError, type Logger, type PartitionLog } from '../log/index.js';
import { decodeRecords, encodeRecordBatch, type RecordInput, splitBatches } from '../protocol/index.js';
import { ErrorCode, errorCodeOf } from './error-codes.js';
import { OFFSETS_TOPIC, OffsetCommitError, type OffsetLogWriter } from './offset-store.js';
import type { ProducerIdSource } from './producer-state.js';
import {
  decodePendingOffsets,
  decodeTxnKey,
  decodeTxnValue,
  encodePendingOffsets,
  encodePendingOffsetsKey,
  encodeTxnKey,
  encodeTxnValue,
  type PendingOffset,
  TXN_STATE_NAMES,
  type TxnLogValue,
  TxnState,
} from './transaction-log.js';
import type { TxnMarkerWriter } from './transaction-markers.js';

/** Kafka's producer epochs are int16; at this epoch the coordinator moves the transactional id to a new id. */
const LAST_PRODUCER_EPOCH = 0x7fff - 1;
const MARKER_RETRY_MIN_MS = 50;
const MARKER_RETRY_MAX_MS = 2_000;
/**
 * How long a Prepare's answer waits for the transaction to complete (markers written, Complete record
 * acknowledged). The decision is durable once Prepare is, so answering then would be correct; but the
 * producer's next AddPartitionsToTxn would meet CONCURRENT_TRANSACTIONS until completion and back off (20-100 ms
 * in librdkafka and the Java client), while completion takes a few fsyncs. Markers to an unreachable leader
 * are not waited for longer than this.
 */
const COMPLETION_WAIT_MS = 1_000;

export interface TransactionCoordinatorOptions {
  producerIds: ProducerIdSource;
  /** Writes commit/abort markers to the transaction's partitions, wherever their leaders are. */
  markers: TxnMarkerWriter;
  /** Tells the partitions' leaders which coordinator wrote a marker (the leader epoch of its log partition). */
  coordinatorEpoch: number;
  /** Offsets in transactions (AddOffsetsToTxn, TxnOffsetCommit); null where they are not served (a cluster). */
  groupOffsets: TransactionalOffsets | null;
  partitionExists(topic: string, partition: number): boolean;
  /** transaction.max.timeout.ms. */
  maxTimeoutMs: number;
  /** How often ongoing transactions are checked for their timeout and idle ids for expiry. */
  abortCheckIntervalMs: number;
  /** transactional.id.expiration.ms: an id with no transaction this long is forgotten. */
  idExpirationMs: number;
  /** At most this many transactional ids are kept; InitProducerId for a new one beyond is refused. */
  maxTransactionalIds: number;
  logger: Logger;
  now?: () => number;
}

/** Where the offsets a transaction commits go: the coordinator of their group, on this broker. */
export interface TransactionalOffsets {
  /** The `__consumer_offsets` partition of a group, which AddOffsetsToTxn adds to the transaction. */
  partitionOf(groupId: string): number;
  /** Applies a committed transaction's offsets to its group through the group's normal commit path. */
  commit(groupId: string, offsets: PendingOffset[]): Promise<void>;
}

export interface ProducerIdAndEpoch {
  producerId: number;
  producerEpoch: number;
}

export type InitResult = { errorCode: number } & ProducerIdAndEpoch;

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** What DescribeTransactions and ListTransactions show of a transactional id. */
export interface TransactionView {
  transactionalId: string;
  state: string;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  startMs: number;
  partitions: Array<{ topic: string; partitions: number[] }>;
}

interface Txn {
  readonly transactionalId: string;
  producerId: number;
  previousProducerId: number;
  producerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** topic -> partitions in the transaction. */
  partitions: Map<string, Set<number>>;
  startMs: number;
  lastUpdateMs: number;
  /** A state change is being written or markers are being sent: other requests get CONCURRENT_TRANSACTIONS. */
  busy: boolean;
  /** group -> offsets committed in the ongoing transaction, applied to the group if it commits. */
  pendingOffsets: Map<string, PendingOffset[]>;
}

/**
 * The transaction coordinator of the transactional ids kept in one `__transaction_state` partition (KIP-98):
 * producer ids and epochs per transactional id, the transaction state machine (Empty -> Ongoing ->
 * PrepareCommit/PrepareAbort -> CompleteCommit/CompleteAbort), markers written to every partition of a
 * transaction once its Prepare record is durable, and transactions past their timeout aborted. Every state
 * change is written to the log (acknowledged: durable, or committed on the ISR) before it is applied and
 * answered; a reload completes the transactions found prepared.
 */
export class TransactionCoordinator {
  private readonly txns = new Map<string, Txn>();
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly log: PartitionLog,
    private readonly writer: OffsetLogWriter,
    private readonly options: TransactionCoordinatorOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.expire(), options.abortCheckIntervalMs);
    this.timer.unref();
  }

  /** The coordinator of the transactions kept in `log`, loaded from it; prepared ones are completed. */
  static load(
    log: PartitionLog,
    writer: OffsetLogWriter,
    options: TransactionCoordinatorOptions,
  ): TransactionCoordinator {
    const coordinator = new TransactionCoordinator(log, writer, options);
    coordinator.replay();
    for (const txn of coordinator.txns.values()) {
      if (txn.state === TxnState.PrepareCommit || txn.state === TxnState.PrepareAbort) {
        txn.busy = true;
        void coordinator.complete(txn);
      }
    }
    return coordinator;
  }

  private replay(): void {
    this.log.settleWrites();
    let offset = this.log.logStartOffset;
    while (offset < this.log.logEndOffset) {
      const batches = splitBatches(this.log.readForReplica(offset, 1 << 20).records);
      if (batches.length === 0) break;
      for (const batch of batches) {
        for (const record of decodeRecords(batch)) {
          offset = record.offset + 1;
          if (record.key === null) continue;
          const key = decodeTxnKey(record.key);
          if (key.kind === 'transaction') {
            if (record.value === null) this.txns.delete(key.transactionalId);
            else this.applyLogValue(key.transactionalId, decodeTxnValue(record.value));
          } else if (key.kind === 'pendingOffsets') {
            const txn = this.txns.get(key.transactionalId);
            if (!txn) continue;
            if (record.value === null) txn.pendingOffsets.delete(key.groupId);
            else txn.pendingOffsets.set(key.groupId, decodePendingOffsets(record.value).offsets);
          }
        }
      }
    }
  }

  private applyLogValue(transactionalId: string, value: TxnLogValue): void {
    const partitions = new Map(value.partitions.map((p) => [p.topic, new Set(p.partitions)]));
    const txn = this.txns.get(transactionalId);
    if (!txn) {
      this.txns.set(transactionalId, {
        transactionalId,
        busy: false,
        pendingOffsets: new Map(),
        ...value,
        partitions,
      });
      return;
    }
    Object.assign(txn, { ...value, partitions });
    // A transaction's offsets live from its first TxnOffsetCommit to its end.
    if (!inTransaction(value.state)) txn.pendingOffsets.clear();
  }

  /**
   * InitProducerId with a transactional id: a producer id once per transactional id and a new epoch on
   * every call, which fences the previous producer. An ongoing transaction of the previous epoch is aborted
   * first and the client told CONCURRENT_TRANSACTIONS until it is (it retries). `current` is KIP-360's
   * producer id and epoch the client already has (v3+), null if none.
   */
  async initProducerId(
    transactionalId: string,
    timeoutMs: number,
    current: ProducerIdAndEpoch | null,
  ): Promise<InitResult> {
    const refused = (errorCode: number): InitResult => ({ errorCode, producerId: -1, producerEpoch: -1 });
    if (this.closed) return refused(ErrorCode.NOT_COORDINATOR);
    if (timeoutMs <= 0 || timeoutMs > this.options.maxTimeoutMs) {
      return refused(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    }
    const existing = this.txns.get(transactionalId);
    if (!existing) {
      if (this.txns.size >= this.options.maxTransactionalIds) {
        return refused(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
      const producerId = await this.options.producerIds.allocate();
      // Checked again: a concurrent init of the same id may have been created while allocating.
      if (this.txns.has(transactionalId)) return refused(ErrorCode.CONCURRENT_TRANSACTIONS);
      const now = this.now();
      const txn: Txn = {
        transactionalId,
        producerId,
        previousProducerId: -1,
        producerEpoch: 0,
        timeoutMs,
        state: TxnState.Empty,
        partitions: new Map(),
        startMs: -1,
        lastUpdateMs: now,
        busy: true,
        pendingOffsets: new Map(),
      };
      this.txns.set(transactionalId, txn);
      const errorCode = await this.persist(txn, { ...logValueOf(txn) }, []);
      txn.busy = false;
      if (errorCode !== ErrorCode.NONE) {
        this.txns.delete(transactionalId);
        return refused(errorCode);
      }
      return { errorCode, producerId, producerEpoch: 0 };
    }
    const txn = existing;
    if (txn.busy) return refused(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (current && !isCurrentProducer(txn, current)) return refused(ErrorCode.PRODUCER_FENCED);
    switch (txn.state) {
      case TxnState.PrepareCommit:
      case TxnState.PrepareAbort:
        return refused(ErrorCode.CONCURRENT_TRANSACTIONS);
      case TxnState.Ongoing:
        // Fence the producer of the ongoing transaction and abort it at the new epoch.
        await this.abort(txn, 'a new producer initialized the transactional id');
        return refused(ErrorCode.CONCURRENT_TRANSACTIONS);
      default: {
        const next = nextProducer(txn) ?? {
          producerId: await this.options.producerIds.allocate(),
          producerEpoch: 0,
        };
        if (txn.busy) return refused(ErrorCode.CONCURRENT_TRANSACTIONS);
        const errorCode = await this.transition(txn, {
          ...logValueOf(txn),
          ...next,
          previousProducerId: next.producerId === txn.producerId ? txn.previousProducerId : txn.producerId,
          timeoutMs,
          state: TxnState.Empty,
          partitions: [],
          startMs: -1,
        });
        return errorCode === ErrorCode.NONE ? { errorCode, ...next } : refused(errorCode);
      }
    }
  }

  /**
   * Adds partitions to the producer's transaction, starting it if none is ongoing. Every partition gets
   * the same error code; partitions the caller must refuse on its own (ACLs, unknown) it does not pass.
   */
  async addPartitions(
    transactionalId: string,
    producer: ProducerIdAndEpoch,
    partitions: readonly TopicPartition[],
  ): Promise<number> {
    const found = this.producerTxn(transactionalId, producer);
    if (typeof found === 'number') return found;
    const txn = found;
    if (txn.state === TxnState.PrepareCommit || txn.state === TxnState.PrepareAbort) {
      return ErrorCode.CONCURRENT_TRANSACTIONS;
    }
    const added = partitions.filter((p) => !txn.partitions.get(p.topic)?.has(p.partition));
    if (txn.state === TxnState.Ongoing && added.length === 0) return ErrorCode.NONE;
    const ongoing = txn.state === TxnState.Ongoing;
    const merged = ongoing ? new Map([...txn.partitions].map(([t, ps]) => [t, new Set(ps)])) : new Map();
    for (const p of added) {
      let set = merged.get(p.topic);
      if (!set) {
        set = new Set<number>();
        merged.set(p.topic, set);
      }
      set.add(p.partition);
    }
    return this.transition(txn, {
      ...logValueOf(txn),
      state: TxnState.Ongoing,
      partitions: partitionsOf(merged),
      startMs: ongoing ? txn.startMs : this.now(),
    });
  }

  /** AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the transaction, as in Kafka. */
  async addOffsets(transactionalId: string, producer: ProducerIdAndEpoch, groupId: string): Promise<number> {
    const groupOffsets = this.options.groupOffsets;
    if (!groupOffsets) return ErrorCode.UNSUPPORTED_VERSION;
    return this.addPartitions(transactionalId, producer, [
      { topic: OFFSETS_TOPIC, partition: groupOffsets.partitionOf(groupId) },
    ]);
  }

  /**
   * TxnOffsetCommit: offsets kept pending for the group, durably (a record of their own in the log), until
   * the transaction ends: applied to the group when it commits, dropped when it aborts.
   */
  async commitOffsets(
    transactionalId: string,
    producer: ProducerIdAndEpoch,
    groupId: string,
    offsets: PendingOffset[],
  ): Promise<number> {
    const found = this.producerTxn(transactionalId, producer);
    if (typeof found === 'number') {
      // TxnOffsetCommit has no PRODUCER_FENCED: an old epoch is INVALID_PRODUCER_EPOCH there.
      return found === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : found;
    }
    const txn = found;
    const groupOffsets = this.options.groupOffsets;
    if (!groupOffsets) return ErrorCode.UNSUPPORTED_VERSION;
    const offsetsPartition = groupOffsets.partitionOf(groupId);
    if (txn.state !== TxnState.Ongoing || !txn.partitions.get(OFFSETS_TOPIC)?.has(offsetsPartition)) {
      return ErrorCode.INVALID_TXN_STATE;
    }
    const merged = new Map(
      (txn.pendingOffsets.get(groupId) ?? []).map((o) => [`${o.partition}:${o.topic}`, o]),
    );
    for (const o of offsets) merged.set(`${o.partition}:${o.topic}`, o);
    const all = [...merged.values()];
    txn.busy = true;
    const errorCode = await this.write([
      {
        key: encodePendingOffsetsKey(transactionalId, groupId),
        value: encodePendingOffsets({ ...producer, offsets: all }),
      },
    ]);
    txn.busy = false;
    if (errorCode === ErrorCode.NONE) txn.pendingOffsets.set(groupId, all);
    return errorCode;
  }

  /**
   * EndTxn: PrepareCommit or PrepareAbort is written and, once acknowledged, answered; markers then go to
   * every partition of the transaction (retried until written), and CompleteCommit/CompleteAbort ends it.
   */
  async endTransaction(
    transactionalId: string,
    producer: ProducerIdAndEpoch,
    commit: boolean,
  ): Promise<number> {
    const found = this.producerTxn(transactionalId, producer);
    if (typeof found === 'number') return found;
    const txn = found;
    switch (txn.state) {
      case TxnState.Ongoing:
        break;
      case TxnState.CompleteCommit:
        // A retried EndTxn whose answer was lost.
        return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
      case TxnState.CompleteAbort:
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
      case TxnState.PrepareCommit:
        return commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE;
      case TxnState.PrepareAbort:
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS;
      default:
        return ErrorCode.INVALID_TXN_STATE;
    }
    return this.prepare(txn, commit ? TxnState.PrepareCommit : TxnState.PrepareAbort, txn.producerEpoch);
  }

  describe(transactionalId: string): TransactionView | null {
    const txn = this.txns.get(transactionalId);
    return txn ? viewOf(txn) : null;
  }

  list(): TransactionView[] {
    return [...this.txns.values()].map(viewOf);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  /** The transaction of a producer that is still the transactional id's current one, or the error. */
  private producerTxn(transactionalId: string, producer: ProducerIdAndEpoch): Txn | number {
    if (this.closed) return ErrorCode.NOT_COORDINATOR;
    const txn = this.txns.get(transactionalId);
    if (!txn || txn.producerId !== producer.producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (txn.producerEpoch !== producer.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (txn.busy) return ErrorCode.CONCURRENT_TRANSACTIONS;
    return txn;
  }

  /** Aborts an ongoing transaction at a bumped epoch so its producer, now a zombie, is fenced. */
  private abort(txn: Txn, reason: string): Promise<number> {
    this.options.logger.info(
      { transactionalId: txn.transactionalId, producerId: txn.producerId, reason },
      'aborting transaction',
    );
    const epoch = txn.producerEpoch < LAST_PRODUCER_EPOCH ? txn.producerEpoch + 1 : txn.producerEpoch;
    return this.prepare(txn, TxnState.PrepareAbort, epoch);
  }

  /** Writes the Prepare record; once acknowledged, completes the transaction in the background. */
  private async prepare(
    txn: Txn,
    state: typeof TxnState.PrepareCommit | typeof TxnState.PrepareAbort,
    producerEpoch: number,
  ): Promise<number> {
    const errorCode = await this.transition(txn, { ...logValueOf(txn), state, producerEpoch }, true);
    if (errorCode !== ErrorCode.NONE) return errorCode;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.complete(txn),
      new Promise((resolve) => {
        timer = setTimeout(resolve, COMPLETION_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    return errorCode;
  }

  /**
   * Markers to every partition, the offsets of a commit to their groups, then the Complete record; resolves
   * once completed, or when it failed (left prepared for the next load), never rejects.
   */
  private complete(txn: Txn): Promise<void> {
    const committed = txn.state === TxnState.PrepareCommit;
    const finish = async () => {
      const marker = {
        producerId: txn.producerId,
        producerEpoch: txn.producerEpoch,
        coordinatorEpoch: this.options.coordinatorEpoch,
        committed,
      };
      // The offsets partition holds no transactional records here: its pending offsets are applied instead.
      let remaining = [...txn.partitions].flatMap(([topic, partitions]) =>
        topic === OFFSETS_TOPIC ? [] : [...partitions].map((partition) => ({ topic, partition })),
      );
      await this.retrying('markers', txn, async () => {
        const results = await this.options.markers.write(marker, remaining);
        // A deleted topic's partition needs no marker.
        remaining = results
          .filter(
            (r) => r.errorCode !== ErrorCode.NONE && r.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          )
          .map((r) => ({ topic: r.topic, partition: r.partition }));
        return remaining.length === 0;
      });
      const groupOffsets = this.options.groupOffsets;
      if (committed && groupOffsets) {
        for (const [groupId, offsets] of txn.pendingOffsets) {
          await this.retrying('offsets', txn, async () => {
            await groupOffsets.commit(groupId, offsets);
            return true;
          });
        }
      }
      const groups = [...txn.pendingOffsets.keys()];
      // The Complete record is applied once appended, not once acknowledged: the markers it follows are
      // acknowledged already, and the transactional id's next state record (acknowledged before it is
      // answered) follows it in the same log. Lost in a crash, the Prepare before it is completed again.
      await this.retrying('completion', txn, async () => {
        const value = {
          ...logValueOf(txn),
          state: committed ? TxnState.CompleteCommit : TxnState.CompleteAbort,
          partitions: [],
          lastUpdateMs: this.now(),
        };
        const endOffset = this.append([
          ...groups.map((groupId) => ({
            key: encodePendingOffsetsKey(txn.transactionalId, groupId),
            value: null,
          })),
          { key: encodeTxnKey(txn.transactionalId), value: encodeTxnValue(value) },
        ]);
        this.applyLogValue(txn.transactionalId, value);
        this.writer.acknowledged(endOffset).catch((error: unknown) => {
          if (!this.closed) {
            this.options.logger.warn(
              { err: error, transactionalId: txn.transactionalId },
              'completion record not acknowledged; the transaction is completed again on the next load',
            );
          }
        });
        return true;
      });
      txn.busy = false;
    };
    return finish().catch((error: unknown) => {
      // Left prepared and busy: the next load of the log completes it.
      if (!this.closed) {
        this.options.logger.error(
          { err: error, transactionalId: txn.transactionalId },
          'transaction completion failed',
        );
      }
    });
  }

  /** Runs `step` until it reports done, backing off between attempts; rejects once the coordinator closes. */
  private async retrying(what: string, txn: Txn, step: () => Promise<boolean>): Promise<void> {
    let delayMs = MARKER_RETRY_MIN_MS;
    for (;;) {
      if (this.closed) throw new Error('transaction coordinator closed');
      try {
        if (await step()) return;
      } catch (error) {
        if (!(error instanceof OffsetCommitError || error instanceof LogError)) throw error;
      }
      this.options.logger.warn(
        { transactionalId: txn.transactionalId, what, retryInMs: delayMs },
        'transaction completion step failed; retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, MARKER_RETRY_MAX_MS);
    }
  }

  /**
   * Writes the transaction's next state and applies it once acknowledged; `keepBusy` leaves the
   * transaction busy for the completion that follows a Prepare.
   */
  private async transition(txn: Txn, next: TxnLogValue, keepBusy = false): Promise<number> {
    txn.busy = true;
    const errorCode = await this.persist(txn, next, []);
    txn.busy = keepBusy && errorCode === ErrorCode.NONE;
    return errorCode;
  }

  /** Writes `next` (after `extra` records, in one batch) and applies it to `txn` once acknowledged. */
  private async persist(txn: Txn, next: TxnLogValue, extra: RecordInput[]): Promise<number> {
    const value = { ...next, lastUpdateMs: this.now() };
    const errorCode = await this.write([
      ...extra,
      { key: encodeTxnKey(txn.transactionalId), value: encodeTxnValue(value) },
    ]);
    if (errorCode === ErrorCode.NONE) this.applyLogValue(txn.transactionalId, value);
    return errorCode;
  }

  /** One batch to the log, not yet acknowledged; returns the log end offset after it. Throws as the writer. */
  private append(records: RecordInput[]): number {
    return this.writer.write(encodeRecordBatch(records)).lastOffset + 1;
  }

  /** One batch to the log, acknowledged (durable; committed on the ISR in a cluster). */
  private async write(records: RecordInput[]): Promise<number> {
    try {
      await this.writer.acknowledged(this.append(records));
      return ErrorCode.NONE;
    } catch (error) {
      if (error instanceof OffsetCommitError) return error.errorCode;
      if (error instanceof LogError) return errorCodeOf(error);
      throw error;
    }
  }

  /** Aborts transactions past their timeout (from their start, as Kafka) and forgets long-idle ids. */
  private expire(): void {
    const now = this.now();
    for (const txn of this.txns.values()) {
      if (txn.busy) continue;
      if (txn.state === TxnState.Ongoing && txn.startMs + txn.timeoutMs < now) {
        this.abort(txn, `timed out after ${txn.timeoutMs} ms`).catch((error: unknown) =>
          this.options.logger.error({ err: error, transactionalId: txn.transactionalId }, 'abort failed'),
        );
      } else if (!inTransaction(txn.state) && txn.lastUpdateMs + this.options.idExpirationMs < now) {
        this.forget(txn).catch((error: unknown) =>
          this.options.logger.error({ err: error, transactionalId: txn.transactionalId }, 'expiry failed'),
        );
      }
    }
  }

  private async forget(txn: Txn): Promise<void> {
    txn.busy = true;
    const errorCode = await this.write([{ key: encodeTxnKey(txn.transactionalId), value: null }]);
    if (errorCode === ErrorCode.NONE) this.txns.delete(txn.transactionalId);
    else txn.busy = false;
  }
}

function inTransaction(state: TxnState): boolean {
  return state === TxnState.Ongoing || state === TxnState.PrepareCommit || state === TxnState.PrepareAbort;
}

/** The producer id and epoch after the current one: the same id at the next epoch, or null once exhausted. */
function nextProducer(txn: Txn): ProducerIdAndEpoch | null {
  return txn.producerEpoch < LAST_PRODUCER_EPOCH
    ? { producerId: txn.producerId, producerEpoch: txn.producerEpoch + 1 }
    : null;
}

/** KIP-360: the producer that calls InitProducerId again must be the current one. */
function isCurrentProducer(txn: Txn, producer: ProducerIdAndEpoch): boolean {
  return producer.producerId === txn.producerId && producer.producerEpoch === txn.producerEpoch;
}

function partitionsOf(partitions: ReadonlyMap<string, ReadonlySet<number>>) {
  return [...partitions].map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }));
}

function logValueOf(txn: Txn): TxnLogValue {
  return {
    producerId: txn.producerId,
    previousProducerId: txn.previousProducerId,
    producerEpoch: txn.producerEpoch,
    timeoutMs: txn.timeoutMs,
    state: txn.state,
    partitions: partitionsOf(txn.partitions),
    lastUpdateMs: txn.lastUpdateMs,
    startMs: txn.startMs,
  };
}

function viewOf(txn: Txn): TransactionView {
  return {
    transactionalId: txn.transactionalId,
    state: TXN_STATE_NAMES.get(txn.state)!,
    producerId: txn.producerId,
    producerEpoch: txn.producerEpoch,
    timeoutMs: txn.timeoutMs,
    startMs: txn.startMs,
    partitions: partitionsOf(txn.partitions),
  };
}
