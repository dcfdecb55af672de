import { UnknownTopicError } from '../client/client-errors.js';
import { partitionForKey } from '../client/partitioner.js';
import type { LogClient, OutgoingRecord, RecordHeader } from '../client/types.js';

/** A record as a door into the log makes it: the partition is chosen here, from the key. */
export interface IngestRecord {
  key: Buffer;
  value: Buffer;
  /** Milliseconds since the epoch. */
  timestamp: number;
  headers: RecordHeader[];
}

/** What a write came to: null once the log acknowledged it, else why it failed. */
export type WriteOutcome = Error | null;

/** The records of one partition gathered in one event-loop turn, and the one outcome they share. */
interface PartitionBatch {
  records: OutgoingRecord[];
  valueBytes: number;
  outcome: Promise<WriteOutcome>;
  settle: (outcome: WriteOutcome) => void;
}

/**
 * Writes the records of a door (the MQTT listener) to the log in batches: every record written in one
 * event-loop turn goes, per partition, into one LogClient.produce call when the turn ends, so thousands of
 * small publishes read from many sockets cost a few appends (and share the log's group commit) instead of one
 * each. Partitions are Kafka's default partitioner of the key; a topic is created when first written
 * (LogClient.ensureTopic), and its partition count is kept.
 *
 * Outcomes resolve (never reject): a caller that does not look at one cannot leave a rejection unhandled.
 */
export class IngestWriter {
  private readonly partitionCounts = new Map<string, number>();
  private readonly ensuring = new Map<string, Promise<number>>();
  /** This turn's batches, by topic, then by partition. */
  private turn = new Map<string, Map<number, PartitionBatch>>();
  private flushScheduled = false;
  private readonly producing = new Set<Promise<void>>();
  /** Value bytes written and not settled yet, over every caller. */
  private pendingBytes = 0;

  constructor(
    private readonly client: LogClient,
    /** Partitions of a topic this writer creates. */
    private readonly newTopicPartitions: number,
    /** Past this many pending value bytes the writer is `overloaded`: its callers stop reading their clients. */
    private readonly maxPendingBytes: number,
    /** Called when the writer stops being overloaded, for callers to read their clients again. */
    private readonly onDrained: () => void,
  ) {}

  get overloaded(): boolean {
    return this.pendingBytes > this.maxPendingBytes;
  }

  /** Queues `record` for `topic`; resolves once the log acknowledged it (LogClient.produce: acks=all). */
  write(topic: string, record: IngestRecord): Promise<WriteOutcome> {
    const partitions = this.partitionCounts.get(topic);
    if (partitions === undefined) {
      // Records for a topic not known yet wait for it in arrival order: callbacks of one promise run in the
      // order they were added, and the count is cached before any of them runs.
      return this.ensure(topic).then(
        () => this.write(topic, record),
        (error: Error) => error,
      );
    }
    const partition = partitionForKey(record.key, partitions);
    const batch = this.batchOf(topic, partition);
    // Fields named, not spread: this runs once per record.
    const { key, value, timestamp, headers } = record;
    batch.records.push({ topic, partition, key, value, timestamp, headers });
    batch.valueBytes += value.length;
    this.pendingBytes += value.length;
    return batch.outcome;
  }

  /** Writes what is queued and waits for every produce call made so far to finish. */
  async close(): Promise<void> {
    this.flush();
    await Promise.all(this.producing);
  }

  private ensure(topic: string): Promise<number> {
    let ensuring = this.ensuring.get(topic);
    if (!ensuring) {
      ensuring = this.client.ensureTopic({ name: topic, partitions: this.newTopicPartitions }).then(
        (partitions) => {
          this.partitionCounts.set(topic, partitions);
          this.ensuring.delete(topic);
          return partitions;
        },
        (error: unknown) => {
          // Not cached: the next record asks again (the log may have been briefly unavailable).
          this.ensuring.delete(topic);
          throw error instanceof Error ? error : new Error(String(error));
        },
      );
      this.ensuring.set(topic, ensuring);
    }
    return ensuring;
  }

  private batchOf(topic: string, partition: number): PartitionBatch {
    let partitions = this.turn.get(topic);
    if (!partitions) {
      partitions = new Map();
      this.turn.set(topic, partitions);
    }
    let batch = partitions.get(partition);
    if (!batch) {
      let settle: (outcome: WriteOutcome) => void = () => undefined;
      const outcome = new Promise<WriteOutcome>((resolve) => {
        settle = resolve;
      });
      batch = { records: [], valueBytes: 0, outcome, settle };
      partitions.set(partition, batch);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // setImmediate runs after the turn's I/O callbacks: every socket read this turn joins the batch.
        setImmediate(() => this.flush());
      }
    }
    return batch;
  }

  private settled(batch: PartitionBatch, outcome: WriteOutcome): void {
    // A topic deleted since its partition count was kept is created again by the next write to it.
    if (outcome instanceof UnknownTopicError) this.partitionCounts.delete(outcome.topic);
    const wasOverloaded = this.overloaded;
    this.pendingBytes -= batch.valueBytes;
    batch.settle(outcome);
    if (wasOverloaded && !this.overloaded) this.onDrained();
  }

  /** The client's produce, whose synchronous throw (a client that is not async) becomes a rejection. */
  private produce(records: OutgoingRecord[]): Promise<number[]> {
    try {
      return this.client.produce(records);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const turn = this.turn;
    this.turn = new Map();
    for (const partitions of turn.values()) {
      for (const batch of partitions.values()) {
        const producing = this.produce(batch.records).then(
          () => this.settled(batch, null),
          (error: unknown) => this.settled(batch, error instanceof Error ? error : new Error(String(error))),
        );
        this.producing.add(producing);
        void producing.finally(() => this.producing.delete(producing));
      }
    }
  }
}
