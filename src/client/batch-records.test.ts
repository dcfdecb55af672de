import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeRecordBatch, writeInt64 } from '../protocol/index.js';
import { appendConsumed } from './batch-records.js';
import type { ConsumedRecord } from './types.js';

describe('appendConsumed', () => {
  it('skips records before the offset asked for and tells readUpTo the offset past the batches read', () => {
    const data = encodeRecordBatch([
      { key: null, value: Buffer.from('a') },
      { key: null, value: Buffer.from('b') },
    ]);
    writeInt64(data, 0, 10);
    const out: ConsumedRecord[] = [];
    const readUpTo: number[] = [];
    const read = { topic: 't', partition: 0, offset: 11, maxDecompressedBytes: 1 << 20 };
    // endOffset lies past the data: a marker after it was left out of the bytes.
    const count = appendConsumed(out, { ...read, bytes: data, endOffset: 13 }, (_t, _p, next) =>
      readUpTo.push(next),
    );
    assert.equal(count, 1);
    assert.deepEqual(
      out.map((r) => [r.offset, r.value?.toString()]),
      [[11, 'b']],
    );
    // Nothing left to decode (all left out) still moves the reader on.
    appendConsumed(out, { ...read, offset: 13, bytes: Buffer.alloc(0), endOffset: 15 }, (_t, _p, next) =>
      readUpTo.push(next),
    );
    assert.deepEqual(readUpTo, [13, 15]);
  });
});
