import {
  addOffsetsToTxnV1,
  addOffsetsToTxnV2,
  addOffsetsToTxnV3,
  addOffsetsToTxnV4,
  addPartitionsToTxnV3,
  type apiVersionsV3,
  type ClusterMetadata,
  type Connection,
  type ConnectionPool,
  endTxnV3,
  endTxnV4,
  FindCoordinatorKeyTypes,
  initProducerIdV3,
  initProducerIdV4,
  initProducerIdV5,
  type MessageRecord,
  NumericMap,
  ProduceAcks,
  produceV7,
  produceV8,
  produceV9,
  produceV10,
  produceV11,
  txnOffsetCommitV3,
  txnOffsetCommitV4,
} from '@platformatic/kafka';
import type { ErrorCodeName } from '../protocol/index.js';
import { checkCommitEntries, checkProduceRecords } from './client-checks.js';
import { LogClientError, ProducerFencedError } from './client-errors.js';
import { LOG_CLIENT_LIMITS } from './client-limits.js';
import { commitRequestTopics, usableApi } from './remote-apis.js';
import type { ResolvedOptions } from './remote-common.js';
import {
  type CoordinatorCluster,
  type CoordinatorRequest,
  CoordinatorRequests,
} from './remote-coordinators.js';
import { kafkaError } from './remote-errors.js';
import {
  checkPartitionOf,
  chunkByBytes,
  ENCODED_PRODUCE_APIS,
  encodedBatch,
  fillOffsets,
  type PartitionBatch,
  type ProduceChunk,
  type ProducedMessage,
  recordsBytesMax,
  type SizedRecords,
  worthRetryingElsewhere,
} from './remote-produce.js';
import type {
  BatchWriter,
  EncodedRecords,
  OutgoingRecord,
  TopicPartition,
  TransactionalOffsets,
  TransactionalRunOptions,
  TransactionalWriter,
} from './types.js';

/** What a writer needs of the client that made it. */
export interface TransactionalWriterContext {
  options: ResolvedOptions;
  /** Connections of the writer's own, secured as the client's are. */
  createConnections(): ConnectionPool;
  /** The cluster's brokers and API versions, for the requests the writer sends itself. */
  cluster: CoordinatorCluster;
  /** The cluster's metadata of these topics; rejects with UnknownTopicError for a missing one. */
  metadataOf(topics: string[]): Promise<ClusterMetadata>;
  /** Forgets the cached metadata, so the next metadataOf() asks the cluster. */
  clearMetadata(): void;
  onClosed(writer: RemoteTransactionalWriter): void;
}

interface ProducerIdAndEpoch {
  producerId: bigint;
  producerEpoch: number;
}

interface QueuedRun extends SizedRecords {
  /** Only starts the producer (init()): no transaction. */
  initOnly: boolean;
  /** Batches built already (BatchWriter.write), sent instead of `records`. */
  encoded: EncodedRecords[] | null;
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

const INIT_PRODUCER_ID_APIS = [initProducerIdV5.api, initProducerIdV4.api, initProducerIdV3.api];
/** v4 and later are the brokers' own batched form (KIP-890). */
const ADD_PARTITIONS_APIS = [addPartitionsToTxnV3.api];
const ADD_OFFSETS_APIS = [
  addOffsetsToTxnV4.api,
  addOffsetsToTxnV3.api,
  addOffsetsToTxnV2.api,
  addOffsetsToTxnV1.api,
];
const TXN_OFFSET_COMMIT_APIS = [txnOffsetCommitV4.api, txnOffsetCommitV3.api];
const END_TXN_APIS = [endTxnV4.api, endTxnV3.api];
const PRODUCE_APIS = [produceV11.api, produceV10.api, produceV9.api, produceV8.api, produceV7.api];

/** A partition of the run has no leader the metadata knows: leadership is moving, the attempt is made again. */
class NoKnownLeaderError extends Error {
  constructor(topic: string, partition: number) {
    super(`${topic}-${partition} has no leader in the cluster metadata`);
    this.name = 'NoKnownLeaderError';
  }
}

/**
 * The remote client's TransactionalWriter. It sends the transactional producer's requests itself, with the
 * library's request builders over connections of its own, as the client's Fetch is sent: @platformatic/kafka
 * 1.35's Producer keeps the transaction coordinator it first found for as long as it lives, and throws an
 * uncaught TypeError once the cluster's metadata no longer lists that broker (it died), which ends the
 * process. Its Producer cannot write transactional batches without that machinery (it sets the transactional
 * attribute and sequence numbers only inside its own transactions), so Produce is sent here too.
 *
 * Requests to the transaction coordinator (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn) and to
 * the group coordinator (TxnOffsetCommit) go through CoordinatorRequests: the coordinator is looked up again
 * when it answers NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE or its connection fails, and busy answers
 * (CONCURRENT_TRANSACTIONS) are retried, within the run's time budget (requestTimeoutMs). A commit whose
 * coordinator died is therefore sent again to its successor, which completes it or has completed it.
 *
 * Runs are queued (at most maxQueuedProduceCalls) and run one transaction at a time. A run that fails before its
 * commit is tried again, whole, while the failure is one a leader change or a restarted broker explains and
 * the budget lasts; any other failure rejects it. After a failure the next attempt starts with a new
 * InitProducerId, which makes the coordinator abort whatever the failed attempt left open (its records stay
 * invisible to read_committed readers) and gives the producer a new epoch, whose sequence numbers start at 0.
 * Fencing answers (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH) reject this and every later call with
 * ProducerFencedError.
 *
 * It is also the client's BatchWriter: write() sends batches encoded already (the mirror's), framed here with
 * the producer's fields, as a transaction like run()'s; made without a transactional id it is an idempotent
 * producer instead (InitProducerId from any broker, no transactions), and a failed write is never tried again.
 */
export class RemoteTransactionalWriter implements TransactionalWriter, BatchWriter {
  /** '' for an idempotent writer, which sends no request naming a transactional id. */
  readonly transactionalId: string;
  /** False for an idempotent writer (BatchWriter without a transactional id): no transactions, no retries. */
  private readonly transactional: boolean;
  private readonly connections: ConnectionPool;
  private readonly coordinators: CoordinatorRequests;
  /** The producer id and epoch of the last InitProducerId; null until one, and after a failed attempt. */
  private producer: ProducerIdAndEpoch | null = null;
  /** The next sequence number per `topic:partition` of the current epoch (the library's key format). */
  private readonly sequences = new NumericMap();
  private readonly queue: QueuedRun[] = [];
  private draining: Promise<void> | null = null;
  private fenced: ProducerFencedError | null = null;
  private closeDone: Promise<void> | null = null;

  /** A transactional writer under `transactionalId`; null makes an idempotent one (BatchWriter only). */
  constructor(
    transactionalId: string | null,
    private readonly context: TransactionalWriterContext,
  ) {
    if (transactionalId === '')
      throw new LogClientError('INVALID_ARGUMENT', 'a transactional id must not be empty');
    this.transactionalId = transactionalId ?? '';
    this.transactional = transactionalId !== null;
    this.connections = context.createConnections();
    this.coordinators = new CoordinatorRequests(this.connections, context.cluster);
  }

  async init(): Promise<void> {
    await this.enqueue([], { initOnly: true });
  }

  run(records: OutgoingRecord[], options: TransactionalRunOptions = {}): Promise<number[]> {
    if (!this.transactional)
      return Promise.reject(
        new LogClientError('INVALID_ARGUMENT', 'an idempotent writer runs no transactions'),
      );
    return this.enqueue(records, { initOnly: false, ...options });
  }

  async write(batches: EncodedRecords[]): Promise<void> {
    if (batches.length === 0) return;
    await this.enqueue([], { initOnly: false, encoded: batches });
  }

  private enqueue(
    records: OutgoingRecord[],
    options: TransactionalRunOptions & { initOnly: boolean; encoded?: EncodedRecords[] },
  ): Promise<number[]> {
    try {
      if (this.closeDone) throw new LogClientError('CLIENT_CLOSED', 'the transactional writer is closed');
      if (this.fenced) throw this.fenced;
      checkProduceRecords(records);
      if (options.encoded) this.checkEncoded(options.encoded);
      if (options.offsets) checkCommitEntries(options.offsets.entries);
      const { maxQueuedProduceCalls } = LOG_CLIENT_LIMITS;
      if (this.queue.length >= maxQueuedProduceCalls) {
        throw new LogClientError(
          'TOO_MANY_QUEUED_PRODUCES',
          `${this.queue.length} transactions are already waiting; the limit is ${maxQueuedProduceCalls}`,
        );
      }
      const bounds = recordsBytesMax(records, this.context.options.maxProduceRequestBytes);
      if (!options.initOnly && !options.encoded && records.length === 0 && !options.offsets?.entries.length)
        return Promise.resolve([]);
      return new Promise((resolve, reject) => {
        this.queue.push({
          records,
          recordsBytesMax: bounds,
          offsets: new Array<number>(records.length),
          initOnly: options.initOnly,
          encoded: options.encoded ?? null,
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

  /** Each batch goes in a Produce request alone at most: it must fit in one, and hold a record. */
  private checkEncoded(batches: EncodedRecords[]): void {
    const { maxProduceRequestBytes } = this.context.options;
    for (const batch of batches) {
      if (batch.count < 1) {
        throw new LogClientError(
          'INVALID_ARGUMENT',
          `a batch for ${batch.topic}-${batch.partition} has no records`,
        );
      }
      if (batch.records.length > maxProduceRequestBytes) {
        throw new LogClientError(
          'MESSAGE_TOO_LARGE',
          `a batch of ${batch.records.length} bytes for ${batch.topic}-${batch.partition} exceeds ` +
            `maxProduceRequestBytes=${maxProduceRequestBytes}`,
        );
      }
    }
  }

  close(): Promise<void> {
    this.closeDone ??= (async () => {
      try {
        while (this.draining) await this.draining;
      } finally {
        await this.connections.close();
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
    const deadlineMs = Date.now() + this.context.options.requestTimeoutMs;
    let committing = false;
    try {
      const targets: TopicPartition[] = run.encoded ?? run.records;
      const metadata = await this.context.metadataOf([...new Set(targets.map((r) => r.topic))]);
      for (const target of targets) checkPartitionOf(metadata, target);
      for (;;) {
        try {
          await this.transaction(run, deadlineMs, () => {
            committing = true;
          });
          break;
        } catch (error) {
          // A commit that failed may have been carried out: sending the records again could write them twice.
          // So may a produce outside a transaction, which nothing aborts.
          const retryable =
            this.transactional &&
            !committing &&
            !this.fenced &&
            !this.closeDone &&
            (worthRetryingElsewhere(error) || error instanceof NoKnownLeaderError);
          const { retryDelayMs } = this.context.options;
          if (!retryable || Date.now() + retryDelayMs > deadlineMs) throw error;
          this.context.clearMetadata();
          await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
        }
      }
      run.resolve(run.offsets);
    } catch (error) {
      run.reject(this.fenced ?? error);
    }
  }

  /**
   * One attempt: a producer id and epoch if there is none, then the records, the offsets and the commit. On
   * failure the writer is fenced, or its next attempt starts with a new InitProducerId.
   */
  private async transaction(run: QueuedRun, deadlineMs: number, committing: () => void): Promise<void> {
    try {
      const producer = await this.initProducer(deadlineMs);
      if (run.initOnly) return;
      const added = new Set<string>();
      if (run.encoded) await this.produceEncoded(producer, run.encoded, added, deadlineMs);
      for (const chunk of chunkByBytes([run], this.context.options.maxProduceRequestBytes)) {
        await this.produce(producer, chunk, added, deadlineMs);
      }
      if (run.commitOffsets) await this.commitOffsets(producer, run.commitOffsets, deadlineMs);
      if (!this.transactional) return;
      committing();
      await this.toTransactionCoordinator(deadlineMs, async (connection, apis) => {
        await usableApi(apis, 'EndTxn', END_TXN_APIS).async(
          connection,
          this.transactionalId,
          producer.producerId,
          producer.producerEpoch,
          true,
        );
      });
    } catch (error) {
      const fenced = this.fencedBy(error);
      if (fenced) throw fenced;
      this.producer = null;
      throw error;
    }
  }

  /**
   * The producer's id and epoch, from InitProducerId when it has none. Its producer id and epoch are sent as
   * none (-1): a writer restarting after a failure takes the id over as a new producer would, and the
   * coordinator aborts the transaction a failed attempt left open (answering CONCURRENT_TRANSACTIONS meanwhile).
   */
  private async initProducer(deadlineMs: number): Promise<ProducerIdAndEpoch> {
    if (this.producer) return this.producer;
    const initProducerId = (connection: Connection, apis: apiVersionsV3.ApiVersionsResponseApi[]) =>
      usableApi(apis, 'InitProducerId', INIT_PRODUCER_ID_APIS).async(
        connection,
        this.transactional ? this.transactionalId : null,
        // transaction.timeout.ms: the coordinator aborts (and fences) a transaction open longer than a run lasts.
        this.context.options.requestTimeoutMs,
        -1n,
        -1,
      );
    const answer = this.transactional
      ? await this.toTransactionCoordinator(deadlineMs, initProducerId)
      : await this.toAnyBroker(initProducerId);
    this.producer = { producerId: answer.producerId, producerEpoch: answer.producerEpoch };
    this.sequences.clear();
    return this.producer;
  }

  /**
   * One chunk of the run: its partitions new to the transaction are added (AddPartitionsToTxn) first, then one
   * Produce per partition leader, all in parallel, each partition's batch at its next sequence number.
   */
  private async produce(
    producer: ProducerIdAndEpoch,
    chunk: ProduceChunk,
    added: Set<string>,
    deadlineMs: number,
  ): Promise<void> {
    const metadata = await this.context.metadataOf([...new Set(chunk.messages.map((m) => m.topic))]);
    const byLeader = new Map<number, MessageRecord[]>();
    const counts = new Map<string, number>();
    const partitions: TopicPartition[] = [];
    for (const message of chunk.messages) {
      const partition = message.partition!;
      const leader = metadata.topics.get(message.topic)?.partitions[partition]?.leader ?? -1;
      if (leader < 0 || !metadata.brokers.has(leader)) throw new NoKnownLeaderError(message.topic, partition);
      const key = `${message.topic}:${partition}`;
      const count = counts.get(key);
      if (count === undefined) partitions.push({ topic: message.topic, partition });
      counts.set(key, (count ?? 0) + 1);
      let records = byLeader.get(leader);
      if (!records) {
        records = [];
        byLeader.set(leader, records);
      }
      records.push(encodableRecord(message));
    }
    await this.addPartitions(producer, partitions, added, deadlineMs);
    const apis = await this.context.cluster.apis();
    const produceApi = usableApi(apis, 'Produce', PRODUCE_APIS);
    const { requestTimeoutMs, compression } = this.context.options;
    const sent = await Promise.allSettled(
      [...byLeader].map(async ([leader, records]) => {
        const connection = await this.connections.get(metadata.brokers.get(leader)!);
        const response = await produceApi.async(connection, ProduceAcks.ALL, requestTimeoutMs, records, {
          ...producer,
          transactionalId: this.transactionalId,
          sequences: this.sequences,
          compression,
        });
        if (typeof response === 'boolean') throw new Error('a Produce with acks=all got no response');
        return response.responses.flatMap(({ name, partitionResponses }) =>
          partitionResponses.map((p) => ({ topic: name, partition: p.index, offset: p.baseOffset })),
        );
      }),
    );
    const failed = sent.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    for (const [key, count] of counts) this.sequences.postIncrement(key, count, 0);
    fillOffsets(
      chunk,
      sent.flatMap((result) => (result.status === 'fulfilled' ? result.value : [])),
    );
  }

  /** An idempotent producer's id comes from any broker. */
  private async toAnyBroker<T>(
    request: (connection: Connection, apis: apiVersionsV3.ApiVersionsResponseApi[]) => Promise<T>,
  ): Promise<T> {
    const [brokers, apis] = await Promise.all([this.context.cluster.brokers(), this.context.cluster.apis()]);
    const broker = brokers[0];
    if (!broker) throw new LogClientError('UNSUPPORTED_BY_CLUSTER', 'the cluster metadata lists no broker');
    return request(await this.connections.get(broker), apis);
  }

  /** The partitions not yet in the transaction join it (AddPartitionsToTxn); nothing for an idempotent writer. */
  private async addPartitions(
    producer: ProducerIdAndEpoch,
    partitions: TopicPartition[],
    added: Set<string>,
    deadlineMs: number,
  ): Promise<void> {
    if (!this.transactional) return;
    const fresh = new Map<string, Set<number>>();
    for (const { topic, partition } of partitions) {
      if (added.has(`${topic}:${partition}`)) continue;
      let topicPartitions = fresh.get(topic);
      if (!topicPartitions) {
        topicPartitions = new Set();
        fresh.set(topic, topicPartitions);
      }
      topicPartitions.add(partition);
    }
    if (fresh.size === 0) return;
    await this.toTransactionCoordinator(deadlineMs, (connection, apis) =>
      usableApi(apis, 'AddPartitionsToTxn', ADD_PARTITIONS_APIS).async(connection, [
        {
          transactionalId: this.transactionalId,
          ...producer,
          verifyOnly: false,
          topics: [...fresh].map(([name, topicPartitions]) => ({ name, partitions: [...topicPartitions] })),
        },
      ]),
    );
    for (const [topic, topicPartitions] of fresh) for (const p of topicPartitions) added.add(`${topic}:${p}`);
  }

  /**
   * Batches built already, in rounds: Kafka takes one batch per partition in a Produce request, so a round
   * holds at most one batch of each partition (and maxProduceRequestBytes), one request per leader, all in
   * parallel; a partition's later batches go in later rounds, at the sequence numbers the earlier ones left.
   */
  private async produceEncoded(
    producer: ProducerIdAndEpoch,
    batches: EncodedRecords[],
    added: Set<string>,
    deadlineMs: number,
  ): Promise<void> {
    const metadata = await this.context.metadataOf([...new Set(batches.map((b) => b.topic))]);
    await this.addPartitions(producer, batches, added, deadlineMs);
    const produceApi = usableApi(await this.context.cluster.apis(), 'Produce', ENCODED_PRODUCE_APIS);
    const { requestTimeoutMs, compression, maxProduceRequestBytes } = this.context.options;
    const pending = new Map<string, EncodedRecords[]>();
    for (const batch of batches) {
      const key = `${batch.topic}:${batch.partition}`;
      const queued = pending.get(key);
      if (queued) queued.push(batch);
      else pending.set(key, [batch]);
    }
    while (pending.size > 0) {
      const byLeader = new Map<number, PartitionBatch[]>();
      const counts = new Map<string, number>();
      let roundBytes = 0;
      for (const [key, queued] of pending) {
        const next = queued[0]!;
        if (roundBytes > 0 && roundBytes + next.records.length > maxProduceRequestBytes) continue;
        const leader = metadata.topics.get(next.topic)?.partitions[next.partition]?.leader ?? -1;
        if (leader < 0 || !metadata.brokers.has(leader))
          throw new NoKnownLeaderError(next.topic, next.partition);
        queued.shift();
        if (queued.length === 0) pending.delete(key);
        roundBytes += next.records.length;
        counts.set(key, next.count);
        const bytes = encodedBatch(
          next,
          {
            ...producer,
            baseSequence: this.sequences.getWithDefault(key, 0),
            transactional: this.transactional,
          },
          compression,
        );
        const leaderBatches = byLeader.get(leader);
        const batch = { topic: next.topic, partition: next.partition, bytes };
        if (leaderBatches) leaderBatches.push(batch);
        else byLeader.set(leader, [batch]);
      }
      const sent = await Promise.allSettled(
        [...byLeader].map(async ([leader, leaderBatches]) => {
          const connection = await this.connections.get(metadata.brokers.get(leader)!);
          await produceApi.async(
            connection,
            ProduceAcks.ALL,
            requestTimeoutMs,
            this.transactional ? this.transactionalId : null,
            leaderBatches,
          );
        }),
      );
      const failed = sent.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      for (const [key, count] of counts) this.sequences.postIncrement(key, count, 0);
    }
  }

  /** AddOffsetsToTxn to the transaction coordinator, then TxnOffsetCommit to the group coordinator. */
  private async commitOffsets(
    producer: ProducerIdAndEpoch,
    offsets: TransactionalOffsets,
    deadlineMs: number,
  ): Promise<void> {
    await this.toTransactionCoordinator(deadlineMs, (connection, apis) =>
      usableApi(apis, 'AddOffsetsToTxn', ADD_OFFSETS_APIS).async(
        connection,
        this.transactionalId,
        producer.producerId,
        producer.producerEpoch,
        offsets.groupId,
      ),
    );
    await this.coordinators.send(
      FindCoordinatorKeyTypes.GROUP,
      offsets.groupId,
      deadlineMs,
      (connection, apis) =>
        usableApi(apis, 'TxnOffsetCommit', TXN_OFFSET_COMMIT_APIS).async(
          connection,
          this.transactionalId,
          offsets.groupId,
          producer.producerId,
          producer.producerEpoch,
          offsets.member?.generationId ?? -1,
          offsets.member?.memberId ?? '',
          null,
          commitRequestTopics(offsets.entries),
        ),
    );
  }

  private toTransactionCoordinator<T>(deadlineMs: number, request: CoordinatorRequest<T>): Promise<T> {
    return this.coordinators.send(
      FindCoordinatorKeyTypes.TRANSACTION,
      this.transactionalId,
      deadlineMs,
      request,
    );
  }

  /** The writer's ProducerFencedError when `error` says a newer producer holds the id, else null. */
  private fencedBy(error: unknown): ProducerFencedError | null {
    if (!FENCING_ERRORS.some((id) => kafkaError(error, id))) return null;
    this.fenced ??= new ProducerFencedError(this.transactionalId, { cause: error });
    return this.fenced;
  }
}

/**
 * A message as the library's Produce builder takes it. The library declares a record's value (and header
 * values) as Buffers but encodes a missing one as Kafka's null, as its own Producer does with the same
 * messages: a tombstone keeps its null value.
 */
function encodableRecord(message: ProducedMessage): MessageRecord {
  return message as MessageRecord;
}
