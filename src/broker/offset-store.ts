import type { LogManager, PartitionLog } from '../log/index.js';
import {
  ControlRecordType,
  controlRecordType,
  decodeRecords,
  encodeRecordBatch,
  isControlBatch,
  isTransactional,
  type RecordInput,
  readBatchHeader,
  splitBatches,
  TRANSACTIONAL_BIT,
} from '../protocol/index.js';
import {
  type CommittedOffset,
  decodeOffsetsTopicRecord,
  groupKey,
  groupValue,
  offsetKey,
  offsetValue,
  type StoredGroup,
} from './offset-records.js';

export type { CommittedOffset, StoredGroup } from './offset-records.js';

export const OFFSETS_TOPIC = '__consumer_offsets';
const OFFSETS_SEGMENT_BYTES = 1024 * 1024;
const SNAPSHOT_MIN_RECORDS = 10_000;
const RECORDS_PER_BATCH = 1000;
/**
 * Compacted as Kafka's: the latest record of each key is what a reader of the topic needs. Small segments so a
 * snapshot rewrite lets the old records go soon; kept until a snapshot or the cleaner replaces them.
 */
export const OFFSETS_TOPIC_CONFIG = {
  'cleanup.policy': 'compact',
  'segment.bytes': String(OFFSETS_SEGMENT_BYTES),
  'retention.ms': '-1',
};

/** A commit as the store holds it: with the log offset of the record it was written in. */
interface LiveEntry extends OffsetEntry {
  logOffset: number;
}

/** The producer of a transaction, as its records and markers carry it. */
export interface TransactionProducer {
  producerId: number;
  producerEpoch: number;
}

/**
 * Kafka's coordinator writes TxnOffsetCommit records at sequence 0: they are not deduplicated by sequence (the
 * producer retries a TxnOffsetCommit as a whole), but a transactional batch must carry one.
 */
const TXN_OFFSETS_SEQUENCE = 0;

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

function partitionKeyOf(topic: string, partition: number): string {
  return JSON.stringify([topic, partition]);
}

/** What replaying a log found besides the store's records. */
export interface ReplaySummary {
  /** Records of the JSON format the store wrote before Kafka's; rewritten in Kafka's on open. */
  legacyRecords: number;
  /** Records neither format decodes (another key version, foreign bytes): skipped, as nothing of ours. */
  unknownRecords: number;
}

/**
 * Committed offsets and group metadata in __consumer_offsets, in Kafka's record format (offset-records.ts):
 * every commit is a durable append, the latest record per key wins on replay, a tombstone (null value)
 * deletes, and a snapshot rewrite bounds the log to the live records.
 */
export class OffsetStore {
  /** group -> partition key -> entry: one group's offsets are found without scanning every group's. */
  private readonly live = new Map<string, Map<string, LiveEntry>>();
  /** Each group's latest GroupMetadata record, and where it was written. */
  private readonly storedGroups = new Map<string, { value: StoredGroup; logOffset: number }>();
  /**
   * Keys of the former JSON format found in this log: the next rewrite writes their tombstones first, so
   * neither a replay nor the cleaner can bring one back once the records that replace them are written.
   */
  private readonly legacyKeysInLog = new Set<string>();
  /**
   * Offsets written in a transaction not yet ended (TxnOffsetCommit), per producer id then group then
   * partition: applied when the partition gets the transaction's commit marker, dropped at its abort marker.
   */
  private readonly pending = new Map<number, Map<string, Map<string, LiveEntry>>>();
  private liveEntries = 0;
  private snapshotting = false;
  readonly replayed: ReplaySummary = { legacyRecords: 0, unknownRecords: 0 };

  private constructor(
    private readonly log: PartitionLog,
    private readonly writer: OffsetLogWriter,
  ) {}

  /**
   * A single node's store: partition 0 of __consumer_offsets among its topics (`logs`). An older version kept
   * it apart, in `formerLogs` and in a JSON format: that log is read first, rewritten here, then deleted.
   */
  static async open(logs: LogManager, formerLogs: LogManager | null = null): Promise<OffsetStore> {
    if (!logs.hasTopic(OFFSETS_TOPIC)) logs.createTopic(OFFSETS_TOPIC, 1, OFFSETS_TOPIC_CONFIG);
    const log = logs.partition(OFFSETS_TOPIC, 0);
    const store = new OffsetStore(log, {
      write: (payload) => log.write(payload),
      acknowledged: () => log.durable(),
    });
    const formerLog = formerLogs?.partitionIfExists(OFFSETS_TOPIC, 0) ?? null;
    if (formerLog) store.replay(formerLog, false);
    store.replay(log, true);
    if (formerLog || store.legacyKeysInLog.size > 0) await store.rewrite();
    // Only once every record it held is durable here: a crash before leaves it to be read again.
    if (formerLog) await formerLogs?.deleteTopic(OFFSETS_TOPIC);
    return store;
  }

  /**
   * The store kept in `log` and written through `writer` (a replicated partition this broker leads). Records
   * of the former format are replayed; `migrate` rewrites them.
   */
  static over(log: PartitionLog, writer: OffsetLogWriter): OffsetStore {
    const store = new OffsetStore(log, writer);
    store.replay(log, true);
    return store;
  }

  /**
   * Rewrites the log in Kafka's format if it holds records of the former one; not while a transaction holds
   * offsets here (as the snapshot, see snapshotIfBloated): the records stay readable, a later snapshot
   * retires them.
   */
  async migrate(): Promise<void> {
    if (this.legacyKeysInLog.size > 0 && this.pending.size === 0) await this.rewrite();
  }

  /**
   * Every record up to the log end: on a new leader, records not yet committed will be. Transactional
   * records stay pending until their producer's marker follows them in the log, as on the live path.
   */
  private replay(log: PartitionLog, ownLog: boolean): void {
    // Appends still on their way to the file count too.
    log.settleWrites();
    let offset = log.logStartOffset;
    while (offset < log.logEndOffset) {
      const batches = splitBatches(log.readForReplica(offset, 1 << 20).records);
      if (batches.length === 0) break;
      for (const batch of batches) {
        const header = readBatchHeader(batch);
        offset = header.baseOffset + header.lastOffsetDelta + 1;
        if (isControlBatch(header.attributes)) {
          const type = controlRecordType(decodeRecords(batch)[0]?.key ?? null);
          if (type === ControlRecordType.COMMIT || type === ControlRecordType.ABORT)
            this.endTransaction(header.producerId, type === ControlRecordType.COMMIT);
          continue;
        }
        const producerId = isTransactional(header.attributes) ? header.producerId : null;
        for (const record of decodeRecords(batch)) this.replayRecord(record, ownLog, producerId);
      }
    }
  }

  /** One record of the log; `producerId` is its transaction's producer, null outside transactions. */
  private replayRecord(
    record: { offset: number; key: Buffer | null; value: Buffer | null },
    ownLog: boolean,
    producerId: number | null,
  ): void {
    // Records of the former log count as older than any of this one.
    const at = ownLog ? record.offset : -1;
    const decoded = decodeOffsetsTopicRecord(record.key, record.value);
    if (decoded.legacy) this.replayed.legacyRecords++;
    if (decoded.kind === 'unknown') {
      this.replayed.unknownRecords++;
    } else if (decoded.kind === 'group') {
      if (decoded.value === null) this.storedGroups.delete(decoded.group);
      else this.storedGroups.set(decoded.group, { value: decoded.value, logOffset: at });
    } else {
      if (decoded.legacy && ownLog && record.key) this.legacyKeysInLog.add(record.key.toString());
      const entry = decoded.value && {
        topic: decoded.topic,
        partition: decoded.partition,
        value: decoded.value,
      };
      if (!entry) this.remove(decoded.group, decoded.topic, decoded.partition);
      else if (producerId === null) this.put(decoded.group, entry, at);
      else this.addPending(producerId, decoded.group, { ...entry, logOffset: at });
    }
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.live.get(group)?.get(partitionKeyOf(topic, partition))?.value;
  }

  /** Whether a transaction not yet ended holds an offset of the partition for `group` (requireStable). */
  hasPending(group: string, topic: string, partition: number): boolean {
    const key = partitionKeyOf(topic, partition);
    for (const groups of this.pending.values()) if (groups.get(group)?.has(key)) return true;
    return false;
  }

  /** Every committed offset of `group`. */
  entries(group: string): OffsetEntry[] {
    return [...(this.live.get(group)?.values() ?? [])];
  }

  /** Every group with committed offsets or a group record. */
  groups(): string[] {
    return [...new Set([...this.live.keys(), ...this.storedGroups.keys()])];
  }

  /** The group's latest GroupMetadata record, if it has one. */
  storedGroup(group: string): StoredGroup | undefined {
    return this.storedGroups.get(group)?.value;
  }

  /**
   * Visible to fetchOffsets once acknowledged (durable, and on a cluster committed on the ISR), as Kafka
   * does: a commit that a failover could still undo is never shown, so what readers see never goes back.
   * Acknowledgements come in log order, so a later commit of the same partition still wins.
   */
  async commit(group: string, entries: OffsetEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const records: RecordInput[] = entries.map((e) => ({
      key: offsetKey(group, e.topic, e.partition),
      value: offsetValue(e.value),
    }));
    const { lastOffset } = this.writer.write(encodeRecordBatch(records));
    await this.writer.acknowledged(lastOffset + 1);
    const firstOffset = lastOffset - (entries.length - 1);
    for (const [i, e] of entries.entries()) this.put(group, e, firstOffset + i);
    await this.snapshotIfBloated();
  }

  /**
   * TxnOffsetCommit: the offsets as one transactional batch of the producer, kept pending from the write on
   * (its marker may follow at once) and applied only when the transaction's commit marker reaches this
   * partition (endTransaction). Rejects with OffsetCommitError when not acknowledged, and with the log's
   * INVALID_PRODUCER_EPOCH when a newer epoch of the producer has written here.
   */
  async commitTransactional(
    group: string,
    producer: TransactionProducer,
    entries: OffsetEntry[],
  ): Promise<void> {
    if (entries.length === 0) return;
    const records: RecordInput[] = entries.map((e) => ({
      key: offsetKey(group, e.topic, e.partition),
      value: offsetValue(e.value),
    }));
    const { lastOffset } = this.writer.write(
      encodeRecordBatch(records, {
        ...producer,
        baseSequence: TXN_OFFSETS_SEQUENCE,
        flags: TRANSACTIONAL_BIT,
      }),
    );
    const firstOffset = lastOffset - (entries.length - 1);
    for (const [i, e] of entries.entries())
      this.addPending(producer.producerId, group, { ...e, logOffset: firstOffset + i });
    await this.writer.acknowledged(lastOffset + 1);
  }

  /**
   * The producer's transaction ended in this partition (its marker is acknowledged here): its pending
   * offsets are applied at the log offsets they were written at (a later plain commit still wins), or dropped.
   */
  async endTransaction(producerId: number, committed: boolean): Promise<void> {
    const groups = this.pending.get(producerId);
    if (!groups) return;
    this.pending.delete(producerId);
    if (committed) {
      for (const [group, entries] of groups)
        for (const entry of entries.values()) this.put(group, entry, entry.logOffset);
    }
    await this.snapshotIfBloated();
  }

  /**
   * Writes the group's GroupMetadata record (a generation completed, or the group emptied). Held as the
   * group's record from the write on, unlike a commit: no reader waits on it, and a deletion that follows
   * must see it to write its tombstone.
   */
  async storeGroup(group: string, value: StoredGroup): Promise<void> {
    const { lastOffset } = this.writer.write(
      encodeRecordBatch([{ key: groupKey(group), value: groupValue(value) }]),
    );
    this.storedGroups.set(group, { value, logOffset: lastOffset });
    await this.writer.acknowledged(lastOffset + 1);
  }

  /** Forgets the committed offsets of these partitions of `group`, durably (tombstones). */
  async deleteOffsets(group: string, partitions: Array<{ topic: string; partition: number }>): Promise<void> {
    const doomed = partitions.filter((p) => this.get(group, p.topic, p.partition) !== undefined);
    if (doomed.length === 0) return;
    const endOffset = this.writeAll(
      doomed.map((p) => ({ key: offsetKey(group, p.topic, p.partition), value: null })),
    );
    for (const p of doomed) this.remove(group, p.topic, p.partition);
    await this.writer.acknowledged(endOffset);
    await this.snapshotIfBloated();
  }

  /** Forgets `group`, its offsets and its group record, durably: tombstones keep a replay from bringing them back. */
  async deleteGroup(group: string): Promise<void> {
    const doomed = this.entries(group);
    const hasRecord = this.storedGroups.has(group);
    if (doomed.length === 0 && !hasRecord) return;
    const endOffset = this.writeAll([
      ...doomed.map((e) => ({ key: offsetKey(group, e.topic, e.partition), value: null })),
      ...(hasRecord ? [{ key: groupKey(group), value: null }] : []),
    ]);
    this.liveEntries -= doomed.length;
    this.live.delete(group);
    this.storedGroups.delete(group);
    await this.writer.acknowledged(endOffset);
    await this.snapshotIfBloated();
  }

  /** Appends `records` in batches of a bounded size; returns the log end offset after the last. */
  private writeAll(records: RecordInput[]): number {
    let endOffset = this.log.logEndOffset;
    for (let i = 0; i < records.length; i += RECORDS_PER_BATCH) {
      endOffset =
        this.writer.write(encodeRecordBatch(records.slice(i, i + RECORDS_PER_BATCH))).lastOffset + 1;
    }
    return endOffset;
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

  /** A transaction's later offset of the same partition replaces its earlier one. */
  private addPending(producerId: number, group: string, entry: LiveEntry): void {
    let groups = this.pending.get(producerId);
    if (!groups) {
      groups = new Map();
      this.pending.set(producerId, groups);
    }
    let entries = groups.get(group);
    if (!entries) {
      entries = new Map();
      groups.set(group, entries);
    }
    entries.set(partitionKeyOf(entry.topic, entry.partition), entry);
  }

  private remove(group: string, topic: string, partition: number): void {
    const offsets = this.live.get(group);
    if (!offsets?.delete(partitionKeyOf(topic, partition))) return;
    this.liveEntries--;
    if (offsets.size === 0) this.live.delete(group);
  }

  /**
   * Not while a transaction holds offsets here: its records must stay in the log until its marker, and
   * applied then at their own log offsets they would lose to the older values the snapshot rewrote later.
   */
  private async snapshotIfBloated(): Promise<void> {
    const live = this.liveEntries + this.storedGroups.size;
    if (this.snapshotting || this.pending.size > 0) return;
    if (this.recordsInLog <= Math.max(SNAPSHOT_MIN_RECORDS, 4 * live)) return;
    await this.rewrite();
  }

  /**
   * Writes every live record again and drops the segments before them. Tombstones of the former format's
   * keys come first: the records they retire are still in the segment the snapshot starts in.
   */
  private async rewrite(): Promise<void> {
    this.snapshotting = true;
    const snapshotStart = this.log.logEndOffset;
    const retired = [...this.legacyKeysInLog];
    const records: RecordInput[] = [
      ...retired.map((key) => ({ key: Buffer.from(key), value: null })),
      ...[...this.storedGroups].map(([group, { value }]) => ({
        key: groupKey(group),
        value: groupValue(value),
      })),
      ...[...this.live].flatMap(([group, offsets]) =>
        [...offsets.values()].map((e) => ({
          key: offsetKey(group, e.topic, e.partition),
          value: offsetValue(e.value),
        })),
      ),
    ];
    try {
      await this.writer.acknowledged(this.writeAll(records));
      this.log.deleteSegmentsBefore(snapshotStart);
      for (const key of retired) this.legacyKeysInLog.delete(key);
    } finally {
      this.snapshotting = false;
    }
  }

  get recordsInLog(): number {
    return this.log.logEndOffset - this.log.logStartOffset;
  }
}
