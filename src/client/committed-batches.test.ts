import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeMarkerBatch,
  encodeRecordBatch,
  readBatchHeader,
  splitBatches,
  TRANSACTIONAL_BIT,
  writeInt64,
} from '../protocol/index.js';
import { committedBatches } from './committed-batches.js';

/** A one-record batch at `offset`: transactional for a producer id, idempotent or plain without flags. */
function batch(offset: number, producerId = -1, transactional = false): Buffer {
  const bytes = encodeRecordBatch([{ key: null, value: Buffer.from(`v${offset}`) }], {
    producerId,
    producerEpoch: producerId < 0 ? -1 : 0,
    baseSequence: producerId < 0 ? -1 : offset,
    ...(transactional ? { flags: TRANSACTIONAL_BIT } : {}),
  });
  writeInt64(bytes, 0, offset);
  return bytes;
}

function marker(offset: number, producerId: number, committed: boolean): Buffer {
  const bytes = encodeMarkerBatch({ producerId, producerEpoch: 0, coordinatorEpoch: 0, committed }, 1);
  writeInt64(bytes, 0, offset);
  return bytes;
}

function offsetsOf(bytes: Buffer): number[] {
  return splitBatches(bytes).map((b) => readBatchHeader(b).baseOffset);
}

describe('committedBatches', () => {
  it('returns a read without markers or aborted transactions as the same buffer', () => {
    const bytes = Buffer.concat([batch(0), batch(1, 7), batch(2)]);
    const read = committedBatches(bytes, 0, []);
    assert.equal(read.bytes, bytes);
    assert.equal(read.endOffset, 3);
  });

  it("leaves out markers and an aborted transaction's batches, keeping a committed one interleaved", () => {
    // Producer 5 aborts [1, 4] (marker at 4), producer 6 commits [2, 5] (marker at 5), 3 is not transactional.
    const bytes = Buffer.concat([
      batch(0),
      batch(1, 5, true),
      batch(2, 6, true),
      batch(3, 9),
      marker(4, 5, false),
      marker(5, 6, true),
      batch(6, 5, true),
    ]);
    const read = committedBatches(bytes, 0, [{ producerId: 5, firstOffset: 1 }]);
    assert.deepEqual(offsetsOf(read.bytes), [0, 2, 3, 6]);
    assert.equal(read.endOffset, 7);
  });

  it('leaves out an aborted transaction the read starts inside, and reports the offset past a dropped tail', () => {
    const bytes = Buffer.concat([batch(3, 5, true), batch(4, 8, true), batch(5, 5, true)]);
    const read = committedBatches(bytes, 3, [
      { producerId: 8, firstOffset: 4 },
      { producerId: 5, firstOffset: 1 },
    ]);
    assert.equal(read.bytes.length, 0);
    assert.equal(read.endOffset, 6);
  });

  it("keeps a producer's next transaction after its abort marker", () => {
    const bytes = Buffer.concat([batch(0, 5, true), marker(1, 5, false), batch(2, 5, true)]);
    const read = committedBatches(bytes, 0, [{ producerId: 5, firstOffset: 0 }]);
    assert.deepEqual(offsetsOf(read.bytes), [2]);
  });
});
