import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { BrokerCluster, createReplicatedTopic } from './support/broker-cluster.js';
import { transactionCoordinatorOf } from './support/find-coordinator.js';
import { kcatValues } from './support/kcat-consume.js';
import { eventually } from './support/processes.js';

/**
 * The transaction coordinator on a replicated cluster: kafkajs commits one transaction and aborts another,
 * each across partitions led by different brokers, so markers go to this broker's logs and, with
 * WriteTxnMarkers, to the others'; librdkafka (kcat) reads the result read_committed.
 */
const TOPIC = 'spread-transactions';
const PARTITIONS = 3;

let cluster: BrokerCluster;

/** A client of the cluster, bootstrapping from every broker but `except`. */
function kafkaOf(clientId: string, except = -1): Kafka {
  return new Kafka({
    clientId,
    brokers: cluster.brokers.filter((b) => b.id !== except).map((b) => `127.0.0.1:${b.advertisedPort}`),
    logLevel: logLevel.NOTHING,
    retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

const batch = (label: string) =>
  Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, value: `${label}-${partition}` }));

before(async () => {
  cluster = await BrokerCluster.start();
});

after(async () => {
  await cluster?.stop();
});

/** Every value of the topic as kcat reads it, sorted. */
async function consume(isolation: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  return (await kcatValues(cluster.bootstrap, TOPIC, null, isolation)).sort();
}

test('a committed and an aborted transaction across partitions led by different brokers', {
  timeout: 240_000,
}, async () => {
  const kafka = kafkaOf('cluster-txn-coordinator-test');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await createReplicatedTopic(admin, TOPIC, PARTITIONS);
    const leaders = async () =>
      (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions.map((p) => p.leader);
    await eventually(
      async () => new Set(await leaders()).size > 1,
      60_000,
      'partitions led by different brokers',
    );

    const producer = kafka.producer({
      transactionalId: 'spread-tx',
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({ topic: TOPIC, messages: batch('committed') });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic: TOPIC, messages: batch('aborted') });
    await aborted.abort();
    const last = await producer.transaction();
    await last.send({ topic: TOPIC, messages: batch('last') });
    await last.commit();
    await producer.disconnect();

    const expected = [...batch('committed'), ...batch('last')].map((m) => m.value).sort();
    // Markers are written after EndTxn is answered: read until the last transaction is visible everywhere.
    await eventually(
      async () => (await consume('read_committed')).length === expected.length,
      60_000,
      'the committed transactions visible read_committed',
    );
    assert.deepEqual(await consume('read_committed'), expected);
    assert.equal((await consume('read_uncommitted')).length, 3 * PARTITIONS);
  } finally {
    await admin.disconnect();
  }
});

test('a coordinator killed mid-transaction: the next leader of its partition aborts the open transaction', {
  timeout: 240_000,
}, async () => {
  const kafka = kafkaOf('cluster-txn-failover-test');
  const zombie = kafka.producer({ transactionalId: 'failover-tx', idempotent: true, maxInFlightRequests: 1 });
  await zombie.connect();
  const open = await zombie.transaction();
  await open.send({ topic: TOPIC, messages: batch('open') });
  const coordinator = await transactionCoordinatorOf(cluster, 'failover-tx', cluster.brokers[0]!.id);
  await cluster.kill(coordinator);
  const survivor = cluster.brokers.find((b) => b.id !== coordinator)!.id;
  // kafkajs does not retry a connection refused by the broker it was pointed at: start the successor once the
  // cluster has moved the transactional id and the topic's partitions away from the killed broker.
  await eventually(
    async () => (await transactionCoordinatorOf(cluster, 'failover-tx', survivor)) !== coordinator,
    60_000,
    'the transactional id coordinated by a live broker',
  );
  const admin = kafkaOf('cluster-txn-failover-admin', coordinator).admin();
  await admin.connect();
  try {
    await eventually(
      async () =>
        (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions.every(
          (p) => p.leader >= 0 && p.leader !== coordinator,
        ),
      60_000,
      'every partition led by a live broker',
    );
  } finally {
    await admin.disconnect();
  }

  const successor = kafkaOf('cluster-txn-successor', coordinator).producer({
    transactionalId: 'failover-tx',
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await successor.connect();
  const next = await successor.transaction();
  await next.send({ topic: TOPIC, messages: batch('after') });
  await next.commit();
  await assert.rejects(() => open.commit(), 'the zombie is fenced');
  await successor.disconnect();
  await zombie.disconnect();

  await eventually(
    async () => (await consume('read_committed')).includes(`after-${PARTITIONS - 1}`),
    90_000,
    'the successor transaction visible',
  );
  const visible = await consume('read_committed');
  assert.deepEqual(
    visible.filter((v) => v.startsWith('open-')),
    [],
    'the open transaction was aborted',
  );
  assert.deepEqual(
    visible.filter((v) => v.startsWith('after-')),
    batch('after').map((m) => m.value),
  );
  assert.deepEqual(
    (await consume('read_uncommitted')).filter((v) => v.startsWith('open-')),
    batch('open').map((m) => m.value),
  );
});
