import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ioError, isNodeError } from './errors.js';
import type { Logger } from './logger.js';
import { fsyncDirectory, writeFileAtomic } from './segment.js';

/**
 * The leader epoch cache of one partition (Kafka's LeaderEpochFileCache, KIP-101): for every leader epoch
 * that wrote to the log, the offset of its first batch. A follower asks the leader where its last epoch
 * ended (OffsetForLeaderEpoch) and truncates there, instead of trusting a high watermark that may be stale.
 *
 * File `leader-epoch-checkpoint`, Kafka's text format: a version line, a count line, then one
 * `epoch startOffset` line per entry, oldest first. It is rewritten atomically on every change, before the
 * batches that caused the change are appended, so after a crash it may hold an entry past the log end
 * (dropped at open) but never lack one for a batch in the log.
 */

export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';
const CHECKPOINT_VERSION = 0;
/** Kafka's answer when the epoch or its end offset is unknown. */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;
/** Epochs are int32 on the wire and in the batch header. */
export const MAX_LEADER_EPOCH = 0x7fff_ffff;
/** Bound on the checkpoint read at open: about a million entries, far beyond any real count of elections. */
const MAX_CHECKPOINT_BYTES = 32 * 1024 * 1024;

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

/** An OffsetForLeaderEpoch answer: the largest epoch <= the one asked for, and where it ended. */
export interface EpochEndOffset {
  leaderEpoch: number;
  endOffset: number;
}

export class LeaderEpochCache {
  private readonly file: string;

  constructor(
    readonly dir: string,
    private entries: EpochEntry[],
  ) {
    this.file = path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE);
    assertMonotonic(entries);
  }

  get latestEpoch(): number {
    return this.entries.at(-1)?.epoch ?? UNDEFINED_EPOCH;
  }

  get length(): number {
    return this.entries.length;
  }

  snapshot(): readonly EpochEntry[] {
    return this.entries.map((entry) => ({ ...entry }));
  }

  /**
   * Records that `epoch` starts at `startOffset` if it is newer than the latest epoch; returns whether the
   * entries changed (then the caller persists them). An older epoch is the caller's bug: it would make the
   * log's epochs go backwards. A newer epoch at the latest entry's offset replaces it, as in Kafka: the
   * older one wrote nothing (an append that failed after its entry was recorded).
   */
  assign(epoch: number, startOffset: number): boolean {
    assert.ok(
      Number.isInteger(epoch) && epoch >= 0 && epoch <= MAX_LEADER_EPOCH,
      `epoch ${epoch} is not an int32 >= 0`,
    );
    assert.ok(
      Number.isSafeInteger(startOffset) && startOffset >= 0,
      `start offset ${startOffset} is invalid`,
    );
    const latest = this.entries.at(-1);
    if (latest && epoch <= latest.epoch) {
      assert.ok(epoch === latest.epoch, `epoch ${epoch} is older than the latest epoch ${latest.epoch}`);
      return false;
    }
    if (latest && latest.startOffset === startOffset) this.entries.pop();
    const previous = this.entries.at(-1);
    assert.ok(
      !previous || startOffset > previous.startOffset,
      `epoch ${epoch} cannot start at ${startOffset}, before epoch ${previous?.epoch} at ${previous?.startOffset}`,
    );
    this.entries.push({ epoch, startOffset });
    return true;
  }

  /** Drops the entries of epochs that start at or after `endOffset`: their batches were truncated away. */
  truncateFromEnd(endOffset: number): boolean {
    const before = this.entries.length;
    while ((this.entries.at(-1)?.startOffset ?? -1) >= endOffset) this.entries.pop();
    return this.entries.length !== before;
  }

  clear(): boolean {
    const changed = this.entries.length > 0;
    this.entries = [];
    return changed;
  }

  /**
   * Kafka's LeaderEpochFileCache.endOffsetFor: the latest epoch ends at the log end; an epoch before the
   * first known one is answered with the first entry's start (everything before it is older); otherwise
   * the largest epoch <= the one asked for, ending where the next epoch starts. An epoch newer than the
   * latest, or an empty cache, is unknown.
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    const unknown = { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH || this.entries.length === 0) return unknown;
    if (requestedEpoch === this.latestEpoch) return { leaderEpoch: requestedEpoch, endOffset: logEndOffset };
    const higher = this.entries.findIndex((entry) => entry.epoch > requestedEpoch);
    if (higher < 0) return unknown;
    const next = this.entries[higher]!;
    if (higher === 0) return { leaderEpoch: requestedEpoch, endOffset: next.startOffset };
    return { leaderEpoch: this.entries[higher - 1]!.epoch, endOffset: next.startOffset };
  }

  /** Writes the checkpoint atomically and makes the rename durable. */
  persist(): void {
    const lines = [String(CHECKPOINT_VERSION), String(this.entries.length)];
    for (const entry of this.entries) lines.push(`${entry.epoch} ${entry.startOffset}`);
    writeFileAtomic(this.file, `${lines.join('\n')}\n`);
    fsyncDirectory(this.dir);
  }
}

/** The checkpoint's entries; null when there is no file, 'damaged' when it cannot be parsed. */
export function readEpochCheckpoint(dir: string, logger: Logger): EpochEntry[] | null | 'damaged' {
  const file = path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE);
  let text: string;
  try {
    if (fs.statSync(file).size > MAX_CHECKPOINT_BYTES) return reportDamage(logger, file, 'file is too large');
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (isNodeError(error, 'ENOENT')) return null;
    throw ioError(error, `read ${file}`);
  }
  const parsed = parseCheckpoint(text);
  return typeof parsed === 'string' ? reportDamage(logger, file, parsed) : parsed;
}

function reportDamage(logger: Logger, file: string, reason: string): 'damaged' {
  // Written atomically, so this is damage at rest; the batches carry their epochs and rebuild it.
  logger.error({ path: file, reason }, 'damaged leader epoch checkpoint; rebuilding it from the batches');
  return 'damaged';
}

const NUMBER = /^\d{1,16}$/;

/** Entries, or why the text is not a checkpoint. */
function parseCheckpoint(text: string): EpochEntry[] | string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== String(CHECKPOINT_VERSION)) return `version line is ${JSON.stringify(lines[0])}`;
  const count = NUMBER.test(lines[1] ?? '') ? Number(lines[1]) : -1;
  if (count !== lines.length - 2) return `count line ${JSON.stringify(lines[1])} does not match the entries`;
  const entries: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const [epoch, startOffset, extra] = line.split(' ');
    if (extra !== undefined || !NUMBER.test(epoch ?? '') || !NUMBER.test(startOffset ?? '')) {
      return `malformed entry ${JSON.stringify(line)}`;
    }
    const entry = { epoch: Number(epoch), startOffset: Number(startOffset) };
    const previous = entries.at(-1);
    if (entry.epoch > MAX_LEADER_EPOCH || !Number.isSafeInteger(entry.startOffset))
      return `entry ${line} is out of range`;
    if (previous && (entry.epoch <= previous.epoch || entry.startOffset <= previous.startOffset)) {
      return `entry ${line} does not follow ${previous.epoch} ${previous.startOffset}`;
    }
    entries.push(entry);
  }
  return entries;
}

function assertMonotonic(entries: readonly EpochEntry[]): void {
  for (let i = 1; i < entries.length; i++) {
    const previous = entries[i - 1]!;
    const entry = entries[i]!;
    assert.ok(
      entry.epoch > previous.epoch && entry.startOffset > previous.startOffset,
      `epoch entries out of order: ${previous.epoch}@${previous.startOffset} then ${entry.epoch}@${entry.startOffset}`,
    );
  }
}
