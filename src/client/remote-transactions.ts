import {
  addOffsetsToTxnV1,
  addOffsetsToTxnV2,
  addOffsetsToTxnV3,
  addOffsetsToTxnV4,
  type ClusterMetadata,
  FindCoordinatorKeyTypes,
  findCoordinatorV4,
  findCoordinatorV5,
  findCoordinatorV6,
  ProduceAcks,
  type Producer,
  txnOffsetCommitV3,
  txnOffsetCommitV4,
} from '@platformatic/kafka';
import type { ErrorCodeName } from '../protocol/index.js';
import { checkCommitEntries, checkProduceRecords } from './client-checks.js';
import { LogClientError, ProducerFencedError } from './client-errors.js';
import { LOG_CLIENT_LIMITS } from './client-limits.js';
import { commitRequestTopics, usableApi } from './remote-apis.js';
import type { ResolvedOptions } from './remote-common.js';
import { kafkaAnswered, kafkaError } from './remote-errors.js';
import {
  acrossLeaderChanges,
  checkPartitionOf,
  chunkByBytes,
  fillOffsets,
  recordsBytesMax,
  type SizedRecords,
  worthRetryingElsewhere,
} from './remote-produce.js';
import type {
  OutgoingRecord,
  TransactionalOffsets,
  TransactionalRunOptions,
  TransactionalWriter,
} from './types.js';

/** What a writer needs of the client that made it. */
export interface TransactionalWriterContext {
  options: ResolvedOptions;
  /** A new library producer for the id (idempotent, acks=all, one request in flight). */
  createProducer(transactionalId: string): TransactionalProducer;
  /** The cluster's metadata of these topics; rejects with UnknownTopicError for a missing one. */
  metadataOf(topics: string[]): Promise<ClusterMetadata>;
  onClosed(writer: TransactionalWriter): void;
}

export type TransactionalProducer = Producer<Buffer, Buffer, Buffer, Buffer | undefined>;
type OpenTransaction = Awaited<ReturnType<TransactionalProducer['beginTransaction']>>;

interface QueuedRun extends SizedRecords {
  /** Only starts the producer (init()): no transaction. */
  initOnly: boolean;
  commitOffsets: TransactionalOffsets | undefined;
  resolve: (offsets: number[]) => void;
  reject: (error: unknown) => void;
}

/** Answers meaning a newer producer holds the transactional id (or the cluster forgot ours): never retried. */
const FENCING_ERRORS: readonly ErrorCodeName[] = [
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
];

/**
 * InitProducerId's producer id and epoch for a producer that has none yet: Kafka's "none" is -1, and the
 * library would send 0 and 0, which a coordinator holding the id for another producer answers PRODUCER_FENCED
 * instead of fencing that producer.
 */
const FIRST_INIT = { producerId: -1n, producerEpoch: -1 };

const ADD_OFFSETS_APIS = [
  addOffsetsToTxnV4.api,
  addOffsetsToTxnV3.api,
  addOffsetsToTxnV2.api,
  addOffsetsToTxnV1.api,
];
const TXN_OFFSET_COMMIT_APIS = [txnOffsetCommitV4.api, txnOffsetCommitV3.api];
const FIND_COORDINATOR_APIS = [findCoordinatorV6.api, findCoordinatorV5.api, findCoordinatorV4.api];

/**
 * The remote client's TransactionalWriter over @platformatic/kafka's transactional Producer. Runs are queued
 * (at most maxQueuedProduceCalls) and run one transaction at a time. A run that fails before its commit is
 * aborted and tried again, whole, while the failure is one a leader change or a restarted broker explains
 * (the aborted attempt's records are invisible to read_committed readers); any other failure rejects it.
 * After a failure the producer is replaced: the library keeps a failed transaction as its active one, and the
 * new producer's InitProducerId makes the cluster finish whatever the old one left open.
 */
export class RemoteTransactionalWriter implements TransactionalWriter {
  private producer: TransactionalProducer;
  private readonly queue: QueuedRun[] = [];
  private draining: Promise<void> | null = null;
  private fenced: ProducerFencedError | null = null;
  private closeDone: Promise<void> | null = null;

  constructor(
    readonly transactionalId: string,
    private readonly context: TransactionalWriterContext,
  ) {
    if (transactionalId === '')
      throw new LogClientError('INVALID_ARGUMENT', 'a transactional id must not be empty');
    this.producer = context.createProducer(transactionalId);
  }

  async init(): Promise<void> {
    await this.enqueue([], { initOnly: true });
  }

  run(records: OutgoingRecord[], options: TransactionalRunOptions = {}): Promise<number[]> {
    return this.enqueue(records, { initOnly: false, ...options });
  }

  private enqueue(
    records: OutgoingRecord[],
    options: TransactionalRunOptions & { initOnly: boolean },
  ): Promise<number[]> {
    try {
      if (this.closeDone) throw new LogClientError('CLIENT_CLOSED', 'the transactional writer is closed');
      if (this.fenced) throw this.fenced;
      checkProduceRecords(records);
      if (options.offsets) checkCommitEntries(options.offsets.entries);
      const { maxQueuedProduceCalls } = LOG_CLIENT_LIMITS;
      if (this.queue.length >= maxQueuedProduceCalls) {
        throw new LogClientError(
          'TOO_MANY_QUEUED_PRODUCES',
          `${this.queue.length} transactions are already waiting; the limit is ${maxQueuedProduceCalls}`,
        );
      }
      const bounds = recordsBytesMax(records, this.context.options.maxProduceRequestBytes);
      if (!options.initOnly && records.length === 0 && !options.offsets?.entries.length)
        return Promise.resolve([]);
      return new Promise((resolve, reject) => {
        this.queue.push({
          records,
          recordsBytesMax: bounds,
          offsets: new Array<number>(records.length),
          initOnly: options.initOnly,
          commitOffsets: options.offsets,
          resolve,
          reject,
        });
        void this.drain();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Begins a transaction, finding the coordinator and initialising the producer id first if the producer has
   * none. Bounded: the library (1.35) waits for ever there while no broker is reachable, retries or not.
   */
  private async begin(): Promise<OpenTransaction> {
    const timeoutMs = this.context.options.requestTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LogClientError(
              'REQUEST_TIMED_OUT',
              `no transaction coordinator answered for '${this.transactionalId}' within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.producer.beginTransaction(FIRST_INIT), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    this.closeDone ??= (async () => {
      try {
        while (this.draining) await this.draining;
      } finally {
        await new Promise<void>((resolve) => this.producer.close(true, () => resolve()));
        this.context.onClosed(this);
      }
    })();
    return this.closeDone;
  }

  private drain(): Promise<void> {
    this.draining ??= (async () => {
      try {
        for (let run = this.queue.shift(); run; run = this.queue.shift()) await this.runQueued(run);
      } finally {
        this.draining = null;
      }
    })();
    return this.draining;
  }

  private async runQueued(run: QueuedRun): Promise<void> {
    if (this.fenced) {
      run.reject(this.fenced);
      return;
    }
    let committing = false;
    try {
      const metadata = await this.context.metadataOf([...new Set(run.records.map((r) => r.topic))]);
      // The library would silently wrap an out-of-range partition around the partition count.
      for (const record of run.records) checkPartitionOf(metadata, record);
      await acrossLeaderChanges(
        this.context.options,
        { clearMetadata: () => this.producer.clearMetadata() },
        () =>
          this.transaction(run, () => {
            committing = true;
          }),
        // A commit that failed may have been carried out: sending the records again could write them twice.
        // Before it, an attempt is tried again on a new producer also when the library failed in itself (it
        // keeps the transaction coordinator it first found, and throws once the metadata no longer lists it).
        (error) =>
          !committing &&
          !this.fenced &&
          !this.closeDone &&
          (worthRetryingElsewhere(error) || !(kafkaAnswered(error) || error instanceof LogClientError)),
      );
      run.resolve(run.offsets);
    } catch (error) {
      run.reject(this.fenced ?? error);
    }
  }

  /**
   * One attempt: begin, send, add the offsets, commit; on failure the producer is fenced or replaced. The
   * library starts the producer (InitProducerId) in its first beginTransaction; init() stops there.
   */
  private async transaction(run: QueuedRun, committing: () => void): Promise<void> {
    try {
      const transaction = await this.begin();
      if (run.initOnly) {
        await transaction.cancel();
        return;
      }
      for (const chunk of chunkByBytes([run], this.context.options.maxProduceRequestBytes)) {
        const result = await transaction.send({ messages: chunk.messages, acks: ProduceAcks.ALL });
        fillOffsets(chunk, result.offsets ?? []);
      }
      if (run.commitOffsets) await this.commitOffsets(transaction, run.commitOffsets);
      committing();
      await transaction.commit();
    } catch (error) {
      const fenced = this.fencedBy(error);
      if (fenced) throw fenced;
      this.replaceProducer();
      throw error;
    }
  }

  /** The writer's ProducerFencedError when `error` says a newer producer holds the id, else null. */
  private fencedBy(error: unknown): ProducerFencedError | null {
    if (!FENCING_ERRORS.some((id) => kafkaError(error, id))) return null;
    this.fenced ??= new ProducerFencedError(this.transactionalId, { cause: error });
    return this.fenced;
  }

  private replaceProducer(): void {
    const old = this.producer;
    this.producer = this.context.createProducer(this.transactionalId);
    old.close(true, () => undefined);
  }

  /** AddOffsetsToTxn to the transaction coordinator, then TxnOffsetCommit to the group coordinator. */
  private async commitOffsets(transaction: OpenTransaction, offsets: TransactionalOffsets): Promise<void> {
    const { producer } = this;
    const producerId = producer.producerId;
    const producerEpoch = producer.producerEpoch;
    if (producerId === undefined || producerEpoch === undefined || transaction.completed) {
      throw new Error('offsets added outside an open transaction');
    }
    const apis = await producer.listApis();
    const { brokers } = await producer.metadata({ topics: [] });
    const connectionTo = (nodeId: number) => {
      const broker = brokers.get(nodeId);
      if (!broker) throw new Error(`coordinator ${nodeId} is not in the cluster metadata`);
      return producer.connections.get(broker);
    };
    const transactionCoordinator = await connectionTo(producer.coordinatorId);
    await usableApi(apis, 'AddOffsetsToTxn', ADD_OFFSETS_APIS).async(
      transactionCoordinator,
      this.transactionalId,
      producerId,
      producerEpoch,
      offsets.groupId,
    );
    const found = await usableApi(apis, 'FindCoordinator', FIND_COORDINATOR_APIS).async(
      await producer.connections.getFirstAvailable([...brokers.values()]),
      FindCoordinatorKeyTypes.GROUP,
      [offsets.groupId],
    );
    const groupCoordinator = await connectionTo(found.coordinators[0]!.nodeId);
    await usableApi(apis, 'TxnOffsetCommit', TXN_OFFSET_COMMIT_APIS).async(
      groupCoordinator,
      this.transactionalId,
      offsets.groupId,
      producerId,
      producerEpoch,
      offsets.member?.generationId ?? -1,
      offsets.member?.memberId ?? '',
      null,
      commitRequestTopics(offsets.entries),
    );
  }
}
