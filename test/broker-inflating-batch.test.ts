import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createGzip } from 'node:zlib';
import { LogClientError } from '../src/client/client-errors.js';
import { EmbeddedLogClient } from '../src/client/embedded-client.js';
import { ListOffsets } from '../src/protocol/apis/list-offsets.js';
import { Produce, type ProducePartitionResponse } from '../src/protocol/apis/produce.js';
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  BatchField,
  Compression,
  computeBatchCrc,
  ErrorCode,
  encodeRecordBatch,
  writeVarint,
} from '../src/protocol/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { WireClient } from './support/wire-client.js';

const MiB = 1024 * 1024;
/** What the second record's value inflates to: far past the 64 MiB default limit. */
const INFLATED_VALUE_BYTES = 200 * MiB;
/**
 * Peak memory the requests below may add together: two bounded inflations (64 MiB each) if no collection
 * runs between them, with room to spare. Inflating the batch whole needs its 200 MiB plus the chunks they
 * were assembled from.
 */
const MAX_GROWTH_BYTES = 192 * MiB;
const T0 = 1_700_000_000_000;
const TOPIC = 'inflating';

/** One record (timestamp delta, offset delta, null key) whose value is `valueBytes` zeros, streamed into gzip. */
async function gzipRecords(first: Buffer, valueBytes: number): Promise<Buffer> {
  const gzip = createGzip();
  const out: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise((resolve) => gzip.on('end', resolve));
  const fields = Buffer.alloc(32);
  let at = 0;
  fields[at++] = 0; // attributes
  at = writeVarint(fields, at, 1000); // timestamp delta
  at = writeVarint(fields, at, 1); // offset delta
  at = writeVarint(fields, at, -1); // null key
  at = writeVarint(fields, at, valueBytes);
  const length = Buffer.alloc(10);
  const lengthBytes = writeVarint(length, 0, at + valueBytes + 1);
  gzip.write(first);
  gzip.write(length.subarray(0, lengthBytes));
  gzip.write(fields.subarray(0, at));
  const zeros = Buffer.alloc(MiB);
  for (let written = 0; written < valueBytes; written += MiB) {
    if (!gzip.write(zeros.subarray(0, Math.min(MiB, valueBytes - written)))) {
      await new Promise((resolve) => gzip.once('drain', resolve));
    }
  }
  gzip.end(Buffer.from([0])); // no headers
  await done;
  return Buffer.concat(out);
}

/**
 * A valid two-record gzip batch of a few hundred KiB whose records inflate to 200 MiB, built as a client
 * that ignores every limit would send it: a small record at T0, then the huge one at T0 + 1000.
 */
async function inflatingBatch(): Promise<Buffer> {
  const small = encodeRecordBatch([{ key: null, value: Buffer.from('small'), timestamp: T0 }]);
  const body = await gzipRecords(small.subarray(BATCH_HEADER_BYTES), INFLATED_VALUE_BYTES);
  const twoRecords = encodeRecordBatch(
    [
      { key: null, value: null, timestamp: T0 },
      { key: null, value: null, timestamp: T0 + 1000 },
    ],
    { compression: Compression.Gzip },
  );
  const batch = Buffer.concat([twoRecords.subarray(0, BATCH_HEADER_BYTES), body]);
  batch.writeInt32BE(batch.length - BATCH_LENGTH_PREFIX_BYTES, BatchField.batchLength);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  return batch;
}

async function produce(client: WireClient, batch: Buffer): Promise<ProducePartitionResponse> {
  const response = (await client.request(Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }],
  })) as { responses: Array<{ partitionResponses: ProducePartitionResponse[] }> };
  return response.responses[0]!.partitionResponses[0]!;
}

async function offsetForTime(
  client: WireClient,
  timestamp: number,
): Promise<{ errorCode: number; offset: number; timestamp: number }> {
  const response = (await client.request(ListOffsets, 5, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }],
  })) as { topics: Array<{ partitions: Array<{ errorCode: number; offset: number; timestamp: number }> }> };
  return response.topics[0]!.partitions[0]!;
}

/** The process's peak resident memory so far (it never goes down, so it catches a peak that is already gone). */
const peakRssBytes = () => process.resourceUsage().maxRSS * 1024;

describe('a batch that inflates far past its size', { timeout: 120_000 }, () => {
  let broker: RunningBroker;
  let client: WireClient;
  let batch: Buffer;
  let baselineRssBytes: number;
  const peakGrowthMiB = () => (peakRssBytes() - baselineRssBytes) / MiB;
  before(async () => {
    broker = await startBroker();
    client = await WireClient.connect(broker.port);
    batch = await inflatingBatch();
    baselineRssBytes = peakRssBytes();
  });
  after(async () => {
    await client?.close();
    await broker?.stop();
  });

  it('is stored as sent, and ListOffsets by timestamp answers with bounded memory', async (t) => {
    assert.ok(batch.length < MiB, `the batch is ${batch.length} bytes on the wire`);
    assert.equal((await produce(client, batch)).errorCode, 0);

    const fromHeader = await offsetForTime(client, T0 - 1);
    assert.deepEqual(
      [fromHeader.errorCode, fromHeader.offset, fromHeader.timestamp],
      [0, 0, T0],
      'the first record answers from the header without inflating anything',
    );
    t.diagnostic(`peak memory growth after a lookup the header answers: ${peakGrowthMiB().toFixed(0)} MiB`);
    const inside = await offsetForTime(client, T0 + 500);
    assert.equal(
      inside.errorCode,
      ErrorCode.CORRUPT_MESSAGE,
      'a lookup that must inflate past the limit is refused',
    );
    t.diagnostic(`peak memory growth after a lookup inside the batch: ${peakGrowthMiB().toFixed(0)} MiB`);
    assert.ok(
      peakGrowthMiB() < MAX_GROWTH_BYTES / MiB,
      `peak memory grew by ${peakGrowthMiB().toFixed(0)} MiB`,
    );
  });

  it('fails an embedded fetch with a clear error and bounded memory', async (t) => {
    const embedded = new EmbeddedLogClient(broker.broker.embeddedLog());
    try {
      const failure = await embedded
        .fetch([{ topic: TOPIC, partition: 0, offset: 0 }], { maxBytes: MiB, maxWaitMs: 0 })
        .then(
          () => null,
          (error: unknown) => error,
        );
      t.diagnostic(`peak memory growth after the embedded fetch: ${peakGrowthMiB().toFixed(0)} MiB`);
      assert.ok(failure instanceof LogClientError, `expected a LogClientError, got ${String(failure)}`);
      assert.equal(failure.code, 'MESSAGE_TOO_LARGE');
      assert.match(failure.message, /offset 0 of inflating-0 .*maxDecompressedBytes/);
      assert.ok(
        peakGrowthMiB() < MAX_GROWTH_BYTES / MiB,
        `peak memory grew by ${peakGrowthMiB().toFixed(0)} MiB`,
      );
    } finally {
      await embedded.close();
    }
  });

  it('keeps serving the partition and the connection', async () => {
    const next = await produce(
      client,
      encodeRecordBatch([{ key: null, value: Buffer.from('after'), timestamp: T0 + 2000 }]),
    );
    assert.deepEqual([next.errorCode, next.baseOffset], [0, 2]);
    const later = await offsetForTime(client, T0 + 1500);
    assert.deepEqual([later.errorCode, later.offset, later.timestamp], [0, 2, T0 + 2000]);
  });
});
