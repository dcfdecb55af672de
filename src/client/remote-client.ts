import {
  Admin,
  type ClusterMetadata,
  ConnectionPool,
  Consumer,
  FetchIsolationLevels,
  type fetchV17,
  GenericError,
  type GroupAssignment,
  type GroupOptions,
  type MessageToProduce,
  noopSerializer,
  offsetCommitV8,
  offsetCommitV9,
  ProduceAcks,
  Producer,
  type RecordsBatch,
  type Serializers,
} from '@platformatic/kafka';
import {
  type AssignmentListener,
  type CommitEntry,
  type ConsumedRecord,
  type FetchOptions,
  type FetchRequest,
  type GroupMembership,
  type LogClient,
  type OutgoingRecord,
  type PartitionOffsets,
  type TopicPartition,
  type TopicSpec,
  UnknownTopicError,
} from './types.js';

export interface RemoteGroupOptions {
  /** The coordinator drops a member it has not heard from for this long and gives its partitions to others. */
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** How long the coordinator waits for every member to rejoin during a rebalance. */
  rebalanceTimeoutMs: number;
  /** Pause before joining again after the library gave up rejoining (the cluster was unreachable). */
  rejoinDelayMs: number;
}

export interface RemoteLogClientOptions {
  /** `host:port` of one or more brokers of the cluster. */
  bootstrapBrokers: string[];
  clientId: string;
  connectTimeoutMs?: number;
  /** Also bounds a fetch's maxWaitMs, which must stay below it. */
  requestTimeoutMs?: number;
  /** Attempts after the first for a request that failed with a retriable error. */
  retries?: number;
  retryDelayMs?: number;
  metadataMaxAgeMs?: number;
  /** Replicas of topics ensureTopic() creates; -1 takes the cluster's default.replication.factor. */
  replicationFactor?: number;
  /** Bytes of records in one produce request; keep it within the cluster's message.max.bytes. */
  maxProduceRequestBytes?: number;
  group?: Partial<RemoteGroupOptions>;
}

type ResolvedOptions = Required<Omit<RemoteLogClientOptions, 'group'>> & { group: RemoteGroupOptions };

export const REMOTE_CLIENT_DEFAULTS = {
  connectTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
  retries: 3,
  retryDelayMs: 250,
  metadataMaxAgeMs: 5_000,
  replicationFactor: -1,
  maxProduceRequestBytes: 1_000_000,
  group: {
    sessionTimeoutMs: 30_000,
    heartbeatIntervalMs: 3_000,
    rebalanceTimeoutMs: 60_000,
    rejoinDelayMs: 1_000,
  },
} as const;

export const REMOTE_CLIENT_LIMITS = {
  maxRecordsPerProduce: 1_000_000,
  maxQueuedProduceCalls: 10_000,
  maxPartitionsPerFetch: 10_000,
  maxFetchBytes: 64 * 1024 * 1024,
  maxGroupsPerClient: 100,
} as const;

export type RemoteClientErrorCode =
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_PARTITION'
  | 'MESSAGE_TOO_LARGE'
  | 'OFFSET_OUT_OF_RANGE'
  | 'TOO_MANY_QUEUED_PRODUCES'
  | 'GROUP_ALREADY_JOINED'
  | 'NOT_A_MEMBER'
  | 'COMMIT_FAILED'
  | 'UNSUPPORTED_BY_CLUSTER'
  | 'CLIENT_CLOSED';

export class RemoteClientError extends Error {
  constructor(
    readonly code: RemoteClientErrorCode,
    message: string,
    options?: { cause: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'RemoteClientError';
  }
}

/** Keys, values and header values travel as the Buffers we are given; null becomes Kafka's null. */
type ProducedMessage = MessageToProduce<Buffer, Buffer, Buffer, Buffer | undefined>;
const bufferSerializers: Serializers<Buffer, Buffer, Buffer, Buffer | undefined> = {
  key: noopSerializer,
  value: noopSerializer,
  headerKey: noopSerializer,
  headerValue: noopSerializer,
};

/**
 * read_uncommitted, as the embedded client: fetches read up to the high watermark that offsets() reports.
 * Edgestream's producers are idempotent, not transactional.
 */
const ISOLATION_LEVEL = FetchIsolationLevels.READ_UNCOMMITTED;
const EARLIEST_OFFSET = -2n;
const LATEST_OFFSET = -1n;
/** Record batch attributes: the timestamp is the broker's append time; the batch is a transaction marker. */
const LOG_APPEND_TIME = 0x08;
const CONTROL_BATCH = 0x20;
/** Record length, attributes, timestamp delta, offset delta and header count varints, at most. */
const RECORD_FIXED_BYTES_MAX = 5 + 1 + 10 + 5 + 5;
const OFFSET_COMMIT_APIS = [offsetCommitV9.api, offsetCommitV8.api];

interface QueuedProduce {
  records: OutgoingRecord[];
  bytes: number;
  resolve: () => void;
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
export class RemoteLogClient implements LogClient {
  readonly sharedGroups = true;
  private readonly options: ResolvedOptions;
  private readonly admin: Admin;
  private readonly reader: Consumer;
  private readonly fetchConnections: ConnectionPool;
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer | undefined>;
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
    const base = this.baseOptions();
    this.admin = new Admin(base);
    this.reader = new Consumer({ ...base, groupId: `${options.clientId}-reader`, ...this.readOptions() });
    this.fetchConnections = new ConnectionPool(options.clientId, {
      connectTimeout: this.options.connectTimeoutMs,
      requestTimeout: this.options.requestTimeoutMs,
      maxInflights: 1,
    });
    // An idempotent producer has one request in flight per connection and retries with the same sequence
    // numbers, so a retry is never written twice.
    this.producer = new Producer({
      ...base,
      serializers: bufferSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      compression: 'none',
      autocreateTopics: false,
      repeatOnStaleMetadata: true,
      maxInflights: 1,
    });
  }

  async ensureTopic(spec: TopicSpec): Promise<number> {
    this.ensureOpen();
    if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
      throw new RemoteClientError(
        'INVALID_ARGUMENT',
        `topic '${spec.name}' needs a partition count >= 1, got ${spec.partitions}`,
      );
    }
    if (await this.topicExists(spec.name)) return this.partitionCountOf(spec.name);
    try {
      const [created] = await this.admin.createTopics({
        topics: [spec.name],
        partitions: spec.partitions,
        replicas: this.options.replicationFactor,
        configs: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
      });
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
    const { topic } = partition;
    checkPartitionIndex(await this.metadataOf([topic]), partition);
    const query = (timestamp: bigint) =>
      this.reader.listOffsets({
        topics: [topic],
        partitions: { [topic]: [partition.partition] },
        timestamp,
        isolationLevel: ISOLATION_LEVEL,
      });
    const [earliest, latest] = await Promise.all([query(EARLIEST_OFFSET), query(LATEST_OFFSET)]);
    return {
      earliest: Number(earliest.get(topic)?.[partition.partition] ?? 0n),
      latest: Number(latest.get(topic)?.[partition.partition] ?? 0n),
    };
  }

  /**
   * Calls are queued in call order and sent one request at a time, calls that queued up meanwhile together, so
   * overlapping calls keep their per-partition order. The library takes the idempotent sequence number of a
   * request from what was acknowledged before it, so two overlapping sends to one partition would share
   * sequence numbers; sending one request at a time is what keeps them apart.
   */
  produce(records: OutgoingRecord[]): Promise<void> {
    try {
      this.ensureOpen();
      if (records.length > REMOTE_CLIENT_LIMITS.maxRecordsPerProduce) {
        throw new RemoteClientError(
          'INVALID_ARGUMENT',
          `${records.length} records in one produce call; the limit is ${REMOTE_CLIENT_LIMITS.maxRecordsPerProduce}`,
        );
      }
      if (this.produceQueue.length >= REMOTE_CLIENT_LIMITS.maxQueuedProduceCalls) {
        throw new RemoteClientError(
          'TOO_MANY_QUEUED_PRODUCES',
          `${this.produceQueue.length} produce calls are already waiting; the limit is ` +
            `${REMOTE_CLIENT_LIMITS.maxQueuedProduceCalls}`,
        );
      }
      const bytes = this.checkRecords(records);
      if (records.length === 0) return Promise.resolve();
      return new Promise((resolve, reject) => {
        this.produceQueue.push({ records, bytes, resolve, reject });
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
    this.ensureOpen();
    this.checkFetchOptions(options);
    checkFetchRequests(requests);
    if (requests.length === 0) return [];
    const fetching = this.fetchFromLeaders(requests, options, true);
    // The library would retry a fetch cut off by close(), so close() answers it at once instead.
    fetching.catch(() => undefined);
    const records = await Promise.race([fetching, this.closingStarted.then(() => null)]);
    return records ?? [];
  }

  async joinGroup(groupId: string, topics: string[], listener: AssignmentListener): Promise<GroupMembership> {
    this.ensureOpen();
    if (this.closing) throw new RemoteClientError('CLIENT_CLOSED', 'the client is closing');
    if (groupId === '') throw new RemoteClientError('INVALID_ARGUMENT', 'the group id is empty');
    if (topics.length === 0) {
      throw new RemoteClientError('INVALID_ARGUMENT', `group '${groupId}' needs at least one topic`);
    }
    if (this.memberships.has(groupId)) {
      throw new RemoteClientError('GROUP_ALREADY_JOINED', `this client already consumes group '${groupId}'`);
    }
    if (this.memberships.size >= REMOTE_CLIENT_LIMITS.maxGroupsPerClient) {
      throw new RemoteClientError(
        'INVALID_ARGUMENT',
        `this client is in ${this.memberships.size} groups; the limit is ${REMOTE_CLIENT_LIMITS.maxGroupsPerClient}`,
      );
    }
    for (const topic of new Set(topics)) {
      if (!(await this.topicExists(topic))) throw new UnknownTopicError(topic);
    }
    const consumer = new Consumer({ ...this.baseOptions(), groupId, ...this.readOptions() });
    const membership = new RemoteMembership(
      consumer,
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
      await consumer.close().catch(() => undefined);
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
    } finally {
      this.closed = true;
      await Promise.allSettled([this.producer.close(), this.reader.close(), this.admin.close()]);
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new RemoteClientError('CLIENT_CLOSED', 'the client is closed');
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
    };
  }

  /** Options a Consumer validates at construction although we pass them per call. */
  private readOptions() {
    const { group } = this.options;
    return {
      autocommit: false,
      isolationLevel: ISOLATION_LEVEL,
      minBytes: 1,
      maxBytes: REMOTE_CLIENT_LIMITS.maxFetchBytes,
      maxWaitTime: 0,
      sessionTimeout: group.sessionTimeoutMs,
      rebalanceTimeout: group.rebalanceTimeoutMs,
      heartbeatInterval: group.heartbeatIntervalMs,
    };
  }

  /** Listing names answers "no such topic" at once, where a metadata request for it is retried first. */
  private async topicExists(topic: string): Promise<boolean> {
    return (await this.admin.listTopics({ includeInternals: true })).includes(topic);
  }

  private async partitionCountOf(topic: string): Promise<number> {
    return (await this.metadataOf([topic])).topics.get(topic)!.partitionsCount;
  }

  private async metadataOf(topics: string[], forceUpdate = false): Promise<ClusterMetadata> {
    try {
      return await this.reader.metadata({ topics, autocreateTopics: false, forceUpdate });
    } catch (error) {
      const known = new Set(await this.admin.listTopics({ includeInternals: true }));
      const missing = topics.find((topic) => !known.has(topic));
      if (missing !== undefined) throw new UnknownTopicError(missing);
      throw error;
    }
  }

  /** Validates the records and returns an upper bound on their encoded size. */
  private checkRecords(records: OutgoingRecord[]): number {
    const { maxProduceRequestBytes } = this.options;
    let bytes = 0;
    for (const record of records) {
      if (!Number.isSafeInteger(record.timestamp) || record.timestamp < 0) {
        throw new RemoteClientError(
          'INVALID_ARGUMENT',
          `timestamp ${record.timestamp} of a record for ${record.topic}-${record.partition} is not ` +
            'milliseconds since the epoch',
        );
      }
      const recordBytes = recordBytesMax(record);
      if (recordBytes > maxProduceRequestBytes) {
        throw new RemoteClientError(
          'MESSAGE_TOO_LARGE',
          `a record of up to ${recordBytes} bytes for ${record.topic}-${record.partition} exceeds ` +
            `maxProduceRequestBytes=${maxProduceRequestBytes}`,
        );
      }
      bytes += recordBytes;
    }
    return bytes;
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
          for (const record of call.records) checkPartitionIndex(metadata, record);
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
      const records = valid.flatMap((call) => call.records);
      for (const chunk of chunkByBytes(records, this.options.maxProduceRequestBytes)) {
        await this.producer.send({ messages: chunk.map(toMessage), acks: ProduceAcks.ALL });
      }
      for (const call of valid) call.resolve();
    } catch (error) {
      for (const call of valid) call.reject(error);
    }
  }

  private checkFetchOptions(options: FetchOptions): void {
    const { maxFetchBytes } = REMOTE_CLIENT_LIMITS;
    if (!Number.isInteger(options.maxBytes) || options.maxBytes < 1 || options.maxBytes > maxFetchBytes) {
      throw new RemoteClientError(
        'INVALID_ARGUMENT',
        `maxBytes=${options.maxBytes} is invalid: expected an integer between 1 and ${maxFetchBytes}`,
      );
    }
    const maxWaitMs = this.options.requestTimeoutMs - 1_000;
    if (!Number.isInteger(options.maxWaitMs) || options.maxWaitMs < 0 || options.maxWaitMs > maxWaitMs) {
      throw new RemoteClientError(
        'INVALID_ARGUMENT',
        `maxWaitMs=${options.maxWaitMs} is invalid: expected an integer between 0 and ${maxWaitMs} ` +
          `(a second below requestTimeoutMs=${this.options.requestTimeoutMs})`,
      );
    }
  }

  private async fetchFromLeaders(
    requests: FetchRequest[],
    options: FetchOptions,
    retryOnStaleMetadata: boolean,
  ): Promise<ConsumedRecord[]> {
    const metadata = await this.metadataOf([...new Set(requests.map((r) => r.topic))], !retryOnStaleMetadata);
    const leaders = groupByLeader(metadata, requests, options.maxBytes);
    const bytesPerLeader = Math.max(1, Math.floor(options.maxBytes / leaders.length));
    const topicNames = new Map([...metadata.topics].map(([name, topic]) => [topic.id, name]));
    const offsetsAsked = new Map(requests.map((r) => [partitionKey(r.topic, r.partition), r.offset]));
    try {
      const responses = await Promise.all(
        leaders.map((leader) =>
          this.reader.fetch({
            node: leader.node,
            topics: leader.topics,
            minBytes: 1,
            maxBytes: bytesPerLeader,
            maxWaitTime: options.maxWaitMs,
            isolationLevel: ISOLATION_LEVEL,
            connectionPool: this.fetchConnections,
          }),
        ),
      );
      return responses.flatMap((response) => consumedRecords(response, topicNames, offsetsAsked));
    } catch (error) {
      // Leadership moved since our metadata was fetched: look the leaders up again, once.
      if (retryOnStaleMetadata && kafkaErrorWhere(error, 'hasStaleMetadata', true)) {
        this.reader.clearMetadata();
        return this.fetchFromLeaders(requests, options, false);
      }
      const outOfRange = kafkaError(error, 'OFFSET_OUT_OF_RANGE');
      if (outOfRange) {
        throw new RemoteClientError(
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

/** One process's membership of a group, driven by the library's classic group protocol. */
class RemoteMembership implements GroupMembership {
  /** The assignment the library last reported, which the listener has been (or is being) told. */
  private current: TopicPartition[] = [];
  private notifications: Promise<void> = Promise.resolve();
  private listenerFailure: unknown = null;
  private rejoinTimer: NodeJS.Timeout | null = null;
  /** Why the library gave up rejoining, until a join succeeds again. */
  private membershipError: Error | null = null;
  private leaving: Promise<void> | null = null;
  private left = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly groupId: string,
    private readonly topics: string[],
    private readonly listener: AssignmentListener,
    private readonly options: ResolvedOptions,
    private readonly onLeft: () => void,
  ) {}

  get memberId(): string {
    return this.consumer.memberId ?? '';
  }

  /**
   * Resolves once the first assignment is known and assigned() has finished with it.
   *
   * The library rejoins on its own when a heartbeat learns of a rebalance and only reports the outcome
   * ('consumer:group:join' with the new assignment); it offers no hook that could hold the rejoin until
   * revoked() has finished. So revoked() is called as soon as the new assignment shows which partitions were
   * lost, which is also when their new owner learns of them.
   */
  async join(): Promise<void> {
    const { consumer } = this;
    consumer.topics.trackAll(...this.topics);
    consumer.on('consumer:group:join', (payload) => {
      this.membershipError = null;
      this.assignmentChanged(payload.assignments ?? []);
    });
    consumer.on('error', (error) => this.membershipLost(error));
    await consumer.joinGroup(this.groupOptions());
    await this.notifications;
    if (this.listenerFailure !== null) throw this.listenerFailure;
  }

  assignment(): TopicPartition[] {
    return this.current.map((p) => ({ topic: p.topic, partition: p.partition }));
  }

  /**
   * Commits with this member's generation, so the coordinator refuses a commit from a member that lost its
   * partitions. The library's own commit drops the metadata string, so this sends OffsetCommit itself.
   */
  async commit(offsets: CommitEntry[]): Promise<void> {
    if (this.left) {
      throw new RemoteClientError('NOT_A_MEMBER', `this member has left group '${this.groupId}'`);
    }
    if (this.listenerFailure !== null) throw this.listenerFailure;
    checkCommitEntries(offsets);
    if (offsets.length === 0) return;
    await this.sendCommit(offsets);
  }

  /** revoked() runs while this is still a member, so it can commit its final offsets. */
  leave(): Promise<void> {
    this.leaving ??= this.revokeAllAndLeave();
    return this.leaving;
  }

  private groupOptions(): GroupOptions {
    const { group } = this.options;
    return {
      sessionTimeout: group.sessionTimeoutMs,
      heartbeatInterval: group.heartbeatIntervalMs,
      rebalanceTimeout: group.rebalanceTimeoutMs,
      protocols: [{ name: 'roundrobin', version: 1 }],
    };
  }

  private assignmentChanged(assignments: GroupAssignment[]): void {
    if (this.leaving) return;
    const next = assignments
      .filter((a) => this.topics.includes(a.topic))
      .flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition })))
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    const lost = difference(this.current, next);
    const gained = difference(next, this.current);
    this.current = next;
    if (lost.length > 0) this.notify(() => this.listener.revoked(lost));
    if (gained.length > 0) this.notify(() => this.listener.assigned(gained));
  }

  /** Listener calls run one at a time in the order the changes happened. */
  private notify(call: () => Promise<void>): void {
    this.notifications = this.notifications.then(call).catch((error: unknown) => {
      this.listenerFailure ??= error;
    });
  }

  /**
   * The library gave up rejoining (the coordinator stayed unreachable through its retries): this process no
   * longer owns its partitions. It tries again after rejoinDelayMs until it gets back in or leaves.
   */
  private membershipLost(error: Error): void {
    if (this.leaving) return;
    this.membershipError = error;
    this.assignmentChanged([]);
    this.rejoinTimer = setTimeout(() => {
      this.rejoinTimer = null;
      if (this.leaving) return;
      this.consumer.joinGroup(this.groupOptions()).catch((error: Error) => this.membershipLost(error));
    }, this.options.group.rejoinDelayMs);
  }

  private async revokeAllAndLeave(): Promise<void> {
    if (this.rejoinTimer) clearTimeout(this.rejoinTimer);
    try {
      await this.notifications;
      const held = this.current;
      this.current = [];
      if (held.length > 0) await this.listener.revoked(held);
    } finally {
      this.left = true;
      this.onLeft();
      // Closing a consumer that is a member sends LeaveGroup, so the others rebalance at once.
      await this.consumer.close();
    }
  }

  private async sendCommit(offsets: CommitEntry[]): Promise<void> {
    const { consumer } = this;
    const memberId = consumer.memberId;
    if (memberId === null || this.membershipError !== null) {
      throw new RemoteClientError(
        'COMMIT_FAILED',
        `this process is rejoining group '${this.groupId}'; its partitions may have moved`,
        { cause: this.membershipError },
      );
    }
    const [coordinatorId, apis] = await Promise.all([consumer.findGroupCoordinator(), consumer.listApis()]);
    const supported = apis.find((api) => api.name === 'OffsetCommit');
    const commitApi = OFFSET_COMMIT_APIS.find(
      (api) => supported && api.version >= supported.minVersion && api.version <= supported.maxVersion,
    );
    if (!commitApi) {
      throw new RemoteClientError(
        'UNSUPPORTED_BY_CLUSTER',
        `the cluster's OffsetCommit versions ${supported?.minVersion}..${supported?.maxVersion} do not include ` +
          `${OFFSET_COMMIT_APIS.map((api) => api.version).join(' or ')}`,
      );
    }
    const broker = (await consumer.metadata({ topics: [] })).brokers.get(coordinatorId);
    if (!broker) throw new Error(`group coordinator ${coordinatorId} is not in the cluster metadata`);
    const connection = await consumer.connections.get(broker);
    const byTopic = new Map<string, CommitEntry[]>();
    for (const entry of offsets) {
      const entries = byTopic.get(entry.topic);
      if (entries) entries.push(entry);
      else byTopic.set(entry.topic, [entry]);
    }
    try {
      await commitApi.async(
        connection,
        this.groupId,
        consumer.generationId,
        memberId,
        null,
        [...byTopic].map(([name, entries]) => ({
          name,
          partitions: entries.map((entry) => ({
            partitionIndex: entry.partition,
            committedOffset: BigInt(entry.offset),
            committedLeaderEpoch: -1,
            committedMetadata: entry.metadata ?? null,
          })),
        })),
      );
    } catch (error) {
      const refused = ['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS'].find((id) =>
        kafkaError(error, id),
      );
      if (!refused) throw error;
      throw new RemoteClientError(
        'COMMIT_FAILED',
        `group '${this.groupId}' refused the commit with ${refused}: the group is rebalancing and these ` +
          'partitions may have moved to another member',
        { cause: error },
      );
    }
  }
}

function resolveOptions(options: RemoteLogClientOptions): ResolvedOptions {
  if (options.bootstrapBrokers.length === 0) {
    throw new RemoteClientError('INVALID_ARGUMENT', 'bootstrapBrokers is empty: give at least one host:port');
  }
  for (const broker of options.bootstrapBrokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) {
      throw new RemoteClientError('INVALID_ARGUMENT', `bootstrap broker '${broker}' is not host:port`);
    }
  }
  if (options.clientId === '') throw new RemoteClientError('INVALID_ARGUMENT', 'clientId is empty');
  const group = { ...REMOTE_CLIENT_DEFAULTS.group, ...options.group };
  if (
    group.heartbeatIntervalMs >= group.sessionTimeoutMs ||
    group.sessionTimeoutMs > group.rebalanceTimeoutMs
  ) {
    throw new RemoteClientError(
      'INVALID_ARGUMENT',
      `group timings need heartbeatIntervalMs < sessionTimeoutMs <= rebalanceTimeoutMs, got ` +
        `${group.heartbeatIntervalMs}, ${group.sessionTimeoutMs} and ${group.rebalanceTimeoutMs}`,
    );
  }
  return {
    bootstrapBrokers: options.bootstrapBrokers,
    clientId: options.clientId,
    connectTimeoutMs: options.connectTimeoutMs ?? REMOTE_CLIENT_DEFAULTS.connectTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? REMOTE_CLIENT_DEFAULTS.requestTimeoutMs,
    retries: options.retries ?? REMOTE_CLIENT_DEFAULTS.retries,
    retryDelayMs: options.retryDelayMs ?? REMOTE_CLIENT_DEFAULTS.retryDelayMs,
    metadataMaxAgeMs: options.metadataMaxAgeMs ?? REMOTE_CLIENT_DEFAULTS.metadataMaxAgeMs,
    replicationFactor: options.replicationFactor ?? REMOTE_CLIENT_DEFAULTS.replicationFactor,
    maxProduceRequestBytes: options.maxProduceRequestBytes ?? REMOTE_CLIENT_DEFAULTS.maxProduceRequestBytes,
    group,
  };
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** What GenericError and MultipleErrors share: findBy walks the causes gathered over retries and partitions. */
interface SearchableKafkaError {
  findBy(property: string, value: unknown): unknown;
}

function kafkaErrorWhere(error: unknown, property: string, value: unknown): boolean {
  if (!(error instanceof Error) || !GenericError.isGenericError(error)) return false;
  return (error as SearchableKafkaError).findBy(property, value) !== null;
}

function kafkaError(error: unknown, id: string): boolean {
  return kafkaErrorWhere(error, 'apiId', id);
}

function checkPartitionIndex(metadata: ClusterMetadata, target: TopicPartition): void {
  const count = metadata.topics.get(target.topic)?.partitionsCount;
  if (count === undefined) throw new UnknownTopicError(target.topic);
  if (!Number.isInteger(target.partition) || target.partition < 0 || target.partition >= count) {
    throw new RemoteClientError(
      'UNKNOWN_PARTITION',
      `topic '${target.topic}' has partitions 0..${count - 1}; there is no partition ${target.partition}`,
    );
  }
}

function checkFetchRequests(requests: FetchRequest[]): void {
  if (requests.length > REMOTE_CLIENT_LIMITS.maxPartitionsPerFetch) {
    throw new RemoteClientError(
      'INVALID_ARGUMENT',
      `${requests.length} partitions in one fetch; the limit is ${REMOTE_CLIENT_LIMITS.maxPartitionsPerFetch}`,
    );
  }
  const seen = new Set<string>();
  for (const request of requests) {
    const key = partitionKey(request.topic, request.partition);
    if (seen.has(key)) {
      throw new RemoteClientError(
        'INVALID_ARGUMENT',
        `${request.topic}-${request.partition} is requested twice in one fetch`,
      );
    }
    seen.add(key);
    if (!Number.isSafeInteger(request.offset) || request.offset < 0) {
      throw new RemoteClientError(
        'INVALID_ARGUMENT',
        `fetch offset ${request.offset} for ${request.topic}-${request.partition} must be an integer >= 0`,
      );
    }
  }
}

function checkCommitEntries(offsets: CommitEntry[]): void {
  for (const entry of offsets) {
    if (!Number.isSafeInteger(entry.offset) || entry.offset < 0) {
      throw new RemoteClientError(
        'INVALID_ARGUMENT',
        `committed offset ${entry.offset} for ${entry.topic}-${entry.partition} must be an integer >= 0`,
      );
    }
  }
}

/** The requested partitions grouped by the node that leads them, as the metadata says. */
function groupByLeader(metadata: ClusterMetadata, requests: FetchRequest[], maxBytes: number): LeaderFetch[] {
  const leaders = new Map<number, Map<string, fetchV17.FetchRequestTopic>>();
  for (const request of requests) {
    checkPartitionIndex(metadata, request);
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

/** Records at or after the requested offsets; transaction markers are not records. */
function consumedRecords(
  response: fetchV17.FetchResponse,
  topicNames: Map<string, string>,
  offsetsAsked: Map<string, number>,
): ConsumedRecord[] {
  const out: ConsumedRecord[] = [];
  for (const topicResponse of response.responses) {
    const topic = topicNames.get(topicResponse.topicId);
    if (topic === undefined) continue;
    for (const partitionResponse of topicResponse.partitions) {
      const partition = partitionResponse.partitionIndex;
      const from = BigInt(offsetsAsked.get(partitionKey(topic, partition)) ?? 0);
      for (const batch of partitionResponse.records ?? []) appendBatch(out, topic, partition, from, batch);
    }
  }
  return out;
}

function appendBatch(
  out: ConsumedRecord[],
  topic: string,
  partition: number,
  from: bigint,
  batch: RecordsBatch,
) {
  if ((batch.attributes & CONTROL_BATCH) !== 0) return;
  const logAppendTime = (batch.attributes & LOG_APPEND_TIME) !== 0;
  for (const record of batch.records) {
    const offset = batch.firstOffset + BigInt(record.offsetDelta);
    if (offset < from) continue;
    out.push({
      topic,
      partition,
      offset: Number(offset),
      timestamp: Number(logAppendTime ? batch.maxTimestamp : batch.firstTimestamp + record.timestampDelta),
      key: record.key,
      value: record.value,
      headers: record.headers.map(([key, value]) => ({ key: key?.toString('utf8') ?? '', value })),
    });
  }
}

function toMessage(record: OutgoingRecord): ProducedMessage {
  // Buffer keys keep repeated header names apart, which a string-keyed map would merge.
  const headers = new Map<Buffer, Buffer | undefined>();
  for (const header of record.headers ?? [])
    headers.set(Buffer.from(header.key, 'utf8'), header.value ?? undefined);
  return {
    topic: record.topic,
    partition: record.partition,
    key: record.key ?? undefined,
    value: record.value ?? undefined,
    headers,
    timestamp: BigInt(record.timestamp),
  };
}

/** Consecutive runs of records whose size bounds add up to at most maxBytes (each record fits alone). */
function chunkByBytes(records: OutgoingRecord[], maxBytes: number): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let chunk: OutgoingRecord[] = [];
  let chunkBytes = 0;
  for (const record of records) {
    const bytes = recordBytesMax(record);
    if (chunk.length > 0 && chunkBytes + bytes > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      chunkBytes = 0;
    }
    chunk.push(record);
    chunkBytes += bytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

function recordBytesMax(record: OutgoingRecord): number {
  let size = RECORD_FIXED_BYTES_MAX + nullableBytesSize(record.key) + nullableBytesSize(record.value);
  for (const header of record.headers ?? []) {
    size += 5 + Buffer.byteLength(header.key) + nullableBytesSize(header.value);
  }
  return size;
}

function nullableBytesSize(bytes: Buffer | null): number {
  return 5 + (bytes?.length ?? 0);
}

function difference(from: TopicPartition[], without: TopicPartition[]): TopicPartition[] {
  const excluded = new Set(without.map((p) => partitionKey(p.topic, p.partition)));
  return from.filter((p) => !excluded.has(partitionKey(p.topic, p.partition)));
}
