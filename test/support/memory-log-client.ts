import { LogClientError, UnknownTopicError } from '../../src/client/client-errors.js';
import type {
  AssignmentListener,
  CommitEntry,
  ConsumedRecord,
  DeleteRecordsEntry,
  FetchOptions,
  FetchRequest,
  GroupMembership,
  LogClient,
  OutgoingRecord,
  PartitionOffsets,
  TopicPartition,
  TopicSpec,
} from '../../src/client/types.js';

/** An in-memory log with the LogClient contract, for fast unit tests of pipelines (one member per group). */
export class MemoryLogClient implements LogClient {
  /** true: behave as a cluster other instances could join (its single member still gets every partition). */
  constructor(readonly sharedGroups = false) {}

  readonly topics = new Map<string, ConsumedRecord[][]>();
  readonly commits = new Map<string, CommitEntry>();
  /** Each topic's configs as created and altered. */
  readonly configs = new Map<string, Record<string, string>>();
  /** Per partition (`topic:partition`), where deleteRecords moved its log start; fetches below it fail. */
  readonly logStarts = new Map<string, number>();
  private waiters: Array<() => void> = [];

  async ensureTopic(spec: TopicSpec): Promise<number> {
    if (!this.topics.has(spec.name)) {
      this.configs.set(spec.name, { ...spec.config });
      this.topics.set(
        spec.name,
        Array.from({ length: spec.partitions }, () => []),
      );
    }
    return this.topics.get(spec.name)!.length;
  }

  async partitionCount(topic: string): Promise<number> {
    const partitions = this.topics.get(topic);
    if (!partitions) throw new UnknownTopicError(topic);
    return partitions.length;
  }

  private log(topic: string, partition: number): ConsumedRecord[] {
    const log = this.topics.get(topic)?.[partition];
    if (!log) throw new UnknownTopicError(topic);
    return log;
  }

  async offsets({ topic, partition }: TopicPartition): Promise<PartitionOffsets> {
    return { earliest: this.logStart(topic, partition), latest: this.log(topic, partition).length };
  }

  async alterTopicConfig(topic: string, config: Record<string, string>): Promise<string[]> {
    const current = this.configs.get(topic);
    if (!current) throw new UnknownTopicError(topic);
    const changed = Object.keys(config).filter((key) => current[key] !== config[key]);
    Object.assign(current, config);
    return changed;
  }

  async deleteRecords(entries: DeleteRecordsEntry[]): Promise<number[]> {
    return entries.map(({ topic, partition, offset }) => {
      if (offset > this.log(topic, partition).length)
        throw new LogClientError('OFFSET_OUT_OF_RANGE', `${topic}-${partition}: ${offset} is past the end`);
      const start = Math.max(offset, this.logStart(topic, partition));
      this.logStarts.set(`${topic}:${partition}`, start);
      return start;
    });
  }

  private logStart(topic: string, partition: number): number {
    return this.logStarts.get(`${topic}:${partition}`) ?? 0;
  }

  async produce(records: OutgoingRecord[]): Promise<number[]> {
    const offsets: number[] = [];
    for (const record of records) {
      const log = this.log(record.topic, record.partition);
      offsets.push(log.length);
      log.push({
        topic: record.topic,
        partition: record.partition,
        offset: log.length,
        timestamp: record.timestamp,
        key: record.key,
        value: record.value,
        headers: record.headers ?? [],
      });
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    return offsets;
  }

  async fetch(requests: FetchRequest[], options: FetchOptions): Promise<ConsumedRecord[]> {
    for (const r of requests) {
      if (r.offset < this.logStart(r.topic, r.partition))
        throw new LogClientError('OFFSET_OUT_OF_RANGE', `${r.topic}-${r.partition}: ${r.offset} was deleted`);
    }
    const collect = () =>
      requests.flatMap((r) => this.log(r.topic, r.partition).slice(r.offset, r.offset + 5000));
    let records = collect();
    if (records.length === 0 && options.maxWaitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.maxWaitMs);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      records = collect();
    }
    return records;
  }

  async joinGroup(
    _groupId: string,
    topics: string[],
    listener: AssignmentListener,
  ): Promise<GroupMembership> {
    const assignment = topics.flatMap((topic) =>
      this.topics.get(topic)!.map((_, partition) => ({ topic, partition, heldSince: 0 })),
    );
    await listener.assigned(assignment);
    return {
      memberId: 'memory-member',
      assignment: () => assignment,
      confirmAssignment: async () => assignment,
      commit: async (offsets) => {
        for (const entry of offsets) this.commits.set(`${entry.topic}:${entry.partition}`, entry);
      },
      leave: () => listener.revoked(assignment),
    };
  }

  async close(): Promise<void> {}

  /** Values of a topic as strings, all partitions, records written by tasks only (no watermark markers). */
  values(topic: string): string[] {
    return (this.topics.get(topic) ?? [])
      .flat()
      .filter((record) => record.value !== null)
      .map((record) => record.value!.toString());
  }
}
