// The whole ZooKeeper ensemble goes away under a running cluster (Kafka's ZooKeeper-mode semantics): the
// brokers keep the leaderships they have, so acks=all writes and reads go on for far longer than the 2 s
// session; what needs the controller (CreateTopics) is refused with a clear error; each broker reports the
// outage once. When the ensemble returns the cluster is whole again and every acknowledged record is in the
// log exactly once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { CreateTopics } from '../src/protocol/apis/create-topics.js';
import { ErrorCode } from '../src/protocol/index.js';
import { BrokerCluster, createReplicatedTopic } from './support/broker-cluster.js';
import { run, until } from './support/processes.js';
import { WireClient } from './support/wire-client.js';

const TOPIC = 'outage';
const PARTITIONS = 3;
/** Far longer than the brokers' 2 s ZooKeeper session. */
const OUTAGE_MS = 12_000;
const OUTAGE_WARNING = 'ZooKeeper unreachable';

const CreateTopicsAnswer = z.object({
  topics: z.array(z.object({ name: z.string(), errorCode: z.number(), errorMessage: z.string().nullable() })),
});

let cluster: BrokerCluster;

before(async () => {
  cluster = await BrokerCluster.start();
});

after(async () => {
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** CreateTopics v5 straight to broker `id`: the error it answers for one new topic. */
async function createTopicOn(
  id: number,
  name: string,
): Promise<{ errorCode: number; errorMessage: string | null }> {
  const client = await WireClient.connect(cluster.broker(id).port);
  try {
    const answer = CreateTopicsAnswer.parse(
      await client.request(
        CreateTopics,
        5,
        {
          topics: [{ name, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
          timeoutMs: 5_000,
          validateOnly: false,
        },
        { timeoutMs: 20_000 },
      ),
    );
    const topic = answer.topics[0]!;
    return { errorCode: topic.errorCode, errorMessage: topic.errorMessage };
  } finally {
    await client.close();
  }
}

/** Every value of one partition, in offset order, read with kcat (librdkafka) from its leader. */
async function readPartition(partition: number): Promise<string[]> {
  const result = await run(
    'kcat',
    [
      '-C',
      '-b',
      cluster.bootstrap,
      '-t',
      TOPIC,
      '-p',
      String(partition),
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%s\\n',
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split('\n').filter(Boolean);
}

test('with every ZooKeeper member down well past the session, brokers go on serving acks=all writes and reads, refuse CreateTopics clearly, and nothing acknowledged is lost', {
  timeout: 240_000,
}, async () => {
  const kafka = new Kafka({
    clientId: 'cluster-zookeeper-outage-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    requestTimeout: 5_000,
    retry: { retries: 50, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  await createReplicatedTopic(admin, TOPIC, PARTITIONS);
  const metadata = async () => (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions;
  await eventually('ISR 3', 30_000, async () =>
    (await metadata()).every((p) => p.isr.length === 3 && p.leader >= 0),
  );

  // One partition per send (kafkajs 2.2.4 can drop a multi-partition send's records after a leader change).
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const acknowledged: Array<{ value: string; atMs: number }> = [];
  let producing = true;
  let sent = 0;
  const writing = (async () => {
    while (producing) {
      const partition = (sent / 5) % PARTITIONS;
      const messages = Array.from({ length: 5 }, (_, j) => ({ partition, value: `v-${sent + j}` }));
      sent += messages.length;
      await producer.send({ topic: TOPIC, acks: -1, timeout: 5_000, messages });
      const atMs = Date.now();
      for (const m of messages) acknowledged.push({ value: m.value, atMs });
      await sleep(20);
    }
  })();

  const consumer = kafka.consumer({
    groupId: 'outage-readers',
    sessionTimeout: 10_000,
    heartbeatInterval: 500,
  });
  const seen: Array<{ value: string; atMs: number }> = [];
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push({ value: message.value!.toString(), atMs: Date.now() });
    },
  });

  try {
    await until(
      () => acknowledged.length >= 150 && seen.length >= 50,
      60_000,
      'records written and read first',
    );

    await Promise.all(cluster.ensemble.members.map((member) => member.kill('SIGKILL')));
    const downAtMs = Date.now();
    // Each broker notices and says so, once.
    await until(
      () => cluster.brokers.every((b) => cluster.logs(b.id).includes(OUTAGE_WARNING)),
      10_000,
      'every broker to report the outage',
    );
    const refusal = await createTopicOn(1, 'created-during-outage');
    assert.equal(refusal.errorCode, ErrorCode.NOT_CONTROLLER, JSON.stringify(refusal));
    assert.match(refusal.errorMessage ?? '', /ZooKeeper/);

    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - downAtMs)));
    const lateInOutageMs = downAtMs + OUTAGE_MS - 2_000;
    const ackedLate = acknowledged.filter((a) => a.atMs >= lateInOutageMs).length;
    const readLate = seen.filter((s) => s.atMs >= lateInOutageMs).length;
    const ackedDuring = acknowledged.filter((a) => a.atMs >= downAtMs).length;
    assert.ok(
      ackedLate > 0,
      `acks=all writes acknowledged ${OUTAGE_MS - 2_000} ms into the outage (${ackedDuring} during it)`,
    );
    assert.ok(readLate > 0, `records read ${OUTAGE_MS - 2_000} ms into the outage`);
    // Still refused at the end of the outage, by every broker.
    for (const broker of cluster.brokers) {
      const late = await createTopicOn(broker.id, 'created-during-outage');
      assert.equal(late.errorCode, ErrorCode.NOT_CONTROLLER, `broker ${broker.id}: ${JSON.stringify(late)}`);
    }
    for (const broker of cluster.brokers) {
      const reports = cluster.logs(broker.id).split(OUTAGE_WARNING).length - 1;
      assert.equal(reports, 1, `broker ${broker.id} reports the outage once`);
    }

    await Promise.all(cluster.ensemble.members.map((member) => member.restart()));
    await until(
      () => cluster.brokers.every((b) => cluster.logs(b.id).includes('ZooKeeper reachable again')),
      30_000,
      'every broker to see ZooKeeper again',
    );
    const ackedAtReturn = acknowledged.length;
    await eventually('the cluster whole again (ISR 3)', 60_000, async () =>
      (await metadata()).every((p) => p.isr.length === 3 && p.leader >= 0),
    );
    await until(() => acknowledged.length >= ackedAtReturn + 100, 60_000, 'more records after the return');
    // The controller works again.
    await createReplicatedTopic(admin, 'created-after-outage', 1);
  } finally {
    producing = false;
    await writing.catch(() => undefined);
  }
  await writing;
  await producer.disconnect();

  const values = acknowledged.map((a) => a.value);
  await until(
    () => {
      const read = new Set(seen.map((s) => s.value));
      return values.every((v) => read.has(v));
    },
    60_000,
    'the consumer to read every acknowledged record',
  );
  await consumer.disconnect();
  await admin.disconnect();

  // In the log exactly once each (idempotent producer), whichever broker leads now.
  const stored: string[] = [];
  for (let p = 0; p < PARTITIONS; p++) stored.push(...(await readPartition(p)));
  const counts = new Map<string, number>();
  for (const v of stored) counts.set(v, (counts.get(v) ?? 0) + 1);
  const missing = values.filter((v) => !counts.has(v));
  const doubled = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
  assert.deepEqual(missing, [], 'acknowledged but not in the log');
  assert.deepEqual(doubled, [], 'in the log more than once');
});
