import type { LogManager, PartitionLog } from '../log/index.js';
import { decodeRecords, encodeRecordBatch, type RecordInput, splitBatches } from '../protocol/index.js';

export const OFFSETS_TOPIC = '__consumer_offsets';
const OFFSETS_SEGMENT_BYTES = 1024 * 1024;
const SNAPSHOT_MIN_RECORDS = 10_000;
const RECORDS_PER_BATCH = 1000;
/** Small segments so a snapshot rewrite lets the old records go soon; kept until a snapshot replaces them. */
export const OFFSETS_TOPIC_CONFIG = { 'segment.bytes': String(OFFSETS_SEGMENT_BYTES), 'retention.ms': '-1' };

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

/** A commit as the store holds it: with the log offset of the record it was written in. */
interface LiveEntry extends OffsetEntry {
  logOffset: number;
}

export interface OffsetEntry {
  topic: string;
  partition: number;
  value: CommittedOffset;
}

/**
 * How the store's records reach their log: on a single node a plain write and the flush policy's
 * durability; in a cluster the leader's write at its epoch, acknowledged once committed on the ISR.
 */
export interface OffsetLogWriter {
  write(payload: Buffer): { lastOffset: number };
  /** Resolves once every offset below `endOffset` is acknowledged; rejects with OffsetCommitError if not. */
  acknowledged(endOffset: number): Promise<void>;
}

/** A commit that did not become durable (or replicated): answered to the client with `errorCode`. */
export class OffsetCommitError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'OffsetCommitError';
  }
}

function keyOf(group: string, topic: string, partition: number): string {
  return JSON.stringify([group, topic, partition]);
}

function partitionKeyOf(topic: string, partition: number): string {
  return JSON.stringify([topic, partition]);
}

/**
 * Committed offsets kept in a log of their own: every commit is a durable append, the latest value per
 * (group, topic, partition) wins on replay, a deleted group leaves tombstones (null values), and a snapshot
 * rewrite bounds the log to the live entries.
 */
export class OffsetStore {
  /** group -> partition key -> entry: one group's offsets are found without scanning every group's. */
  private readonly live = new Map<string, Map<string, LiveEntry>>();
  private liveEntries = 0;
  private snapshotting = false;

  private constructor(
    private readonly log: PartitionLog,
    private readonly writer: OffsetLogWriter,
  ) {}

  /** A single node's store: one partition of its own internal log. */
  static async open(logs: LogManager): Promise<OffsetStore> {
    if (!logs.hasTopic(OFFSETS_TOPIC)) logs.createTopic(OFFSETS_TOPIC, 1, OFFSETS_TOPIC_CONFIG);
    const log = logs.partition(OFFSETS_TOPIC, 0);
    return OffsetStore.over(log, {
      write: (payload) => log.write(payload),
      acknowledged: () => log.durable(),
    });
  }

  /** The store kept in `log` and written through `writer` (a replicated partition this broker leads). */
  static over(log: PartitionLog, writer: OffsetLogWriter): OffsetStore {
    const store = new OffsetStore(log, writer);
    store.replay();
    return store;
  }

  /** Every record up to the log end: on a new leader, records not yet committed will be. */
  private replay(): void {
    // Appends still on their way to the file count too.
    this.log.settleWrites();
    let offset = this.log.logStartOffset;
    while (offset < this.log.logEndOffset) {
      const batches = splitBatches(this.log.readForReplica(offset, 1 << 20).records);
      if (batches.length === 0) break;
      for (const batch of batches) {
        for (const record of decodeRecords(batch)) {
          offset = record.offset + 1;
          const [group, topic, partition] = JSON.parse(record.key!.toString()) as [string, string, number];
          if (record.value === null) this.remove(group, topic, partition);
          else
            this.put(
              group,
              { topic, partition, value: JSON.parse(record.value.toString()) as CommittedOffset },
              record.offset,
            );
        }
      }
    }
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.live.get(group)?.get(partitionKeyOf(topic, partition))?.value;
  }

  /** Every committed offset of `group`. */
  entries(group: string): OffsetEntry[] {
    return [...(this.live.get(group)?.values() ?? [])];
  }

  groups(): string[] {
    return [...this.live.keys()];
  }

  /**
   * Visible to fetchOffsets once acknowledged (durable, and on a cluster committed on the ISR), as Kafka
   * does: a commit that a failover could still undo is never shown, so what readers see never goes back.
   * Acknowledgements come in log order, so a later commit of the same partition still wins.
   */
  async commit(group: string, entries: OffsetEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const records: RecordInput[] = entries.map((e) => ({
      key: Buffer.from(keyOf(group, e.topic, e.partition)),
      value: Buffer.from(JSON.stringify(e.value)),
    }));
    const { lastOffset } = this.writer.write(encodeRecordBatch(records));
    await this.writer.acknowledged(lastOffset + 1);
    const firstOffset = lastOffset - (entries.length - 1);
    for (const [i, e] of entries.entries()) this.put(group, e, firstOffset + i);
    await this.snapshotIfBloated();
  }

  /** Forgets every offset of `group`, durably: tombstones keep a replay from bringing them back. */
  async deleteGroup(group: string): Promise<void> {
    const doomed = this.entries(group);
    if (doomed.length === 0) return;
    let endOffset = 0;
    for (let i = 0; i < doomed.length; i += RECORDS_PER_BATCH) {
      const records: RecordInput[] = doomed
        .slice(i, i + RECORDS_PER_BATCH)
        .map((e) => ({ key: Buffer.from(keyOf(group, e.topic, e.partition)), value: null }));
      endOffset = this.writer.write(encodeRecordBatch(records)).lastOffset + 1;
    }
    this.liveEntries -= doomed.length;
    this.live.delete(group);
    await this.writer.acknowledged(endOffset);
    await this.snapshotIfBloated();
  }

  /**
   * Applies a commit written at `logOffset` unless a later one of the same partition was applied first: two
   * commits in flight may be acknowledged in one step and resume in either order, and readers must never see
   * a committed offset go back.
   */
  private put(group: string, entry: OffsetEntry, logOffset: number): void {
    let offsets = this.live.get(group);
    if (!offsets) {
      offsets = new Map();
      this.live.set(group, offsets);
    }
    const key = partitionKeyOf(entry.topic, entry.partition);
    const applied = offsets.get(key);
    if (applied && applied.logOffset > logOffset) return;
    if (!applied) this.liveEntries++;
    offsets.set(key, { ...entry, logOffset });
  }

  private remove(group: string, topic: string, partition: number): void {
    const offsets = this.live.get(group);
    if (!offsets?.delete(partitionKeyOf(topic, partition))) return;
    this.liveEntries--;
    if (offsets.size === 0) this.live.delete(group);
  }

  private async snapshotIfBloated(): Promise<void> {
    const recordsInLog = this.log.logEndOffset - this.log.logStartOffset;
    if (this.snapshotting || recordsInLog <= Math.max(SNAPSHOT_MIN_RECORDS, 4 * this.liveEntries)) return;
    this.snapshotting = true;
    const snapshotStart = this.log.logEndOffset;
    let endOffset = snapshotStart;
    const all = [...this.live].flatMap(([group, offsets]) =>
      [...offsets.values()].map((e) => ({ group, e })),
    );
    for (let i = 0; i < all.length; i += RECORDS_PER_BATCH) {
      const records = all.slice(i, i + RECORDS_PER_BATCH).map(({ group, e }) => ({
        key: Buffer.from(keyOf(group, e.topic, e.partition)),
        value: Buffer.from(JSON.stringify(e.value)),
      }));
      endOffset = this.writer.write(encodeRecordBatch(records)).lastOffset + 1;
    }
    try {
      await this.writer.acknowledged(endOffset);
      this.log.deleteSegmentsBefore(snapshotStart);
    } finally {
      this.snapshotting = false;
    }
  }

  get recordsInLog(): number {
    return this.log.logEndOffset - this.log.logStartOffset;
  }
}
