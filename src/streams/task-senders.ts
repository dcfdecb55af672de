import { ProducerFencedError } from '../client/client-errors.js';
import type {
  LogClient,
  OutgoingRecord,
  TopicPartition,
  TransactionalLogClient,
  TransactionalWriter,
} from '../client/types.js';
import type { TaskWrite, WritingTask } from './task-writer.js';

/**
 * How task records reach the log, chosen once when the app starts (StreamsConfig.exactlyOnce). Either way
 * the records carry their sequences and checkpoints are written as they are: a restart restores from them.
 */
export interface RecordSender {
  /**
   * Whether other instances' writes must be ruled out by asking the group before each write (TaskWriter):
   * false when the cluster itself refuses a replaced owner's writes.
   */
  readonly needsGroupConfirmation: boolean;
  /** Before a task restores: makes it the only writer of its records from now on, where the cluster can. */
  open(task: WritingTask, outputs: TopicPartition[]): Promise<void>;
  /** Sends the tasks' records; resolves to the tasks found fenced on the way (their records are not written). */
  send(writes: TaskWrite[]): Promise<WritingTask[]>;
  /** After a task's last write here (released, fenced, or the app stops). */
  close(task: WritingTask): Promise<void>;
}

/** Plain idempotent produce calls: a replaced owner's writes are ruled out by the group (see TaskWriter). */
export class ProduceSender implements RecordSender {
  readonly needsGroupConfirmation = true;

  constructor(private readonly client: LogClient) {}

  async open(): Promise<void> {}

  send(writes: TaskWrite[]): Promise<WritingTask[]> {
    // Not async: an async function holds its arguments, every record here, until the write is acknowledged.
    const records: OutgoingRecord[] = [];
    for (const write of writes) for (const record of write.records) records.push(record);
    if (records.length === 0) return Promise.resolve([]);
    return this.client.produce(records).then(() => []);
  }

  async close(): Promise<void> {}
}

/** How often the outputs' last stable offsets are read again while waiting for other transactions to end. */
const STABLE_POLL_MS = 50;

/**
 * One Kafka transactional producer per task, its transactional id the task id (Kafka Streams' exactly-once v1
 * layout): a task's new owner starts the producer before restoring, which fences the previous owner's (the
 * cluster finishes its open transaction and refuses its writes from then on, however long it was frozen).
 * Each write of a task (a round of outputs, a slice of changelog, a checkpoint marker) is one transaction.
 */
export class TransactionalSender implements RecordSender {
  readonly needsGroupConfirmation = false;
  private readonly writers = new Map<WritingTask, TransactionalWriter>();

  /** @param stableWithinMs how long a restore waits for other producers' transactions to end (see open()). */
  constructor(
    private readonly client: TransactionalLogClient,
    private readonly stableWithinMs: number,
  ) {}

  /**
   * Fences the previous owner, then waits until every transaction open in the task's output partitions has
   * ended: the restore looks for outputs this task already wrote (by sequence), and read_committed readers see
   * nothing past a partition's first open transaction, whoever's it is.
   */
  async open(task: WritingTask, outputs: TopicPartition[]): Promise<void> {
    const writer = this.client.transactionalWriter(task.id);
    this.writers.set(task, writer);
    await writer.init();
    await Promise.all(outputs.map((partition) => this.stable(partition)));
  }

  private async stable(partition: TopicPartition): Promise<void> {
    const end = await this.client.highWatermark(partition);
    const deadline = Date.now() + this.stableWithinMs;
    while ((await this.client.offsets(partition)).latest < end) {
      if (Date.now() > deadline) {
        throw new Error(
          `${partition.topic}-${partition.partition} has had a transaction open for over ${this.stableWithinMs} ms; ` +
            "the task cannot tell which of its outputs are written until it ends (or the cluster's transaction " +
            'timeout aborts it)',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, STABLE_POLL_MS));
    }
  }

  async send(writes: TaskWrite[]): Promise<WritingTask[]> {
    const fenced: WritingTask[] = [];
    await Promise.all(
      writes.map(async ({ task, records }) => {
        const writer = this.writers.get(task);
        if (!writer) throw new Error(`task ${task.id} writes without having been opened`);
        try {
          await writer.run(records);
        } catch (error) {
          if (!(error instanceof ProducerFencedError)) throw error;
          fenced.push(task);
        }
      }),
    );
    return fenced;
  }

  async close(task: WritingTask): Promise<void> {
    const writer = this.writers.get(task);
    this.writers.delete(task);
    await writer?.close();
  }
}
