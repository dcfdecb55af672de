import type { ConsumedRecord, LogClient, RecordHeader, TopicPartition } from './types.js';

/**
 * Reading back what a writer already appended, for writers that resume exactly once without a store of their
 * own (the mirror, the edge agent): each record they write carries a provenance header naming where it came
 * from, written in the same append as the data, so the partition's tail itself says how far they got.
 */

/** The value of the record's last header named `key`, or null when it has none. */
export function headerValue(headers: readonly RecordHeader[], key: string): Buffer | null {
  let value: Buffer | null = null;
  for (const header of headers) if (header.key === key) value = header.value ?? null;
  return value;
}

export interface TailRead {
  /** The partition's end offset (the next offset) when it was read. */
  end: number;
  /** The newest record `accept` took, or null when none of the records looked at was. */
  record: ConsumedRecord | null;
}

/** Records fetched per step at most while scanning back; small, as the record looked for is usually near the end. */
const TAIL_STEP_RECORDS = 256;
const TAIL_FETCH_BYTES_MAX = 1024 * 1024;

/**
 * The newest record of the partition that `accept` takes, looking at no more than `recordsBackMax` offsets
 * back from the end (1: only the last one). A partition shared with other writers is scanned back step by
 * step, each step read forwards, so its own newest record is found behind theirs; steps start at
 * `firstStepRecords` offsets and double up to TAIL_STEP_RECORDS. Offsets that hold no record for readers
 * (transaction markers, aborted transactions' records) count as offsets.
 */
export async function newestRecordFromTail(
  client: LogClient,
  partition: TopicPartition,
  accept: (record: ConsumedRecord) => boolean,
  recordsBackMax: number,
  firstStepRecords = TAIL_STEP_RECORDS,
): Promise<TailRead> {
  const { earliest, latest } = await client.offsets(partition);
  const floor = Math.max(earliest, latest - recordsBackMax);
  for (
    let stepEnd = latest, step = firstStepRecords;
    stepEnd > floor;
    step = Math.min(2 * step, TAIL_STEP_RECORDS)
  ) {
    const stepStart = Math.max(floor, stepEnd - step);
    const records = await readRange(client, partition, stepStart, stepEnd);
    const found = records.findLast(accept);
    if (found) return { end: latest, record: found };
    stepEnd = stepStart;
  }
  return { end: latest, record: null };
}

/**
 * The records at offsets [from, to), fetched forwards; compacted-away offsets, transaction markers and
 * aborted records are simply absent.
 */
async function readRange(
  client: LogClient,
  partition: TopicPartition,
  from: number,
  to: number,
): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = [];
  for (let offset = from; offset < to; ) {
    let next = offset;
    const records = await client.fetch([{ ...partition, offset }], {
      maxBytes: TAIL_FETCH_BYTES_MAX,
      maxWaitMs: 0,
      readUpTo: (_topic, _partition, nextOffset) => {
        next = Math.max(next, nextOffset);
      },
    });
    for (const record of records) {
      if (record.offset >= offset && record.offset < to) out.push(record);
      next = Math.max(next, record.offset + 1);
    }
    if (next <= offset) {
      throw new Error(
        `${partition.topic}-${partition.partition} offsets ${offset}..${to - 1} could not be read`,
      );
    }
    offset = next;
  }
  return out;
}

export interface SettleOptions {
  /** Pause between two reads. */
  settleMs: number;
  /** Reads that may still disagree before giving up. */
  roundsMax: number;
  /** Waits `ms` (or less when the caller is shutting down). */
  sleep(ms: number): Promise<void>;
}

/**
 * Reads the tails again, a pause apart, until two reads agree: a produce request the previous process sent
 * just before dying may still be appended, and resuming before it lands would send its records a second time.
 */
export async function settledTails<T>(
  read: () => Promise<T>,
  same: (a: T, b: T) => boolean,
  options: SettleOptions,
): Promise<T> {
  let previous = await read();
  for (let round = 0; ; round += 1) {
    await options.sleep(options.settleMs);
    const current = await read();
    if (same(current, previous)) return current;
    if (round + 1 >= options.roundsMax) {
      throw new Error(`the partitions' tails kept growing over ${round + 1} reads: another writer?`);
    }
    previous = current;
  }
}
