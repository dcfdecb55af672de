import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeMarkerBatch, encodeRecordBatch, TRANSACTIONAL_BIT, writeInt64 } from '../protocol/index.js';
import { appendConsumed } from './batch-records.js';
import type { ConsumedRecord } from './types.js';

describe('appendConsumed', () => {
  it('never surfaces a transaction marker (control batch) as a record', () => {
    const data = encodeRecordBatch([{ key: null, value: Buffer.from('kept') }], {
      producerId: 4,
      producerEpoch: 0,
      baseSequence: 0,
      flags: TRANSACTIONAL_BIT,
    });
    const marker = encodeMarkerBatch(
      { producerId: 4, producerEpoch: 0, coordinatorEpoch: 0, committed: true },
      1,
    );
    writeInt64(marker, 0, 1);
    const out: ConsumedRecord[] = [];
    const count = appendConsumed(out, {
      topic: 't',
      partition: 0,
      offset: 0,
      bytes: Buffer.concat([data, marker]),
      maxDecompressedBytes: 1 << 20,
    });
    assert.equal(count, 1);
    assert.deepEqual(
      out.map((r) => [r.offset, r.value?.toString()]),
      [[0, 'kept']],
    );
  });
});
