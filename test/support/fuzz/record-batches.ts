import {
  BATCH_HEADER_BYTES,
  BatchField,
  Compression,
  computeBatchCrc,
  encodeRecordBatch,
  type RecordInput,
  writeInt64,
} from '../../../src/protocol/index.js';
import { type Codec, compressionBomb } from './compression-bombs.js';
import type { SeededRandom } from './seeded-random.js';

/**
 * RecordBatch v2 payloads for the `records` field of Produce: valid ones, and ones whose lengths, counts,
 * magic, CRC or codec lie. After a mutation the CRC is made right again (unless wrong CRC is the mutation),
 * so the lie gets past the broker's framing checks and into the log, where fetch, ListOffsets and
 * compaction meet it later.
 */

const BASE_TIMESTAMP_MS = 1_764_000_000_000;
const COMPRESSION_MASK = 0x07;
/** int32 values a lying length or count takes, beside off-by-one values of the truth. */
const LYING_INT32 = [0, 1, -1, -12, 48, 0x7fff_ffff, -0x8000_0000, 0x0100_0000];

export function validRecordBatch(rng: SeededRandom): Buffer {
  const records: RecordInput[] = Array.from({ length: 1 + rng.below(3) }, (_, i) => ({
    key: rng.chance(0.5) ? null : Buffer.from(`k${i}`),
    value: rng.chance(0.1) ? null : rng.bytes(rng.below(32)),
    headers: rng.chance(0.3) ? [{ key: 'h', value: Buffer.from('v') }] : [],
    timestamp: BASE_TIMESTAMP_MS + rng.below(10_000),
  }));
  return encodeRecordBatch(records, {
    baseTimestamp: BASE_TIMESTAMP_MS,
    compression: rng.chance(0.2) ? Compression.Gzip : Compression.None,
  });
}

function lie(rng: SeededRandom, truth: number): number {
  return rng.chance(0.3) ? truth + rng.pick([-1, 1]) : rng.pick(LYING_INT32);
}

function withCodec(batch: Buffer, codec: number, body: Buffer): Buffer {
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_BYTES), body]);
  out.writeInt16BE(
    (out.readInt16BE(BatchField.attributes) & ~COMPRESSION_MASK) | codec,
    BatchField.attributes,
  );
  out.writeInt32BE(out.length - 12, BatchField.batchLength);
  return out;
}

export interface FuzzedRecords {
  bytes: Buffer;
  /** What was done, for the failure report. */
  what: string;
}

export interface RecordFuzzOptions {
  /** How far a valid compressed body may inflate. */
  bombBytes: number;
}

type BatchMutation = (batch: Buffer, rng: SeededRandom, options: RecordFuzzOptions) => FuzzedRecords;

const CODECS: Codec[] = [Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd];
/** Codec ids 5-7 do not exist. */
const INVALID_CODECS = [5, 6, 7];

const MUTATIONS: Record<string, BatchMutation> = {
  'batch-length': (batch, rng) => {
    const value = lie(rng, batch.readInt32BE(BatchField.batchLength));
    batch.writeInt32BE(value, BatchField.batchLength);
    return { bytes: batch, what: `batchLength=${value}` };
  },
  'record-length': (batch, rng) => {
    // The first record's length is a zig-zag varint right after the header; 0x7f..0x01 is one byte wide.
    const value = rng.pick([0x01, 0x7f, 0x00, 0x03]);
    batch[BATCH_HEADER_BYTES] = value;
    return { bytes: batch, what: `first record length byte 0x${value.toString(16)}` };
  },
  magic: (batch, rng) => {
    const value = rng.pick([0, 1, 3, -1, 127]);
    batch.writeInt8(value, BatchField.magic);
    return { bytes: batch, what: `magic=${value}` };
  },
  'record-count': (batch, rng) => {
    const value = lie(rng, batch.readInt32BE(BatchField.recordsCount));
    batch.writeInt32BE(value, BatchField.recordsCount);
    return { bytes: batch, what: `recordsCount=${value}` };
  },
  'last-offset-delta': (batch, rng) => {
    const value = lie(rng, batch.readInt32BE(BatchField.lastOffsetDelta));
    batch.writeInt32BE(value, BatchField.lastOffsetDelta);
    return { bytes: batch, what: `lastOffsetDelta=${value}` };
  },
  'codec-garbage': (batch, rng) => {
    const codec = rng.pick([...CODECS, ...INVALID_CODECS]);
    return {
      bytes: withCodec(batch, codec, rng.bytes(rng.below(256))),
      what: `codec ${codec}, garbage body`,
    };
  },
  'codec-bomb': (batch, rng, options) => {
    const codec = rng.pick(CODECS);
    const bomb = compressionBomb(codec, options.bombBytes);
    return {
      bytes: withCodec(batch, codec, bomb),
      what: `codec ${codec}, ${bomb.length} bytes inflating to ${options.bombBytes}`,
    };
  },
  'codec-invalid-valid-body': (batch, rng) => {
    // A body that is fine uncompressed, under a codec id that does not exist.
    const codec = rng.pick(INVALID_CODECS);
    return {
      bytes: withCodec(batch, codec, batch.subarray(BATCH_HEADER_BYTES)),
      what: `codec ${codec}, plain body`,
    };
  },
  'endless-varint': (batch, rng) => {
    const body = Buffer.alloc(1 + rng.below(64), 0xff);
    return { bytes: withCodec(batch, Compression.None, body), what: `records of ${body.length} bytes 0xff` };
  },
  attributes: (batch, rng) => {
    const value = rng.below(0x10000) - 0x8000;
    batch.writeInt16BE(value, BatchField.attributes);
    return { bytes: batch, what: `attributes=0x${(value & 0xffff).toString(16)}` };
  },
  timestamps: (batch, rng) => {
    const value = rng.pick([Number.MAX_SAFE_INTEGER, -1, 0, -Number.MAX_SAFE_INTEGER, 2 ** 63]);
    writeInt64(batch, rng.pick([BatchField.baseTimestamp, BatchField.maxTimestamp]), value);
    return { bytes: batch, what: `timestamp=${value}` };
  },
  idempotent: (batch, rng) => {
    writeInt64(batch, BatchField.producerId, rng.below(4));
    batch.writeInt16BE(rng.below(2), BatchField.producerEpoch);
    batch.writeInt32BE(rng.pick([0, 1, 5, 0x7fff_ffff]), BatchField.baseSequence);
    return { bytes: batch, what: 'idempotent header' };
  },
  truncated: (batch, rng) => {
    const cut = rng.below(batch.length);
    return { bytes: batch.subarray(0, cut), what: `batch cut at ${cut} of ${batch.length}` };
  },
  concatenated: (batch, rng) => {
    const second = Buffer.from(batch);
    const cut = BATCH_HEADER_BYTES + rng.below(second.length - BATCH_HEADER_BYTES);
    return { bytes: Buffer.concat([batch, second.subarray(0, cut)]), what: `second batch cut at ${cut}` };
  },
};

const NO_CRC_FIX = new Set(['truncated', 'concatenated']);

/** A mutated batch; the CRC is recomputed over the lie unless the mutation is a wrong CRC. */
export function fuzzedRecords(rng: SeededRandom, options: RecordFuzzOptions): FuzzedRecords {
  const batch = validRecordBatch(rng);
  if (rng.chance(0.1)) {
    batch.writeUInt32BE((batch.readUInt32BE(BatchField.crc) ^ (1 + rng.below(0xffff))) >>> 0, BatchField.crc);
    return { bytes: batch, what: 'wrong CRC' };
  }
  const name = rng.pick(Object.keys(MUTATIONS));
  const result = MUTATIONS[name]!(batch, rng, options);
  if (!NO_CRC_FIX.has(name) && result.bytes.length >= BATCH_HEADER_BYTES) {
    result.bytes.writeUInt32BE(computeBatchCrc(result.bytes), BatchField.crc);
  }
  return { bytes: result.bytes, what: `${name}: ${result.what}` };
}
