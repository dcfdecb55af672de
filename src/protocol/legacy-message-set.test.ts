import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32, gzipSync } from 'node:zlib';
import { compressionsAlgorithms } from '@platformatic/kafka';
import {
  countLegacyMessages,
  downConvertBatches,
  legacyMagicForFetch,
  readDownConverted,
  upConvertMessageSet,
} from './legacy-conversion.js';
import {
  decodeLegacyMessageSet,
  encodeLegacyMessageSet,
  LegacyFormatError,
  NO_TIMESTAMP,
} from './legacy-message-set.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from './record-batch.js';
import { BatchField, Compression, computeBatchCrc, readBatchHeader } from './record-batch-header.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/**
 * Byte layouts from Kafka's protocol guide ("Message sets"), written out by hand:
 * offset int64 | message_size int32 | crc int32 | magic int8 | attributes int8 | [timestamp int64] | key | value.
 * The CRCs are CRC-32 (IEEE) of the bytes from magic to the end, computed once outside this code base.
 */
const MAGIC_0_MESSAGE = hex(`
  0000000000000005 00000011
  61505427 00 00
  00000001 6b
  00000002 7631`);
const MAGIC_1_MESSAGE = hex(`
  0000000000000000 0000001b
  8ee30bba 01 00 0000018bcfe56800
  ffffffff
  00000005 68656c6c6f`);

/** A wrapper message built by hand around `inner` (an uncompressed message set), gzip (attributes 1). */
function gzipWrapper(magic: 0 | 1, offset: number, timestamp: number, inner: Buffer, attributes = 1): Buffer {
  return wrapper(magic, offset, timestamp, gzipSync(inner), attributes);
}

/** A wrapper message built by hand: `value` is its inner message set, compressed as `attributes` say. */
function wrapper(magic: 0 | 1, offset: number, timestamp: number, value: Buffer, attributes: number): Buffer {
  const body = Buffer.alloc(2 + (magic === 1 ? 8 : 0) + 4 + 4 + value.length);
  let at = body.writeInt8(magic, 0);
  at = body.writeInt8(attributes, at);
  if (magic === 1) at = body.writeBigInt64BE(BigInt(timestamp), at);
  at = body.writeInt32BE(-1, at);
  at = body.writeInt32BE(value.length, at);
  value.copy(body, at);
  const entry = Buffer.alloc(16 + body.length);
  entry.writeBigInt64BE(BigInt(offset), 0);
  entry.writeInt32BE(4 + body.length, 8);
  entry.writeUInt32BE(crc32(body), 12);
  body.copy(entry, 16);
  return entry;
}

function expectLegacyError(run: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof LegacyFormatError, String(error));
    assert.equal(error.code, code);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

describe('legacy message sets (magic 0 and 1)', () => {
  it('decodes the hand-written magic 0 and magic 1 layouts, and encodes them back byte for byte', () => {
    const [m0] = decodeLegacyMessageSet(MAGIC_0_MESSAGE);
    assert.deepEqual(
      { ...m0, key: m0?.key?.toString(), value: m0?.value?.toString() },
      {
        offset: 5,
        magic: 0,
        compression: Compression.None,
        timestamp: NO_TIMESTAMP,
        logAppendTime: false,
        key: 'k',
        value: 'v1',
      },
    );
    const [m1] = decodeLegacyMessageSet(MAGIC_1_MESSAGE);
    assert.equal(m1?.magic, 1);
    assert.equal(m1?.timestamp, 1_700_000_000_000);
    assert.equal(m1?.key, null);
    assert.equal(m1?.value?.toString(), 'hello');
    assert.deepEqual(
      encodeLegacyMessageSet(
        [{ offset: 5, timestamp: -1, key: Buffer.from('k'), value: Buffer.from('v1') }],
        0,
      ),
      MAGIC_0_MESSAGE,
    );
    assert.deepEqual(
      encodeLegacyMessageSet(
        [{ offset: 0, timestamp: 1_700_000_000_000, key: null, value: Buffer.from('hello') }],
        1,
      ),
      MAGIC_1_MESSAGE,
    );
  });

  it('refuses a wrong CRC, a cut message, a bad size or magic with CORRUPT_MESSAGE, a bad timestamp', () => {
    const badCrc = Buffer.from(MAGIC_0_MESSAGE);
    badCrc.writeUInt8(badCrc.readUInt8(badCrc.length - 1) ^ 1, badCrc.length - 1);
    expectLegacyError(() => decodeLegacyMessageSet(badCrc), 'CORRUPT_MESSAGE', /CRC/);
    expectLegacyError(() => decodeLegacyMessageSet(MAGIC_1_MESSAGE.subarray(0, 30)), 'CORRUPT_MESSAGE');
    expectLegacyError(() => decodeLegacyMessageSet(MAGIC_1_MESSAGE.subarray(0, 10)), 'CORRUPT_MESSAGE');
    const tiny = Buffer.from(MAGIC_0_MESSAGE);
    tiny.writeInt32BE(3, 8);
    expectLegacyError(() => decodeLegacyMessageSet(tiny), 'CORRUPT_MESSAGE');
    const negative = Buffer.from(MAGIC_1_MESSAGE);
    negative.writeBigInt64BE(-5n, 18);
    negative.writeUInt32BE(crc32(negative.subarray(16)), 12);
    expectLegacyError(() => decodeLegacyMessageSet(negative), 'INVALID_TIMESTAMP');
    const magic3 = Buffer.from(MAGIC_0_MESSAGE);
    magic3[16] = 3;
    expectLegacyError(() => decodeLegacyMessageSet(magic3), 'CORRUPT_MESSAGE', /magic 3/);
  });
});

describe('up-conversion of a producer message set to RecordBatch v2', () => {
  it('keeps keys, values, magic 1 timestamps; magic 0 has none (-1); one batch per uncompressed run', () => {
    const batches = splitBatches(
      upConvertMessageSet(Buffer.concat([MAGIC_0_MESSAGE, MAGIC_0_MESSAGE]), 1024),
    );
    assert.equal(batches.length, 1);
    const records = decodeRecords(batches[0]!);
    assert.deepEqual(
      records.map((r) => [r.offset, r.timestamp, r.key?.toString(), r.value?.toString()]),
      [
        [0, -1, 'k', 'v1'],
        [1, -1, 'k', 'v1'],
      ],
    );
    const [v1] = decodeRecords(upConvertMessageSet(MAGIC_1_MESSAGE, 1024));
    assert.deepEqual([v1?.timestamp, v1?.key, v1?.value?.toString()], [1_700_000_000_000, null, 'hello']);
  });

  it('turns a gzip wrapper into one gzip batch; a LogAppendTime wrapper gives its timestamp to all inner', () => {
    const inner = Buffer.concat([MAGIC_1_MESSAGE, MAGIC_1_MESSAGE]);
    const converted = upConvertMessageSet(
      Buffer.concat([
        MAGIC_0_MESSAGE,
        gzipWrapper(1, 1, 1_700_000_000_999, inner, 1 | 0x08),
        MAGIC_0_MESSAGE,
      ]),
      1024,
    );
    const batches = splitBatches(converted);
    assert.equal(batches.length, 3);
    assert.equal(readBatchHeader(batches[1]!).attributes & 0x07, Compression.Gzip);
    const wrapped = decodeRecords(batches[1]!);
    assert.deepEqual(
      wrapped.map((r) => [r.timestamp, r.value?.toString()]),
      [
        [1_700_000_000_999, 'hello'],
        [1_700_000_000_999, 'hello'],
      ],
    );
    const magic0 = decodeRecords(upConvertMessageSet(gzipWrapper(0, 0, 0, MAGIC_0_MESSAGE), 1024));
    assert.deepEqual(
      magic0.map((r) => [r.timestamp, r.value?.toString()]),
      [[-1, 'v1']],
    );
  });

  it('inflates snappy and LZ4 wrappers (a magic 0 LZ4 frame with the KAFKA-3160 checksum) into gzip batches', () => {
    const inner = Buffer.concat([MAGIC_0_MESSAGE, MAGIC_0_MESSAGE]);
    const lz4 = compressionsAlgorithms.lz4.compressSync(inner);
    // Kafka 0.8-0.9 computed the frame descriptor checksum over the magic too: any byte must be taken.
    lz4.writeUInt8(lz4.readUInt8(6) ^ 0xff, 6);
    for (const [codec, value] of [
      [Compression.Snappy, compressionsAlgorithms.snappy.compressSync(inner)],
      [Compression.Lz4, lz4],
    ] as const) {
      const batch = upConvertMessageSet(wrapper(0, 1, 0, value, codec), 1024);
      assert.equal(readBatchHeader(batch).attributes & 0x07, Compression.Gzip, `codec ${codec}`);
      assert.deepEqual(
        decodeRecords(batch).map((r) => [r.timestamp, r.key?.toString(), r.value?.toString()]),
        [
          [-1, 'k', 'v1'],
          [-1, 'k', 'v1'],
        ],
      );
    }
  });

  it('refuses codecs it cannot inflate, inflation past the limit, nesting and mixed magics', () => {
    expectLegacyError(
      () => upConvertMessageSet(wrapper(1, 0, 0, Buffer.alloc(8), Compression.Zstd), 1024),
      'UNSUPPORTED_COMPRESSION_TYPE',
    );
    expectLegacyError(
      () => upConvertMessageSet(gzipWrapper(1, 0, 0, MAGIC_1_MESSAGE, Compression.Snappy), 1024),
      'CORRUPT_MESSAGE',
      /snappy/,
    );
    const big = encodeLegacyMessageSet(
      [{ offset: 0, timestamp: 0, key: null, value: Buffer.alloc(4096) }],
      1,
    );
    expectLegacyError(() => upConvertMessageSet(gzipWrapper(1, 0, 0, big), 1024), 'CORRUPT_MESSAGE', /limit/);
    // Each wrapper within the limit, the set past it: the limit is for the whole set.
    const half = encodeLegacyMessageSet(
      [{ offset: 0, timestamp: 0, key: null, value: Buffer.alloc(600) }],
      1,
    );
    assert.equal(splitBatches(upConvertMessageSet(gzipWrapper(1, 0, 0, half), 1024)).length, 1);
    expectLegacyError(
      () =>
        upConvertMessageSet(Buffer.concat([gzipWrapper(1, 0, 0, half), gzipWrapper(1, 0, 0, half)]), 1024),
      'CORRUPT_MESSAGE',
      /limit/,
    );
    expectLegacyError(
      () => upConvertMessageSet(gzipWrapper(1, 0, 0, gzipWrapper(1, 0, 0, MAGIC_1_MESSAGE)), 4096),
      'INVALID_RECORD',
      /nests/,
    );
    expectLegacyError(
      () => upConvertMessageSet(gzipWrapper(1, 0, 0, MAGIC_0_MESSAGE), 4096),
      'INVALID_RECORD',
      /magic 0 message inside a magic 1/,
    );
    const garbled = gzipWrapper(0, 0, 0, MAGIC_0_MESSAGE);
    garbled.fill(0x55, 30, 40);
    garbled.writeUInt32BE(crc32(garbled.subarray(16)), 12);
    expectLegacyError(() => upConvertMessageSet(garbled, 4096), 'CORRUPT_MESSAGE');
  });
});

/** Three data records at offsets 10-12 (one with a header), then a control batch at 13, then offset 14. */
function logBytes(): Buffer {
  const data = encodeRecordBatch(
    [
      { key: Buffer.from('a'), value: Buffer.from('1'), timestamp: 1000 },
      {
        key: null,
        value: Buffer.from('2'),
        timestamp: 1001,
        headers: [{ key: 'h', value: Buffer.from('x') }],
      },
      { key: Buffer.from('c'), value: null, timestamp: 1002 },
    ],
    { baseOffset: 10, compression: Compression.Gzip },
  );
  const control = encodeRecordBatch([{ key: Buffer.alloc(4), value: Buffer.alloc(6) }], { baseOffset: 13 });
  control.writeInt16BE(0x30, BatchField.attributes);
  control.writeUInt32BE(computeBatchCrc(control), BatchField.crc);
  const tail = encodeRecordBatch([{ key: null, value: Buffer.from('5'), timestamp: 2000 }], {
    baseOffset: 14,
  });
  return Buffer.concat([data, control, tail]);
}

function summary(set: Buffer): Array<[number, number, string | undefined, string | undefined]> {
  return decodeLegacyMessageSet(set).map((m) => [
    m.offset,
    m.timestamp,
    m.key?.toString(),
    m.value?.toString(),
  ]);
}

describe('down-conversion of the log for Fetch v0-v3', () => {
  it('picks the magic Kafka picks per Fetch version', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 13].map(legacyMagicForFetch), [0, 0, 1, 1, null, null]);
  });

  it('drops control batches and headers, skips records below the fetch offset, writes uncompressed', () => {
    const magic1 = downConvertBatches(logBytes(), 11, 1, 1 << 20, 1 << 20);
    assert.deepEqual(summary(magic1), [
      [11, 1001, undefined, '2'],
      [12, 1002, 'c', undefined],
      [14, 2000, undefined, '5'],
    ]);
    assert.equal(countLegacyMessages(magic1), 3);
    assert.ok(decodeLegacyMessageSet(magic1).every((m) => m.compression === Compression.None));
    assert.deepEqual(
      summary(downConvertBatches(logBytes(), 0, 0, 1 << 20, 1 << 20)).map(([o, t]) => [o, t]),
      [
        [10, -1],
        [11, -1],
        [12, -1],
        [14, -1],
      ],
    );
  });

  it('stops at the byte limit on a whole message, but always returns the first', () => {
    const oneMagic0 = 12 + 14 + 1 + 1;
    assert.deepEqual(
      summary(downConvertBatches(logBytes(), 10, 0, 2 * oneMagic0, 1 << 20)).map(([o]) => o),
      [10, 11],
    );
    assert.deepEqual(
      summary(downConvertBatches(logBytes(), 10, 0, 1, 1 << 20)).map(([o]) => o),
      [10],
    );
  });

  it('gives a LogAppendTime batch its max timestamp and the timestamp type bit', () => {
    const batch = encodeRecordBatch([{ key: null, value: Buffer.from('t'), timestamp: 5 }], {
      baseOffset: 0,
    });
    batch.writeInt16BE(0x08, BatchField.attributes);
    batch.writeBigInt64BE(777n, BatchField.maxTimestamp);
    batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
    const [message] = decodeLegacyMessageSet(downConvertBatches(batch, 0, 1, 1 << 20, 1 << 20));
    assert.deepEqual([message?.timestamp, message?.logAppendTime], [777, true]);
  });

  it('answers a codec the old formats cannot be decoded into with UNSUPPORTED_COMPRESSION_TYPE', () => {
    const batch = encodeRecordBatch([{ key: null, value: Buffer.from('z') }], { baseOffset: 0 });
    batch.writeInt16BE(Compression.Zstd, BatchField.attributes);
    batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
    expectLegacyError(
      () => downConvertBatches(batch, 0, 1, 1 << 20, 1 << 20),
      'UNSUPPORTED_COMPRESSION_TYPE',
    );
  });

  it('answers records the log holds but that do not parse with CORRUPT_MESSAGE', () => {
    const batch = encodeRecordBatch([{ key: null, value: Buffer.from('abc') }], { baseOffset: 0 });
    batch.writeInt32BE(5, BatchField.recordsCount);
    batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
    expectLegacyError(() => downConvertBatches(batch, 0, 0, 1 << 20, 1 << 20), 'CORRUPT_MESSAGE');
  });

  it('reads on past control batches instead of answering an old consumer empty', () => {
    const all = logBytes();
    const batches = splitBatches(all);
    const reads: number[] = [];
    // A log that returns one batch per read, as a small partition limit would.
    const read = (offset: number): { records: Buffer } => {
      reads.push(offset);
      const batch = batches.find((b) => {
        const header = readBatchHeader(b);
        return header.baseOffset + header.lastOffsetDelta >= offset;
      });
      return { records: batch ?? Buffer.alloc(0) };
    };
    assert.deepEqual(
      summary(readDownConverted(read, 13, 1, 10, 1 << 20).records).map(([o]) => o),
      [14],
    );
    assert.deepEqual(reads, [13, 14]);
    assert.equal(readDownConverted(read, 15, 1, 10, 1 << 20).records.length, 0);
  });
});
