import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { BrokerCluster, createReplicatedTopic } from './support/broker-cluster.js';
import { eventually, run } from './support/processes.js';

/**
 * The transaction coordinator on a replicated cluster: kafkajs commits one transaction and aborts another,
 * each across partitions led by different brokers, so markers go to this broker's logs and, with
 * WriteTxnMarkers, to the others'; librdkafka (kcat) reads the result read_committed.
 */
const TOPIC = 'spread-transactions';
const PARTITIONS = 3;

let cluster: BrokerCluster;

before(async () => {
  cluster = await BrokerCluster.start();
});

after(async () => {
  await cluster?.stop();
});

async function consume(isolation: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  const result = await run(
    'kcat',
    [
      '-C',
      '-b',
      cluster.bootstrap,
      '-t',
      TOPIC,
      '-o',
      'beginning',
      '-e',
      '-q',
      '-X',
      `isolation.level=${isolation}`,
      '-f',
      '%s\\n',
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split('\n').filter(Boolean).sort();
}

test('a committed and an aborted transaction across partitions led by different brokers', {
  timeout: 240_000,
}, async () => {
  const kafka = new Kafka({
    clientId: 'cluster-txn-coordinator-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
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
    const batch = (label: string) =>
      Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, value: `${label}-${partition}` }));
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
