import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { makeBatch, RecordingLogger, temporaryDirectory } from '../../test/support/log-fixtures.js';
import { BatchField, decodeRecords, readBatchHeader, splitBatches, writeInt64 } from '../protocol/index.js';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from './config.js';
import { LogError } from './errors.js';
import { LEADER_EPOCH_CHECKPOINT_FILE } from './leader-epoch-cache.js';
import { OpenFileLimiter } from './open-files.js';
import { PartitionLog } from './partition-log.js';
import { segmentFileName } from './segment.js';

const T0 = 1_700_000_000_000;
/** Small segments, dense index entries: truncation meets several segments and index entries. */
const SMALL: Partial<TopicConfig> = { segmentBytes: 1024, indexIntervalBytes: 200 };

interface Replica {
  dir: string;
  logger: RecordingLogger;
  open(overrides?: Partial<TopicConfig>): PartitionLog;
}

function replica(root: string, name: string): Replica {
  const dir = path.join(root, name);
  const logger = new RecordingLogger();
  const files = new OpenFileLimiter(100);
  return {
    dir,
    logger,
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

/** Every record value from `from` to the log end, read as a replica reads. */
function values(log: PartitionLog, from = log.logStartOffset): string[] {
  log.settleWrites();
  const found: string[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const { records } = log.readForReplica(offset, 1 << 20);
    assert.ok(records.length > 0, `nothing read at ${offset} below the log end ${log.logEndOffset}`);
    for (const batch of splitBatches(records)) {
      for (const record of decodeRecords(batch))
        if (record.offset >= offset) found.push(record.value!.toString());
      const header = readBatchHeader(batch);
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  return found;
}

/** Copies what the leader has beyond the follower's end, as a replica fetcher would. */
function replicate(leader: PartitionLog, follower: PartitionLog): void {
  // A replica copies up to the log end: appends still on their way to the file first land.
  leader.settleWrites();
  while (follower.logEndOffset < leader.logEndOffset) {
    follower.appendAsFollower(leader.readForReplica(follower.logEndOffset, 1 << 20).records);
  }
}

function expectCode(code: string): (error: unknown) => true {
  return (error) => {
    assert.ok(error instanceof LogError, `expected LogError ${code}, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

const epochsOf = (log: PartitionLog) => log.epochEntries().map((e) => `${e.epoch}@${e.startOffset}`);
const uncleanShutdown = (r: Replica) => fs.rmSync(path.join(r.dir, '.clean-shutdown'));
const checkpointPath = (r: Replica) => path.join(r.dir, LEADER_EPOCH_CHECKPOINT_FILE);

describe('leader epochs in the log', () => {
  it('stamps the leader epoch into every batch and records where each epoch starts', async () => {
    using tmp = temporaryDirectory();
    const log = replica(tmp.dir, 'p0').open();
    assert.equal(log.latestEpoch(), -1);
    log.write(makeBatch('a'), { leaderEpoch: 3 });
    log.write(Buffer.concat([makeBatch('b'), makeBatch('c')]), { leaderEpoch: 3 });
    log.write(makeBatch('d'), { leaderEpoch: 5 });
    await log.durable();
    const stamped = splitBatches(log.readForReplica(0, 1 << 20).records).map(
      (batch) => readBatchHeader(batch).partitionLeaderEpoch,
    );
    assert.deepEqual(stamped, [3, 3, 3, 5]);
    assert.deepEqual(epochsOf(log), ['3@0', '5@9']);
    assert.equal(log.latestEpoch(), 5);
    assert.throws(
      () => log.write(makeBatch('stale'), { leaderEpoch: 4 }),
      /older than the log's latest epoch 5/,
    );
    assert.equal(log.logEndOffset, 12, 'a refused write writes nothing');
    assert.deepEqual(log.endOffsetForEpoch(3), { leaderEpoch: 3, endOffset: 9 });
    assert.deepEqual(log.endOffsetForEpoch(5), { leaderEpoch: 5, endOffset: 12 });
    assert.deepEqual(log.endOffsetForEpoch(4), { leaderEpoch: 3, endOffset: 9 });
    assert.deepEqual(log.endOffsetForEpoch(1), { leaderEpoch: 1, endOffset: 0 });
    assert.deepEqual(log.endOffsetForEpoch(6), { leaderEpoch: -1, endOffset: -1 });
    await log.close();
  });

  it('keeps writing epoch 0 and no checkpoint file without a leader epoch, as single-node mode did', async () => {
    using tmp = temporaryDirectory();
    const r = replica(tmp.dir, 'p0');
    const log = r.open();
    await log.append(makeBatch('a'));
    assert.equal(readBatchHeader(log.read(0, 1 << 20).records).partitionLeaderEpoch, 0);
    await log.close();
    const reopened = r.open();
    assert.deepEqual(epochsOf(reopened), ['0@0'], 'found from the first and last batch');
    assert.equal(fs.existsSync(checkpointPath(r)), false);
    await reopened.close();
  });

  for (const shutdown of ['clean', 'unclean'] as const) {
    it(`keeps the epoch cache across a ${shutdown} shutdown`, async () => {
      using tmp = temporaryDirectory();
      const r = replica(tmp.dir, 'p0');
      const log = r.open();
      for (let i = 0; i < 20; i++) log.write(makeBatch(`b${i}`), { leaderEpoch: 1 + Math.floor(i / 6) });
      await log.durable();
      const before = epochsOf(log);
      assert.deepEqual(before, ['1@0', '2@18', '3@36', '4@54']);
      await log.close();
      if (shutdown === 'unclean') uncleanShutdown(r);
      const reopened = r.open();
      assert.deepEqual(epochsOf(reopened), before);
      reopened.write(makeBatch('next'), { leaderEpoch: 7 });
      assert.deepEqual(epochsOf(reopened).at(-1), '7@60');
      await reopened.close();
    });
  }

  it('drops an epoch whose first batch was a torn tail', async () => {
    using tmp = temporaryDirectory();
    const r = replica(tmp.dir, 'p0');
    const log = r.open({ segmentBytes: 1 << 20 });
    log.write(makeBatch('a'), { leaderEpoch: 2 });
    log.write(makeBatch('b'), { leaderEpoch: 4 });
    await log.close();
    uncleanShutdown(r);
    const segment = path.join(r.dir, segmentFileName(0, '.log'));
    fs.truncateSync(segment, fs.statSync(segment).size - 5);
    const reopened = r.open({ segmentBytes: 1 << 20 });
    assert.equal(reopened.logEndOffset, 3);
    assert.deepEqual(epochsOf(reopened), ['2@0']);
    assert.equal(fs.readFileSync(checkpointPath(r), 'utf8'), '0\n1\n2 0\n', 'the checkpoint is rewritten');
    await reopened.close();
  });

  it('rebuilds the epoch cache from the batches when the checkpoint is missing or damaged', async () => {
    using tmp = temporaryDirectory();
    const r = replica(tmp.dir, 'p0');
    const log = r.open();
    for (let i = 0; i < 40; i++)
      log.write(makeBatch(`b${i}`), { leaderEpoch: [1, 1, 1, 2, 6][i % 5]! + 10 * Math.floor(i / 5) });
    await log.durable();
    assert.ok(log.segmentCount >= 4);
    const before = epochsOf(log);
    assert.equal(before.length, 24);
    await log.close();
    for (const damage of ['missing', 'damaged'] as const) {
      if (damage === 'missing') fs.rmSync(checkpointPath(r));
      else fs.writeFileSync(checkpointPath(r), 'garbage');
      const reopened = r.open();
      assert.deepEqual(epochsOf(reopened), before, damage);
      assert.ok(fs.existsSync(checkpointPath(r)), 'a rebuild that walked the batches is saved');
      await reopened.close();
    }
  });
});

describe('appendAsFollower', () => {
  it("copies the leader's batches byte for byte, epochs included", async () => {
    using tmp = temporaryDirectory();
    const leader = replica(tmp.dir, 'leader').open({ messageTimestampType: 'LogAppendTime' });
    const follower = replica(tmp.dir, 'follower').open();
    for (let i = 0; i < 30; i++) leader.write(makeBatch(`b${i}`), { leaderEpoch: i < 10 ? 0 : 3 });
    replicate(leader, follower);
    await follower.durable();
    assert.equal(follower.logEndOffset, 90);
    assert.ok(follower.segmentCount > 1, 'the follower rolls segments too');
    assert.deepEqual(follower.readForReplica(0, 1 << 24).records, leader.readForReplica(0, 1 << 24).records);
    assert.deepEqual(epochsOf(follower), ['0@0', '3@30']);
    assert.deepEqual(values(follower).slice(-1), ['b29-2']);
    await Promise.all([leader.close(), follower.close()]);
  });

  it('refuses batches that start below the log end or overlap, writing nothing', async () => {
    using tmp = temporaryDirectory();
    const leader = replica(tmp.dir, 'leader').open();
    const follower = replica(tmp.dir, 'follower').open();
    for (let i = 0; i < 4; i++) leader.write(makeBatch(`b${i}`), { leaderEpoch: 1 });
    leader.settleWrites();
    const batches = splitBatches(leader.readForReplica(0, 1 << 20).records);
    follower.appendAsFollower(batches[0]!);
    const sizeBefore = follower.sizeBytes;
    assert.throws(() => follower.appendAsFollower(batches[0]!), expectCode('OFFSET_OUT_OF_RANGE'));
    assert.throws(() => follower.appendAsFollower(batches[0]!), /starts at offset 0, below 3 \(the log end/);
    assert.throws(
      () => follower.appendAsFollower(Buffer.concat([batches[1]!, batches[3]!, batches[2]!])),
      /starts at offset 6, below 12 \(the end of the previous batch\)/,
    );
    const corrupt = Buffer.from(batches[1]!);
    corrupt[corrupt.length - 1]! ^= 0xff;
    assert.throws(() => follower.appendAsFollower(corrupt), expectCode('CORRUPT_MESSAGE'));
    assert.equal(follower.logEndOffset, 3);
    assert.equal(follower.sizeBytes, sizeBefore);
    follower.appendAsFollower(Buffer.concat(batches.slice(1)));
    assert.equal(follower.logEndOffset, 12);
    await Promise.all([leader.close(), follower.close()]);
  });

  it('refuses a batch whose leader epoch is older than the log already has', async () => {
    using tmp = temporaryDirectory();
    const follower = replica(tmp.dir, 'follower').open();
    const batch = makeBatch('new');
    follower.write(batch, { leaderEpoch: 5 });
    const old = makeBatch('old');
    writeInt64(old, BatchField.baseOffset, 3);
    old.writeInt32BE(4, BatchField.partitionLeaderEpoch);
    assert.throws(() => follower.appendAsFollower(old), /leader epoch 4, older than epoch 5/);
    assert.equal(follower.logEndOffset, 3);
    await follower.close();
  });
});

describe('truncation', () => {
  /** A leader with epochs 1 (b0..b9) and 2 (b10..b29), 3 records a batch, copied to a follower. */
  async function diverged(root: string) {
    const leaderReplica = replica(root, 'leader');
    const followerReplica = replica(root, 'follower');
    const leader = leaderReplica.open();
    const follower = followerReplica.open();
    for (let i = 0; i < 30; i++)
      leader.write(makeBatch(`b${i}`, 3, T0 + i * 10), { leaderEpoch: i < 10 ? 1 : 2 });
    replicate(leader, follower);
    await follower.durable();
    assert.ok(follower.segmentCount >= 3);
    return { leader, follower, followerReplica };
  }

  it('cuts inside a segment at the batch boundary at or below the offset, then appends and reopens', async () => {
    using tmp = temporaryDirectory();
    const { leader, follower, followerReplica } = await diverged(tmp.dir);
    const segments = follower.segmentCount;
    // Offset 70 is the second record of b23 (offsets 69..71): the whole batch goes.
    assert.equal(follower.truncateTo(70), 69);
    assert.equal(follower.logEndOffset, 69);
    assert.ok(follower.segmentCount <= segments);
    assert.deepEqual(values(follower).slice(-1), ['b22-2']);
    follower.write(makeBatch('new', 3, T0 + 1000), { leaderEpoch: 3 });
    follower.write(makeBatch('newer', 2, T0 + 2000), { leaderEpoch: 3 });
    assert.deepEqual(epochsOf(follower), ['1@0', '2@30', '3@69']);
    await follower.durable();
    const read = splitBatches(follower.read(69, 1 << 20).records);
    assert.deepEqual(
      read.map((b) => readBatchHeader(b).baseOffset),
      [69, 72],
    );
    assert.deepEqual(follower.offsetForTimestamp(T0 + 1500), { offset: 72, timestamp: T0 + 2000 });
    assert.equal(follower.offsetForTimestamp(T0 + 5000), null);
    assert.deepEqual(follower.verify(), []);
    await follower.close();
    for (const shutdown of ['clean', 'unclean']) {
      if (shutdown === 'unclean') uncleanShutdown(followerReplica);
      const reopened = followerReplica.open();
      assert.equal(reopened.logEndOffset, 74, shutdown);
      assert.deepEqual(values(reopened, 66), [
        'b22-0',
        'b22-1',
        'b22-2',
        'new-0',
        'new-1',
        'new-2',
        'newer-0',
        'newer-1',
      ]);
      assert.deepEqual(epochsOf(reopened), ['1@0', '2@30', '3@69']);
      assert.deepEqual(reopened.verify(), []);
      await reopened.close();
    }
    await leader.close();
  });

  it('deletes later segments when cutting into an earlier one, and drops their epochs', async () => {
    using tmp = temporaryDirectory();
    const { leader, follower, followerReplica } = await diverged(tmp.dir);
    const segmentsBefore = follower.segmentCount;
    assert.equal(follower.truncateTo(31), 30);
    assert.ok(follower.segmentCount < segmentsBefore);
    assert.deepEqual(epochsOf(follower), ['1@0']);
    assert.equal(fs.readFileSync(checkpointPath(followerReplica), 'utf8'), '0\n1\n1 0\n');
    assert.equal(
      fs.readdirSync(followerReplica.dir).filter((f) => f.endsWith('.log')).length,
      follower.segmentCount,
    );
    // The follower now copies the leader's history again from its new end.
    replicate(leader, follower);
    assert.deepEqual(follower.readForReplica(0, 1 << 24).records, leader.readForReplica(0, 1 << 24).records);
    assert.deepEqual(epochsOf(follower), ['1@0', '2@30']);
    await follower.close();
    uncleanShutdown(followerReplica);
    const reopened = followerReplica.open();
    assert.equal(reopened.logEndOffset, 90);
    assert.deepEqual(values(reopened).slice(0, 2), ['b0-0', 'b0-1']);
    assert.deepEqual(reopened.verify(), []);
    await Promise.all([leader.close(), reopened.close()]);
  });

  it('truncates to a segment base and to the log end (a no-op), and refuses offsets outside the log', async () => {
    using tmp = temporaryDirectory();
    const { leader, follower } = await diverged(tmp.dir);
    assert.equal(follower.truncateTo(90), 90);
    assert.throws(() => follower.truncateTo(91), expectCode('OFFSET_OUT_OF_RANGE'));
    assert.throws(() => follower.truncateTo(-1), expectCode('OFFSET_OUT_OF_RANGE'));
    assert.equal(follower.truncateTo(0), 0);
    assert.equal(follower.logEndOffset, 0);
    assert.equal(follower.segmentCount, 1);
    assert.deepEqual(follower.epochEntries(), []);
    follower.write(makeBatch('fresh'), { leaderEpoch: 9 });
    assert.deepEqual(values(follower), ['fresh-0', 'fresh-1', 'fresh-2']);
    await Promise.all([leader.close(), follower.close()]);
  });

  it('waits out an fsync in flight: the synced end never passes the truncation', async () => {
    using tmp = temporaryDirectory();
    const { leader, follower } = await diverged(tmp.dir);
    const syncing = follower.append(makeBatch('in-flight'));
    follower.truncateTo(30);
    await syncing;
    assert.equal(follower.durableEndOffset, 30);
    follower.appendAsFollower(leader.readForReplica(30, 1 << 20).records);
    await follower.durable();
    assert.ok(follower.durableEndOffset > 30);
    await Promise.all([leader.close(), follower.close()]);
  });

  it("empties the log to start at the leader's log start", async () => {
    using tmp = temporaryDirectory();
    const { leader, follower, followerReplica } = await diverged(tmp.dir);
    follower.setReplicationHighWatermark(60);
    follower.truncateFullyAndStartAt(63);
    assert.equal(follower.logStartOffset, 63);
    assert.equal(follower.logEndOffset, 63);
    assert.equal(follower.replicationHighWatermark, 63);
    assert.deepEqual(follower.epochEntries(), []);
    replicate(leader, follower);
    assert.deepEqual(epochsOf(follower), ['2@63']);
    await follower.close();
    const reopened = followerReplica.open();
    assert.equal(reopened.logStartOffset, 63);
    assert.deepEqual(values(reopened).slice(0, 1), ['b21-0']);
    await Promise.all([leader.close(), reopened.close()]);
  });
});

describe('replication high watermark and durability', () => {
  it('bounds high watermark and reads, but not replica reads; null restores the old bound', async () => {
    using tmp = temporaryDirectory();
    const log = replica(tmp.dir, 'p0').open();
    for (let i = 0; i < 4; i++) await log.append(makeBatch(`b${i}`));
    assert.equal(log.highWatermark, 12);
    log.setReplicationHighWatermark(6);
    assert.equal(log.highWatermark, 6);
    assert.equal(splitBatches(log.read(0, 1 << 20).records).length, 2);
    assert.equal(log.read(6, 1 << 20).records.length, 0);
    assert.equal(log.read(6, 1 << 20).highWatermark, 6);
    assert.equal(splitBatches(log.readForReplica(6, 1 << 20).records).length, 2);
    log.setReplicationHighWatermark(100);
    assert.equal(log.replicationHighWatermark, 12, 'clamped to the log end');
    log.truncateTo(9);
    assert.equal(log.replicationHighWatermark, 9, 'truncation clamps it');
    log.setReplicationHighWatermark(null);
    await log.append(makeBatch('after'));
    assert.equal(log.highWatermark, 12);
    await log.close();
  });

  it('tells listeners when the durable end offset moves', async () => {
    using tmp = temporaryDirectory();
    const log = replica(tmp.dir, 'p0').open();
    const seen: number[] = [];
    const stop = log.onDurable(() => seen.push(log.durableEndOffset));
    log.write(makeBatch('a'));
    assert.equal(log.durableEndOffset, 0, 'not fsynced yet under the durable policy');
    await log.durable();
    assert.equal(log.durableEndOffset, 3);
    log.truncateTo(0);
    await Promise.resolve();
    assert.deepEqual(seen, [3, 0]);
    stop();
    await log.append(makeBatch('b'));
    assert.deepEqual(seen, [3, 0]);
    log.setConfig({ ...DEFAULT_TOPIC_CONFIG, flushPolicy: 'interval' });
    assert.equal(log.durableEndOffset, 3, 'the log end under other policies');
    await log.close();
  });
});
