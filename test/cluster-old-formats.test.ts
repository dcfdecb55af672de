import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { BrokerCluster, createReplicatedTopic } from './support/broker-cluster.js';
import { run } from './support/processes.js';

/**
 * The replicated cluster converts old formats as a single node does (the same Produce and Fetch handlers, on
 * the partition leader): kcat without ApiVersions (fallback 0.9.0: magic 0) writes with acks=all to a topic
 * replicated three times and reads back through every broker, and a current kcat reads the same records.
 */
const TOPIC = 'old-formats-replicated';
const PARTITIONS = 3;
const RECORDS = 300;
const OLD = ['-X', 'api.version.request=false', '-X', 'broker.version.fallback=0.9.0'];

let cluster: BrokerCluster;

before(async () => {
  cluster = await BrokerCluster.start();
});

after(async () => {
  await cluster?.stop();
});

async function kcat(bootstrap: string, args: string[], input?: string): Promise<string> {
  const result = await run('kcat', ['-b', bootstrap, ...args], { input, timeoutMs: 90_000 });
  assert.equal(result.status, 0, `kcat ${args.join(' ')}: ${result.stderr.slice(-2000)}`);
  return result.stdout;
}

/** Every `partition key value` line of the topic, sorted. */
async function consumeAll(bootstrap: string, extra: string[]): Promise<string[]> {
  const out = await kcat(bootstrap, [
    ...extra,
    '-C',
    '-t',
    TOPIC,
    '-o',
    'beginning',
    '-e',
    '-q',
    '-f',
    '%p %k %s\\n',
  ]);
  return out.split('\n').filter(Boolean).sort();
}

test('old-format produce and fetch on a replicated topic, through every broker', {
  timeout: 300_000,
}, async () => {
  const admin = new Kafka({
    clientId: 'cluster-old-formats-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  }).admin();
  await admin.connect();
  try {
    await createReplicatedTopic(admin, TOPIC, PARTITIONS);
  } finally {
    await admin.disconnect();
  }
  const lines = Array.from({ length: RECORDS }, (_, n) => `k${n}:v${n}`);
  await kcat(
    cluster.bootstrap,
    [...OLD, '-X', 'request.required.acks=-1', '-P', '-t', TOPIC, '-K', ':', '-z', 'gzip'],
    `${lines.join('\n')}\n`,
  );
  const current = await consumeAll(cluster.bootstrap, []);
  assert.equal(current.length, RECORDS);
  assert.deepEqual(
    current.map((line) => line.split(' ').slice(1).join(' ')).sort(),
    lines.map((line) => line.replace(':', ' ')).sort(),
  );
  for (const broker of cluster.brokers) {
    // Bootstrapped through one broker, kcat fetches each partition from its leader wherever that is.
    assert.deepEqual(
      await consumeAll(`127.0.0.1:${broker.advertisedPort}`, OLD),
      current,
      `via broker ${broker.id}`,
    );
  }
});
