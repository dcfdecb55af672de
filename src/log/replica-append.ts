import assert from 'node:assert/strict';
import { BatchField, readInt64 } from '../protocol/index.js';
import type { BatchSummary } from './batch-validation.js';
import { LogError } from './errors.js';
import type { EpochEntry } from './leader-epoch-cache.js';

/** What a follower learns from the batches of one fetch before writing them. */
export interface LeaderBatchesPlan {
  /** Base offset of the first batch: the log end offset, or above it where the leader compacted. */
  baseOffset: number;
  /** One past the last offset of the last batch: the follower's log end offset after the append. */
  endOffset: number;
  /**
   * The highest base offset of a batch that starts above where the previous batch (or the log) ended, or
   * -1 when the batches continue the log densely: offsets below it may be missing for good.
   */
  gapsEndOffset: number;
  /** Epochs that start in these batches, for the epoch cache: each at its first batch's base offset. */
  newEpochs: EpochEntry[];
}

/**
 * Checks batches a follower fetched from its leader before any is written. Offsets were assigned by the
 * leader and must continue this log in increasing order: a batch may start above where the previous one
 * ended (the leader's cleaner removed the batches between, as in Kafka), never below (an overlap means the
 * logs diverged). Leader epochs must not go back either (the follower should have truncated first).
 */
export function checkLeaderBatches(
  payload: Buffer,
  batches: readonly BatchSummary[],
  logEndOffset: number,
  latestEpoch: number,
): LeaderBatchesPlan {
  const newEpochs: EpochEntry[] = [];
  let expectedOffset = logEndOffset;
  let epochSoFar = latestEpoch;
  let gapsEndOffset = -1;
  let firstBaseOffset = -1;
  assert.ok(batches.length > 0, 'no batches to check');
  for (const batch of batches) {
    const baseOffset = readInt64(payload, batch.position + BatchField.baseOffset);
    if (baseOffset < expectedOffset) {
      const what = expectedOffset === logEndOffset ? 'the log end offset' : 'the end of the previous batch';
      throw new LogError(
        'OFFSET_OUT_OF_RANGE',
        `replicated batch starts at offset ${baseOffset}, below ${expectedOffset} (${what}); nothing written`,
      );
    }
    if (baseOffset > expectedOffset) gapsEndOffset = baseOffset;
    if (firstBaseOffset < 0) firstBaseOffset = baseOffset;
    const epoch = payload.readInt32BE(batch.position + BatchField.partitionLeaderEpoch);
    if (epoch >= 0 && epoch < epochSoFar) {
      throw new LogError(
        'OFFSET_OUT_OF_RANGE',
        `replicated batch at offset ${baseOffset} has leader epoch ${epoch}, older than epoch ${epochSoFar} ` +
          'already in the log: the logs diverged, truncate first; nothing written',
      );
    }
    if (epoch > epochSoFar) {
      newEpochs.push({ epoch, startOffset: baseOffset });
      epochSoFar = epoch;
    }
    expectedOffset = baseOffset + batch.offsetCount;
  }
  return {
    baseOffset: firstBaseOffset,
    endOffset: expectedOffset,
    gapsEndOffset,
    newEpochs,
  };
}
