import type { MessagePort } from 'node:worker_threads';
import {
  appendConsumed,
  appendIndexes,
  encodeAppends,
  type PartitionAppend,
  recordOffsets,
  type TopicLimits,
} from './batch-records.js';
import {
  checkDeleteRecords,
  checkFetchOptions,
  checkFetchRequests,
  checkJoinGroup,
  checkProduceRecords,
  checkTopicSpec,
} from './client-checks.js';
import { LogClientError } from './client-errors.js';
import { LOG_CLIENT_LIMITS } from './client-limits.js';
import { type FixedMembership, joinFixedShare } from './fixed-membership.js';
import {
  asBuffer,
  fromPortError,
  type LogPortCall,
  type LogPortReply,
  type LogPortRequest,
  type LogPortResult,
  mismatchedReply,
  transferable,
} from './log-port-messages.js';
import type {
  AssignmentListener,
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

interface PendingCall {
  resolve: (result: LogPortResult) => void;
  reject: (error: Error) => void;
}

/**
 * The LogClient of a worker thread whose log is owned by another thread of the same process (LogPortServer
 * on the other end of `port`). Records are encoded into batches and decoded from them here, so the owning
 * thread only writes and reads bytes; batches written move across without a copy. Its groups are shared with
 * the other workers only, each worker holding a fixed share of the partitions for as long as it lives: no
 * other member can take them over while it runs (sharedGroups is false, as for the embedded client).
 */
export class PortLogClient implements TextProducingClient {
  readonly sharedGroups = false;
  readonly producesText = true;
  private readonly pending = new Map<number, PendingCall>();
  private readonly topics = new Map<string, TopicLimits>();
  private readonly memberships = new Map<string, FixedMembership>();
  private nextId = 0;
  /** Produce calls describe their topics in call order, so their appends leave in call order too. */
  private described: Promise<unknown> = Promise.resolve();
  private closed = false;
  private closeDone: Promise<void> | null = null;

  constructor(private readonly port: MessagePort) {
    port.on('message', (reply: LogPortReply) => this.settle(reply));
  }

  async ensureTopic(spec: TopicSpec): Promise<number> {
    this.ensureOpen();
    checkTopicSpec(spec);
    const answer = await this.call({ op: 'ensureTopic', request: { spec } });
    if (answer.op !== 'ensureTopic') throw mismatchedReply('ensureTopic', answer.op);
    return answer.result;
  }

  async partitionCount(topic: string): Promise<number> {
    this.ensureOpen();
    return (await this.describe(topic)).partitions;
  }

  async offsets(partition: TopicPartition): Promise<PartitionOffsets> {
    this.ensureOpen();
    const answer = await this.call({ op: 'offsets', request: { partition } });
    if (answer.op !== 'offsets') throw mismatchedReply('offsets', answer.op);
    return answer.result;
  }

  async alterTopicConfig(topic: string, config: Record<string, string>): Promise<string[]> {
    this.ensureOpen();
    const answer = await this.call({ op: 'alterTopicConfig', request: { topic, config } });
    if (answer.op !== 'alterTopicConfig') throw mismatchedReply('alterTopicConfig', answer.op);
    return answer.result;
  }

  async deleteRecords(entries: DeleteRecordsEntry[]): Promise<number[]> {
    this.ensureOpen();
    checkDeleteRecords(entries);
    const answer = await this.call({ op: 'deleteRecords', request: { entries } });
    if (answer.op !== 'deleteRecords') throw mismatchedReply('deleteRecords', answer.op);
    return answer.result;
  }

  produce(records: readonly TextOutgoingRecord[]): Promise<number[]> {
    // Not async, and the records are let go once encoded: an async function holds its arguments until it
    // settles, and a worker's outputs held until the log's thread acknowledged them outlived scavenges and
    // filled its old generation.
    let topics: string[];
    try {
      this.ensureOpen();
      checkProduceRecords(records);
      topics = [...new Set(records.map((record) => record.topic))];
    } catch (error) {
      return Promise.reject(error);
    }
    const described = this.described.then(() => this.describeAll(topics));
    this.described = described.catch(() => undefined);
    return described
      .then(() => {
        const appends = encodeAppends(records, (topic) => this.limitsOf(topic));
        return { appends, appendOf: appendIndexes(records, appends) };
      })
      .then(({ appends, appendOf }) => this.append(appends, appendOf, topics));
  }

  private async append(
    appends: PartitionAppend[],
    appendOf: Uint32Array,
    topics: string[],
  ): Promise<number[]> {
    try {
      const answer = await this.call(
        { op: 'append', request: { appends } },
        transferable(appends.flatMap((append) => append.batches.map((batch) => batch.bytes))),
      );
      if (answer.op !== 'append') throw mismatchedReply('append', answer.op);
      return recordOffsets(appendOf, answer.result);
    } catch (error) {
      // The topic's max.message.bytes may have been changed since it was described.
      if (error instanceof LogClientError && error.code === 'MESSAGE_TOO_LARGE')
        for (const topic of topics) this.topics.delete(topic);
      throw error;
    }
  }

  async fetch(requests: FetchRequest[], options: FetchOptions): Promise<ConsumedRecord[]> {
    this.ensureOpen();
    checkFetchOptions(options, LOG_CLIENT_LIMITS.maxFetchWaitMsEmbedded);
    checkFetchRequests(requests);
    // The hook stays here: a function cannot cross to the log's thread.
    const { maxBytes, maxWaitMs } = options;
    const answer = await this.call({ op: 'fetch', request: { requests, options: { maxBytes, maxWaitMs } } });
    if (answer.op !== 'fetch') throw mismatchedReply('fetch', answer.op);
    const records: ConsumedRecord[] = [];
    for (const read of answer.result)
      appendConsumed(records, { ...read, bytes: asBuffer(read.bytes) }, options.readUpTo);
    return records;
  }

  async joinGroup(groupId: string, topics: string[], listener: AssignmentListener): Promise<GroupMembership> {
    this.ensureOpen();
    checkJoinGroup(groupId, topics, this.memberships);
    const answer = await this.call({ op: 'join', request: { groupId, topics } });
    if (answer.op !== 'join') throw mismatchedReply('join', answer.op);
    return joinFixedShare(
      this.memberships,
      `worker-${process.pid}-${groupId}`,
      groupId,
      answer.result,
      listener,
      async (offsets) => {
        const committed = await this.call({ op: 'commit', request: { groupId, offsets } });
        if (committed.op !== 'commit') throw mismatchedReply('commit', committed.op);
      },
    );
  }

  /**
   * Every group is left (revoked() may still produce and commit), then the client refuses further calls and
   * lets go of its port, so the worker's thread can end.
   */
  close(): Promise<void> {
    this.closeDone ??= this.shutDown();
    return this.closeDone;
  }

  private async shutDown(): Promise<void> {
    try {
      await Promise.all([...this.memberships.values()].map((membership) => membership.leave()));
    } finally {
      this.closed = true;
      this.port.close();
      for (const call of this.pending.values())
        call.reject(new LogClientError('CLIENT_CLOSED', 'the client closed'));
      this.pending.clear();
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new LogClientError('CLIENT_CLOSED', 'the client is closed');
  }

  private async describe(topic: string): Promise<TopicLimits> {
    const answer = await this.call({ op: 'describe', request: { topic } });
    if (answer.op !== 'describe') throw mismatchedReply('describe', answer.op);
    return answer.result;
  }

  private async describeAll(topics: string[]): Promise<void> {
    for (const topic of topics) {
      if (!this.topics.has(topic)) this.topics.set(topic, await this.describe(topic));
    }
  }

  private limitsOf(topic: string): TopicLimits {
    const limits = this.topics.get(topic);
    // Invariant: produce() describes every topic of its records before it encodes them.
    if (!limits) throw new Error(`topic '${topic}' was not described before its records were encoded`);
    return limits;
  }

  private call(request: LogPortRequest, transfer: ArrayBuffer[] = []): Promise<LogPortResult> {
    const id = this.nextId++;
    const message: LogPortCall = { kind: 'call', id, ...request };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.postMessage(message, transfer);
    });
  }

  private settle(reply: LogPortReply): void {
    const call = this.pending.get(reply.id);
    if (!call) return;
    this.pending.delete(reply.id);
    if (reply.ok) call.resolve(reply);
    else call.reject(fromPortError(reply.error));
  }
}
