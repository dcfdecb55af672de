import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BATCH_HEADER_BYTES,
  BatchField,
  Compression,
  encodeRecordBatch,
  type RecordInput,
} from '../protocol/index.js';
import { LogError } from './errors.js';
import { firstRecordAtOrAfter } from './timestamp-search.js';

const T0 = 1_700_000_000_000;
const LIMIT_BYTES = 64 * 1024;

function records(count: number, valueBytes = 8): RecordInput[] {
  return Array.from({ length: count }, (_, i) => ({
    key: null,
    value: Buffer.alloc(valueBytes, i),
    timestamp: T0 + 10 * i,
  }));
}

const gzipBatch = (input: RecordInput[]) =>
  encodeRecordBatch(input, { baseOffset: 100, compression: Compression.Gzip });

/** The same header over a body that does not inflate: any answer given must have come from the header. */
function withGarbageBody(batch: Buffer): Buffer {
  const copy = Buffer.from(batch);
  copy.fill(0x5a, BATCH_HEADER_BYTES);
  return copy;
}

function expectCorrupt(pattern: RegExp): (error: unknown) => true {
  return (error) => {
    assert.ok(error instanceof LogError, `expected LogError, got ${String(error)}`);
    assert.equal(error.code, 'CORRUPT_MESSAGE');
    assert.match(error.message, pattern);
    return true;
  };
}

describe('firstRecordAtOrAfter', () => {
  it('answers from the header alone when the batch is older, starts late enough or holds one record', () => {
    const four = withGarbageBody(gzipBatch(records(4)));
    assert.equal(firstRecordAtOrAfter(four, T0 + 31, LIMIT_BYTES), null);
    assert.deepEqual(firstRecordAtOrAfter(four, T0 - 5, LIMIT_BYTES), { offset: 100, timestamp: T0 });
    const one = withGarbageBody(gzipBatch(records(1)));
    assert.deepEqual(firstRecordAtOrAfter(one, T0, LIMIT_BYTES), { offset: 100, timestamp: T0 });
    assert.throws(
      () => firstRecordAtOrAfter(four, T0 + 15, LIMIT_BYTES),
      expectCorrupt(/batch at offset 100: .*gzip records do not inflate/),
    );
  });

  it('finds the exact record inside a compressed batch, as Kafka answers', () => {
    const batch = gzipBatch(records(4));
    assert.deepEqual(firstRecordAtOrAfter(batch, T0 + 15, LIMIT_BYTES), { offset: 102, timestamp: T0 + 20 });
    assert.deepEqual(firstRecordAtOrAfter(batch, T0 + 30, LIMIT_BYTES), { offset: 103, timestamp: T0 + 30 });
  });

  it('refuses with CORRUPT_MESSAGE a batch that would inflate past the limit', () => {
    const batch = gzipBatch(records(4, LIMIT_BYTES));
    assert.ok(batch.length < LIMIT_BYTES / 8, 'zeros compress: the stored batch is small');
    assert.throws(
      () => firstRecordAtOrAfter(batch, T0 + 15, LIMIT_BYTES),
      expectCorrupt(/inflate past the limit of 65536 bytes \(maxDecompressedBytes\)/),
    );
    assert.deepEqual(firstRecordAtOrAfter(batch, T0 + 15, 8 * LIMIT_BYTES), {
      offset: 102,
      timestamp: T0 + 20,
    });
  });

  it('answers the first offset of a batch in a codec it cannot decode, which never skips a match', () => {
    const snappy = Buffer.from(encodeRecordBatch(records(4), { baseOffset: 100 }));
    snappy.writeInt16BE(Compression.Snappy, BatchField.attributes);
    assert.deepEqual(firstRecordAtOrAfter(snappy, T0 + 15, LIMIT_BYTES), { offset: 100, timestamp: T0 + 30 });
  });
});
