import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { Produce } from '../src/protocol/apis/produce.js';
import { WriteTxnMarkers } from '../src/protocol/apis/write-txn-markers.js';
import { ErrorCode, encodeRecordBatch, TRANSACTIONAL_BIT } from '../src/protocol/index.js';
import { BrokerCluster, createReplicatedTopic } from './support/broker-cluster.js';
import { kcatValues } from './support/kcat-consume.js';
import { eventually } from './support/processes.js';
import { WireClient } from './support/wire-client.js';

/**
 * The partition side of transactions on a replicated cluster, driven without a transaction coordinator:
 * transactional batches and markers are written with raw requests, and read back by librdkafka (kcat) in
 * read_committed and read_uncommitted mode, before and after the leader dies.
 */
const TOPIC = 'transactions';

const ProduceAnswer = z.object({
  responses: z.array(z.object({ partitionResponses: z.array(z.object({ errorCode: z.number() })) })),
});
const MarkersAnswer = z.object({
  markers: z.array(
    z.object({
      topics: z.array(
        z.object({ partitions: z.array(z.object({ partitionIndex: z.number(), errorCode: z.number() })) }),
      ),
    }),
  ),
});

let cluster: BrokerCluster;

before(async () => {
  cluster = await BrokerCluster.start();
});

after(async () => {
  await cluster?.stop();
});

async function withBroker<T>(id: number, use: (client: WireClient) => Promise<T>): Promise<T> {
  const client = await WireClient.connect(cluster.broker(id).port);
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/** A transactional (or plain) batch of one record sent acks=all to broker `id`; resolves with its error code. */
function produce(id: number, value: string, producerId: number | null): Promise<number> {
  const batch = encodeRecordBatch(
    [{ key: null, value: Buffer.from(value), timestamp: Date.now() }],
    producerId === null ? {} : { producerId, producerEpoch: 0, baseSequence: 0, flags: TRANSACTIONAL_BIT },
  );
  return withBroker(id, async (client) => {
    const answer = ProduceAnswer.parse(
      await client.request(
        Produce,
        9,
        {
          transactionalId: producerId === null ? null : `tx-${producerId}`,
          acks: -1,
          timeoutMs: 10_000,
          topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }],
        },
        { timeoutMs: 20_000 },
      ),
    );
    return answer.responses[0]!.partitionResponses[0]!.errorCode;
  });
}

/** WriteTxnMarkers v1 for one producer's transaction on partition 0, sent to broker `id`. */
function writeMarker(id: number, producerId: number, committed: boolean): Promise<number> {
  return withBroker(id, async (client) => {
    const answer = MarkersAnswer.parse(
      await client.request(
        WriteTxnMarkers,
        1,
        {
          markers: [
            {
              producerId,
              producerEpoch: 0,
              transactionResult: committed,
              coordinatorEpoch: 0,
              topics: [{ name: TOPIC, partitionIndexes: [0] }],
            },
          ],
        },
        { timeoutMs: 40_000 },
      ),
    );
    return answer.markers[0]!.topics[0]!.partitions[0]!.errorCode;
  });
}

/** The values of partition 0 as kcat (librdkafka) consumes them to the end, with the given isolation level. */
function consume(isolation: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  return kcatValues(cluster.bootstrap, TOPIC, 0, isolation);
}

test('markers replicate: a new leader keeps the open transaction and the aborted one', {
  timeout: 180_000,
}, async () => {
  const kafka = new Kafka({
    clientId: 'cluster-transactions-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await createReplicatedTopic(admin, TOPIC, 1);
    const partition = async () =>
      (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions[0]!;
    await eventually(async () => (await partition()).isr.length === 3, 30_000, 'every replica in sync');
    const leader = (await partition()).leader;
    const follower = cluster.brokers.map((b) => b.id).find((id) => id !== leader)!;

    assert.equal(await produce(leader, 'aborted', 1), ErrorCode.NONE);
    assert.equal(await produce(leader, 'committed', 2), ErrorCode.NONE);
    assert.equal(await writeMarker(follower, 1, false), ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.equal(await writeMarker(leader, 1, false), ErrorCode.NONE);
    assert.equal(await writeMarker(leader, 2, true), ErrorCode.NONE);
    assert.equal(await produce(leader, 'open', 3), ErrorCode.NONE);
    assert.equal(await produce(leader, 'after', null), ErrorCode.NONE);

    assert.deepEqual(await consume('read_uncommitted'), ['aborted', 'committed', 'open', 'after']);
    assert.deepEqual(await consume('read_committed'), ['committed'], 'the open transaction holds the LSO');

    await cluster.kill(leader);
    await eventually(
      async () => {
        const now = await partition().catch(() => null);
        return now !== null && now.leader >= 0 && now.leader !== leader;
      },
      60_000,
      'a new leader',
    );
    const newLeader = (await partition()).leader;
    assert.deepEqual(await consume('read_committed'), ['committed'], 'the new leader holds the same state');

    assert.equal(await writeMarker(newLeader, 3, false), ErrorCode.NONE);
    assert.deepEqual(await consume('read_committed'), ['committed', 'after']);
    assert.deepEqual(await consume('read_uncommitted'), ['aborted', 'committed', 'open', 'after']);
  } finally {
    await admin.disconnect();
  }
});
