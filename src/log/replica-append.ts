import { BatchField, readInt64 } from '../protocol/index.js';
import type { BatchSummary } from './batch-validation.js';
import { LogError } from './errors.js';
import type { EpochEntry } from './leader-epoch-cache.js';

/**
 * Checks batches a follower fetched from its leader before any is written: offsets were assigned by the
 * leader and must continue this log exactly, with no gap and no overlap, and leader epochs must not go
 * back (that would mean the logs diverged and the follower should have truncated first). Returns the
 * epochs that start in these batches, for the epoch cache.
 */
export function checkLeaderBatches(
  payload: Buffer,
  batches: readonly BatchSummary[],
  logEndOffset: number,
  latestEpoch: number,
): EpochEntry[] {
  const newEpochs: EpochEntry[] = [];
  let expectedOffset = logEndOffset;
  let epochSoFar = latestEpoch;
  for (const batch of batches) {
    const baseOffset = readInt64(payload, batch.position + BatchField.baseOffset);
    if (baseOffset !== expectedOffset) {
      const what = expectedOffset === logEndOffset ? 'the log end offset' : 'the end of the previous batch';
      throw new LogError(
        'OFFSET_OUT_OF_RANGE',
        `replicated batch starts at offset ${baseOffset}, expected ${expectedOffset} (${what}); nothing written`,
      );
    }
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
    expectedOffset += batch.offsetCount;
  }
  return newEpochs;
}
