import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeTxnKey,
  decodeTxnValue,
  encodeTxnKey,
  encodeTxnValue,
  type TxnLogValue,
  TxnState,
} from './transaction-log.js';

/**
 * TransactionLogValue v0 read as Kafka's TransactionLogValue.json lays it out, independently of the codec
 * under test: ProducerId int64, ProducerEpoch int16, TransactionTimeoutMs int32, TransactionStatus int8,
 * TransactionPartitions [{Topic string, PartitionIds []int32}] (int32 counts, int16-length strings),
 * TransactionLastUpdateTimestampMs int64, TransactionStartTimestampMs int64.
 */
function readV0(buffer: Buffer) {
  let pos = 0;
  /** The position of the next `bytes` bytes, moving past them. */
  const take = (bytes: number) => {
    const at = pos;
    pos += bytes;
    return at;
  };
  const int8 = () => buffer.readInt8(take(1));
  const int16 = () => buffer.readInt16BE(take(2));
  const int32 = () => buffer.readInt32BE(take(4));
  const int64 = () => Number(buffer.readBigInt64BE(take(8)));
  const string = () => {
    const length = int16();
    const at = take(length);
    return buffer.toString('utf8', at, at + length);
  };
  const version = int16();
  const producerId = int64();
  const producerEpoch = int16();
  const timeoutMs = int32();
  const state = int8();
  const partitions = Array.from({ length: int32() }, () => ({
    topic: string(),
    partitions: Array.from({ length: int32() }, int32),
  }));
  const value = {
    version,
    producerId,
    producerEpoch,
    timeoutMs,
    state,
    partitions,
    lastUpdateMs: int64(),
    startMs: int64(),
  };
  assert.equal(pos, buffer.length, 'no bytes left over');
  return value;
}

const ongoing: TxnLogValue = {
  producerId: 4_000_000_001,
  previousProducerId: -1,
  producerEpoch: 7,
  timeoutMs: 60_000,
  state: TxnState.Ongoing,
  partitions: [
    { topic: 'orders', partitions: [0, 3] },
    { topic: '__consumer_offsets', partitions: [12] },
  ],
  lastUpdateMs: 1_700_000_000_500,
  startMs: 1_700_000_000_000,
};

describe('__transaction_state records', () => {
  it('writes TransactionLogKey v0 and TransactionLogValue v0 as Kafka lays them out', () => {
    const key = encodeTxnKey('payments-tx');
    assert.deepEqual(key, Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('payments-tx')]));
    assert.deepEqual(decodeTxnKey(key), { kind: 'transaction', transactionalId: 'payments-tx' });
    const value = encodeTxnValue(ongoing);
    const { previousProducerId: _, ...fields } = ongoing;
    assert.deepEqual(readV0(value), { version: 0, ...fields });
    assert.deepEqual(decodeTxnValue(value), ongoing);
  });

  it('reads TransactionLogValue v1 (flexible, tagged PreviousProducerId and an unknown tag skipped)', () => {
    const value = Buffer.concat([
      Buffer.from([0, 1]), // version 1
      Buffer.from('0000000000000005', 'hex'), // ProducerId
      Buffer.from([0, 2]), // ProducerEpoch
      Buffer.from('00002710', 'hex'), // TransactionTimeoutMs 10000
      Buffer.from([TxnState.PrepareCommit]),
      Buffer.from([2]), // compact array: 1 topic
      Buffer.from([2]), // compact string: 1 byte
      Buffer.from('t'),
      Buffer.from([3, 0, 0, 0, 1, 0, 0, 0, 2]), // compact int32 array [1, 2]
      Buffer.from([0]), // no tagged fields in the topic
      Buffer.from('0000000000000064', 'hex'), // last update 100
      Buffer.from('0000000000000032', 'hex'), // start 50
      Buffer.from([2]), // two tagged fields
      Buffer.from([0, 8]),
      Buffer.from('0000000000000004', 'hex'), // PreviousProducerId 4
      Buffer.from([2, 2, 0, 2]), // ClientTransactionVersion 2, skipped
    ]);
    assert.deepEqual(decodeTxnValue(value), {
      producerId: 5,
      previousProducerId: 4,
      producerEpoch: 2,
      timeoutMs: 10_000,
      state: TxnState.PrepareCommit,
      partitions: [{ topic: 't', partitions: [1, 2] }],
      lastUpdateMs: 100,
      startMs: 50,
    });
  });

  it('skips keys of other versions (the pending offsets an older version kept) and refuses unknown value versions', () => {
    assert.deepEqual(decodeTxnKey(Buffer.from([0, 9, 0, 0])), { kind: 'unknown', version: 9 });
    assert.deepEqual(decodeTxnKey(Buffer.from([0x7d, 0x00, 0, 2, 0x74, 0x78])), {
      kind: 'unknown',
      version: 32_000,
    });
    assert.throws(() => decodeTxnValue(Buffer.from([0, 2])), /version 2/);
  });
});
