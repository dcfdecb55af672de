import type { RecordHeader } from '../protocol/index.js';

export type { RecordHeader };

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A record read from a partition. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: number;
  /** Milliseconds since the epoch: the producer's create time or the broker's log-append time. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** A record to append to one partition (the caller chooses the partition). */
export interface OutgoingRecord {
  topic: string;
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers?: RecordHeader[];
}

/**
 * An OutgoingRecord whose value may also be text, for the clients that encode their batches themselves: they
 * write it as UTF-8 straight into the batch, so the caller allocates no Buffer per record.
 */
export interface TextOutgoingRecord extends Omit<OutgoingRecord, 'value'> {
  value: Buffer | string | null;
}

/** A LogClient that encodes its batches itself (the embedded and the port client): produce() takes text values. */
export interface TextProducingClient extends LogClient {
  readonly producesText: true;
  produce(records: readonly TextOutgoingRecord[]): Promise<number[]>;
}

export function producesText(client: LogClient): client is TextProducingClient {
  return 'producesText' in client && client.producesText === true;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Kafka topic configs, e.g. { 'cleanup.policy': 'compact' }. */
  config?: Record<string, string>;
}

export interface FetchRequest extends TopicPartition {
  offset: number;
}

export interface FetchOptions {
  /** Upper bound on bytes returned across all partitions (at least one batch is always returned). */
  maxBytes: number;
  /** How long to wait for data when none is available yet. */
  maxWaitMs: number;
  /**
   * Told, for each partition the fetch read batches of, the offset after the last of them. Not every offset
   * holds a record for readers (transaction markers, records of aborted transactions, compacted gaps): a
   * caller that keeps its place by the records it gets moves past those with this, instead of asking for
   * them again. Called before the fetch resolves.
   */
  readUpTo?(topic: string, partition: number, nextOffset: number): void;
}

export interface PartitionOffsets {
  /** The first offset still in the log. */
  earliest: number;
  /**
   * The end of what readers read: the offset the next record will get (high watermark), or, while a
   * transaction is open in the partition, its first offset (the last stable offset).
   */
  latest: number;
}

/** Where DeleteRecords moves a partition's log start: every record below `offset` goes. */
export interface DeleteRecordsEntry extends TopicPartition {
  offset: number;
}

export interface CommitEntry extends TopicPartition {
  offset: number;
  metadata?: string;
}

/** A partition a group member holds, and since when. */
export interface HeldPartition extends TopicPartition {
  /**
   * The group generation since which this member has held it without a break. A member that lost a partition
   * (or missed a generation, in which another member may have held it) and got it back has a later one, so
   * whatever it started for the partition before cannot pass for the current holder.
   */
  heldSince: number;
}

/** Told when partitions are given to this member and before they are taken away. */
export interface AssignmentListener {
  assigned(partitions: HeldPartition[]): Promise<void>;
  /** Must finish (flush, checkpoint) before resolving: the partitions may go to another member next. */
  revoked(partitions: TopicPartition[]): Promise<void>;
}

/** This process's membership in a consumer group. */
export interface GroupMembership {
  readonly memberId: string;
  /** The partitions currently assigned to this member. */
  assignment(): TopicPartition[];
  /**
   * The partitions this member holds, confirmed with the group coordinator after the call began: a member the
   * group has moved on without (a process frozen or starved past its session) learns it here and gets []
   * (its partitions are then revoked). Writers call it before writing on behalf of their partitions, so a
   * member that lost them cannot go on writing beside their new owner.
   */
  confirmAssignment(): Promise<HeldPartition[]>;
  commit(offsets: CommitEntry[]): Promise<void>;
  /** Leaves the group; the listener's revoked() is called for what was assigned. */
  leave(): Promise<void>;
}

/**
 * The platform's view of a Kafka-compatible log: the embedded broker read and written in-process, or a remote
 * cluster through a Kafka client library. Everything above this module (streams, simulate, mirror) uses only
 * this interface, so the same code runs in one process or as many instances against any Kafka cluster.
 */
export interface LogClient {
  /** Whether other processes can be members of the groups this client joins (false: it always has them all). */
  readonly sharedGroups: boolean;
  /** Creates the topic if it is missing; resolves to its partition count (existing topics are not altered). */
  ensureTopic(spec: TopicSpec): Promise<number>;
  /** Partition count of an existing topic; rejects with UnknownTopicError if there is none. */
  partitionCount(topic: string): Promise<number>;
  offsets(partition: TopicPartition): Promise<PartitionOffsets>;
  /**
   * Sets each key of `config` on an existing topic whose value differs, leaving its other configs as they are
   * (Kafka's IncrementalAlterConfigs SET); resolves to the keys it changed.
   */
  alterTopicConfig(topic: string, config: Record<string, string>): Promise<string[]>;
  /**
   * Deletes the records below each entry's offset (Kafka's DeleteRecords): the partition's log start moves
   * there and segments wholly below it are removed; an offset past the high watermark is refused. Resolves to
   * each partition's log start afterwards, in the order of `entries`.
   */
  deleteRecords(entries: DeleteRecordsEntry[]): Promise<number[]>;
  /**
   * Appends records and resolves once they are acknowledged by all in-sync replicas (acks=all), to the offset
   * each record got, in the order of `records` (the HTTP REST proxy answers with them). Records for one
   * partition keep their order, also across calls that overlap in time.
   */
  produce(records: OutgoingRecord[]): Promise<number[]>;
  /**
   * Records at or after each requested offset, waiting up to maxWaitMs when there are none yet. Reads are
   * read_committed, as a Kafka consumer's with isolation.level=read_committed: only below the last stable
   * offset, never a transaction marker nor a record of an aborted transaction.
   */
  fetch(requests: FetchRequest[], options: FetchOptions): Promise<ConsumedRecord[]>;
  /** Joins (or creates) a consumer group over `topics`; assignment changes are told to the listener. */
  joinGroup(groupId: string, topics: string[], listener: AssignmentListener): Promise<GroupMembership>;
  close(): Promise<void>;
}

/** Consumer offsets committed in the same transaction as the records (Kafka's TxnOffsetCommit). */
export interface TransactionalOffsets {
  groupId: string;
  /** Each entry's offset is the next one to consume, as in GroupMembership.commit. */
  entries: CommitEntry[];
  /**
   * The committing group member's generation and id, which the group coordinator checks (KIP-447); without
   * them the commit is a standalone one, accepted whatever the group's state.
   */
  member?: { generationId: number; memberId: string };
}

export interface TransactionalRunOptions {
  offsets?: TransactionalOffsets;
}

/**
 * Writes through one Kafka transactional producer: each run() is one transaction, committed when it
 * resolves, aborted when it rejects (a rejection from the commit itself leaves the outcome unknown, as a lost
 * produce response does). Starting the producer (init(), or the first run) fences every earlier producer of the
 * same transactional id: the cluster finishes their open transaction (aborts it, unless its commit was under
 * way) and refuses their writes from then on. A writer fenced in turn rejects every call with
 * ProducerFencedError.
 */
export interface TransactionalWriter {
  readonly transactionalId: string;
  /** Starts the producer now (InitProducerId), fencing earlier producers of the id before resolving. */
  init(): Promise<void>;
  /** Resolves to each record's offset, in the order of `records`, once the transaction is committed. */
  run(records: OutgoingRecord[], options?: TransactionalRunOptions): Promise<number[]>;
  /** Finishes queued runs, then closes the producer. */
  close(): Promise<void>;
}

/** A LogClient that can also write Kafka transactions: the remote client. */
export interface TransactionalLogClient extends LogClient {
  /** A writer whose runs are transactions of the producer with this transactional id. */
  transactionalWriter(transactionalId: string): TransactionalWriter;
  /**
   * The partition's high watermark: where its next record goes, open transactions included (offsets().latest
   * stops before the first open transaction). Once the last stable offset reaches it, every transaction begun
   * before has ended.
   */
  highWatermark(partition: TopicPartition): Promise<number>;
}

/**
 * Records of one partition already encoded as the records section of a RecordBatch v2 (uncompressed, offset
 * deltas 0 to count - 1, timestamp deltas from baseTimestamp), for a writer to send as one batch.
 */
export interface EncodedRecords extends TopicPartition {
  records: Buffer;
  count: number;
  baseTimestamp: number;
  maxTimestamp: number;
  /**
   * Room for a batch header (61 bytes) followed by `records`, when the caller has it: an uncompressed batch is
   * then framed in place instead of copied (the writer overwrites the header bytes at every attempt).
   */
  framed?: Buffer;
}

/**
 * Writes pre-encoded records through one producer of its own, as whole batches: the writer adds only what a
 * batch header needs of the producer (id, epoch, sequence numbers, the transactional flag), the compression
 * of the client and the CRC. Every write() is acknowledged with acks=all; a transactional writer makes each
 * write one transaction, fencing earlier producers of its id as a TransactionalWriter does.
 */
export interface BatchWriter {
  /** Starts the producer now (InitProducerId); a transactional one fences earlier producers of its id. */
  init(): Promise<void>;
  /**
   * Appends each entry as one batch; entries of one partition keep their order. An idempotent writer never
   * sends a failed write again (its records may have been appended): the caller finds out from the target.
   */
  write(batches: EncodedRecords[]): Promise<void>;
  close(): Promise<void>;
}

/** A TransactionalLogClient that also writes pre-encoded batches: the remote client. */
export interface BatchTargetClient extends TransactionalLogClient {
  /** A transactional writer under this id, or an idempotent one for null. Closed with the client. */
  batchWriter(transactionalId: string | null): BatchWriter;
}

export function supportsTransactions(client: LogClient): client is TransactionalLogClient {
  return 'transactionalWriter' in client && 'highWatermark' in client;
}
