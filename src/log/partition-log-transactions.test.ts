import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RecordingLogger, temporaryDirectory } from '../../test/support/log-fixtures.js';
import {
  CONTROL_BIT,
  decodeRecords,
  encodeMarkerBatch,
  encodeRecordBatch,
  isControlBatch,
  readBatchHeader,
  splitBatches,
  TRANSACTIONAL_BIT,
} from '../protocol/index.js';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from './config.js';
import { LogError } from './errors.js';
import { OpenFileLimiter } from './open-files.js';
import { PartitionLog, type PartitionLogOptions } from './partition-log.js';
import { PRODUCER_SNAPSHOT_FILE, ProducerState } from './producer-state.js';

function open(
  dir: string,
  config: Partial<TopicConfig> = {},
  clock: Pick<PartitionLogOptions, 'now' | 'producerIdExpirationMs'> = {},
): PartitionLog {
  return PartitionLog.open({
    dir: path.join(dir, 'p0'),
    config: { ...DEFAULT_TOPIC_CONFIG, ...config },
    files: new OpenFileLimiter(100),
    logger: new RecordingLogger(),
    ...clock,
  });
}

const sequences = new Map<number, number>();

function data(producerId: number, epoch: number, transactional: boolean, count = 2): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({
    key: null,
    value: Buffer.from(`p${producerId}-${i}`),
  }));
  const baseSequence = sequences.get(producerId) ?? 0;
  sequences.set(producerId, baseSequence + count);
  return encodeRecordBatch(records, {
    producerId,
    producerEpoch: epoch,
    baseSequence,
    flags: transactional ? TRANSACTIONAL_BIT : 0,
  });
}

function end(
  log: PartitionLog,
  producerId: number,
  epoch: number,
  committed: boolean,
  leaderEpoch?: number,
): number {
  const batch = encodeMarkerBatch(
    { producerId, producerEpoch: epoch, coordinatorEpoch: 0, committed },
    Date.now(),
  );
  return log.write(batch, { marker: true, ...(leaderEpoch === undefined ? {} : { leaderEpoch }) }).baseOffset;
}

function firstOffsets(records: Buffer): number[] {
  return splitBatches(records).map((b) => readBatchHeader(b).baseOffset);
}

describe('PartitionLog transactions', () => {
  it('holds the last stable offset at an open transaction and lists aborted ones to read_committed reads', async () => {
    using tmp = temporaryDirectory();
    const log = open(tmp.dir);
    log.write(data(100, 0, false)); // 0-1 plain idempotent
    log.write(data(1, 0, true)); // 2-3 txn 1
    log.write(data(2, 0, true)); // 4-5 txn 2
    await log.durable();
    assert.equal(log.highWatermark, 6);
    assert.equal(log.lastStableOffset, 2);
    assert.deepEqual(firstOffsets(log.readCommitted(0, 1 << 20).records), [0]);
    assert.equal(end(log, 1, 0, false), 6); // abort txn 1
    await log.durable();
    assert.equal(log.lastStableOffset, 4, 'txn 2 still open');
    assert.equal(end(log, 2, 0, true), 7);
    await log.durable();
    assert.equal(log.lastStableOffset, 8);
    const read = log.readCommitted(0, 1 << 20);
    assert.deepEqual(firstOffsets(read.records), [0, 2, 4, 6, 7]);
    assert.deepEqual(read.abortedTransactions, [{ producerId: 1, firstOffset: 2, lastOffset: 6 }]);
    assert.deepEqual(log.readCommitted(7, 1 << 20).abortedTransactions, [], 'none overlaps [7, 8)');
    await log.close();
  });

  it('refuses control batches from clients, non-idempotent transactional batches and fenced epochs', async () => {
    using tmp = temporaryDirectory();
    const log = open(tmp.dir);
    const control = encodeRecordBatch([{ key: Buffer.alloc(4), value: Buffer.alloc(6) }], {
      producerId: 1,
      producerEpoch: 0,
      flags: TRANSACTIONAL_BIT | CONTROL_BIT,
    });
    assert.throws(
      () => log.write(control),
      (e: unknown) => e instanceof LogError && e.code === 'INVALID_RECORD',
    );
    const plainTransactional = encodeRecordBatch([{ key: null, value: Buffer.from('x') }], {
      flags: TRANSACTIONAL_BIT,
    });
    assert.throws(() => log.write(plainTransactional), /INVALID_RECORD/);
    assert.throws(() => log.write(data(3, 0, true), { marker: true }), /INVALID_RECORD/);
    log.write(data(3, 5, true));
    assert.throws(() => log.write(data(3, 4, true)), /INVALID_PRODUCER_EPOCH/);
    assert.throws(() => end(log, 3, 4, false), /INVALID_PRODUCER_EPOCH/);
    assert.equal(log.logEndOffset, 2, 'nothing refused was written');
    await log.close();
  });

  it('an open transaction survives a clean restart and a crash, and a later abort is applied', async () => {
    using tmp = temporaryDirectory();
    let log = open(tmp.dir, { segmentBytes: 400 });
    for (let i = 0; i < 6; i++) log.write(data(200, 0, false));
    log.write(data(7, 1, true)); // 12-13
    for (let i = 0; i < 6; i++) log.write(data(200, 0, false));
    await log.durable();
    assert.ok(log.segmentCount > 2, 'rolled past the transaction, so a snapshot was written after it');
    assert.ok(fs.existsSync(path.join(tmp.dir, 'p0', PRODUCER_SNAPSHOT_FILE)));
    assert.equal(log.lastStableOffset, 12);
    await log.close();

    log = open(tmp.dir, { segmentBytes: 400 });
    assert.equal(log.lastStableOffset, 12, 'after a clean shutdown');
    await log.flush();
    // No close: the next open recovers from the roll's snapshot and the tail's headers.
    log = open(tmp.dir, { segmentBytes: 400 });
    assert.equal(log.lastStableOffset, 12, 'after a crash');
    assert.equal(log.checkSequence(7, 0, 1, 1).kind, 'reject', 'epoch 1 is known: epoch 0 is fenced');
    const abortAt = end(log, 7, 1, false);
    await log.durable();
    assert.equal(log.lastStableOffset, log.highWatermark);
    // A read returns one segment's batches; the one holding the transaction lists it.
    assert.deepEqual(log.readCommitted(12, 1 << 20).abortedTransactions, [
      { producerId: 7, firstOffset: 12, lastOffset: abortAt },
    ]);
    await log.close();

    log = open(tmp.dir, { segmentBytes: 400 });
    assert.deepEqual(
      log.readCommitted(12, 1 << 20).abortedTransactions.map((a) => a.firstOffset),
      [12],
    );
    await log.close();
  });

  it('a retried idempotent batch is still recognised after a roll and a crash (from the snapshot)', async () => {
    using tmp = temporaryDirectory();
    let log = open(tmp.dir, { segmentBytes: 400 });
    sequences.set(300, 0);
    const first = data(300, 0, false);
    const retry = Buffer.from(first);
    const { baseOffset } = log.write(first);
    for (let i = 0; i < 8; i++) log.write(data(202, 0, false));
    await log.flush();
    assert.ok(log.activeSegmentBaseOffset > baseOffset + 1, 'the batch is in a sealed segment');
    log = open(tmp.dir, { segmentBytes: 400 });
    const header = readBatchHeader(retry);
    assert.deepEqual(
      log.checkSequence(300, 0, header.baseSequence, header.baseSequence + header.lastOffsetDelta),
      {
        kind: 'duplicate',
        baseOffset,
        lastOffset: baseOffset + 1,
      },
    );
    await log.close();
  });

  it('retention drops the aborted entries of the segments it deletes, in memory and in the next snapshot', async () => {
    using tmp = temporaryDirectory();
    const log = open(tmp.dir, { segmentBytes: 400 });
    log.write(data(21, 0, true));
    const abortAt = end(log, 21, 0, false);
    for (let i = 0; i < 8; i++) log.write(data(203, 0, false));
    await log.flush();
    assert.deepEqual(log.readCommitted(0, 1 << 20).abortedTransactions.length, 1);
    const cut = log.activeSegmentBaseOffset;
    assert.ok(cut > abortAt);
    log.deleteSegmentsBefore(cut);
    assert.equal(log.logStartOffset, cut);
    assert.deepEqual(log.readCommitted(cut, 1 << 20).abortedTransactions, []);
    await log.close();
    const saved = ProducerState.decode(fs.readFileSync(path.join(tmp.dir, 'p0', PRODUCER_SNAPSHOT_FILE)));
    assert.ok(saved instanceof ProducerState);
    assert.deepEqual(saved.abortedIn(0, Number.MAX_SAFE_INTEGER), [], 'the entry went with its segment');
  });

  it('a damaged snapshot is ignored: the state is rebuilt from the whole log', async () => {
    using tmp = temporaryDirectory();
    let log = open(tmp.dir, { segmentBytes: 400 });
    log.write(data(8, 0, true));
    for (let i = 0; i < 8; i++) log.write(data(201, 0, false));
    await log.close();
    const file = path.join(tmp.dir, 'p0', PRODUCER_SNAPSHOT_FILE);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1]! ^= 0xff;
    fs.writeFileSync(file, bytes);
    log = open(tmp.dir, { segmentBytes: 400 });
    assert.equal(log.lastStableOffset, 0);
    await log.close();
  });

  it('a follower keeps the same state from replicated batches, and truncation drops a marker past the cut', async () => {
    using leaderDir = temporaryDirectory();
    using followerDir = temporaryDirectory();
    const leader = open(leaderDir.dir);
    const follower = open(followerDir.dir);
    leader.write(data(9, 0, true), { leaderEpoch: 1 });
    const abortAt = end(leader, 9, 0, false, 1);
    leader.write(data(9, 0, true), { leaderEpoch: 1 });
    await leader.durable();
    leader.settleWrites();
    follower.appendAsFollower(leader.readForReplica(0, 1 << 20).records);
    await follower.durable();
    follower.setReplicationHighWatermark(follower.logEndOffset);
    assert.equal(
      follower.lastStableOffset,
      abortAt + 1,
      'the second transaction is open on the follower too',
    );
    assert.deepEqual(follower.readCommitted(0, 1 << 20).abortedTransactions, [
      { producerId: 9, firstOffset: 0, lastOffset: abortAt },
    ]);
    follower.truncateTo(abortAt);
    assert.equal(follower.lastStableOffset, 0, 'without its marker the first transaction is open again');
    assert.deepEqual(follower.readCommitted(0, 1 << 20).abortedTransactions, []);
    await Promise.all([leader.close(), follower.close()]);
  });
});

describe('producer id expiration (producer.id.expiration.ms)', () => {
  /** An idempotent (or transactional) batch of one record stamped `timestamp`. */
  function stamped(
    producerId: number,
    baseSequence: number,
    timestamp: number,
    transactional = false,
  ): Buffer {
    return encodeRecordBatch([{ key: null, value: Buffer.from(`p${producerId}`), timestamp }], {
      producerId,
      producerEpoch: 0,
      baseSequence,
      flags: transactional ? TRANSACTIONAL_BIT : 0,
    });
  }

  it('forgets idle producers on the timer, keeps those in a transaction, and a stale snapshot does not bring them back', async () => {
    using tmp = temporaryDirectory();
    let now = 1_800_000_000_000;
    const clock = { now: () => now, producerIdExpirationMs: 60_000 };
    let log = open(tmp.dir, { segmentBytes: 400 }, clock);
    log.write(stamped(31, 0, now));
    log.write(stamped(32, 0, now, true));
    for (let i = 0; i < 8; i++) log.write(stamped(33, i, now));
    await log.durable();
    assert.ok(log.segmentCount > 1, 'a roll wrote a snapshot holding every producer');
    const snapshot = fs.readFileSync(path.join(tmp.dir, 'p0', PRODUCER_SNAPSHOT_FILE));
    const stale = ProducerState.decode(snapshot);
    assert.ok(stale instanceof ProducerState);
    assert.deepEqual(
      stale.active().map((p) => p.producerId),
      [31, 32, 33],
    );

    assert.equal(log.checkSequence(33, 0, 20, 20).kind, 'reject', 'a gap while it is known');
    now += 59_999;
    assert.equal(log.expireProducers(), 0);
    now += 1;
    assert.equal(log.expireProducers(), 2);
    assert.deepEqual(
      log.activeProducers().map((p) => p.producerId),
      [32],
      'the open transaction keeps its producer',
    );
    assert.equal(log.checkSequence(33, 0, 20, 20).kind, 'append', 'forgotten: a gap is not refused');
    await log.close();
    const saved = ProducerState.decode(fs.readFileSync(path.join(tmp.dir, 'p0', PRODUCER_SNAPSHOT_FILE)));
    assert.ok(saved instanceof ProducerState);
    assert.deepEqual(
      saved.active().map((p) => p.producerId),
      [32],
      'the shutdown snapshot leaves them out',
    );

    // A crash back to the roll's snapshot, or a scan of the whole log, finds them again: expired at open.
    fs.writeFileSync(path.join(tmp.dir, 'p0', PRODUCER_SNAPSHOT_FILE), snapshot);
    log = open(tmp.dir, { segmentBytes: 400 }, clock);
    assert.deepEqual(
      log.activeProducers().map((p) => p.producerId),
      [32],
    );
    await log.close();
    fs.rmSync(path.join(tmp.dir, 'p0', PRODUCER_SNAPSHOT_FILE));
    log = open(tmp.dir, { segmentBytes: 400 }, clock);
    assert.deepEqual(
      log.activeProducers().map((p) => p.producerId),
      [32],
    );
    assert.equal(log.lastStableOffset, 1, 'the transaction is still open');
    await log.close();
  });
});

describe('compaction with transactions', () => {
  function keyed(key: string, value: string, producerId: number | null): Buffer {
    const sequence = producerId === null ? 0 : (sequences.get(producerId) ?? 0);
    if (producerId !== null) sequences.set(producerId, sequence + 1);
    return encodeRecordBatch(
      [{ key: Buffer.from(key), value: Buffer.from(value) }],
      producerId === null
        ? {}
        : { producerId, producerEpoch: 0, baseSequence: sequence, flags: TRANSACTIONAL_BIT },
    );
  }

  function values(log: PartitionLog): string[] {
    const found: string[] = [];
    for (let offset = log.logStartOffset; offset < log.logEndOffset; ) {
      const { records } = log.readForReplica(offset, 1 << 20);
      if (records.length === 0) break;
      for (const batch of splitBatches(records)) {
        const header = readBatchHeader(batch);
        found.push(
          isControlBatch(header.attributes)
            ? 'marker'
            : decodeRecords(batch)
                .map((r) => r.value!.toString())
                .join(','),
        );
        offset = header.baseOffset + header.lastOffsetDelta + 1;
      }
    }
    return found;
  }

  it('removes aborted data without letting it replace a committed value, keeps markers, stops at an open transaction', async () => {
    using tmp = temporaryDirectory();
    const log = open(tmp.dir, { cleanupPolicy: 'compact', segmentBytes: 150 });
    log.write(keyed('k', 'committed', null));
    log.write(keyed('k', 'aborted', 11));
    end(log, 11, 0, false);
    log.write(keyed('j', 'open', 12)); // holds compaction back from here
    log.write(keyed('j', 'later', null));
    log.write(keyed('x', 'active', null));
    await log.flush();
    assert.deepEqual(values(log), ['committed', 'aborted', 'marker', 'open', 'later', 'active']);
    log.compact();
    assert.deepEqual(
      values(log),
      ['committed', 'marker', 'open', 'later', 'active'],
      'the aborted record went, the older committed value of its key stayed, nothing after the open one was cleaned',
    );
    await log.close();
  });
});
