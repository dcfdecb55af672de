import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RecordingLogger, temporaryDirectory } from '../../test/support/log-fixtures.js';
import {
  LEADER_EPOCH_CHECKPOINT_FILE,
  LeaderEpochCache,
  readEpochCheckpoint,
  UNDEFINED_EPOCH,
  UNDEFINED_EPOCH_OFFSET,
} from './leader-epoch-cache.js';

const UNKNOWN = { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };

/** Epochs 2@10, 4@30, 7@50 in a log ending at 80. */
function sampleCache(dir: string): LeaderEpochCache {
  const cache = new LeaderEpochCache(dir, []);
  cache.assign(2, 10);
  cache.assign(4, 30);
  cache.assign(7, 50);
  return cache;
}

describe('LeaderEpochCache.endOffsetFor (Kafka OffsetForLeaderEpoch semantics)', () => {
  it('answers the latest epoch with the log end offset', () => {
    assert.deepEqual(sampleCache('/nowhere').endOffsetFor(7, 80), { leaderEpoch: 7, endOffset: 80 });
  });

  it('answers an epoch before the first known one with that epoch and the first start offset', () => {
    assert.deepEqual(sampleCache('/nowhere').endOffsetFor(1, 80), { leaderEpoch: 1, endOffset: 10 });
  });

  it('answers a known epoch with where the next epoch starts', () => {
    const cache = sampleCache('/nowhere');
    assert.deepEqual(cache.endOffsetFor(2, 80), { leaderEpoch: 2, endOffset: 30 });
    assert.deepEqual(cache.endOffsetFor(4, 80), { leaderEpoch: 4, endOffset: 50 });
  });

  it('answers an epoch between known ones with the largest epoch below it', () => {
    const cache = sampleCache('/nowhere');
    assert.deepEqual(cache.endOffsetFor(3, 80), { leaderEpoch: 2, endOffset: 30 });
    assert.deepEqual(cache.endOffsetFor(6, 80), { leaderEpoch: 4, endOffset: 50 });
  });

  it('does not know an epoch newer than the latest, the undefined epoch, or anything when empty', () => {
    assert.deepEqual(sampleCache('/nowhere').endOffsetFor(8, 80), UNKNOWN);
    assert.deepEqual(sampleCache('/nowhere').endOffsetFor(UNDEFINED_EPOCH, 80), UNKNOWN);
    assert.deepEqual(new LeaderEpochCache('/nowhere', []).endOffsetFor(0, 80), UNKNOWN);
  });
});

describe('LeaderEpochCache entries', () => {
  it('adds only newer epochs and refuses older ones as a programmer error', () => {
    const cache = sampleCache('/nowhere');
    assert.equal(cache.assign(7, 60), false, 'the same epoch again changes nothing');
    assert.throws(() => cache.assign(5, 70), /older than the latest epoch 7/);
    assert.throws(() => cache.assign(8, 40), /cannot start at 40/);
    assert.equal(cache.latestEpoch, 7);
  });

  it('replaces an epoch that wrote nothing with a newer one at the same offset', () => {
    const cache = sampleCache('/nowhere');
    assert.equal(cache.assign(9, 50), true);
    assert.deepEqual(cache.snapshot(), [
      { epoch: 2, startOffset: 10 },
      { epoch: 4, startOffset: 30 },
      { epoch: 9, startOffset: 50 },
    ]);
  });

  it('truncates from the end at and after an offset', () => {
    const cache = sampleCache('/nowhere');
    assert.equal(cache.truncateFromEnd(51), false);
    assert.equal(cache.truncateFromEnd(30), true);
    assert.deepEqual(cache.snapshot(), [{ epoch: 2, startOffset: 10 }]);
    assert.equal(cache.latestEpoch, 2);
  });

  it('hands out copies that cannot change it', () => {
    const cache = sampleCache('/nowhere');
    const copy = cache.snapshot() as { epoch: number; startOffset: number }[];
    copy.pop();
    assert.equal(cache.length, 3);
  });
});

describe('leader-epoch-checkpoint file', () => {
  it("is Kafka's text format and reads back the same", () => {
    using tmp = temporaryDirectory();
    sampleCache(tmp.dir).persist();
    const text = fs.readFileSync(path.join(tmp.dir, LEADER_EPOCH_CHECKPOINT_FILE), 'utf8');
    assert.equal(text, '0\n3\n2 10\n4 30\n7 50\n');
    assert.deepEqual(readEpochCheckpoint(tmp.dir, new RecordingLogger()), sampleCache('/nowhere').snapshot());
  });

  it('is absent as null and damaged as "damaged", reported', () => {
    using tmp = temporaryDirectory();
    const logger = new RecordingLogger();
    assert.equal(readEpochCheckpoint(tmp.dir, logger), null);
    const file = path.join(tmp.dir, LEADER_EPOCH_CHECKPOINT_FILE);
    for (const text of ['1\n0\n', '0\n2\n1 5\n', '0\n2\n3 5\n2 9\n', '0\n1\n1 x\n', '0\n1\n1 5 6\n']) {
      fs.writeFileSync(file, text);
      assert.equal(readEpochCheckpoint(tmp.dir, logger), 'damaged', JSON.stringify(text));
    }
    assert.equal(logger.at('error').length, 5);
  });
});
