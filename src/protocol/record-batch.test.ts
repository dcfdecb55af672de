import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import { DecompressionError, decodeRecords, encodeRecordBatch, splitBatches } from './record-batch.js';
import {
  Compression,
  computeBatchCrc,
  readBatchHeader,
  readInt64,
  storedBatchCrc,
  writeInt64,
} from './record-batch-header.js';
import { ByteReader, writeVarint } from './varint.js';

describe('varint', () => {
  it('round-trips zig-zag values across the 32- and 53-bit ranges', () => {
    const values = [0, 1, -1, 63, -64, 64, 300, -300, 2 ** 31 - 1, -(2 ** 31), 2 ** 40 + 7, -(2 ** 45)];
    const buf = Buffer.alloc(200);
    let at = 0;
    for (const value of values) at = writeVarint(buf, at, value);
    const reader = new ByteReader(buf, 0, at);
    assert.deepEqual(
      values.map(() => reader.varint()),
      values,
    );
  });

  it('encodes as Kafka does: -1 is one byte 0x01, 150 is 0xac 0x02', () => {
    const buf = Buffer.alloc(4);
    assert.equal(writeVarint(buf, 0, -1), 1);
    assert.equal(buf[0], 0x01);
    assert.equal(writeVarint(buf, 0, 75), 2);
    assert.deepEqual([...buf.subarray(0, 2)], [0x96, 0x01]);
  });

  it('rejects a varint that runs past the end', () => {
    assert.throws(() => new ByteReader(Buffer.from([0x80, 0x80])).varint(), RangeError);
  });
});

describe('int64 fields', () => {
  it('round-trip safe integers and saturate values beyond them instead of throwing', () => {
    const buf = Buffer.alloc(8);
    for (const value of [0, -1, 2 ** 40 + 3, -(2 ** 52)]) {
      writeInt64(buf, 0, value);
      assert.equal(readInt64(buf, 0), value);
    }
    writeInt64(buf, 0, readInt64(Buffer.from('7fffffffffffffff', 'hex'), 0));
    assert.equal(buf.toString('hex'), '7fffffffffffffff');
    writeInt64(buf, 0, Number.NEGATIVE_INFINITY);
    assert.equal(buf.toString('hex'), '8000000000000000');
  });
});

describe('RecordBatch v2', () => {
  it('uses CRC-32C (Castagnoli), not the IEEE CRC', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  });

  it('encodes a header readers agree on and a CRC over attributes..end', () => {
    const batch = encodeRecordBatch(
      [
        { key: Buffer.from('k'), value: Buffer.from('v1'), timestamp: 1000 },
        {
          key: null,
          value: Buffer.from('v2'),
          timestamp: 1005,
          headers: [{ key: 'h', value: Buffer.from('x') }],
        },
      ],
      { producerId: 7, producerEpoch: 1, baseSequence: 0 },
    );
    const header = readBatchHeader(batch);
    assert.equal(header.magic, 2);
    assert.equal(header.batchLength, batch.length - 12);
    assert.equal(header.lastOffsetDelta, 1);
    assert.equal(header.recordsCount, 2);
    assert.equal(header.baseTimestamp, 1000);
    assert.equal(header.maxTimestamp, 1005);
    assert.equal(header.producerId, 7);
    assert.equal(storedBatchCrc(batch), computeBatchCrc(batch));
  });

  it('decodes records with keys, nulls, headers and timestamps, plain and gzip', () => {
    for (const compression of [Compression.None, Compression.Gzip] as const) {
      const batch = encodeRecordBatch(
        [
          { key: Buffer.from('a'), value: Buffer.from('one'), timestamp: 50 },
          { key: null, value: null, timestamp: 40, headers: [{ key: 'trace', value: null }] },
        ],
        { compression, baseOffset: 10 },
      );
      const records = decodeRecords(batch);
      assert.deepEqual(
        records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null]),
        [
          [10, 50, 'a', 'one'],
          [11, 40, null, null],
        ],
      );
      assert.deepEqual(records[1]!.headers, [{ key: 'trace', value: null }]);
    }
  });

  it('writes a text value as the batch of its UTF-8 bytes would hold it, plain and gzip', () => {
    const text = '{"edge":"é-01","note":"🎬 ok","lone":"\ud800"}';
    for (const compression of [Compression.None, Compression.Gzip] as const) {
      const headers = [{ key: 'es.tâche', value: Buffer.from('7') }];
      const options = { compression, baseOffset: 3 };
      const fromText = encodeRecordBatch([{ key: null, value: text, timestamp: 9, headers }], options);
      const fromBytes = encodeRecordBatch(
        [{ key: null, value: Buffer.from(text), timestamp: 9, headers }],
        options,
      );
      assert.deepEqual(fromText, fromBytes);
      assert.equal(decodeRecords(fromText)[0]!.value?.toString(), Buffer.from(text).toString());
    }
  });

  it('splits back-to-back batches and leaves a trailing partial batch out', () => {
    const a = encodeRecordBatch([{ key: null, value: Buffer.from('a') }]);
    const b = encodeRecordBatch([{ key: null, value: Buffer.from('bb') }]);
    const parts = splitBatches(Buffer.concat([a, b, b.subarray(0, 20)]));
    assert.equal(parts.length, 2);
    assert.deepEqual(parts[1], b);
  });
});

describe('decompression limit', () => {
  const LIMIT_BYTES = 64 * 1024;
  const inflating = encodeRecordBatch([{ key: null, value: Buffer.alloc(4 * LIMIT_BYTES) }], {
    compression: Compression.Gzip,
  });

  it('refuses records that inflate past maxDecompressedBytes, naming the limit', () => {
    assert.throws(
      () => decodeRecords(inflating, LIMIT_BYTES),
      (error: unknown) =>
        error instanceof DecompressionError &&
        error.code === 'DECOMPRESSED_TOO_LARGE' &&
        /65536 bytes/.test(error.message),
    );
    assert.equal(decodeRecords(inflating)[0]!.value!.length, 4 * LIMIT_BYTES, 'the default limit is larger');
  });

  it('reports gzip data that does not inflate as malformed', () => {
    const broken = Buffer.from(inflating);
    broken.fill(0, broken.length - 16);
    assert.throws(
      () => decodeRecords(broken),
      (error: unknown) => error instanceof DecompressionError && error.code === 'MALFORMED_COMPRESSED_DATA',
    );
  });
});
