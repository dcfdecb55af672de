import type { LogManager, PartitionLog } from '../log/index.js';
import { decodeRecords, encodeRecordBatch, type RecordInput, splitBatches } from '../protocol/index.js';

export const OFFSETS_TOPIC = '__consumer_offsets';
/** Small segments so a snapshot rewrite lets the old records go soon. */
const OFFSETS_SEGMENT_BYTES = 1024 * 1024;
const SNAPSHOT_MIN_RECORDS = 10_000;
const RECORDS_PER_BATCH = 1000;

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

export interface OffsetEntry {
  topic: string;
  partition: number;
  value: CommittedOffset;
}

function keyOf(group: string, topic: string, partition: number): string {
  return JSON.stringify([group, topic, partition]);
}

/**
 * Committed offsets kept in a log of their own: every commit is a durable append, the latest value per
 * (group, topic, partition) wins on replay, and a snapshot rewrite bounds the log to the live entries.
 */
export class OffsetStore {
  private readonly live = new Map<string, CommittedOffset>();
  private snapshotting = false;

  private constructor(private readonly log: PartitionLog) {}

  static async open(logs: LogManager): Promise<OffsetStore> {
    if (!logs.hasTopic(OFFSETS_TOPIC)) {
      logs.createTopic(OFFSETS_TOPIC, 1, {
        'segment.bytes': String(OFFSETS_SEGMENT_BYTES),
        'retention.ms': '-1',
      });
    }
    const store = new OffsetStore(logs.partition(OFFSETS_TOPIC, 0));
    store.replay();
    return store;
  }

  private replay(): void {
    let offset = this.log.logStartOffset;
    while (offset < this.log.highWatermark) {
      const batches = splitBatches(this.log.read(offset, 1 << 20).records);
      if (batches.length === 0) break;
      for (const batch of batches) {
        for (const record of decodeRecords(batch)) {
          offset = record.offset + 1;
          const key = record.key!.toString();
          if (record.value === null) this.live.delete(key);
          else this.live.set(key, JSON.parse(record.value.toString()) as CommittedOffset);
        }
      }
    }
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.live.get(keyOf(group, topic, partition));
  }

  /** Every committed offset of `group`. */
  entries(group: string): OffsetEntry[] {
    const found: OffsetEntry[] = [];
    for (const [key, value] of this.live) {
      const [g, topic, partition] = JSON.parse(key) as [string, string, number];
      if (g === group) found.push({ topic, partition, value });
    }
    return found;
  }

  groups(): string[] {
    return [...new Set([...this.live.keys()].map((key) => (JSON.parse(key) as [string])[0]))];
  }

  /** Visible at once to fetchOffsets; resolves when durable. */
  async commit(group: string, entries: OffsetEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const records: RecordInput[] = entries.map((e) => ({
      key: Buffer.from(keyOf(group, e.topic, e.partition)),
      value: Buffer.from(JSON.stringify(e.value)),
    }));
    this.log.write(encodeRecordBatch(records));
    for (const e of entries) this.live.set(keyOf(group, e.topic, e.partition), e.value);
    await this.log.durable();
    await this.snapshotIfBloated();
  }

  private async snapshotIfBloated(): Promise<void> {
    const recordsInLog = this.log.logEndOffset - this.log.logStartOffset;
    if (this.snapshotting || recordsInLog <= Math.max(SNAPSHOT_MIN_RECORDS, 4 * this.live.size)) return;
    this.snapshotting = true;
    const snapshotStart = this.log.logEndOffset;
    const all = [...this.live];
    for (let i = 0; i < all.length; i += RECORDS_PER_BATCH) {
      const records = all
        .slice(i, i + RECORDS_PER_BATCH)
        .map(([key, value]) => ({ key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)) }));
      this.log.write(encodeRecordBatch(records));
    }
    try {
      await this.log.durable();
      this.log.deleteSegmentsBefore(snapshotStart);
    } finally {
      this.snapshotting = false;
    }
  }

  get recordsInLog(): number {
    return this.log.logEndOffset - this.log.logStartOffset;
  }
}
