import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { makeBatch, RecordingLogger, temporaryDirectory } from '../../test/support/log-fixtures.js';
import {
  BatchField,
  encodeRecordBatch,
  readBatchHeader,
  readInt64,
  splitBatches,
  writeInt64,
} from '../protocol/index.js';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from './config.js';
import { LogError } from './errors.js';
import { OpenFileLimiter } from './open-files.js';
import { PartitionLog } from './partition-log.js';

/**
 * A follower copying a compacted leader: batches arrive with offset gaps between them (and before the first
 * one), and the follower keeps the gaps, as Kafka's followers do.
 */

const T0 = 1_700_000_000_000;
/** Small segments and dense index entries, so gaps meet rolls and index lookups. */
const SMALL: Partial<TopicConfig> = { segmentBytes: 1024, indexIntervalBytes: 200 };

interface Replica {
  dir: string;
  open(overrides?: Partial<TopicConfig>): PartitionLog;
}

function replica(root: string, name: string): Replica {
  const dir = path.join(root, name);
  const files = new OpenFileLimiter(100);
  const logger = new RecordingLogger();
  return {
    dir,
    open: (overrides = {}) =>
      PartitionLog.open({
        dir,
        config: { ...DEFAULT_TOPIC_CONFIG, ...SMALL, ...overrides },
        files,
        logger,
        now: () => T0,
      }),
  };
}

/** A batch as a leader would send it: `count` records from `baseOffset`, stamped with `epoch`. */
function leaderBatch(tag: string, baseOffset: number, epoch: number, count = 3): Buffer {
  const batch = makeBatch(tag, count);
  // Both fields lie outside the CRC, as on a leader.
  writeInt64(batch, BatchField.baseOffset, baseOffset);
  batch.writeInt32BE(epoch, BatchField.partitionLeaderEpoch);
  return batch;
}

interface Span {
  base: number;
  last: number;
}

/** Every batch from the log start, following each batch's last offset as a fetcher does. */
function allBatches(log: PartitionLog): Buffer[] {
  log.settleWrites();
  const found: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { records } = log.readForReplica(offset, 1 << 20);
    if (records.length === 0) break;
    for (const batch of splitBatches(records)) {
      const header = readBatchHeader(batch);
      found.push(batch);
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  return found;
}

function spans(log: PartitionLog): Span[] {
  return allBatches(log).map((batch) => {
    const header = readBatchHeader(batch);
    return { base: header.baseOffset, last: header.baseOffset + header.lastOffsetDelta };
  });
}

/** Reading at any offset returns the batch that holds it or, in a gap, the first batch after it. */
function assertReadsByOffset(log: PartitionLog, expected: readonly Span[]): void {
  log.settleWrites();
  for (let offset = log.logStartOffset; offset < log.logEndOffset; offset++) {
    const want = expected.find((span) => span.last >= offset);
    const { records } = log.readForReplica(offset, 1);
    if (!want) {
      assert.equal(records.length, 0, `read at ${offset} past the last batch`);
      continue;
    }
    const header = readBatchHeader(splitBatches(records)[0]!);
    assert.equal(header.baseOffset, want.base, `read at ${offset}`);
  }
}

/** Base offset in each segment file's name and of the first batch in it (-1 when empty). */
function segmentStarts(dir: string): { file: number; firstBatch: number }[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .sort()
    .map((name) => {
      const bytes = fs.readFileSync(path.join(dir, name));
      return { file: Number(name.slice(0, 20)), firstBatch: bytes.length >= 8 ? readInt64(bytes, 0) : -1 };
    });
}

/**
 * Batch `i` of a compacted topic: three records whose keys later batches overwrite, plus, in every third
 * batch, one key of its own that survives compaction (so only some batches survive, with gaps between).
 */
function keyedBatch(i: number): Buffer {
  const keys = [`k${i % 5}`, `k${(i + 1) % 5}`, i % 3 === 0 ? `own${i}` : `k${(i + 2) % 5}`];
  return encodeRecordBatch(
    keys.map((key) => ({
      key: Buffer.from(key),
      value: Buffer.from(`${key}=${i}`.padEnd(40, '.')),
      timestamp: T0 + i,
    })),
  );
}

/** Where each leader epoch starts among `batches`: at its first batch. */
function firstEpochs(batches: readonly Buffer[]): string[] {
  const found: string[] = [];
  let latest = -1;
  for (const batch of batches) {
    const epoch = batch.readInt32BE(BatchField.partitionLeaderEpoch);
    if (epoch > latest) found.push(`${epoch}@${readBatchHeader(batch).baseOffset}`);
    latest = Math.max(latest, epoch);
  }
  return found;
}

function replicate(leader: PartitionLog, follower: PartitionLog): void {
  // A replica copies up to the log end: appends still on their way to the file first land.
  leader.settleWrites();
  while (follower.logEndOffset < leader.logEndOffset) {
    const { records } = leader.readForReplica(follower.logEndOffset, 700);
    assert.ok(
      records.length > 0,
      `leader has nothing at ${follower.logEndOffset} below ${leader.logEndOffset}`,
    );
    follower.appendAsFollower(records);
  }
}

const epochsOf = (log: PartitionLog) => log.epochEntries().map((e) => `${e.epoch}@${e.startOffset}`);
const uncleanShutdown = (r: Replica) => fs.rmSync(path.join(r.dir, '.clean-shutdown'));

function expectCode(code: string): (error: unknown) => true {
  return (error) => {
    assert.ok(error instanceof LogError, `expected LogError ${code}, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

describe('appendAsFollower with offset gaps', () => {
  it('keeps gaps before the first batch and between batches; the log end follows the last batch', async () => {
    using tmp = temporaryDirectory();
    const follower = replica(tmp.dir, 'follower').open();
    const result = follower.appendAsFollower(
      Buffer.concat([leaderBatch('a', 5, 1), leaderBatch('b', 20, 1), leaderBatch('c', 40, 2)]),
    );
    assert.deepEqual([result.baseOffset, result.lastOffset], [5, 42]);
    assert.equal(follower.logEndOffset, 43);
    assert.equal(follower.logStartOffset, 0);
    assert.deepEqual(epochsOf(follower), ['1@5', '2@40'], "an epoch starts at its first batch's base offset");
    const expected = [
      { base: 5, last: 7 },
      { base: 20, last: 22 },
      { base: 40, last: 42 },
    ];
    assert.deepEqual(spans(follower), expected);
    assertReadsByOffset(follower, expected);
    assert.equal(follower.readForReplica(43, 1 << 20).records.length, 0);
    follower.appendAsFollower(leaderBatch('d', 43, 2));
    assert.equal(follower.logEndOffset, 46, 'a dense batch still continues the log');
    assert.deepEqual(follower.verify(), []);
    await follower.close();
  });

  it('still refuses a batch below the log end and an epoch older than the log has', async () => {
    using tmp = temporaryDirectory();
    const follower = replica(tmp.dir, 'follower').open();
    follower.appendAsFollower(Buffer.concat([leaderBatch('a', 10, 3), leaderBatch('b', 30, 3)]));
    const sizeBefore = follower.sizeBytes;
    assert.throws(() => follower.appendAsFollower(leaderBatch('x', 32, 3)), /starts at offset 32, below 33/);
    assert.throws(
      () => follower.appendAsFollower(Buffer.concat([leaderBatch('y', 40, 3), leaderBatch('z', 41, 3)])),
      expectCode('OFFSET_OUT_OF_RANGE'),
    );
    assert.throws(
      () => follower.appendAsFollower(leaderBatch('old', 50, 2)),
      /leader epoch 2, older than epoch 3/,
    );
    assert.equal(follower.logEndOffset, 33);
    assert.equal(follower.sizeBytes, sizeBefore);
    await follower.close();
  });

  it('keeps gaps across rolls, and reopens (clean or not) with the same batches and no damage', async () => {
    using tmp = temporaryDirectory();
    const r = replica(tmp.dir, 'follower');
    let follower = r.open();
    const expected: Span[] = [];
    for (let i = 0; i < 40; i++) {
      const base = i * 10 + (i % 3);
      follower.appendAsFollower(leaderBatch(`b${i}`, base, 1 + Math.floor(i / 15), 2));
      expected.push({ base, last: base + 1 });
    }
    await follower.durable();
    assert.ok(follower.segmentCount > 3, `rolled: ${follower.segmentCount} segments`);
    const starts = segmentStarts(r.dir);
    assert.ok(
      starts.slice(1).some((s) => s.firstBatch > s.file),
      'some segment starts in a gap: it was rolled at the log end, before the next batch',
    );
    const endOffset = follower.logEndOffset;
    assert.equal(endOffset, expected.at(-1)!.last + 1);
    assertReadsByOffset(follower, expected);
    const epochs = epochsOf(follower);
    assert.deepEqual(epochs, ['1@0', '2@150', '3@300']);
    await follower.close();

    for (const clean of [true, false]) {
      follower = r.open();
      if (!clean) assert.deepEqual(follower.verify(), []);
      assert.equal(follower.logEndOffset, endOffset);
      assert.deepEqual(spans(follower), expected);
      assertReadsByOffset(follower, expected);
      assert.deepEqual(epochsOf(follower), epochs);
      follower.appendAsFollower(leaderBatch('next', endOffset + 7, 3));
      follower.truncateTo(endOffset);
      await follower.close();
      uncleanShutdown(r);
    }
  });

  it('truncates into a gap and inside a batch; endOffsetForEpoch answers with gaps', async () => {
    using tmp = temporaryDirectory();
    const r = replica(tmp.dir, 'follower');
    const follower = r.open();
    follower.appendAsFollower(
      Buffer.concat([leaderBatch('a', 5, 1), leaderBatch('b', 20, 1), leaderBatch('c', 40, 2)]),
    );
    assert.deepEqual(follower.endOffsetForEpoch(1), { leaderEpoch: 1, endOffset: 40 });
    assert.equal(follower.truncateTo(30), 30, 'a cut in a gap leaves the end at the cut');
    assert.deepEqual(epochsOf(follower), ['1@5']);
    assert.deepEqual(spans(follower), [
      { base: 5, last: 7 },
      { base: 20, last: 22 },
    ]);
    assert.equal(follower.truncateTo(21), 20, 'a batch is never split');
    assert.throws(
      () => follower.appendAsFollower(leaderBatch('low', 19, 1)),
      expectCode('OFFSET_OUT_OF_RANGE'),
    );
    follower.appendAsFollower(leaderBatch('again', 25, 4));
    assert.deepEqual(epochsOf(follower), ['1@5', '4@25']);
    assert.equal(follower.truncateTo(3), 3, 'a cut before the first batch empties the segment');
    assert.deepEqual(spans(follower), []);
    assert.deepEqual(epochsOf(follower), []);
    follower.appendAsFollower(leaderBatch('fresh', 9, 5));
    await follower.close();
    uncleanShutdown(r);
    const reopened = r.open();
    assert.deepEqual(reopened.verify(), []);
    assert.equal(reopened.logEndOffset, 12);
    assert.deepEqual(spans(reopened), [{ base: 9, last: 11 }]);
    assert.deepEqual(epochsOf(reopened), ['5@9']);
    await reopened.close();
  });

  it("copies a compacted leader: the leader's bytes, its gaps, reads by offset, recovery", async () => {
    using tmp = temporaryDirectory();
    const config: Partial<TopicConfig> = { cleanupPolicy: 'compact', minCompactionLagMs: 0 };
    const leader = replica(tmp.dir, 'leader').open(config);
    for (let i = 0; i < 60; i++) leader.write(keyedBatch(i), { leaderEpoch: i < 30 ? 1 : 2 });
    leader.compact();
    const leaderSpans = spans(leader);
    const dense = leaderSpans.every((span, i) => span.base === (i === 0 ? 0 : leaderSpans[i - 1]!.last + 1));
    assert.ok(!dense, 'compaction left offset gaps on the leader');
    assert.ok(
      leaderSpans.some((span, i) => i > 0 && span.base > leaderSpans[i - 1]!.last + 1),
      'and batches between others',
    );
    assertReadsByOffset(leader, leaderSpans);

    const r = replica(tmp.dir, 'follower');
    const follower = r.open(config);
    replicate(leader, follower);
    assert.equal(follower.logEndOffset, leader.logEndOffset);
    assert.deepEqual(spans(follower), leaderSpans);
    assert.deepEqual(Buffer.concat(allBatches(follower)), Buffer.concat(allBatches(leader)), 'byte for byte');
    assertReadsByOffset(follower, leaderSpans);
    assert.deepEqual(epochsOf(follower), firstEpochs(allBatches(leader)));
    assert.deepEqual(firstEpochs(allBatches(leader)), ['1@0', '2@90']);
    await follower.close();
    uncleanShutdown(r);
    const reopened = r.open(config);
    assert.deepEqual(reopened.verify(), []);
    assert.equal(reopened.logEndOffset, leader.logEndOffset);
    assert.deepEqual(spans(reopened), leaderSpans);
    // A follower's own cleaner keeps what it was told about the gaps it copied.
    reopened.compact();
    await reopened.close();
    uncleanShutdown(r);
    const again = r.open(config);
    assert.deepEqual(again.verify(), []);
    assert.equal(again.logEndOffset, leader.logEndOffset);
    await Promise.all([leader.close(), again.close()]);
  });
});
