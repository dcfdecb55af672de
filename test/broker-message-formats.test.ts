import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { compressionsAlgorithms } from '@platformatic/kafka';
import { Fetch } from '../src/protocol/apis/fetch.js';
import { Metadata } from '../src/protocol/apis/metadata.js';
import { Produce } from '../src/protocol/apis/produce.js';
import { decompressForConversion } from '../src/protocol/conversion-codecs.js';
import {
  BATCH_HEADER_BYTES,
  BatchField,
  Compression,
  computeBatchCrc,
  decodeLegacyMessageSet,
  decodeRecords,
  ErrorCode,
  encodeLegacyMessageSet,
  encodeRecordBatch,
  type LegacyMessageInput,
  NO_TIMESTAMP,
  splitBatches,
} from '../src/protocol/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { WireClient } from './support/wire-client.js';

/** One record as it must come back: the offset the log gave it and, where the format carries one, its timestamp. */
interface Expected {
  offset: number;
  key: string | null;
  value: string | null;
  /** NO_TIMESTAMP when produced in magic 0. */
  timestamp: number;
}

interface PartitionResult {
  errorCode: number;
  baseOffset: number;
  records: Buffer;
  highWatermark: number;
}

const TOPIC = 'formats';
const T0 = 1_700_000_000_000;

function message(i: number, magic: 0 | 1): LegacyMessageInput {
  return {
    offset: 0,
    timestamp: magic === 1 ? T0 + i : NO_TIMESTAMP,
    key: i % 3 === 0 ? null : Buffer.from(`key-${i}`),
    value: i % 5 === 4 ? null : Buffer.from(`value-${i}`),
  };
}

const CODEC_NAMES = new Map<Compression, 'gzip' | 'snappy' | 'lz4'>([
  [Compression.Gzip, 'gzip'],
  [Compression.Snappy, 'snappy'],
  [Compression.Lz4, 'lz4'],
]);

/** A plain v2 batch with its records compressed by another implementation (@platformatic/kafka's codecs). */
function withCodec(batch: Buffer, codec: Compression): Buffer {
  if (codec === Compression.None) return batch;
  const name = CODEC_NAMES.get(codec);
  if (name === undefined) throw new RangeError(`codec ${codec}`);
  const body = compressionsAlgorithms[name].compressSync(batch.subarray(BATCH_HEADER_BYTES));
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_BYTES), body]);
  out.writeInt32BE(out.length - 12, BatchField.batchLength);
  out.writeInt16BE(codec, BatchField.attributes);
  out.writeUInt32BE(computeBatchCrc(out), BatchField.crc);
  return out;
}

async function produce(client: WireClient, version: number, records: Buffer, topic = TOPIC) {
  const response = (await client.request(Produce, version, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  })) as { responses: Array<{ partitionResponses: PartitionResult[] }> };
  return response.responses[0]!.partitionResponses[0]!;
}

async function fetch(
  client: WireClient,
  version: number,
  topic: { name: string; id: Buffer },
  fetchOffset: number,
  partitionMaxBytes = 1 << 20,
): Promise<PartitionResult> {
  const response = (await client.request(Fetch, version, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 24,
    topics: [
      {
        topic: topic.name,
        topicId: topic.id,
        partitions: [{ partition: 0, fetchOffset, partitionMaxBytes }],
      },
    ],
  })) as { responses: Array<{ partitions: PartitionResult[] }> };
  return response.responses[0]!.partitions[0]!;
}

/** What a fetch at `version` returned, in the record shape of `Expected`, decoded in the format of that version. */
function received(version: number, records: Buffer): Expected[] {
  const text = (bytes: Buffer | null) => (bytes === null ? null : bytes.toString());
  if (version >= 4) {
    return splitBatches(records).flatMap((batch) =>
      decodeRecords(batch, undefined, decompressForConversion).map((r) => ({
        offset: r.offset,
        key: text(r.key),
        value: text(r.value),
        timestamp: r.timestamp,
      })),
    );
  }
  return decodeLegacyMessageSet(records).map((m) => {
    assert.equal(m.magic, version <= 1 ? 0 : 1, `Fetch v${version} reads magic ${version <= 1 ? 0 : 1}`);
    return { offset: m.offset, key: text(m.key), value: text(m.value), timestamp: m.timestamp };
  });
}

describe('every Produce and Fetch version over the message formats', { timeout: 120_000 }, () => {
  let broker: RunningBroker;
  let client: WireClient;
  const expected: Expected[] = [];
  let topicId: Buffer;

  before(async () => {
    broker = await startBroker();
    client = await WireClient.connect(broker.port);
  });
  after(async () => {
    await client?.close();
    await broker?.stop();
  });

  it('produces at Produce v0-v9: magic 0/1 message sets (plain and gzip) at v0-v2, v2 batches at v3+', async () => {
    let i = 0;
    const legacy = (magic: 0 | 1, count: number) => Array.from({ length: count }, () => message(i++, magic));
    const plans: Array<{ version: number; records: Buffer; sent: LegacyMessageInput[] }> = [];
    const v0 = legacy(0, 3);
    plans.push({ version: 0, records: encodeLegacyMessageSet(v0, 0), sent: v0 });
    const v1 = legacy(0, 4);
    plans.push({ version: 1, records: encodeLegacyMessageSet(v1, 0, Compression.Gzip), sent: v1 });
    const plain = legacy(1, 2);
    const wrapped = legacy(1, 3);
    plans.push({
      version: 2,
      records: Buffer.concat([
        encodeLegacyMessageSet(plain, 1),
        encodeLegacyMessageSet(wrapped, 1, Compression.Gzip),
      ]),
      sent: [...plain, ...wrapped],
    });
    // v2 batches: gzip at v3, snappy at v4, LZ4 at v5, the rest plain; old consumers get them converted.
    const codecs: Record<number, Compression> = {
      3: Compression.Gzip,
      4: Compression.Snappy,
      5: Compression.Lz4,
    };
    for (let version = 3; version <= 9; version++) {
      const sent = legacy(1, 2);
      const records = withCodec(
        encodeRecordBatch(
          sent.map((m) => ({
            key: m.key,
            value: m.value,
            timestamp: m.timestamp,
            headers: [{ key: 'lost-in-old-formats', value: Buffer.from('h') }],
          })),
        ),
        codecs[version] ?? Compression.None,
      );
      plans.push({ version, records, sent });
    }
    for (const plan of plans) {
      const response = await produce(client, plan.version, plan.records);
      assert.equal(response.errorCode, ErrorCode.NONE, `Produce v${plan.version}`);
      assert.equal(response.baseOffset, expected.length, `Produce v${plan.version} base offset`);
      for (const m of plan.sent) {
        expected.push({
          offset: expected.length,
          key: m.key?.toString() ?? null,
          value: m.value?.toString() ?? null,
          timestamp: m.timestamp,
        });
      }
    }
    const metadata = (await client.request(Metadata, 12, {
      topics: [{ topicId: Buffer.alloc(16), name: TOPIC }],
      allowAutoTopicCreation: false,
    })) as { topics: Array<{ topicId: Buffer; errorCode: number }> };
    assert.equal(metadata.topics[0]!.errorCode, ErrorCode.NONE);
    topicId = metadata.topics[0]!.topicId;
    assert.notDeepEqual(topicId, Buffer.alloc(16));
  });

  it('fetches the whole partition back at every Fetch version v0-v13, in order, at the right offsets', async () => {
    assert.ok(expected.length > 20, 'the produce step ran first');
    for (let version = 0; version <= 13; version++) {
      const got: Expected[] = [];
      // Read as a consumer does: from the next offset until the high watermark.
      for (let offset = 0; offset < expected.length; ) {
        const partition = await fetch(client, version, { name: TOPIC, id: topicId }, offset, 200);
        assert.equal(partition.errorCode, ErrorCode.NONE, `Fetch v${version} at ${offset}`);
        assert.equal(partition.highWatermark, expected.length);
        const records = received(version, partition.records).filter((r) => r.offset >= offset);
        assert.ok(records.length > 0, `Fetch v${version} at ${offset} made progress`);
        got.push(...records);
        offset = records[records.length - 1]!.offset + 1;
      }
      // Magic 0 has no timestamps; magic 1 and v2 batches give back what magic 1 and v2 producers sent.
      const want = expected.map((e) => ({ ...e, timestamp: version <= 1 ? NO_TIMESTAMP : e.timestamp }));
      assert.deepEqual(got, want, `Fetch v${version}`);
    }
  });

  it('starts a legacy fetch at the fetch offset inside a batch, and returns one message past a small limit', async () => {
    // Offsets 3-6 are one gzip batch (the Produce v1 wrapper): a fetch at 5 must not return 3 and 4.
    const inside = await fetch(client, 1, { name: TOPIC, id: topicId }, 5);
    assert.deepEqual(
      decodeLegacyMessageSet(inside.records)
        .slice(0, 2)
        .map((m) => m.offset),
      [5, 6],
    );
    const one = await fetch(client, 3, { name: TOPIC, id: topicId }, 0, 1);
    assert.deepEqual(
      decodeLegacyMessageSet(one.records).map((m) => m.offset),
      [0],
      'the first message, larger than the limit, alone',
    );
  });

  it('refuses a bad CRC or a cut message set with CORRUPT_MESSAGE and writes nothing', async () => {
    const set = encodeLegacyMessageSet([message(1, 1)], 1);
    const badCrc = Buffer.from(set);
    badCrc.writeUInt32BE((crc32(badCrc.subarray(16)) + 1) >>> 0, 12);
    for (const records of [badCrc, set.subarray(0, set.length - 3)]) {
      const response = await produce(client, 2, records);
      assert.equal(response.errorCode, ErrorCode.CORRUPT_MESSAGE);
    }
    const zstd = Buffer.from(encodeLegacyMessageSet([message(1, 0)], 0, Compression.Gzip));
    zstd.writeInt8(Compression.Zstd, 17);
    zstd.writeUInt32BE(crc32(zstd.subarray(16)), 12);
    assert.equal((await produce(client, 0, zstd)).errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    const after = await fetch(client, 4, { name: TOPIC, id: topicId }, 0);
    assert.equal(after.highWatermark, expected.length, 'nothing was written');
  });
});
