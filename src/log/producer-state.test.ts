import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ErrorCode,
  encodeMarkerBatch,
  encodeRecordBatch,
  TRANSACTIONAL_BIT,
  writeInt64,
} from '../protocol/index.js';
import { ProducerState } from './producer-state.js';

/** A transactional data batch of `count` records at `baseOffset`, as a log holds it once offsets are assigned. */
function dataBatch(producerId: number, epoch: number, baseOffset: number, count = 2): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`) }));
  return encodeRecordBatch(records, {
    baseOffset,
    producerId,
    producerEpoch: epoch,
    baseSequence: 0,
    flags: TRANSACTIONAL_BIT,
  });
}

function marker(producerId: number, epoch: number, offset: number, committed: boolean): Buffer {
  const batch = encodeMarkerBatch({ producerId, producerEpoch: epoch, coordinatorEpoch: 7, committed }, 1);
  writeInt64(batch, 0, offset);
  return batch;
}

function apply(state: ProducerState, batch: Buffer): void {
  state.apply(batch, 0, batch.length);
}

describe('ProducerState', () => {
  it('holds the first unstable offset at the oldest open transaction until its marker', () => {
    const state = new ProducerState(0);
    assert.equal(state.firstUnstableOffset(), null);
    apply(state, dataBatch(1, 0, 10));
    apply(state, dataBatch(2, 0, 12));
    apply(state, dataBatch(1, 0, 14));
    assert.equal(state.firstUnstableOffset(), 10);
    apply(state, marker(1, 0, 16, true));
    assert.equal(state.firstUnstableOffset(), 12);
    apply(state, marker(2, 0, 17, false));
    assert.equal(state.firstUnstableOffset(), null);
    assert.deepEqual(state.abortedIn(0, 100), [{ producerId: 2, firstOffset: 12, lastOffset: 17 }]);
  });

  it('lists the aborted transactions overlapping a range, and retention drops those wholly below the start', () => {
    const state = new ProducerState(0);
    apply(state, dataBatch(1, 0, 0));
    apply(state, marker(1, 0, 2, false));
    apply(state, dataBatch(1, 0, 3));
    apply(state, marker(1, 0, 5, true));
    apply(state, dataBatch(1, 0, 6));
    apply(state, marker(1, 0, 8, false));
    assert.deepEqual(
      state.abortedIn(3, 6).map((a) => a.firstOffset),
      [],
      'the committed one between aborts overlaps none',
    );
    assert.deepEqual(
      state.abortedIn(2, 7).map((a) => a.firstOffset),
      [0, 6],
    );
    assert.deepEqual(
      state.abortedIn(9, 20).map((a) => a.firstOffset),
      [],
    );
    state.dropBefore(3);
    assert.deepEqual(
      state.abortedIn(0, 20).map((a) => a.firstOffset),
      [6],
    );
  });

  it('fences batches and markers of an older producer epoch', () => {
    const state = new ProducerState(0);
    apply(state, dataBatch(1, 3, 0));
    assert.match(state.fencing(dataBatch(1, 2, 0), 0) ?? '', /epoch 2 is older than 3/);
    assert.match(state.fencing(marker(1, 2, 0, false), 0) ?? '', /older/);
    assert.equal(state.fencing(marker(1, 3, 0, false), 0), null);
    assert.equal(state.fencing(dataBatch(1, 4, 0), 0), null);
    assert.equal(state.fencing(dataBatch(9, 0, 0), 0), null, 'an unknown producer is not fenced');
    assert.equal(state.epochOf(1), 3);
  });

  it('a marker without an open transaction aborts nothing', () => {
    const state = new ProducerState(0);
    apply(state, marker(1, 0, 0, false));
    assert.deepEqual(state.abortedIn(0, 10), []);
    assert.equal(state.firstUnstableOffset(), null);
  });

  it('recognises a retried batch, refuses gaps and older epochs, and starts a new epoch at sequence 0', () => {
    const state = new ProducerState(0);
    const idempotent = (epoch: number, baseSequence: number, baseOffset: number) =>
      encodeRecordBatch(
        [
          { key: null, value: Buffer.from('a') },
          { key: null, value: Buffer.from('b') },
        ],
        { baseOffset, producerId: 3, producerEpoch: epoch, baseSequence },
      );
    assert.equal(state.checkSequence(3, 0, 0, 1).kind, 'append');
    apply(state, idempotent(0, 0, 10));
    apply(state, idempotent(0, 2, 12));
    assert.deepEqual(state.checkSequence(3, 0, 0, 1), { kind: 'duplicate', baseOffset: 10, lastOffset: 11 });
    assert.equal(state.checkSequence(3, 0, 4, 5).kind, 'append');
    const gap = state.checkSequence(3, 0, 6, 7);
    assert.ok(gap.kind === 'reject' && gap.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const fenced = state.checkSequence(3, -1, 4, 5);
    assert.ok(fenced.kind === 'reject' && fenced.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(state.checkSequence(3, 1, 0, 1).kind, 'append');
    assert.equal(state.checkSequence(3, 1, 4, 5).kind, 'reject');
  });

  it('round-trips through its snapshot, and a damaged snapshot is refused', () => {
    const state = new ProducerState(0);
    apply(state, dataBatch(1, 2, 0));
    apply(state, marker(1, 2, 2, false));
    apply(state, dataBatch(5, 1, 3));
    state.endOffset = 5;
    const retried = state.checkSequence(5, 1, 0, 1);
    const bytes = state.encode();
    const back = ProducerState.decode(bytes);
    assert.ok(back instanceof ProducerState);
    assert.equal(back.endOffset, 5);
    assert.equal(back.firstUnstableOffset(), 3);
    assert.equal(back.epochOf(1), 2);
    assert.deepEqual(back.abortedIn(0, 10), [{ producerId: 1, firstOffset: 0, lastOffset: 2 }]);
    assert.deepEqual(back.checkSequence(5, 1, 0, 1), retried, 'recent batches are kept too');
    assert.deepEqual(retried, { kind: 'duplicate', baseOffset: 3, lastOffset: 4 });
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 1]! ^= 1;
    assert.equal(ProducerState.decode(damaged), 'CRC-32C mismatch');
    assert.match(String(ProducerState.decode(bytes.subarray(0, 10))), /shorter/);
  });

  it('forgets a producer with no open transaction once its last batch or marker is expirationMs old', () => {
    const state = new ProducerState(0);
    const at = (producerId: number, baseOffset: number, baseTimestamp: number, flags = 0) =>
      encodeRecordBatch([{ key: null, value: Buffer.from('v') }], {
        baseOffset,
        baseTimestamp,
        producerId,
        producerEpoch: 0,
        baseSequence: 0,
        flags,
      });
    const expirationMs = 1000;
    apply(state, at(1, 0, 10_000));
    apply(state, at(2, 1, 10_000, TRANSACTIONAL_BIT));
    apply(state, at(3, 2, 10_000, TRANSACTIONAL_BIT));
    const end = encodeMarkerBatch(
      { producerId: 3, producerEpoch: 0, coordinatorEpoch: 1, committed: true },
      10_500,
    );
    writeInt64(end, 0, 3);
    apply(state, end);
    assert.equal(state.removeExpired(10_999, expirationMs), 0, 'not yet');
    assert.equal(state.removeExpired(11_000, expirationMs), 1);
    assert.deepEqual(
      state.active().map((p) => p.producerId),
      [2, 3],
      'the idle producer went; an open transaction holds its producer; a marker counts as its last write',
    );
    assert.equal(state.checkSequence(1, 0, 7, 7).kind, 'append', 'a forgotten producer writes as a new one');
    assert.equal(state.removeExpired(11_500, expirationMs), 1);
    assert.deepEqual(
      state.active().map((p) => p.producerId),
      [2],
    );
    assert.equal(state.removeExpired(1_000_000, expirationMs), 0, 'an open transaction never expires');
    const back = ProducerState.decode(state.encode());
    assert.ok(back instanceof ProducerState);
    assert.deepEqual(
      back.active().map((p) => p.producerId),
      [2],
      'the snapshot leaves the forgotten ones out',
    );
  });
});
