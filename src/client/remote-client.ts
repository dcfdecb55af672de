import {
  Admin,
  type apiVersionsV3,
  type ClusterMetadata,
  ConfigResourceTypes,
  ConnectionPool,
  Consumer,
  FetchIsolationLevels,
  type fetchV17,
  IncrementalAlterConfigOperationTypes,
  ProduceAcks,
  Producer,
} from '@platformatic/kafka';
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from '../protocol/index.js';
import type { PartitionBatches } from './batch-records.js';
import {
  checkDeleteRecords,
  checkFetchOptions,
  checkFetchRequests,
  checkJoinGroup,
  checkProduceRecords,
  checkTopicSpec,
  partitionKey,
} from './client-checks.js';
import { LogClientError, UnknownTopicError } from './client-errors.js';
import { LOG_CLIENT_LIMITS } from './client-limits.js';
import { usableApi } from './remote-apis.js';
import { type RemoteLogClientOptions, type ResolvedOptions, resolveOptions } from './remote-common.js';
import { kafkaError, kafkaErrorWhere } from './remote-errors.js';
import {
  appendRecords,
  committedRemoteBatches,
  RAW_FETCH_APIS,
  type RawFetchResponse,
} from './remote-fetch.js';
import { RemoteMembership } from './remote-membership.js';
import {
  acrossLeaderChanges,
  bufferSerializers,
  checkPartitionOf,
  chunkByBytes,
  fillOffsets,
  recordsBytesMax,
  type SizedRecords,
  worthRetryingElsewhere,
} from './remote-produce.js';
import { type ConnectionSecurity, connectionSecurity } from './remote-security.js';
import { RemoteTransactionalWriter } from './remote-transactions.js';
import type {
  AssignmentListener,
  BatchTargetClient,
  BatchWriter,
  ConsumedRecord,
  DeleteRecordsEntry,
  FetchOptions,
  FetchRequest,
  GroupMembership,
  OutgoingRecord,
  PartitionOffsets,
  TopicPartition,
  TopicSpec,
  TransactionalWriter,
} from './types.js';

export {
  REMOTE_CLIENT_DEFAULTS,
  REMOTE_COMPRESSION_CODECS,
  type RemoteCompression,
  type RemoteGroupOptions,
  type RemoteLogClientOptions,
} from './remote-common.js';

/**
 * How long a group member's consumer keeps the cluster metadata it read when it was made. @platformatic/kafka
 * 1.x sends group requests to the coordinator it first found for as long as the consumer lives, and fails with
 * an uncaught TypeError once refreshed metadata no longer lists that broker (it died). Kept, the metadata still
 * lists it, so those requests fail as unreachable instead, and RemoteMembership replaces the consumer.
 */
const MEMBERSHIP_METADATA_MAX_AGE_MS = 24 * 60 * 60_000;

/**
 * read_committed: fetches read up to the last stable offset (the high watermark when no transaction is open),
 * which is also what offsets() reports as `latest`, and records of aborted transactions are left out. Without
 * transactions in a partition both isolation levels read the same.
 */
const ISOLATION_LEVEL = FetchIsolationLevels.READ_COMMITTED;
const EARLIEST_OFFSET = -2n;
const LATEST_OFFSET = -1n;
/** A fetch's wait stays this far below requestTimeoutMs, so a long poll is never taken for a lost request. */
const FETCH_WAIT_MARGIN_MS = 1_000;

type BufferProducer = Producer<Buffer, Buffer, Buffer, Buffer | undefined>;

interface QueuedProduce extends SizedRecords {
  bytes: number;
  resolve: (offsets: number[]) => void;
  reject: (error: unknown) => void;
}

interface LeaderFetch {
  node: number;
  topics: fetchV17.FetchRequestTopic[];
}

/**
 * The LogClient of a process that talks to a Kafka cluster (Apache Kafka, Redpanda, or Edgestream over TCP)
 * through @platformatic/kafka. Several processes joining one group share its partitions.
 *
 * Each concern has its own connections so a long-polling fetch never delays a produce, a metadata lookup or a
 * heartbeat: an Admin for topics, a Consumer for metadata and offsets (its fetches use a separate pool), one
 * idempotent Producer, and one Consumer per joined group.
 */
export class RemoteLogClient implements BatchTargetClient {
  readonly sharedGroups = true;
  private readonly options: ResolvedOptions;
  /** TLS options and SASL login, files and secrets read once at construction. */
  private readonly security: ConnectionSecurity;
  private readonly admin: Admin;
  private readonly reader: Consumer;
  private readonly fetchConnections: ConnectionPool;
  private readonly producer: BufferProducer;
  private readonly writers = new Set<RemoteTransactionalWriter>();
  private fetchApiChosen: Promise<(typeof RAW_FETCH_APIS)[number]> | null = null;
  private apisListed: Promise<apiVersionsV3.ApiVersionsResponseApi[]> | null = null;
  private readonly memberships = new Map<string, RemoteMembership>();
  private readonly produceQueue: QueuedProduce[] = [];
  private draining: Promise<void> | null = null;
  private closing = false;
  private startClosing: () => void = () => undefined;
  private readonly closingStarted = new Promise<void>((resolve) => {
    this.startClosing = resolve;
  });
  private closed = false;
  private closeDone: Promise<void> | null = null;

  constructor(options: RemoteLogClientOptions) {
    this.options = resolveOptions(options);
    this.security = connectionSecurity(this.options.security);
    const base = this.baseOptions();
    this.admin = new Admin(base);
    this.reader = new Consumer({ ...base, groupId: `${options.clientId}-reader`, ...this.readOptions() });
    this.fetchConnections = this.createConnections();
    this.producer = this.createProducer();
  }

  /**
   * A writer whose every run() is one Kafka transaction of the producer with this transactional id; its first
   * run fences every earlier producer of the id (see TransactionalWriter). Closed with the client.
   */
  transactionalWriter(transactionalId: string): TransactionalWriter {
    return this.createWriter(transactionalId);
  }

  /**
   * A writer of pre-encoded batches (BatchWriter): transactional under `transactionalId` as
   * transactionalWriter()'s, or idempotent (a producer id of its own) for null. Closed with the client.
   */
  batchWriter(transactionalId: string | null): BatchWriter {
    return this.createWriter(transactionalId);
  }

  private createWriter(transactionalId: string | null): RemoteTransactionalWriter {
    this.ensureOpen();
    if (this.closing) throw new LogClientError('CLIENT_CLOSED', 'the client is closing');
    const { maxTransactionalWriters } = LOG_CLIENT_LIMITS;
    if (this.writers.size >= maxTransactionalWriters) {
      throw new LogClientError(
        'INVALID_ARGUMENT',
        `${this.writers.size} transactional writers are open; the limit is ${maxTransactionalWriters}`,
      );
    }
    const writer = new RemoteTransactionalWriter(transactionalId, {
      options: this.options,
      createConnections: () => this.createConnections(),
      cluster: {
        brokers: async () => [...(await this.metadataOf([])).brokers.values()],
        apis: () => this.supportedApis(),
      },
      metadataOf: (topics) => this.metadataOf(topics),
      clearMetadata: () => this.reader.clearMetadata(),
      onClosed: (closed) => this.writers.delete(closed),
    });
    this.writers.add(writer);
    return writer;
  }

  /** Connections for requests the client sends itself, one in flight per connection. */
  private createConnections(): ConnectionPool {
    return new ConnectionPool(this.options.clientId, {
      connectTimeout: this.options.connectTimeoutMs,
      requestTimeout: this.options.requestTimeoutMs,
      maxInflights: 1,
      ...this.security,
    });
  }

  /**
   * An idempotent producer has one request in flight per connection and retries with the same sequence
   * numbers, so a retry is never written twice.
   */
  private createProducer(): BufferProducer {
    return new Producer({
      ...this.baseOptions(),
      serializers: bufferSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      compression: this.options.compression,
      autocreateTopics: false,
      repeatOnStaleMetadata: true,
      maxInflights: 1,
    });
  }

  async ensureTopic(spec: TopicSpec): Promise<number> {
    this.ensureOpen();
    checkTopicSpec(spec);
    if (await this.topicExists(spec.name)) return this.partitionCountOf(spec.name);
    try {
      const [created] = await this.acrossLeaderChanges(this.admin, () =>
        this.admin.createTopics({
          topics: [spec.name],
          partitions: spec.partitions,
          replicas: this.options.replicationFactor,
          configs: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
        }),
      );
      return created?.partitions ?? spec.partitions;
    } catch (error) {
      // Another instance created it between our check and our request.
      if (kafkaError(error, 'TOPIC_ALREADY_EXISTS')) return this.partitionCountOf(spec.name);
      throw error;
    }
  }

  async partitionCount(topic: string): Promise<number> {
    this.ensureOpen();
    if (!(await this.topicExists(topic))) throw new UnknownTopicError(topic);
    return this.partitionCountOf(topic);
  }

  async offsets(partition: TopicPartition): Promise<PartitionOffsets> {
    this.ensureOpen();
    checkPartitionOf(await this.metadataOf([partition.topic]), partition);
    const [earliest, latest] = await Promise.all([
      this.listOffset(partition, EARLIEST_OFFSET, ISOLATION_LEVEL),
      this.listOffset(partition, LATEST_OFFSET, ISOLATION_LEVEL),
    ]);
    return { earliest, latest };
  }

  /** Compares with the topic's effective configs (DescribeConfigs), so an unchanged topic is not written. */
  async alterTopicConfig(topic: string, config: Record<string, string>): Promise<string[]> {
    this.ensureOpen();
    const resource = { resourceType: ConfigResourceTypes.TOPIC, resourceName: topic };
    const [described] = await this.acrossLeaderChanges(this.admin, () =>
      this.admin.describeConfigs({ resources: [resource] }),
    );
    const current = new Map((described?.configs ?? []).map((entry) => [entry.name, entry.value]));
    const changed = Object.keys(config).filter((key) => current.get(key) !== config[key]);
    if (changed.length === 0) return changed;
    await this.acrossLeaderChanges(this.admin, () =>
      this.admin.incrementalAlterConfigs({
        resources: [
          {
            ...resource,
            configs: changed.map((name) => ({
              name,
              value: config[name]!,
              configOperation: IncrementalAlterConfigOperationTypes.SET,
            })),
          },
        ],
      }),
    );
    return changed;
  }

  async deleteRecords(entries: DeleteRecordsEntry[]): Promise<number[]> {
    this.ensureOpen();
    checkDeleteRecords(entries);
    if (entries.length === 0) return [];
    const byTopic = new Map<string, Array<{ partition: number; offset: bigint }>>();
    for (const { topic, partition, offset } of entries) {
      const partitions = byTopic.get(topic) ?? [];
      partitions.push({ partition, offset: BigInt(offset) });
      byTopic.set(topic, partitions);
    }
    const deleted = await this.acrossLeaderChanges(this.admin, () =>
      this.admin.deleteRecords({
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      }),
    );
    const logStarts = new Map<string, number>();
    for (const topic of deleted) {
      for (const { partition, lowWatermark } of topic.partitions)
        logStarts.set(partitionKey(topic.name, partition), Number(lowWatermark));
    }
    return entries.map(({ topic, partition }) => {
      const logStart = logStarts.get(partitionKey(topic, partition));
      if (logStart === undefined) throw new Error(`DeleteRecords answered nothing for ${topic}-${partition}`);
      return logStart;
    });
  }

  async highWatermark(partition: TopicPartition): Promise<number> {
    this.ensureOpen();
    checkPartitionOf(await this.metadataOf([partition.topic]), partition);
    return this.listOffset(partition, LATEST_OFFSET, FetchIsolationLevels.READ_UNCOMMITTED);
  }

  private async listOffset(
    { topic, partition }: TopicPartition,
    timestamp: bigint,
    isolationLevel: number,
  ): Promise<number> {
    const offsets = await this.acrossLeaderChanges(this.reader, () =>
      this.reader.listOffsets({
        topics: [topic],
        partitions: { [topic]: [partition] },
        timestamp,
        isolationLevel,
      }),
    );
    return Number(offsets.get(topic)?.[partition] ?? 0n);
  }

  /**
   * Calls are queued in call order and sent one request at a time, calls that queued up meanwhile together, so
   * overlapping calls keep their per-partition order. The library takes the idempotent sequence number of a
   * request from what was acknowledged before it, so two overlapping sends to one partition would share
   * sequence numbers; sending one request at a time is what keeps them apart.
   */
  produce(records: OutgoingRecord[]): Promise<number[]> {
    try {
      this.ensureOpen();
      checkProduceRecords(records);
      const { maxQueuedProduceCalls } = LOG_CLIENT_LIMITS;
      if (this.produceQueue.length >= maxQueuedProduceCalls) {
        throw new LogClientError(
          'TOO_MANY_QUEUED_PRODUCES',
          `${this.produceQueue.length} produce calls are already waiting; the limit is ${maxQueuedProduceCalls}`,
        );
      }
      const bounds = recordsBytesMax(records, this.options.maxProduceRequestBytes);
      if (records.length === 0) return Promise.resolve([]);
      let bytes = 0;
      for (const recordBytes of bounds) bytes += recordBytes;
      return new Promise((resolve, reject) => {
        const offsets = new Array<number>(records.length);
        this.produceQueue.push({ records, recordsBytesMax: bounds, bytes, offsets, resolve, reject });
        void this.drainProduceQueue();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * One Fetch request per partition leader, sent over connections of their own. maxBytes is shared between
   * the leaders; each answers with at least one batch when it has data (KIP-74).
   */
  async fetch(requests: FetchRequest[], options: FetchOptions): Promise<ConsumedRecord[]> {
    const records: ConsumedRecord[] = [];
    for (const read of await this.fetchBatches(requests, options)) {
      appendRecords(records, read.topic, read.partition, read.offset, read.bytes);
      if (read.endOffset > read.offset) options.readUpTo?.(read.topic, read.partition, read.endOffset);
    }
    return records;
  }

  /**
   * As fetch(), the batches a read_committed reader keeps as the broker sent them (whole batches, from the
   * one holding the offset asked for), for a caller that forwards them without decoding every record.
   */
  async fetchBatches(requests: FetchRequest[], options: FetchOptions): Promise<PartitionBatches[]> {
    this.ensureOpen();
    const { requestTimeoutMs } = this.options;
    checkFetchOptions(
      options,
      requestTimeoutMs - FETCH_WAIT_MARGIN_MS,
      ` (a second below requestTimeoutMs=${requestTimeoutMs})`,
    );
    checkFetchRequests(requests);
    if (requests.length === 0) return [];
    const fetching = this.acrossLeaderChanges(this.reader, () =>
      this.fetchFromLeaders(requests, options, true),
    );
    // The library would retry a fetch cut off by close(), so close() answers it at once instead.
    fetching.catch(() => undefined);
    const reads = await Promise.race([fetching, this.closingStarted.then(() => null)]);
    return reads ?? [];
  }

  async joinGroup(groupId: string, topics: string[], listener: AssignmentListener): Promise<GroupMembership> {
    this.ensureOpen();
    if (this.closing) throw new LogClientError('CLIENT_CLOSED', 'the client is closing');
    checkJoinGroup(groupId, topics, this.memberships);
    for (const topic of new Set(topics)) {
      if (!(await this.topicExists(topic))) throw new UnknownTopicError(topic);
    }
    const membership = new RemoteMembership(
      () =>
        new Consumer({
          ...this.baseOptions(),
          groupId,
          ...this.readOptions(),
          metadataMaxAge: MEMBERSHIP_METADATA_MAX_AGE_MS,
        }),
      groupId,
      [...new Set(topics)],
      listener,
      this.options,
      () => this.memberships.delete(groupId),
    );
    this.memberships.set(groupId, membership);
    try {
      await membership.join();
    } catch (error) {
      this.memberships.delete(groupId);
      await membership.discard();
      throw error;
    }
    return membership;
  }

  /**
   * Waiting fetches return at once, every group is left (revoked() may still produce and commit), queued
   * produce calls are sent, then every connection is closed.
   */
  close(): Promise<void> {
    this.closeDone ??= this.shutDown();
    return this.closeDone;
  }

  private async shutDown(): Promise<void> {
    this.closing = true;
    this.startClosing();
    try {
      await this.fetchConnections.close();
      await Promise.allSettled([...this.memberships.values()].map((membership) => membership.leave()));
      while (this.draining || this.produceQueue.length > 0) await this.drainProduceQueue();
      await Promise.allSettled([...this.writers].map((writer) => writer.close()));
    } finally {
      this.closed = true;
      await Promise.allSettled([this.producer.close(), this.reader.close(), this.admin.close()]);
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new LogClientError('CLIENT_CLOSED', 'the client is closed');
  }

  private baseOptions() {
    const { options } = this;
    return {
      clientId: options.clientId,
      bootstrapBrokers: options.bootstrapBrokers,
      connectTimeout: options.connectTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      timeout: options.requestTimeoutMs,
      retries: options.retries,
      retryDelay: options.retryDelayMs,
      metadataMaxAge: options.metadataMaxAgeMs,
      autocreateTopics: false,
      strict: false,
      ...this.security,
    };
  }

  /** Options a Consumer validates at construction although we pass them per call. */
  private readOptions() {
    const { group } = this.options;
    return {
      autocommit: false,
      isolationLevel: ISOLATION_LEVEL,
      minBytes: 1,
      maxBytes: LOG_CLIENT_LIMITS.maxFetchBytes,
      maxWaitTime: 0,
      sessionTimeout: group.sessionTimeoutMs,
      rebalanceTimeout: group.rebalanceTimeoutMs,
      heartbeatInterval: group.heartbeatIntervalMs,
    };
  }

  /** Listing names answers "no such topic" at once, where a metadata request for it is retried first. */
  private async topicExists(topic: string): Promise<boolean> {
    const names = await this.acrossLeaderChanges(this.admin, () =>
      this.admin.listTopics({ includeInternals: true }),
    );
    return names.includes(topic);
  }

  private async partitionCountOf(topic: string): Promise<number> {
    return (await this.metadataOf([topic])).topics.get(topic)!.partitionsCount;
  }

  private async metadataOf(topics: string[], forceUpdate = false): Promise<ClusterMetadata> {
    try {
      // A topic just created has no leaders for a moment; a dead broker's leaderships take a moment to move.
      return await this.acrossLeaderChanges(this.reader, () =>
        this.reader.metadata({ topics, autocreateTopics: false, forceUpdate }),
      );
    } catch (error) {
      const known = new Set(await this.admin.listTopics({ includeInternals: true }));
      const missing = topics.find((topic) => !known.has(topic));
      if (missing !== undefined) throw new UnknownTopicError(missing);
      throw error;
    }
  }

  /** The one loop that sends queued calls; resolves when the queue is empty. */
  private drainProduceQueue(): Promise<void> {
    this.draining ??= (async () => {
      try {
        while (this.produceQueue.length > 0) await this.sendQueued(this.takeQueued());
      } finally {
        this.draining = null;
      }
    })();
    return this.draining;
  }

  /** Whole calls from the head of the queue that fit in one request together; a larger call goes alone. */
  private takeQueued(): QueuedProduce[] {
    const taken = [this.produceQueue.shift()!];
    let bytes = taken[0]!.bytes;
    while (this.produceQueue.length > 0) {
      const next = this.produceQueue[0]!;
      if (bytes + next.bytes > this.options.maxProduceRequestBytes) break;
      bytes += next.bytes;
      taken.push(this.produceQueue.shift()!);
    }
    return taken;
  }

  /** A failed request fails the calls it carried; partitions it reached may have appended, as in Kafka. */
  private async sendQueued(calls: QueuedProduce[]): Promise<void> {
    let valid: QueuedProduce[];
    try {
      const metadata = await this.metadataOf([
        ...new Set(calls.flatMap((c) => c.records.map((r) => r.topic))),
      ]);
      // The library would silently wrap an out-of-range partition around the partition count.
      valid = calls.filter((call) => {
        try {
          for (const record of call.records) checkPartitionOf(metadata, record);
          return true;
        } catch (error) {
          call.reject(error);
          return false;
        }
      });
    } catch (error) {
      for (const call of calls) call.reject(error);
      return;
    }
    try {
      for (const chunk of chunkByBytes(valid, this.options.maxProduceRequestBytes)) {
        const result = await this.acrossLeaderChanges(this.producer, () =>
          this.producer.send({ messages: chunk.messages, acks: ProduceAcks.ALL }),
        );
        fillOffsets(chunk, result.offsets ?? []);
      }
      for (const call of valid) call.resolve(call.offsets);
    } catch (error) {
      for (const call of valid) call.reject(error);
    }
  }

  /**
   * See acrossLeaderChanges (remote-produce.ts). A produce sent again after a cut connection gets new sequence
   * numbers: if the cut one had reached the broker, its records are there twice, as with any Kafka producer's
   * retry outside its idempotence window.
   */
  private acrossLeaderChanges<T>(client: { clearMetadata(): void }, attempt: () => Promise<T>): Promise<T> {
    return acrossLeaderChanges(
      this.options,
      client,
      attempt,
      (error) => worthRetryingElsewhere(error) && !this.closing,
    );
  }

  /**
   * The Fetch version both sides support, chosen once. Fetch is sent without the library's Consumer.fetch:
   * read_committed there runs the library's own aborted-transaction filter, which throws (uncaught, in the
   * socket's data handler) on an abort marker of a transaction with no data in the partition, a marker Kafka
   * lists no aborted transaction for. consumedRecords filters instead.
   */
  private fetchApi(): Promise<(typeof RAW_FETCH_APIS)[number]> {
    this.fetchApiChosen ??= this.supportedApis().then((apis) => usableApi(apis, 'Fetch', RAW_FETCH_APIS));
    this.fetchApiChosen.catch(() => {
      this.fetchApiChosen = null;
    });
    return this.fetchApiChosen;
  }

  /** The APIs and versions the cluster serves, asked once (ApiVersions) while the answer holds. */
  private supportedApis(): Promise<apiVersionsV3.ApiVersionsResponseApi[]> {
    this.apisListed ??= this.reader.listApis();
    this.apisListed.catch(() => {
      this.apisListed = null;
    });
    return this.apisListed;
  }

  private async fetchFromLeaders(
    requests: FetchRequest[],
    options: FetchOptions,
    retryOnStaleMetadata: boolean,
  ): Promise<PartitionBatches[]> {
    const metadata = await this.metadataOf([...new Set(requests.map((r) => r.topic))], !retryOnStaleMetadata);
    const leaders = groupByLeader(metadata, requests, options.maxBytes);
    const bytesPerLeader = Math.max(1, Math.floor(options.maxBytes / leaders.length));
    const topicNames = new Map([...metadata.topics].map(([name, topic]) => [topic.id, name]));
    const offsetsAsked = new Map(requests.map((r) => [partitionKey(r.topic, r.partition), r.offset]));
    try {
      const responses = await Promise.all(
        leaders.map(async (leader) => {
          const broker = metadata.brokers.get(leader.node);
          if (!broker) throw new Error(`partition leader ${leader.node} is not in the cluster metadata`);
          const [fetchApi, connection] = await Promise.all([
            this.fetchApi(),
            this.fetchConnections.get(broker),
          ]);
          return fetchApi.async(
            connection,
            options.maxWaitMs,
            1,
            bytesPerLeader,
            ISOLATION_LEVEL,
            0,
            0,
            leader.topics,
            [],
            '',
          );
        }),
      );
      return responses.flatMap((response) => committedReads(response, topicNames, offsetsAsked));
    } catch (error) {
      // Leadership moved since our metadata was fetched: look the leaders up again, once.
      if (retryOnStaleMetadata && kafkaErrorWhere(error, 'hasStaleMetadata', true)) {
        this.reader.clearMetadata();
        return this.fetchFromLeaders(requests, options, false);
      }
      const outOfRange = kafkaError(error, 'OFFSET_OUT_OF_RANGE');
      if (outOfRange) {
        throw new LogClientError(
          'OFFSET_OUT_OF_RANGE',
          `an offset in ${requests.map((r) => `${r.topic}-${r.partition}@${r.offset}`).join(', ')} is ` +
            'outside its partition (see offsets() for the range)',
          { cause: error },
        );
      }
      throw error;
    }
  }
}

/** The requested partitions grouped by the node that leads them, as the metadata says. */
function groupByLeader(metadata: ClusterMetadata, requests: FetchRequest[], maxBytes: number): LeaderFetch[] {
  const leaders = new Map<number, Map<string, fetchV17.FetchRequestTopic>>();
  for (const request of requests) {
    checkPartitionOf(metadata, request);
    const topic = metadata.topics.get(request.topic)!;
    const leader = topic.partitions[request.partition]!.leader;
    let topics = leaders.get(leader);
    if (!topics) {
      topics = new Map();
      leaders.set(leader, topics);
    }
    let fetchTopic = topics.get(request.topic);
    if (!fetchTopic) {
      fetchTopic = { topicId: topic.id, partitions: [] };
      topics.set(request.topic, fetchTopic);
    }
    // Epoch -1 skips leader-epoch fencing: a moved leader shows up as NOT_LEADER_OR_FOLLOWER instead.
    fetchTopic.partitions.push({
      partition: request.partition,
      currentLeaderEpoch: -1,
      fetchOffset: BigInt(request.offset),
      lastFetchedEpoch: -1,
      partitionMaxBytes: maxBytes,
    });
  }
  return [...leaders].map(([node, topics]) => ({ node, topics: [...topics.values()] }));
}

/**
 * Per partition that answered with batches, those a read_committed reader keeps (see committedRemoteBatches)
 * and the offset past every batch read.
 */
function committedReads(
  response: RawFetchResponse,
  topicNames: Map<string, string>,
  offsetsAsked: Map<string, number>,
): PartitionBatches[] {
  const reads: PartitionBatches[] = [];
  for (const topicResponse of response.responses) {
    const topic = topicNames.get(topicResponse.topicId);
    if (topic === undefined) continue;
    for (const partitionResponse of topicResponse.partitions) {
      if (partitionResponse.records.length === 0) continue;
      const partition = partitionResponse.partitionIndex;
      const offset = offsetsAsked.get(partitionKey(topic, partition)) ?? 0;
      const { bytes, endOffset } = committedRemoteBatches(partitionResponse, offset);
      reads.push({
        topic,
        partition,
        offset,
        bytes,
        endOffset,
        maxDecompressedBytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
      });
    }
  }
  return reads;
}
