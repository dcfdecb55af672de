import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { Produce } from '../src/protocol/apis/produce.js';
import { WriteTxnMarkers } from '../src/protocol/apis/write-txn-markers.js';
import { ErrorCode, encodeRecordBatch, TRANSACTIONAL_BIT } from '../src/protocol/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { kcatValues } from './support/kcat-consume.js';
import { WireClient } from './support/wire-client.js';

/**
 * read_committed end to end on a single node: kafkajs commits and aborts transactions through the
 * coordinator, librdkafka (kcat) reads them back; and an open transaction written with raw requests holds
 * the last stable offset across a broker restart until its abort marker.
 */
const ProduceAnswer = z.object({
  responses: z.array(z.object({ partitionResponses: z.array(z.object({ errorCode: z.number() })) })),
});
const MarkersAnswer = z.object({
  markers: z.array(
    z.object({ topics: z.array(z.object({ partitions: z.array(z.object({ errorCode: z.number() })) })) }),
  ),
});

let broker: RunningBroker;

before(async () => {
  broker = await startBroker();
});

after(async () => {
  await broker?.stop();
});

function consume(topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  return kcatValues(broker.bootstrap, topic, 0, isolation);
}

describe('read_committed', () => {
  test('kcat skips what a kafkajs transaction aborted and sees what it committed', {
    timeout: 120_000,
  }, async () => {
    const kafka = new Kafka({ clientId: 'tx-e2e', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'e2e', numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer({ transactionalId: 'tx-e2e', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const send = async (values: string[], commit: boolean) => {
        const transaction = await producer.transaction();
        await transaction.send({ topic: 'e2e', messages: values.map((value) => ({ value })) });
        if (commit) await transaction.commit();
        else await transaction.abort();
      };
      await send(['c1', 'c2'], true);
      await send(['a1'], false);
      await send(['c3'], true);
    } finally {
      await producer.disconnect();
    }
    assert.deepEqual(await consume('e2e', 'read_committed'), ['c1', 'c2', 'c3']);
    assert.deepEqual(await consume('e2e', 'read_uncommitted'), ['c1', 'c2', 'a1', 'c3']);
  });

  test('an open transaction holds the LSO across a restart; its abort marker releases it', {
    timeout: 120_000,
  }, async () => {
    const kafka = new Kafka({
      clientId: 'tx-restart',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'restart', numPartitions: 1 }] });
    await admin.disconnect();
    const request = async <T>(use: (client: WireClient) => Promise<T>) => {
      const client = await WireClient.connect(broker.port);
      try {
        return await use(client);
      } finally {
        await client.close();
      }
    };
    const produce = (value: string, producerId: number | null) =>
      request(async (client) => {
        const records = encodeRecordBatch(
          [{ key: null, value: Buffer.from(value) }],
          producerId === null
            ? {}
            : { producerId, producerEpoch: 0, baseSequence: 0, flags: TRANSACTIONAL_BIT },
        );
        const answer = ProduceAnswer.parse(
          await client.request(Produce, 9, {
            transactionalId: producerId === null ? null : 'raw',
            acks: -1,
            timeoutMs: 5_000,
            topicData: [{ name: 'restart', partitionData: [{ index: 0, records }] }],
          }),
        );
        return answer.responses[0]!.partitionResponses[0]!.errorCode;
      });
    // A producer id the coordinator never handed out: no coordinator will time this transaction out.
    assert.equal(await produce('open', 900_000), ErrorCode.NONE);
    assert.equal(await produce('after', null), ErrorCode.NONE);
    assert.deepEqual(await consume('restart', 'read_committed'), []);

    await broker.restart();
    assert.deepEqual(await consume('restart', 'read_committed'), [], 'still held back after the restart');
    const marker = MarkersAnswer.parse(
      await request((client) =>
        client.request(WriteTxnMarkers, 1, {
          markers: [
            {
              producerId: 900_000,
              producerEpoch: 0,
              transactionResult: false,
              coordinatorEpoch: 0,
              topics: [{ name: 'restart', partitionIndexes: [0] }],
            },
          ],
        }),
      ),
    );
    assert.equal(marker.markers[0]!.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    assert.deepEqual(await consume('restart', 'read_committed'), ['after']);
    assert.deepEqual(await consume('restart', 'read_uncommitted'), ['open', 'after']);
  });
});
