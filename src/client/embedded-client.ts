import { randomUUID } from 'node:crypto';
import {
  type CommittedReadResult,
  LogError,
  type LogManager,
  type PartitionLog,
  type TopicDescription,
} from '../log/index.js';
import { ErrorCode, errorCodeName } from '../protocol/index.js';
import {
  appendConsumed,
  appendIndexes,
  encodeAppends,
  type PartitionAppend,
  type PartitionBatches,
  recordOffsets,
  type TopicLimits,
} from './batch-records.js';
import {
  checkCommitEntries,
  checkDeleteRecords,
  checkFetchOptions,
  checkFetchRequests,
  checkJoinGroup,
  checkPartitionIndex,
  checkProduceRecords,
  checkTopicSpec,
} from './client-checks.js';
import { LogClientError, UnknownTopicError } from './client-errors.js';
import { LOG_CLIENT_LIMITS } from './client-limits.js';
import { type CommittedBatches, committedBatches } from './committed-batches.js';
import { type FixedMembership, joinFixedShare } from './fixed-membership.js';
import type {
  AssignmentListener,
  CommitEntry,
  ConsumedRecord,
  DeleteRecordsEntry,
  FetchOptions,
  FetchRequest,
  GroupMembership,
  PartitionOffsets,
  TextOutgoingRecord,
  TextProducingClient,
  TopicPartition,
  TopicSpec,
} from './types.js';

/**
 * What the embedded client needs from the broker running in the same process. The broker's embeddedLog()
 * returns it; the broker does not import this module, TypeScript matches the shapes.
 */
export interface EmbeddedLog {
  readonly logs: Pick<LogManager, 'hasTopic' | 'describeTopic' | 'partition' | 'alterTopicConfig'>;
  /** Creates a topic as the broker's admin API does: name, partition count and config validated by the log. */
  createTopic(name: string, partitions: number, config: Record<string, string>): TopicDescription;
  /**
   * Records were written to the partition: counts them in the broker's metrics. Long polls are woken by
   * madeDurable: the records are not readable before the writer thread has them in the file.
   */
  appended(topic: string, partition: number, bytes: number, records: number): void;
  /** Written records became durable (under flush.policy=durable they become visible only now): wakes long polls. */
  madeDurable(topic: string, partition: number): void;
  /** Counts records handed to the in-process consumer in the broker's metrics. */
  served(topic: string, bytes: number, records: number): void;
  /**
   * Calls `onData` once, on the next append (transaction markers included: they move the last stable offset)
   * to any of `partitions`; returns a function that cancels the watch.
   */
  watch(partitions: TopicPartition[], onData: () => void): () => void;
  /**
   * Commits offsets outside the group protocol (Kafka's generation -1 commit), so group describe and the lag
   * metrics see them; resolves when durable, with a Kafka error code per partition.
   */
  commitOffsets(
    groupId: string,
    offsets: CommitEntry[],
  ): Promise<Array<{ topic: string; partition: number; errorCode: number }>>;
  /** Members that joined the group over the Kafka protocol. */
  groupMemberCount(groupId: string): number;
}

/** What the Kafka errors a generation -1 commit can meet mean here. */
const COMMIT_ERROR_CAUSES: ReadonlyMap<number, string> = new Map([
  [ErrorCode.OFFSET_METADATA_TOO_LARGE, 'metadata is limited to 4096 bytes'],
  [ErrorCode.NOT_COORDINATOR, 'the broker is shutting down'],
  [
    ErrorCode.ILLEGAL_GENERATION,
    'a consumer joined the group over the Kafka protocol; the embedded client must be its only consumer',
  ],
  [ErrorCode.GROUP_MAX_SIZE_REACHED, 'the broker holds as many groups as it allows'],
]);

interface PartitionTarget extends TopicPartition {
  log: PartitionLog;
}

interface FetchTarget extends PartitionTarget {
  offset: number;
}

/**
 * The LogClient of a process that runs the broker itself: produce and fetch go straight to the partition logs,
 * with no socket and no protocol encoding beyond the record batch the log stores. External Kafka clients see
 * the same data, are woken by its appends and see its group's committed offsets.
 *
 * One process owns a data directory, so a group joined here has this process as its only member and gets every
 * partition of its topics. Scaling a pipeline out to several instances sharing a group means running them
 * against a Kafka cluster with the remote client.
 */
export class EmbeddedLogClient implements TextProducingClient {
  readonly sharedGroups = false;
  readonly producesText = true;
  private readonly memberships = new Map<string, FixedMembership>();
  private readonly waitingFetches = new Set<() => void>();
  private fetchRound = 0;
  private closing = false;
  private closed = false;
  private closeDone: Promise<void> | null = null;

  constructor(private readonly log: EmbeddedLog) {}

  async ensureTopic(spec: TopicSpec): Promise<number> {
    this.ensureOpen();
    checkTopicSpec(spec);
    const { logs } = this.log;
    if (logs.hasTopic(spec.name)) return logs.describeTopic(spec.name).partitions;
    return this.log.createTopic(spec.name, spec.partitions, spec.config ?? {}).partitions;
  }

  async partitionCount(topic: string): Promise<number> {
    this.ensureOpen();
    return this.topic(topic).partitions;
  }

  async offsets(partition: TopicPartition): Promise<PartitionOffsets> {
    this.ensureOpen();
    const { log } = this.target(partition.topic, partition.partition);
    // As a Kafka ListOffsets read_committed: the latest offset a read_committed fetch reaches.
    return { earliest: log.logStartOffset, latest: log.lastStableOffset };
  }

  /** Compares with the topic's overrides: a key set to the broker's default is written as an override too. */
  async alterTopicConfig(topic: string, config: Record<string, string>): Promise<string[]> {
    this.ensureOpen();
    const { overrides } = this.topic(topic);
    const changed = Object.keys(config).filter((key) => overrides[key] !== config[key]);
    if (changed.length > 0) this.log.logs.alterTopicConfig(topic, { ...overrides, ...config });
    return changed;
  }

  /** Every entry is checked before any log start moves, as the broker's DeleteRecords handler bounds them. */
  async deleteRecords(entries: DeleteRecordsEntry[]): Promise<number[]> {
    this.ensureOpen();
    checkDeleteRecords(entries);
    const targets = entries.map((entry) => ({
      ...this.target(entry.topic, entry.partition),
      offset: entry.offset,
    }));
    for (const { topic, partition, log, offset } of targets) {
      if (offset > log.highWatermark) {
        throw new LogClientError(
          'OFFSET_OUT_OF_RANGE',
          `cannot delete records of ${topic}-${partition} below ${offset}: past its high watermark ${log.highWatermark}`,
        );
      }
    }
    return targets.map(({ log, offset }) => log.advanceLogStartOffset(offset));
  }

  /**
   * Encodes one batch per partition (more when max.message.bytes requires) and writes every batch before the
   * first await, so overlapping calls keep their order per partition and share the next fsync.
   */
  produce(records: readonly TextOutgoingRecord[]): Promise<number[]> {
    // Not async: an async function holds its arguments until it settles, and the records are garbage once
    // encoded (held until the fsync, a worker's outputs outlived scavenges and filled its old generation).
    let appends: PartitionAppend[];
    let appendOf: Uint32Array;
    try {
      this.ensureOpen();
      checkProduceRecords(records);
      // Everything is encoded and checked before the first write, so a bad record appends nothing.
      appends = encodeAppends(records, (topic) => this.describeTopic(topic));
      appendOf = appendIndexes(records, appends);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.appendBatches(appends).then((baseOffsets) => recordOffsets(appendOf, baseOffsets));
  }

  /** What a client that encodes its own batches needs to know of a topic. */
  describeTopic(topic: string): TopicLimits {
    this.ensureOpen();
    const { partitions, config } = this.topic(topic);
    return { partitions, maxMessageBytes: config.maxMessageBytes };
  }

  /**
   * Writes encoded batches, every one before the first await (see produce()), and resolves once each
   * partition written is durable, to the offset of each append's first batch (the others follow it: nothing
   * else writes between them). A failing write (disk full) can still leave the partitions written before it
   * appended, as Kafka's per-partition produce errors do.
   */
  async appendBatches(appends: readonly PartitionAppend[]): Promise<number[]> {
    this.ensureOpen();
    const targets = appends.map((append) => ({
      ...append,
      target: this.target(append.topic, append.partition),
    }));
    const durable: Promise<void>[] = [];
    const baseOffsets: number[] = [];
    try {
      for (const { target, batches } of targets) {
        for (const [i, batch] of batches.entries()) {
          const { baseOffset } = target.log.write(batch.bytes);
          if (i === 0) baseOffsets.push(baseOffset);
          this.log.appended(target.topic, target.partition, batch.bytes.length, batch.records);
        }
        durable.push(target.log.durable().then(() => this.log.madeDurable(target.topic, target.partition)));
      }
    } catch (error) {
      // The write error is the call's outcome; the earlier partitions' fsyncs must not reject unobserved.
      for (const wait of durable) wait.catch(() => undefined);
      throw error;
    }
    await Promise.all(durable);
    return baseOffsets;
  }

  async fetch(requests: FetchRequest[], options: FetchOptions): Promise<ConsumedRecord[]> {
    const records: ConsumedRecord[] = [];
    for (const read of await this.fetchBatches(requests, options)) {
      this.log.served(read.topic, read.bytes.length, appendConsumed(records, read, options.readUpTo));
    }
    return records;
  }

  /**
   * Whole batches read committed (below the last stable offset, without markers and aborted transactions'
   * batches: see committedBatches), starting each call at the next partition in turn so that one partition's
   * backlog cannot starve the others of `maxBytes`. A partition whose batches were all left out answers, once
   * the wait is over, with no bytes and the offset past them, so its reader moves on. Writing a marker wakes a
   * waiting fetch.
   */
  async fetchBatches(requests: FetchRequest[], options: FetchOptions): Promise<PartitionBatches[]> {
    this.ensureOpen();
    checkFetchOptions(options, LOG_CLIENT_LIMITS.maxFetchWaitMsEmbedded);
    checkFetchRequests(requests);
    const targets = this.fetchTargets(requests);
    if (targets.length === 0) return [];
    const first = this.fetchRound++ % targets.length;
    const ordered = [...targets.slice(first), ...targets.slice(0, first)];
    const deadline = Date.now() + options.maxWaitMs;
    for (;;) {
      const reads = readAvailable(ordered, options.maxBytes);
      const remainingMs = deadline - Date.now();
      // Reads of markers and aborted batches alone wait too: a reader at the LSO waits there for data.
      if (reads.some((read) => read.bytes.length > 0) || remainingMs <= 0 || this.closing) return reads;
      await this.waitForData(ordered, remainingMs);
    }
  }

  /**
   * Commits offsets outside the group protocol (a generation -1 commit); rejects with COMMIT_FAILED naming
   * each partition the broker refused.
   */
  async commitOffsets(groupId: string, offsets: CommitEntry[]): Promise<void> {
    checkCommitEntries(offsets);
    if (offsets.length === 0) return;
    const failed = (await this.log.commitOffsets(groupId, offsets)).filter(
      (r) => r.errorCode !== ErrorCode.NONE,
    );
    if (failed.length > 0) {
      const reasons = failed.map((f) => `${f.topic}-${f.partition}: ${commitErrorText(f.errorCode)}`);
      throw new LogClientError(
        'COMMIT_FAILED',
        `group '${groupId}' refused the commit: ${reasons.join('; ')}`,
      );
    }
  }

  /** Refuses a group that consumers joined over the Kafka protocol: this process must be its only consumer. */
  checkGroupIsOurs(groupId: string): void {
    const members = this.log.groupMemberCount(groupId);
    if (members > 0) {
      throw new LogClientError(
        'GROUP_HAS_MEMBERS',
        `group '${groupId}' has ${members} member(s) joined over the Kafka protocol; the embedded client ` +
          'consumes a group alone (share a group across processes with the remote client)',
      );
    }
  }

  async joinGroup(groupId: string, topics: string[], listener: AssignmentListener): Promise<GroupMembership> {
    this.ensureOpen();
    if (this.closing) throw new LogClientError('CLIENT_CLOSED', 'the client is closing');
    checkJoinGroup(groupId, topics, this.memberships);
    this.checkGroupIsOurs(groupId);
    return joinFixedShare(
      this.memberships,
      `embedded-${randomUUID()}`,
      groupId,
      this.partitionsOf(topics),
      listener,
      (offsets) => this.commitOffsets(groupId, offsets),
    );
  }

  /**
   * Waiting fetches return at once, then every group is left (revoked() may still produce and commit), then
   * the client refuses further calls. The broker stays up: it belongs to whoever started it.
   */
  close(): Promise<void> {
    this.closeDone ??= this.shutDown();
    return this.closeDone;
  }

  private async shutDown(): Promise<void> {
    this.closing = true;
    for (const wake of [...this.waitingFetches]) wake();
    try {
      await Promise.all([...this.memberships.values()].map((membership) => membership.leave()));
    } finally {
      this.closed = true;
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new LogClientError('CLIENT_CLOSED', 'the client is closed');
  }

  private topic(name: string): TopicDescription {
    if (!this.log.logs.hasTopic(name)) throw new UnknownTopicError(name);
    return this.log.logs.describeTopic(name);
  }

  private target(topic: string, partition: number): PartitionTarget {
    checkPartitionIndex(topic, partition, this.topic(topic).partitions);
    return { topic, partition, log: this.log.logs.partition(topic, partition) };
  }

  private fetchTargets(requests: FetchRequest[]): FetchTarget[] {
    return requests.map((request) => ({
      ...this.target(request.topic, request.partition),
      offset: request.offset,
    }));
  }

  /** Every partition of `topics`, in topic then partition order. */
  partitionsOf(topics: readonly string[]): TopicPartition[] {
    return [...new Set(topics)].flatMap((topic) =>
      Array.from({ length: this.topic(topic).partitions }, (_, partition) => ({ topic, partition })),
    );
  }

  /** Resolves on the next append to any of `targets`, after `waitMs`, or when the client closes. */
  private waitForData(targets: TopicPartition[], waitMs: number): Promise<void> {
    const { maxWaitingFetches } = LOG_CLIENT_LIMITS;
    if (this.waitingFetches.size >= maxWaitingFetches) {
      throw new LogClientError(
        'TOO_MANY_WAITING_FETCHES',
        `${this.waitingFetches.size} fetches are already waiting for data; the limit is ${maxWaitingFetches}`,
      );
    }
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        cancelWatch();
        this.waitingFetches.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, waitMs);
      const cancelWatch = this.log.watch(targets, wake);
      this.waitingFetches.add(wake);
    });
  }
}

/** Kafka's name for a commit error, with what it means here when that is worth saying. */
function commitErrorText(errorCode: number): string {
  const name = errorCodeName(errorCode) ?? `Kafka error ${errorCode}`;
  const cause = COMMIT_ERROR_CAUSES.get(errorCode);
  return cause === undefined ? name : `${name} (${cause})`;
}

/** Past `maxBytes` only the first partition that has data still returns its first batch (as Kafka's KIP-74). */
function readAvailable(targets: FetchTarget[], maxBytes: number): PartitionBatches[] {
  const reads: PartitionBatches[] = [];
  let bytesLeft = maxBytes;
  for (const target of targets) {
    if (bytesLeft <= 0) break;
    const read = readPartition(target, bytesLeft);
    if (read === null) continue;
    bytesLeft -= read.bytesRead;
    reads.push({
      topic: target.topic,
      partition: target.partition,
      offset: target.offset,
      bytes: read.bytes,
      endOffset: read.endOffset,
      maxDecompressedBytes: target.log.maxDecompressedBytes,
    });
  }
  return reads;
}

/**
 * The committed batches of `target` from its offset on, or null when there is nothing below the last stable
 * offset. A read that held only markers and aborted batches goes on from past them while `maxBytes` allows,
 * so a reader stopped at one gets the records behind it whether or not it takes readUpTo.
 */
function readPartition(
  target: FetchTarget,
  maxBytes: number,
): (CommittedBatches & { bytesRead: number }) | null {
  let offset = target.offset;
  const { log } = target;
  // A reader at the last stable offset (most partitions of most polls) has nothing to read: no read is made.
  if (offset === log.lastStableOffset && offset >= log.logStartOffset) return null;
  let bytesRead = 0;
  for (;;) {
    const read = readCommitted(target, offset, maxBytes - bytesRead);
    if (read.records.length === 0)
      return bytesRead === 0 ? null : { bytes: read.records, endOffset: offset, bytesRead };
    bytesRead += read.records.length;
    const batches = committedBatches(read.records, offset, read.abortedTransactions);
    offset = batches.endOffset;
    if (batches.bytes.length > 0 || bytesRead >= maxBytes) return { ...batches, bytesRead };
  }
}

function readCommitted(target: FetchTarget, offset: number, maxBytes: number): CommittedReadResult {
  try {
    return target.log.readCommitted(offset, maxBytes);
  } catch (error) {
    if (!(error instanceof LogError) || error.code !== 'OFFSET_OUT_OF_RANGE') throw error;
    throw new LogClientError(
      'OFFSET_OUT_OF_RANGE',
      `offset ${offset} of ${target.topic}-${target.partition} is outside the log ` +
        `[${target.log.logStartOffset}, ${target.log.logEndOffset}]`,
    );
  }
}
