import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRecord, type MessageRecord } from '@platformatic/kafka';
import {
  BATCH_HEADER_BYTES,
  decodeRecords,
  encodedRecordBytes,
  encodeRecordBatch,
} from '../protocol/index.js';
import { recordBytesMax } from './record-size.js';
import type { OutgoingRecord } from './types.js';

const T0 = 1_700_000_000_000;

function record(fields: Partial<OutgoingRecord>): OutgoingRecord {
  return { topic: 't', partition: 0, key: null, value: null, timestamp: T0, ...fields };
}

/** Shapes whose varints cross their 1-, 2- and 3-byte boundaries, with and without headers and nulls. */
const SHAPES: Record<string, OutgoingRecord> = {
  'null key and value': record({}),
  'small key and value': record({ key: Buffer.from('k'), value: Buffer.from('v') }),
  'value of 63 bytes (1-byte length)': record({ value: Buffer.alloc(63, 1) }),
  'value of 64 bytes (2-byte length)': record({ value: Buffer.alloc(64, 1) }),
  'value of 20,000 bytes (3-byte length)': record({
    key: Buffer.from('key'),
    value: Buffer.alloc(20_000, 2),
  }),
  'headers, a repeated and a multi-byte key': record({
    key: Buffer.from('k'),
    value: Buffer.from('{"a":1}'),
    headers: [
      { key: 'trace-id', value: Buffer.from('abc123') },
      { key: 'ürsprung', value: Buffer.from('edge-7') },
      { key: 'trace-id', value: Buffer.alloc(200, 3) },
    ],
  }),
  'a header with a null value': record({ value: Buffer.from('v'), headers: [{ key: 'h', value: null }] }),
};

/** Timestamps around the batch's first record: deltas of 0, 1 byte, 2 bytes, 4 bytes and negative. */
/** The record as @platformatic/kafka takes it, or null when it holds a null value the library cannot. */
function libraryMessage(r: OutgoingRecord): MessageRecord | null {
  if (r.value === null) return null;
  const headers = new Map<Buffer, Buffer>();
  for (const header of r.headers ?? []) {
    if (header.value === null) return null;
    headers.set(Buffer.from(header.key), header.value);
  }
  return { topic: r.topic, key: r.key ?? undefined, value: r.value, headers };
}

const TIMESTAMPS = [T0, T0 + 1, T0 + 5_000, T0 - 3, T0 + 86_400_000, T0 - 1];

describe('record size', () => {
  it('is what a hand count of RecordBatch v2 fields gives', () => {
    // length 1, attributes 1, timestamp delta 1, offset delta 1, key 1+1, value 1+1, header count 1
    assert.equal(encodedRecordBytes(SHAPES['small key and value']!, 0, 0), 9);
    // length 1, attributes 1, deltas 1+1, null key 1, null value 1, header count 1
    assert.equal(encodedRecordBytes(SHAPES['null key and value']!, 0, 0), 7);
  });

  for (const [name, shape] of Object.entries(SHAPES)) {
    it(`agrees with the encoded batch: ${name}`, () => {
      const records = TIMESTAMPS.map((timestamp) => ({ ...shape, timestamp }));
      const batch = encodeRecordBatch(records);
      const sizes = records.map((r, i) => encodedRecordBytes(r, r.timestamp - T0, i));
      assert.equal(
        batch.length - BATCH_HEADER_BYTES,
        sizes.reduce((a, b) => a + b),
      );
      // Decoding checks every record's length prefix against the fields it read.
      assert.equal(decodeRecords(batch).length, records.length);
    });

    it(`agrees with @platformatic/kafka's record encoder: ${name}`, (t) => {
      const message = libraryMessage(shape);
      // The library's record type has no null values; those shapes are checked against the batch above.
      if (message === null) return t.skip('null value');
      for (const [offsetDelta, timestamp] of TIMESTAMPS.entries()) {
        const encoded = createRecord({ ...message, timestamp: BigInt(timestamp) }, offsetDelta, BigInt(T0));
        assert.equal(
          encodedRecordBytes({ ...shape, timestamp }, timestamp - T0, offsetDelta),
          encoded.length,
        );
      }
    });

    it(`is bounded by recordBytesMax wherever the record sits: ${name}`, () => {
      const first = encodedRecordBytes(shape, 0, 0);
      const bound = recordBytesMax(shape);
      assert.ok(bound - first <= 12, `the bound is ${bound - first} bytes above the record's size`);
      // Extreme positions: the oldest and newest timestamps in one batch, the largest offset delta.
      const extremes: Array<[number, number]> = [
        [Number.MAX_SAFE_INTEGER, 0],
        [-Number.MAX_SAFE_INTEGER, 0],
        [0, 2 ** 31 - 1],
        [-Number.MAX_SAFE_INTEGER, 2 ** 31 - 1],
      ];
      for (const [timestampDeltaMs, offsetDelta] of extremes) {
        assert.ok(encodedRecordBytes(shape, timestampDeltaMs, offsetDelta) <= bound);
      }
      assert.equal(encodedRecordBytes(shape, -Number.MAX_SAFE_INTEGER, 2 ** 31 - 1), bound);
    });
  }
});
