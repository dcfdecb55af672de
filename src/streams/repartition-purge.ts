import type { Logger } from 'pino';
import type { DeleteRecordsEntry, HeldPartition, LogClient } from '../client/types.js';
import { outputPartitionKey, readLastCheckpoint } from './task-checkpoint.js';
import type { WritingTask } from './task-writer.js';

/** Kafka Streams' repartition.purge.interval.ms default. */
export const REPARTITION_PURGE_INTERVAL_MS = 30_000;

/** The checkpoint partitions of the tasks that write into one repartition topic. */
export interface UpstreamCheckpoints {
  checkpointTopic: string;
  partitions: number;
}

export interface RepartitionPurgeOptions {
  client: LogClient;
  logger: Logger;
  /** At most one purge per this many ms, started after a checkpoint (Kafka Streams purges after a commit). */
  intervalMs: number;
  /** Each repartition topic this app reads, with the checkpoints of the tasks writing into it. */
  upstreamOf: ReadonlyMap<string, UpstreamCheckpoints[]>;
  /** Whether the task is still one this instance runs (not revoked, not fenced, not replaced). */
  runs(task: WritingTask): boolean;
  /** The group's confirmation of what we hold, when other instances may hold our partitions; else null. */
  confirm: (() => Promise<HeldPartition[]>) | null;
}

/**
 * Deletes what is consumed of the repartition topics, as Kafka Streams does after a commit: without it they
 * keep the broker's retention (7 days), and the demo writes ~22 MB a minute to each.
 *
 * Records below offset O of a repartition partition may go only when nothing can read them again:
 * - its own task resumes from its last checkpoint, so O is at most the input offset of a checkpoint this
 *   instance wrote and had acknowledged (in transactional mode: committed) for a task it still runs, held since
 *   the task was made (the group confirms it first when other instances could hold it);
 * - a task writing into it, restarting, looks for the outputs it already wrote from its checkpoint's
 *   `outputBounds` on (writtenSequences): records deleted there would be written again, and counted twice
 *   downstream. So O is also at most every upstream task's last checkpointed bound for that partition.
 * Both bounds only grow, whoever owns the tasks next. A failed purge is logged and tried again next interval.
 */
export class RepartitionPurge {
  /** Per task of a repartition source, the input offset of its last acknowledged checkpoint. */
  private readonly offsets = new WeakMap<WritingTask, number>();
  private readonly tasks = new Set<WritingTask>();
  /** Per repartition partition (outputPartitionKey), the log start our last purge left. */
  private readonly purgedTo = new Map<string, number>();
  private lastStartMs = Date.now();
  private running: Promise<void> | null = null;

  constructor(private readonly options: RepartitionPurgeOptions) {}

  /** The tasks' checkpoints at these input offsets are acknowledged; purges if the interval has passed. */
  checkpointed(entries: Array<{ task: WritingTask; offset: number }>): void {
    const { upstreamOf, intervalMs } = this.options;
    for (const { task, offset } of entries) {
      if (!upstreamOf.has(task.source.topic)) continue;
      this.offsets.set(task, offset);
      this.tasks.add(task);
    }
    const now = Date.now();
    if (this.running !== null || this.tasks.size === 0 || now - this.lastStartMs < intervalMs) return;
    this.lastStartMs = now;
    this.running = this.purge()
      .catch((error: unknown) => {
        this.options.logger.warn(
          { err: error },
          'purging consumed repartition records failed; retried later',
        );
      })
      .finally(() => {
        this.running = null;
      });
  }

  /** Waits for a purge under way. */
  async close(): Promise<void> {
    await this.running;
  }

  private async purge(): Promise<void> {
    const { client, logger, runs } = this.options;
    for (const task of this.tasks) if (!runs(task)) this.tasks.delete(task);
    const candidates = [...this.tasks].filter(
      (task) =>
        this.offsets.get(task)! >
        (this.purgedTo.get(outputPartitionKey(task.source.topic, task.partition)) ?? 0),
    );
    if (candidates.length === 0) return;
    const bounds = await this.upstreamBounds(new Set(candidates.map((task) => task.source.topic)));
    // Asked last, right before deleting: a task's new owner restores from a checkpoint at least as far on.
    const held = await this.heldSince();
    const entries: DeleteRecordsEntry[] = [];
    for (const task of candidates) {
      const { topic } = task.source;
      const key = outputPartitionKey(topic, task.partition);
      if (!runs(task) || (held !== null && held.get(key) !== task.heldSince)) continue;
      const offset = Math.min(this.offsets.get(task)!, bounds.get(key) ?? Number.POSITIVE_INFINITY);
      if (offset > (this.purgedTo.get(key) ?? 0)) entries.push({ topic, partition: task.partition, offset });
    }
    if (entries.length === 0) return;
    const logStarts = await client.deleteRecords(entries);
    for (const [i, { topic, partition }] of entries.entries())
      this.purgedTo.set(outputPartitionKey(topic, partition), logStarts[i]!);
    logger.debug({ purged: entries }, 'deleted consumed repartition records');
  }

  /** Per repartition partition (outputPartitionKey), the lowest offset an upstream task's restore reads from. */
  private async upstreamBounds(topics: Set<string>): Promise<Map<string, number>> {
    const { client, upstreamOf } = this.options;
    const bounds = new Map<string, number>();
    const upstream = new Map<string, number>();
    for (const topic of topics) {
      for (const { checkpointTopic, partitions } of upstreamOf.get(topic)!)
        upstream.set(checkpointTopic, partitions);
    }
    const checkpoints = await Promise.all(
      [...upstream].flatMap(([checkpointTopic, partitions]) =>
        Array.from({ length: partitions }, (_, partition) =>
          readLastCheckpoint(client, checkpointTopic, partition),
        ),
      ),
    );
    for (const checkpoint of checkpoints) {
      // No checkpoint: the task has not started, and writes a first one (bounds at the current ends) before
      // any output.
      if (checkpoint === null) continue;
      for (const [key, offset] of Object.entries(checkpoint.outputBounds)) {
        bounds.set(key, Math.min(offset, bounds.get(key) ?? Number.POSITIVE_INFINITY));
      }
    }
    return bounds;
  }

  private async heldSince(): Promise<Map<string, number> | null> {
    const { confirm } = this.options;
    if (confirm === null) return null;
    return new Map((await confirm()).map((p) => [outputPartitionKey(p.topic, p.partition), p.heldSince]));
  }
}
