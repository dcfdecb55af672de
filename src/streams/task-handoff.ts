import type { LogClient } from '../client/types.js';
import { type Checkpoint, readLastCheckpoint } from './task-checkpoint.js';

/** How a task taken over from another member waits for that member to let go of it. */
export interface Handoff {
  owner: string;
  /** A previous owner that has not checkpointed for this long is gone (checkpoints are periodic). */
  staleAfterMs: number;
  /** Give up waiting for a live previous owner after this long. */
  maxWaitMs: number;
}

/** How often the checkpoint topic is read again while waiting. */
const POLL_INTERVAL_MS = 50;

/**
 * After a rebalance the previous owner may still be finishing the task (it learns of the new assignment at
 * the same moment we do): wait until its last checkpoint says released, or until it has not checkpointed
 * for longer than a live owner would let pass (it died), so two members never write the task's outputs at once.
 * Returns the checkpoint to restore from (null: the task has none yet).
 */
export async function awaitHandoff(
  client: LogClient,
  checkpointTopic: string,
  partition: number,
  handoff: Handoff,
): Promise<Checkpoint | null> {
  const deadline = Date.now() + handoff.maxWaitMs;
  for (;;) {
    const checkpoint = await readLastCheckpoint(client, checkpointTopic, partition);
    if (!checkpoint || checkpoint.released || checkpoint.owner === handoff.owner) return checkpoint;
    if (Date.now() - checkpoint.writtenAtMs > handoff.staleAfterMs || Date.now() > deadline)
      return checkpoint;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}
