import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { LogManager } from '../src/log/index.js';
import { Fetch } from '../src/protocol/apis/fetch.js';
import { InitProducerId } from '../src/protocol/apis/init-producer-id.js';
import { Produce, type ProducePartitionResponse } from '../src/protocol/apis/produce.js';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../src/protocol/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { RecordingLogger } from './support/log-fixtures.js';
import { WireClient } from './support/wire-client.js';

async function produce(
  client: WireClient,
  topic: string,
  batch: Buffer,
  acks = -1,
): Promise<ProducePartitionResponse> {
  const response = (await client.request(Produce, 9, {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  })) as { responses: Array<{ partitionResponses: ProducePartitionResponse[] }> };
  return response.responses[0]!.partitionResponses[0]!;
}

async function values(client: WireClient, topic: string): Promise<string[]> {
  const response = (await client.request(Fetch, 12, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
  })) as { responses: Array<{ partitions: Array<{ records: Buffer }> }> };
  return splitBatches(response.responses[0]!.partitions[0]!.records).flatMap((b) =>
    decodeRecords(b).map((r) => r.value!.toString()),
  );
}

describe('produce semantics', { timeout: 60_000 }, () => {
  let broker: RunningBroker;
  let client: WireClient;
  before(async () => {
    broker = await startBroker({ metricsListen: '127.0.0.1:0' });
    client = await WireClient.connect(broker.port);
  });
  after(async () => {
    await client?.close();
    await broker?.stop();
  });

  it('acknowledges a retried idempotent batch with its first offsets and rejects a sequence gap', async () => {
    const { producerId, producerEpoch, errorCode } = (await client.request(InitProducerId, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
    })) as { producerId: number; producerEpoch: number; errorCode: number };
    assert.equal(errorCode, 0);
    const batch = (sequence: number, text: string) =>
      encodeRecordBatch([{ key: null, value: Buffer.from(text) }], {
        producerId,
        producerEpoch,
        baseSequence: sequence,
      });
    const first = await produce(client, 'idempotent', batch(0, 'a'));
    const second = await produce(client, 'idempotent', batch(1, 'b'));
    const retry = await produce(client, 'idempotent', batch(1, 'b'));
    assert.deepEqual([first.errorCode, second.errorCode, retry.errorCode], [0, 0, 0]);
    assert.equal(retry.baseOffset, second.baseOffset, 'the duplicate gets the original offset');
    const gap = await produce(client, 'idempotent', batch(5, 'gap'));
    assert.equal(gap.errorCode, 45, 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    const stale = await produce(
      client,
      'idempotent',
      encodeRecordBatch([{ key: null, value: Buffer.from('old') }], {
        producerId,
        producerEpoch: producerEpoch - 1,
        baseSequence: 2,
      }),
    );
    assert.equal(stale.errorCode, 47, 'INVALID_PRODUCER_EPOCH');
    assert.deepEqual(
      await values(client, 'idempotent'),
      ['a', 'b'],
      'nothing appended twice or out of order',
    );
    await broker.restart();
    const afterRestart = await WireClient.connect(broker.port);
    try {
      const again = await produce(afterRestart, 'idempotent', batch(1, 'b'));
      assert.equal(
        again.baseOffset,
        second.baseOffset,
        'producer state is rebuilt from the log after a restart',
      );
      assert.equal((await produce(afterRestart, 'idempotent', batch(2, 'c'))).errorCode, 0);
      assert.deepEqual(await values(afterRestart, 'idempotent'), ['a', 'b', 'c']);
    } finally {
      await afterRestart.close();
    }
    client = await WireClient.connect(broker.port);
  });

  it('gives every non-transactional InitProducerId a fresh producer id, even when it names one (as @platformatic/kafka does with 0/0)', async () => {
    const ids = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const response = (await client.request(InitProducerId, 4, {
        transactionalId: null,
        transactionTimeoutMs: 60_000,
        producerId: 0,
        producerEpoch: 0,
      })) as { producerId: number; producerEpoch: number; errorCode: number };
      assert.equal(response.errorCode, 0);
      assert.equal(response.producerEpoch, 0);
      ids.add(response.producerId);
    }
    assert.equal(ids.size, 3, 'two producers must never share a sequence space');
  });

  it('answers a corrupt batch with CORRUPT_MESSAGE and keeps serving the connection', async () => {
    const bad = encodeRecordBatch([{ key: null, value: Buffer.from('x') }]);
    bad[bad.length - 1]! ^= 0xff;
    assert.equal((await produce(client, 'validated', bad)).errorCode, 2);
    assert.equal(
      (await produce(client, 'validated', encodeRecordBatch([{ key: null, value: Buffer.from('ok') }])))
        .errorCode,
      0,
    );
    assert.deepEqual(await values(client, 'validated'), ['ok']);
  });

  it('sends no response for acks=0 but still appends', async () => {
    const none = produce(
      client,
      'fire-and-forget',
      encodeRecordBatch([{ key: null, value: Buffer.from('silent') }]),
      0,
    );
    const outcome = await Promise.race([
      none.then(() => 'answered'),
      new Promise((resolve) => setTimeout(() => resolve('silent'), 500)),
    ]);
    assert.equal(outcome, 'silent');
    assert.deepEqual(await values(client, 'fire-and-forget'), ['silent']);
  });

  it('exposes Prometheus metrics for traffic, latency and connections at /metrics', async () => {
    const { host, port } = broker.broker.metricsAddress!;
    const response = await fetch(`http://${host}:${port}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /edgestream_broker_bytes_in_total\{topic="idempotent"\} \d+/);
    assert.match(text, /edgestream_broker_records_in_total\{topic="validated"\} 1/);
    assert.match(text, /edgestream_broker_request_duration_seconds_count\{api="Produce"\} \d+/);
    assert.match(text, /edgestream_broker_connections \d+/);
  });
});

describe('broker shutdown', { timeout: 60_000 }, () => {
  it('answers in-flight produce requests before closing and keeps every acknowledged record', async () => {
    const broker = await startBroker();
    const client = await WireClient.connect(broker.port);
    try {
      const pending = Array.from({ length: 500 }, (_, i) =>
        produce(client, 'shutdown', encodeRecordBatch([{ key: null, value: Buffer.from(`r${i}`) }])),
      );
      await pending[0];
      await broker.broker.close();
      const answers = await Promise.allSettled(pending);
      const answered = answers.filter((a) => a.status === 'fulfilled');
      assert.ok(
        answered.every((a) => a.value.errorCode === 0),
        'nothing answered with an error during shutdown',
      );
      const logs = LogManager.open({ dataDir: broker.dataDir, logger: new RecordingLogger() });
      try {
        assert.ok(
          logs.partition('shutdown', 0).logEndOffset >= answered.length,
          'every acknowledged record is on disk',
        );
      } finally {
        await logs.close();
      }
    } finally {
      await client.close();
      fs.rmSync(broker.dataDir, { recursive: true, force: true });
    }
  });
});
