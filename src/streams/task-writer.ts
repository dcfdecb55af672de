import type { HeldPartition, OutgoingRecord } from '../client/types.js';
import type { RecordSender } from './task-senders.js';

/** What a writer needs of a task: which partition it stands for, and whether it has been fenced. */
export interface WritingTask {
  /** Also its transactional id in transactional mode. */
  readonly id: string;
  readonly source: { readonly topic: string };
  readonly partition: number;
  /** The group generation since which the partition was held when the task was made for it. */
  readonly heldSince: number;
  /** Set once this instance learnt the task's partition went elsewhere; its records are dropped from then on. */
  fenced: boolean;
}

/** Records one task wants written: outputs, changelog entries or a checkpoint marker. */
export interface TaskWrite {
  task: WritingTask;
  records: OutgoingRecord[];
}

interface Queued {
  writes: TaskWrite[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * The one door through which tasks write. When other instances may hold a task's partition (a shared consumer
 * group), every write waits for the group coordinator to confirm, after the write was queued, that this
 * instance still holds the partition in the group's current generation, without a break since the task was made
 * for it; a task whose partition has moved is
 * fenced and its records are dropped, not written beside the new owner's (which reproduces them from the last
 * checkpoint). One confirmation covers every write queued before it was asked; writes are handed to the
 * client in the order they were queued (so per-partition order holds as with direct produce calls), one round
 * at a time, so none sits in the client's own queue long after the confirmation it passed.
 *
 * What this cannot close: a process frozen in the microseconds between a confirmation and its produce call
 * leaving the process. The new owner's handoff wait (the old owner's checkpoints must go stale first) covers
 * that in practice; only broker-side fencing closes it entirely: with a transactional sender the cluster
 * refuses a replaced owner's writes itself, no confirmation is asked, and each write is handed over at once.
 */
export class TaskWriter {
  private queue: Queued[] = [];
  private draining = false;

  /**
   * @param confirm null when no other instance can hold our partitions, or when the sender's writes are fenced
   * by the cluster (every write goes straight through).
   * @param onFenced told of tasks fenced by a confirmation or by the cluster, once each.
   */
  constructor(
    private readonly sender: RecordSender,
    private readonly confirm: (() => Promise<HeldPartition[]>) | null,
    private readonly onFenced: (tasks: WritingTask[]) => void,
  ) {}

  /** Resolves once the records of unfenced tasks are acknowledged (those of fenced tasks are dropped). */
  write(writes: TaskWrite[]): Promise<void> {
    if (this.confirm === null) return this.handOver(writes, null);
    return new Promise((resolve, reject) => {
      this.queue.push({ writes, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const taken = this.queue;
        this.queue = [];
        let held: Map<string, number>;
        try {
          held = new Map((await this.confirm!()).map((p) => [tpKey(p.topic, p.partition), p.heldSince]));
        } catch (error) {
          for (const queued of taken) queued.reject(error);
          continue;
        }
        const sent = taken.map((queued) => {
          const acknowledged = this.handOver(queued.writes, held);
          acknowledged.then(queued.resolve, queued.reject);
          return acknowledged;
        });
        // The next confirmation waits for these acknowledgements: a client queues produce calls behind the one
        // in flight, and a write must leave the process right after its confirmation, not long after it.
        await Promise.allSettled(sent);
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Hands the writes to the sender at once (before returning), so it sees them in the order handed over. Not
   * async: an async function holds its arguments, every record here, until the write is acknowledged.
   */
  private handOver(writes: TaskWrite[], held: Map<string, number> | null): Promise<void> {
    const unfenced: TaskWrite[] = [];
    const fenced: WritingTask[] = [];
    for (const { task, records: taskRecords } of writes) {
      // Held since the task was made for it, or the partition was lost (and maybe regained) in between.
      if (
        !task.fenced &&
        held !== null &&
        held.get(tpKey(task.source.topic, task.partition)) !== task.heldSince
      ) {
        task.fenced = true;
        fenced.push(task);
      }
      if (!task.fenced && taskRecords.length > 0) unfenced.push({ task, records: taskRecords });
    }
    if (fenced.length > 0) this.onFenced(fenced);
    if (unfenced.length === 0) return Promise.resolve();
    return this.sender.send(unfenced).then((refusedTasks) => {
      const refused = refusedTasks.filter((task) => !task.fenced);
      for (const task of refused) task.fenced = true;
      if (refused.length > 0) this.onFenced([...new Set(refused)]);
    });
  }
}
