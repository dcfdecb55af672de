import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { readBatchHeader, splitBatches } from '../src/protocol/index.js';
import { BrokerCluster } from './support/broker-cluster.js';
import { until } from './support/processes.js';

const TOPIC = 'corrupt-replica';
/** Small segments, so the damage lands in a sealed segment with others after it. */
const SEGMENT_BYTES = 4096;
const RECORDS = 300;

let cluster: BrokerCluster;

before(async () => {
  cluster = await BrokerCluster.start();
});

after(async () => {
  await cluster?.stop();
});

function kafka() {
  return new Kafka({
    clientId: 'cluster-corrupt-replica-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** Polls an asynchronous condition (the partition state through Metadata) until it holds. */
async function eventually(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function partitionDir(brokerId: number): string {
  return path.join(cluster.broker(brokerId).dataDir, 'topics', TOPIC, '0');
}

function segmentFiles(brokerId: number): string[] {
  const dir = partitionDir(brokerId);
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .sort()
    .map((name) => path.join(dir, name));
}

/** Every batch of the replica's log, back to back: equal on two replicas that hold the same records. */
function logBytes(brokerId: number): Buffer {
  return Buffer.concat(segmentFiles(brokerId).map((file) => fs.readFileSync(file)));
}

/** Flips a bit inside the records of the second batch of the second (sealed) segment. */
function damageSealedSegment(brokerId: number): { file: string; offset: number } {
  const files = segmentFiles(brokerId);
  assert.ok(files.length >= 3, `expected several segments, found ${files.length}`);
  const file = files[1]!;
  const content = fs.readFileSync(file);
  const [first, second] = splitBatches(content);
  assert.ok(first && second, 'the sealed segment holds two batches or more');
  content[first.length + second.length - 5]! ^= 0x10;
  fs.writeFileSync(file, content);
  return { file, offset: readBatchHeader(second).baseOffset };
}

test('a replica with a corrupt sealed segment stays out of the ISR, is truncated and fetches the rest again', async () => {
  const client = kafka();
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic: TOPIC,
        numPartitions: 1,
        replicationFactor: 3,
        configEntries: [
          { name: 'min.insync.replicas', value: '2' },
          { name: 'segment.bytes', value: String(SEGMENT_BYTES) },
        ],
      },
    ],
  });
  const partition = async () =>
    (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions.find(
      (p) => p.partitionId === 0,
    )!;

  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const acknowledged: string[] = [];
  for (let i = 0; i < RECORDS; i += 10) {
    const messages = Array.from({ length: 10 }, (_, j) => ({
      partition: 0,
      value: `v-${String(i + j).padStart(4, '0')}-${'x'.repeat(100)}`,
    }));
    await producer.send({ topic: TOPIC, acks: -1, messages });
    acknowledged.push(...messages.map((m) => m.value));
  }
  await producer.disconnect();

  await eventually(async () => (await partition()).isr.length === 3, 20_000, 'every replica in sync');
  const { leader } = await partition();
  const damaged = [1, 2, 3].find((id) => id !== leader)!;
  await until(
    () => logBytes(damaged).equals(logBytes(leader)),
    20_000,
    'the follower to hold what the leader holds',
  );
  await cluster.kill(damaged);
  await eventually(
    async () => !(await partition()).isr.includes(damaged),
    20_000,
    'the killed broker to leave the ISR',
  );
  const damage = damageSealedSegment(damaged);

  await cluster.restart(damaged);
  await until(
    () => cluster.logs(damaged).includes('replica log is corrupt'),
    20_000,
    'the restarted broker to report the damage',
  );
  const report = cluster
    .logs(damaged)
    .split('\n')
    .find((line) => line.includes('replica log is corrupt'));
  const fields = JSON.parse(report!) as Record<string, unknown>;
  assert.equal(fields.topic, TOPIC);
  assert.equal(fields.partition, 0);
  assert.equal(fields.file, damage.file);
  assert.equal(fields.offset, damage.offset);

  await eventually(
    async () => (await partition()).isr.includes(damaged),
    30_000,
    `the repaired replica to rejoin the ISR (log: ${cluster.logs(damaged).slice(-2000)})`,
  );
  const logs = cluster.logs(damaged);
  assert.ok(logs.includes('corrupt replica truncated to the last valid batch'), 'it was truncated');
  assert.ok(logs.includes('repaired replica is back in the ISR'), 'it says it is repaired');
  assert.ok(
    logs.indexOf('repaired replica is back in the ISR') > logs.indexOf('corrupt replica truncated'),
    'back in the ISR only after the truncation',
  );
  assert.ok(
    logBytes(damaged).equals(logBytes(leader)),
    'the repaired replica holds exactly the leader batches: nothing of the damage is left',
  );

  // Every acknowledged record is still there, read through the cluster.
  const consumer = client.consumer({ groupId: 'corrupt-replica-reader' });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const seen: string[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(message.value!.toString());
    },
  });
  await until(() => seen.length >= RECORDS, 30_000, 'every acknowledged record to be read');
  await consumer.disconnect();
  assert.deepEqual(seen, acknowledged);
  await admin.disconnect();
});
