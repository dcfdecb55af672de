import { BATCH_HEADER_BYTES, BATCH_LENGTH_PREFIX_BYTES, BatchField, readInt64 } from '../protocol/index.js';
import { type EpochEntry, LeaderEpochCache, readEpochCheckpoint } from './leader-epoch-cache.js';
import type { Logger } from './logger.js';
import type { Segment } from './segment.js';

/** Bytes of a batch header up to and including partitionLeaderEpoch. */
const EPOCH_HEADER_BYTES = BatchField.partitionLeaderEpoch + 4;
/** Bytes read at a time while walking batch headers for their epochs. */
const WALK_CHUNK_BYTES = 64 * 1024;

interface BatchEpoch {
  baseOffset: number;
  epoch: number;
}

/**
 * The leader epoch cache of a partition just recovered: the checkpoint without entries at or past the
 * recovered log end (their first batch was a torn tail, or never written), or, when there is no usable
 * checkpoint, entries rebuilt from the epochs stamped in the batches.
 */
export function loadLeaderEpochCache(
  dir: string,
  segments: readonly Segment[],
  logger: Logger,
): LeaderEpochCache {
  const logEndOffset = segments.at(-1)!.nextOffset;
  const stored = readEpochCheckpoint(dir, logger);
  if (Array.isArray(stored)) {
    const cache = new LeaderEpochCache(dir, stored);
    if (cache.truncateFromEnd(logEndOffset)) {
      logger.warn(
        { dir, logEndOffset, kept: cache.length },
        'dropped leader epochs past the recovered log end',
      );
      cache.persist();
    }
    return cache;
  }
  const rebuilt = epochsFromBatches(segments);
  const cache = new LeaderEpochCache(dir, rebuilt.entries);
  // A damaged file is replaced, and a rebuild that had to walk batches is saved so the next open need not
  // walk them again. One epoch found from the first and last batch is cheap to find again, and not
  // writing it keeps a log that never saw replication free of the file.
  if (stored === 'damaged' || rebuilt.walked) cache.persist();
  return cache;
}

/**
 * Epoch entries from the partitionLeaderEpoch of the batches. Epochs in a log never decrease, so when the
 * first and the last batch agree every batch between does too; otherwise segments are walked, skipping
 * one whose first epoch equals the next segment's first epoch. Negative epochs (none stamped) are skipped.
 */
export function epochsFromBatches(segments: readonly Segment[]): { entries: EpochEntry[]; walked: boolean } {
  const nonEmpty = segments.filter((segment) => segment.size > 0);
  if (nonEmpty.length === 0) return { entries: [], walked: false };
  const first = epochAt(nonEmpty[0]!, 0);
  const last = lastBatchEpoch(nonEmpty.at(-1)!);
  if (first && last && first.epoch === last.epoch) {
    const entries = first.epoch >= 0 ? [{ epoch: first.epoch, startOffset: first.baseOffset }] : [];
    return { entries, walked: false };
  }
  const entries: EpochEntry[] = [];
  const visit = (batch: BatchEpoch): void => {
    if (batch.epoch >= 0 && batch.epoch > (entries.at(-1)?.epoch ?? -1)) {
      entries.push({ epoch: batch.epoch, startOffset: batch.baseOffset });
    }
  };
  nonEmpty.forEach((segment, i) => {
    const head = epochAt(segment, 0);
    if (!head) return;
    visit(head);
    const next = nonEmpty[i + 1];
    if (next && epochAt(next, 0)?.epoch === head.epoch) return;
    walkEpochs(segment, visit);
  });
  return { entries, walked: true };
}

/** The last batch of a segment, found through its offset index; null when compaction removed it. */
function lastBatchEpoch(segment: Segment): BatchEpoch | null {
  const position = segment.locate(segment.nextOffset - 1);
  return position < 0 ? null : epochAt(segment, position);
}

function epochAt(segment: Segment, position: number): BatchEpoch | null {
  const header = segment.readAt(position, EPOCH_HEADER_BYTES);
  if (header.length < EPOCH_HEADER_BYTES) return null;
  return {
    baseOffset: readInt64(header, BatchField.baseOffset),
    epoch: header.readInt32BE(BatchField.partitionLeaderEpoch),
  };
}

/**
 * Every batch's epoch, reading headers only. Stops at a length field that cannot be a batch: reads and
 * verify report such damage, and the epochs before it are what the log can serve.
 */
function walkEpochs(segment: Segment, visit: (batch: BatchEpoch) => void): void {
  let position = 0;
  while (position + EPOCH_HEADER_BYTES <= segment.size) {
    const chunk = segment.readAt(position, Math.min(WALK_CHUNK_BYTES, segment.size - position));
    let at = 0;
    while (at + EPOCH_HEADER_BYTES <= chunk.length) {
      const size = BATCH_LENGTH_PREFIX_BYTES + chunk.readInt32BE(at + BatchField.batchLength);
      if (size < BATCH_HEADER_BYTES) return;
      visit({
        baseOffset: readInt64(chunk, at + BatchField.baseOffset),
        epoch: chunk.readInt32BE(at + BatchField.partitionLeaderEpoch),
      });
      at += size;
    }
    // A file shorter than the segment believes (damage) reads short: stop rather than loop.
    if (at === 0) return;
    position += at;
  }
}
