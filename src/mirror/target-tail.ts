import { newestRecordFromTail } from '../client/partition-tail.js';
import type { LogClient, TopicPartition } from '../client/types.js';
import { MirrorError } from './errors.js';
import { provenanceOf } from './provenance.js';

const TAIL_FIRST_STEP_RECORDS = 2;

export interface TargetTail {
  /** The source offset after the last one forwarded. */
  nextSourceOffset: number;
  timestamp: number;
  targetEnd: number;
}

export function sameTail(a: TargetTail | null, b: TargetTail | null): boolean {
  return a === null ? b === null : b !== null && a.targetEnd === b.targetEnd;
}

/** The last record of the target partition, which names the last source offset forwarded to it. */
export async function readTail(
  target: LogClient,
  link: { source: TopicPartition; targetTopic: string },
): Promise<TargetTail | null> {
  const partition = { topic: link.targetTopic, partition: link.source.partition };
  // The newest record: a mirror is the only writer of its target partitions. Scanned back from the end, first
  // two offsets (a transactional mirror's last record is followed by its commit marker), then further past
  // the records of aborted transactions, which read_committed readers do not see.
  const { end, record: last } = await newestRecordFromTail(
    target,
    partition,
    () => true,
    Number.POSITIVE_INFINITY,
    TAIL_FIRST_STEP_RECORDS,
  );
  if (!last) return null;
  const position = provenanceOf(last);
  if (!position || position.topic !== link.source.topic || position.partition !== link.source.partition) {
    throw new MirrorError(
      'TARGET_FOREIGN_RECORDS',
      `the last record of ${partition.topic}-${partition.partition} (offset ${last.offset}) was not forwarded ` +
        `from ${link.source.topic}-${link.source.partition} by a mirror: a mirror must be the only writer of ` +
        'its target topics (use a different --prefix)',
    );
  }
  return { nextSourceOffset: position.offset + 1, timestamp: last.timestamp, targetEnd: end };
}
