import { partitionForKey } from '../client/partitioner.js';
import type { ConsumedRecord, LogClient, OutgoingRecord, RecordHeader } from '../client/types.js';
import { SerdeError } from './serdes.js';
import { type StateStore, serialisedNow } from './state-store.js';
import {
  type Checkpoint,
  checkpointRecord,
  currentEnds,
  headerOf,
  outputPartitionKey,
  restoreState,
  SEQUENCE_HEADER,
  TASK_HEADER,
  TaskSnapshot,
  writtenSequences,
} from './task-checkpoint.js';
import { awaitHandoff, type Handoff } from './task-handoff.js';
import { SourceWatermark, type TaskWatermark, UpstreamWatermark } from './task-watermark.js';
import { instantiateTask } from './task-wiring.js';
import type { WritingTask } from './task-writer.js';
import type { Forward, Processor, ProcessorContext, SourceNode } from './topology.js';

/** Marker records in repartition topics carrying an upstream task's watermark (JSON number or null = idle). */
export const WATERMARK_HEADER = 'es.wm';

/**
 * A task announces its watermark downstream at most this often. Every announcement is a marker to each
 * partition of each repartition topic; sent after every fetch, they added 40-55% to the records the demo
 * repartitions at 5,000 events/s. An advance held back goes out after a later fetch, empty ones
 * included (every fetchMaxWaitMs), so downstream windows close at most that much later.
 */
const MARKER_INTERVAL_MS = 100;

export interface TaskTopics {
  /** Partition count of every topic the task may write to. */
  sinkPartitions: Map<string, number>;
  checkpointTopic: string;
  changelogTopic(store: string): string;
  /** Internal repartition topics this task's records flow into (it writes its watermark to each partition). */
  repartitionTopics: string[];
  deadLetterTopic: string;
}

export interface TaskObserver {
  recordsIn(topic: string, count: number): void;
  late(store: string): void;
  deserializationError(topic: string, error: SerdeError): void;
  processingLatencyMs(latencyMs: number): void;
  duplicatesSkipped(topic: string, count: number): void;
}

/**
 * One input partition's share of a pipeline. Processing is a deterministic function of the partition's
 * records, so after a crash the task restores its last checkpoint, replays from the offset recorded there and
 * produces the same outputs with the same sequence numbers; outputs already in the log (written after the
 * checkpoint, before the crash) are recognised by their sequence and not written again. State entries carry
 * sequences too, and a restore applies only those the checkpoint covers. Together: each input record affects
 * outputs and state exactly once, with no transactions and against any Kafka-compatible log.
 */
export class StreamTask implements WritingTask {
  readonly id: string;
  /** Its partition went to another instance: nothing more of it may be written (see TaskWriter). */
  fenced = false;
  private readonly stores: StateStore[] = [];
  private readonly processors: Processor[];
  private readonly batchEnders: Processor[];
  private readonly entry: Forward;
  private readonly watermark: TaskWatermark;
  private position = 0;
  private outputSequence = 0;
  private stateSequence = 0;
  private abandonedStateSequences: Array<[number, number]> = [];
  private outputBounds: Record<string, number> = {};
  /** Per output partition, the highest sequence this task already wrote there before a restart. */
  private suppressUpTo = new Map<string, number>();
  /**
   * Repartition sources: per upstream task, the highest output sequence processed. A record at or below it is
   * a second copy (one a fenced owner's request delivered late, after the new owner wrote the same sequence)
   * and is skipped: the two copies are equal, as processing is deterministic.
   */
  private upstreamSequences = new Map<string, number>();
  private pending: OutgoingRecord[] = [];
  private pendingBytes = 0;
  private lastMarkerWatermark = Number.NEGATIVE_INFINITY;
  /** When the last watermark marker went out (ms since the epoch). */
  private lastMarkerAt = 0;
  private lastRecordAt = Date.now();
  private idleAnnounced = false;
  private readonly taskIdBuffer: Buffer;
  /** The same for every output: outputs are only read once handed over, as the marker headers are. */
  private readonly taskHeader: RecordHeader;

  constructor(
    readonly applicationId: string,
    readonly source: SourceNode,
    readonly partition: number,
    readonly heldSince: number,
    private readonly topics: TaskTopics,
    private readonly observer: TaskObserver,
    upstreamPartitions: Map<string, number>,
    /**
     * Only another instance's late request can repeat a sequence (a crashed attempt's outputs are found and
     * suppressed by its successor): without shared groups the check is skipped, as it costs about half a
     * JSON.parse per record.
     */
    private readonly skipUpstreamRepeats: boolean,
  ) {
    this.id = taskIdOf(applicationId, source.topic, partition);
    this.taskIdBuffer = Buffer.from(this.id);
    this.taskHeader = { key: TASK_HEADER, value: this.taskIdBuffer };
    this.watermark = source.upstreamTopics
      ? new UpstreamWatermark(
          source.upstreamTopics.flatMap((topic) =>
            Array.from({ length: upstreamPartitions.get(topic) ?? 0 }, (_, p) =>
              taskIdOf(applicationId, topic, p),
            ),
          ),
        )
      : new SourceWatermark(source.maxOutOfOrdernessMs);
    const context: ProcessorContext = {
      taskId: this.id,
      watermark: () => this.watermark.current(),
      send: (topic, partition, key, value, timestamp) => this.send(topic, partition, key, value, timestamp),
      registerStore: (store) => this.stores.push(store),
      countLate: (store) => observer.late(store),
    };
    const { entry, processors } = instantiateTask(source, context);
    this.entry = entry;
    this.processors = processors.filter((processor) => processor.advance !== undefined);
    this.batchEnders = processors.filter((processor) => processor.endOfBatch !== undefined);
  }

  get nextOffset(): number {
    return this.position;
  }

  /** The fetch read up to `offset` and every record before it was processed: what is left held none. */
  skipTo(offset: number): void {
    if (offset > this.position) this.position = offset;
  }

  get stateEntries(): number {
    return this.stores.reduce((total, store) => total + store.size, 0);
  }

  get currentWatermark(): number {
    return this.watermark.current();
  }

  get storeSizes(): Array<[string, number]> {
    return this.stores.map((store) => [store.name, store.size]);
  }

  /** Runs records of this task's partition (in offset order) through the pipeline. */
  process(records: ConsumedRecord[]): void {
    const { source } = this;
    const now = Date.now();
    let processed = 0;
    let duplicates = 0;
    for (const record of records) {
      if (record.offset < this.position) continue;
      this.position = record.offset + 1;
      if (source.upstreamTopics) {
        const marker = markerOf(record);
        if (marker !== undefined) {
          const before = this.watermark.current();
          this.watermark.observeMarker(marker.task, marker.watermark);
          this.advanceFrom(before);
          continue;
        }
        if (this.skipUpstreamRepeats && this.isRepeat(record)) {
          duplicates++;
          continue;
        }
      }
      processed++;
      let value: unknown;
      try {
        value = record.value === null ? null : source.valueSerde.deserialize(record.value);
      } catch (error) {
        if (!(error instanceof SerdeError)) throw error;
        this.observer.deserializationError(source.topic, error);
        this.send(
          this.topics.deadLetterTopic,
          null,
          record.key,
          record.value,
          record.timestamp,
          record.headers,
        );
        continue;
      }
      const eventTime = source.eventTime && value !== null ? source.eventTime(value) : record.timestamp;
      this.entry({
        key: record.key === null ? null : record.key.toString('utf8'),
        value,
        timestamp: eventTime,
      });
      // No closure per record: this runs for every event.
      const before = this.watermark.current();
      this.watermark.observeEvent(eventTime);
      this.advanceFrom(before);
    }
    for (const processor of this.batchEnders) processor.endOfBatch!();
    if (duplicates > 0) this.observer.duplicatesSkipped(source.topic, duplicates);
    if (processed > 0) {
      this.observer.recordsIn(source.topic, processed);
      this.observer.processingLatencyMs(now - records[records.length - 1]!.timestamp);
      this.lastRecordAt = now;
      this.idleAnnounced = false;
    }
  }

  /** Whether an upstream task's record repeats a sequence already processed (and notes it if not). */
  private isRepeat(record: ConsumedRecord): boolean {
    const task = headerOf(record, TASK_HEADER)?.toString('latin1');
    const sequence = Number(headerOf(record, SEQUENCE_HEADER)?.toString('latin1'));
    if (task === undefined || !Number.isSafeInteger(sequence)) return false;
    if (sequence <= (this.upstreamSequences.get(task) ?? 0)) return true;
    this.upstreamSequences.set(task, sequence);
    return false;
  }

  /** Closes what the watermark passed since it stood at `before`. */
  private advanceFrom(before: number): void {
    const after = this.watermark.current();
    if (after > before) for (const processor of this.processors) processor.advance!(after);
  }

  /**
   * Tells downstream repartition partitions how far this task's event time has come (or that it is idle after
   * `idleMs` without records), so their tasks can close windows. Markers are outside the output sequence:
   * a repeated marker changes nothing downstream.
   */
  announceWatermark(idleMs: number): void {
    if (this.topics.repartitionTopics.length === 0) return;
    const watermark = this.watermark.current();
    const now = Date.now();
    if (watermark > this.lastMarkerWatermark && now - this.lastMarkerAt >= MARKER_INTERVAL_MS) {
      this.lastMarkerWatermark = watermark;
      this.lastMarkerAt = now;
      this.broadcastMarker(watermark);
    } else if (!this.idleAnnounced && Date.now() - this.lastRecordAt >= idleMs) {
      this.idleAnnounced = true;
      this.broadcastMarker(null);
    }
  }

  private broadcastMarker(watermark: number | null): void {
    const headers: RecordHeader[] = [
      { key: WATERMARK_HEADER, value: Buffer.from(JSON.stringify({ task: this.id, watermark })) },
    ];
    for (const topic of this.topics.repartitionTopics) {
      const partitions = this.topics.sinkPartitions.get(topic)!;
      for (let partition = 0; partition < partitions; partition++) {
        this.pending.push({ topic, partition, key: null, value: null, timestamp: Date.now(), headers });
      }
    }
  }

  private send(
    topic: string,
    partition: number | null,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
    extraHeaders?: RecordHeader[],
  ): void {
    const partitions = this.topics.sinkPartitions.get(topic);
    if (partitions === undefined) throw new Error(`task ${this.id} writes to undeclared topic '${topic}'`);
    const sequence = ++this.outputSequence;
    // Keyless records spread by sequence, not a counter, so a replay sends each to the same partition.
    const target = partition ?? (key === null ? sequence % partitions : partitionForKey(key, partitions));
    // Only a restarted task suppresses, until it has replayed past its predecessor: no key built per record.
    if (this.suppressUpTo.size > 0) {
      const suppressed = this.suppressUpTo.get(outputPartitionKey(topic, target));
      if (suppressed !== undefined && sequence <= suppressed) return;
    }
    // Decimal digits, ASCII: latin1 writes them without the UTF-8 length pass.
    const sequenceHeader = { key: SEQUENCE_HEADER, value: Buffer.from(String(sequence), 'latin1') };
    this.pending.push({
      topic,
      partition: target,
      key,
      value,
      timestamp,
      headers:
        extraHeaders === undefined
          ? [this.taskHeader, sequenceHeader]
          : [...extraHeaders, this.taskHeader, sequenceHeader],
    });
    this.pendingBytes += (key?.length ?? 0) + (value?.length ?? 0) + 64;
  }

  /** Outputs produced since the last call, in order; the caller produces them. */
  takeOutputs(): { records: OutgoingRecord[]; bytes: number } {
    const records = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    return { records, bytes };
  }

  /**
   * Takes a checkpoint: state changes since the last one are numbered and handed out as changelog records a
   * slice at a time (see TaskSnapshot), and the marker recording position, sequences and watermark is to be
   * written once every output and changelog record before it is acknowledged.
   */
  snapshot(owner: string, released: boolean): TaskSnapshot {
    const now = Date.now();
    const parts = this.stores.map((store) => ({
      topic: this.topics.changelogTopic(store.name),
      changes: store.drainChangesGradually?.() ?? serialisedNow(store.drainChanges()),
    }));
    const firstSequence = this.stateSequence + 1;
    this.stateSequence += parts.reduce((total, part) => total + part.changes.count, 0);
    const checkpoint: Checkpoint = {
      offset: this.position,
      outputSequence: this.outputSequence,
      stateSequence: this.stateSequence,
      abandonedStateSequences: this.abandonedStateSequences,
      watermark: this.watermark.snapshot(),
      outputBounds: this.outputBounds,
      upstreamSequences: Object.fromEntries(this.upstreamSequences),
      owner,
      released,
      writtenAtMs: now,
    };
    const marker = checkpointRecord(
      this.topics.checkpointTopic,
      this.partition,
      this.taskIdBuffer,
      checkpoint,
    );
    return new TaskSnapshot(this.partition, parts, firstSequence, marker, checkpoint.offset);
  }

  /**
   * After a checkpoint is written: where outputs after the next checkpoint can start. A partition still
   * holding outputs of an earlier attempt that this one has not replayed up to (suppressUpTo) keeps its bound:
   * they sit before the current end, and a restart from the next checkpoint must find them, or it writes them
   * again.
   */
  async refreshOutputBounds(client: LogClient): Promise<void> {
    const ends = await currentEnds(client, this.topics.sinkPartitions);
    for (const [key, writtenUpTo] of this.suppressUpTo) {
      // Sequences only grow: a partition replayed past what was written suppresses nothing more.
      if (writtenUpTo <= this.outputSequence) this.suppressUpTo.delete(key);
      else if (this.outputBounds[key] !== undefined) ends[key] = this.outputBounds[key];
    }
    this.outputBounds = ends;
  }

  /**
   * Restores the last checkpoint: position, sequences, watermark, state (changelog entries up to the
   * checkpoint's state sequence) and which outputs are already written. With no checkpoint yet, starts at
   * `startOffset` and writes a first one so a crash before the next still knows where outputs began.
   */
  async restore(
    client: LogClient,
    startOffset: (partition: number) => Promise<number>,
    handoff: Handoff,
    write: (records: OutgoingRecord[]) => Promise<void>,
  ): Promise<{ waitedMs: number }> {
    const started = Date.now();
    const checkpoint = await awaitHandoff(client, this.topics.checkpointTopic, this.partition, handoff);
    const waitedMs = Date.now() - started;
    if (!checkpoint) {
      this.position = await startOffset(this.partition);
      this.outputBounds = await currentEnds(client, this.topics.sinkPartitions);
      const { marker } = this.snapshot(handoff.owner, false);
      await write([marker]);
      return { waitedMs };
    }
    this.position = checkpoint.offset;
    this.outputSequence = checkpoint.outputSequence;
    this.watermark.restore(checkpoint.watermark);
    this.lastMarkerWatermark = this.watermark.current();
    this.outputBounds = checkpoint.outputBounds;
    this.upstreamSequences = new Map(Object.entries(checkpoint.upstreamSequences ?? {}));
    const state = await restoreState(
      client,
      this.stores,
      (store) => this.topics.changelogTopic(store),
      this.partition,
      checkpoint,
    );
    this.stateSequence = state.stateSequence;
    this.abandonedStateSequences = state.abandonedStateSequences;
    this.suppressUpTo = await writtenSequences(client, this.id, checkpoint.outputBounds, this.outputSequence);
    return { waitedMs };
  }
}

export function taskIdOf(applicationId: string, topic: string, partition: number): string {
  return `${applicationId}:${topic}:${partition}`;
}

function markerOf(record: ConsumedRecord): { task: string; watermark: number | null } | undefined {
  const header = headerOf(record, WATERMARK_HEADER);
  if (!header) return undefined;
  return JSON.parse(header.toString('utf8')) as { task: string; watermark: number | null };
}
