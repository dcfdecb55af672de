import { newestRecordFromTail } from '../client/partition-tail.js';
import type { ConsumedRecord, LogClient, OutgoingRecord } from '../client/types.js';
import type { StateChanges, StateStore } from './state-store.js';
import type { WatermarkState } from './task-watermark.js';

/*
 * A task's checkpoint as it is on disk: the marker record in the checkpoint topic, the sequence headers on
 * outputs and changelog entries, and how a restarted task reads them back (last checkpoint, committed state,
 * outputs already written). Existing checkpoints and changelogs must keep restoring: change nothing here
 * without a migration.
 */

/** Headers that make outputs idempotent across restarts: which task wrote a record, and its sequence. */
export const TASK_HEADER = 'es.task';
export const SEQUENCE_HEADER = 'es.seq';

/** Where a task stands: what it has consumed, produced and changed, and its event time. */
export interface Checkpoint {
  /** The next input offset to process. */
  offset: number;
  /** Outputs and state entries written so far, each numbered in processing order. */
  outputSequence: number;
  stateSequence: number;
  /**
   * Sequence ranges [from, to] of changelog entries written by attempts that crashed before checkpointing
   * them. A new attempt numbers its entries above them, so they can never pass for its own.
   */
  abandonedStateSequences: Array<[number, number]>;
  watermark: WatermarkState;
  /** Per output partition (keyed by outputPartitionKey), an offset at or before any output written after this checkpoint. */
  outputBounds: Record<string, number>;
  /** Repartition sources: per upstream task, the highest output sequence processed (absent before it existed). */
  upstreamSequences?: Record<string, number>;
  /** The group member that wrote it, whether it gave the task up with it, and when (wall clock). */
  owner: string;
  released: boolean;
  writtenAtMs: number;
}

/** Names an output partition in `outputBounds`. */
export const outputPartitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** The checkpoint marker: keyed by task in the task's partition of the (compacted) checkpoint topic. */
export function checkpointRecord(
  topic: string,
  partition: number,
  taskId: Buffer,
  checkpoint: Checkpoint,
): OutgoingRecord {
  return {
    topic,
    partition,
    key: taskId,
    value: Buffer.from(JSON.stringify(checkpoint)),
    timestamp: checkpoint.writtenAtMs,
  };
}

/** Changelog records serialised between two looks at the clock in TaskSnapshot.takeWithin. */
const TAKE_STEP = 100;

/** A checkpoint's changelog records, built a slice at a time, then its marker. */
export class TaskSnapshot {
  private part = 0;
  private nextSequence: number;

  constructor(
    private readonly partition: number,
    private readonly parts: Array<{ topic: string; changes: StateChanges }>,
    firstSequence: number,
    readonly marker: OutgoingRecord,
    /** The checkpoint's input offset: where the task resumes once the marker is written. */
    readonly offset: number,
  ) {
    this.nextSequence = firstSequence;
  }

  /**
   * Up to `max` further changelog records, taken until `budgetMs` has passed: a checkpoint's work per turn of
   * the event loop stays short whatever its values cost to serialise (sketches, a loaded machine).
   */
  takeWithin(max: number, budgetMs: number): OutgoingRecord[] {
    const started = performance.now();
    const records = this.take(Math.min(TAKE_STEP, max));
    while (records.length < max && performance.now() - started < budgetMs) {
      const more = this.take(Math.min(TAKE_STEP, max - records.length));
      if (more.length === 0) break;
      for (const record of more) records.push(record);
    }
    return records;
  }

  /** Up to `max` further changelog records; none once all are taken. */
  take(max: number): OutgoingRecord[] {
    const records: OutgoingRecord[] = [];
    const now = Date.now();
    while (records.length < max && this.part < this.parts.length) {
      const { topic, changes } = this.parts[this.part]!;
      const taken = changes.take(max - records.length);
      if (taken.length === 0) {
        this.part++;
        continue;
      }
      for (const [key, json] of taken) {
        records.push({
          topic,
          partition: this.partition,
          key: Buffer.from(key),
          value: json === null ? null : Buffer.from(json),
          timestamp: now,
          headers: [{ key: SEQUENCE_HEADER, value: Buffer.from(String(this.nextSequence++)) }],
        });
      }
    }
    return records;
  }
}

export function headerOf(record: ConsumedRecord, key: string): Buffer | null | undefined {
  for (const header of record.headers) if (header.key === key) return header.value;
  return undefined;
}

/** Where outputs written from now on can start: the end of every output partition. */
export async function currentEnds(
  client: LogClient,
  partitions: Map<string, number>,
): Promise<Record<string, number>> {
  const ends: Record<string, number> = {};
  const lookups: Promise<void>[] = [];
  for (const [topic, count] of partitions) {
    for (let partition = 0; partition < count; partition++) {
      lookups.push(
        client.offsets({ topic, partition }).then((offsets) => {
          ends[outputPartitionKey(topic, partition)] = offsets.latest;
        }),
      );
    }
  }
  await Promise.all(lookups);
  return ends;
}

const READ_OPTIONS = { maxBytes: 8 * 1024 * 1024, maxWaitMs: 0 };

/**
 * Reads [from, latest) of one partition in order, batch by batch, past offsets that hold no record for
 * readers (transaction markers, aborted transactions' records).
 */
async function readRange(
  client: LogClient,
  topic: string,
  partition: number,
  from: number,
  visit: (record: ConsumedRecord) => void,
): Promise<void> {
  const { earliest, latest } = await client.offsets({ topic, partition });
  let offset = Math.max(from, earliest);
  while (offset < latest) {
    let next = offset;
    const records = await client.fetch([{ topic, partition, offset }], {
      ...READ_OPTIONS,
      readUpTo: (_topic, _partition, nextOffset) => {
        next = Math.max(next, nextOffset);
      },
    });
    for (const record of records) {
      if (record.offset >= latest) return;
      visit(record);
    }
    if (next <= offset) break;
    offset = next;
  }
}

/**
 * Offsets looked at first for the last checkpoint: the checkpoint and, when checkpoints are written in
 * transactions, the commit marker after it.
 */
const CHECKPOINT_TAIL_STEP = 2;

export async function readLastCheckpoint(
  client: LogClient,
  topic: string,
  partition: number,
): Promise<Checkpoint | null> {
  // The newest record is the last checkpoint; compaction may have removed the ones before it, and transaction
  // markers and aborted attempts may follow it.
  const { record } = await newestRecordFromTail(
    client,
    { topic, partition },
    (candidate) => candidate.value !== null,
    Number.MAX_SAFE_INTEGER,
    CHECKPOINT_TAIL_STEP,
  );
  return record?.value ? (JSON.parse(record.value.toString('utf8')) as Checkpoint) : null;
}

/**
 * Restores every store to the checkpointed state: replays each changelog applying committed entries only.
 * Entries beyond the checkpoint were written by an attempt that crashed before checkpointing them: their
 * sequences are abandoned, and the task numbers its own entries above them.
 */
export async function restoreState(
  client: LogClient,
  stores: StateStore[],
  changelogTopic: (store: string) => string,
  partition: number,
  checkpoint: Checkpoint,
): Promise<{ stateSequence: number; abandonedStateSequences: Array<[number, number]> }> {
  const committed = committedSequences(checkpoint);
  let highestWritten = checkpoint.stateSequence;
  for (const store of stores) {
    const highest = await restoreStore(client, store, changelogTopic(store.name), partition, committed);
    highestWritten = Math.max(highestWritten, highest);
  }
  const abandonedStateSequences = [...(checkpoint.abandonedStateSequences ?? [])];
  if (highestWritten > checkpoint.stateSequence)
    abandonedStateSequences.push([checkpoint.stateSequence + 1, highestWritten]);
  return { stateSequence: highestWritten, abandonedStateSequences };
}

/** Whether a changelog entry's sequence belongs to the checkpointed state. */
function committedSequences(checkpoint: Checkpoint): (sequence: number) => boolean {
  const abandoned = checkpoint.abandonedStateSequences ?? [];
  return (sequence) =>
    sequence <= checkpoint.stateSequence &&
    !abandoned.some(([from, to]) => sequence >= from && sequence <= to);
}

/** Replays a store's changelog, applying committed entries only; returns the highest sequence in the log. */
async function restoreStore(
  client: LogClient,
  store: StateStore,
  topic: string,
  partition: number,
  committed: (sequence: number) => boolean,
): Promise<number> {
  store.clear();
  let highest = 0;
  await readRange(client, topic, partition, 0, (record) => {
    const sequence = Number(headerOf(record, SEQUENCE_HEADER)?.toString() ?? Number.NaN);
    if (sequence > highest) highest = sequence;
    if (!committed(sequence) || record.key === null) return;
    store.restore(
      record.key.toString('utf8'),
      record.value === null ? null : JSON.parse(record.value.toString('utf8')),
    );
  });
  store.drainChanges();
  return highest;
}

/** Per output partition, the highest sequence above the checkpoint's this task already wrote there. */
export async function writtenSequences(
  client: LogClient,
  taskId: string,
  bounds: Record<string, number>,
  checkpointSequence: number,
): Promise<Map<string, number>> {
  const written = new Map<string, number>();
  await Promise.all(
    Object.entries(bounds).map(async ([key, from]) => {
      const [topic, partition] = key.split('\u0000') as [string, string];
      await readRange(client, topic, Number(partition), from, (record) => {
        if (headerOf(record, TASK_HEADER)?.toString() !== taskId) return;
        const sequence = Number(headerOf(record, SEQUENCE_HEADER)?.toString());
        if (sequence > checkpointSequence && sequence > (written.get(key) ?? 0)) written.set(key, sequence);
      });
    }),
  );
  return written;
}
