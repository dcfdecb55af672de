// SASL users shared by the brokers of a cluster (kept in ZooKeeper): a user created through broker 1 with the
// online CLI logs in with kcat to broker 2 and to broker 3 directly, produces and consumes; deleted through
// broker 3, its logins to broker 1 fail. The offline CLI refuses a clustered broker's data directory.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { BrokerCluster, createReplicatedTopic } from './support/broker-cluster.js';
import { type RunResult, run } from './support/processes.js';

const bin = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));
const TOPIC = 'shared-users';
const PASSWORD = 'alice-secret-1';
/** How long a change made through one broker may take to reach the others: seconds, on a loaded machine. */
const PROPAGATION_MS = 60_000;
const STEP_TIMEOUT_MS = 60_000;

let cluster: BrokerCluster;

before(async () => {
  cluster = await BrokerCluster.start({ saslListeners: true });
  const kafka = new Kafka({
    clientId: 'cluster-users-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await createReplicatedTopic(admin, TOPIC, 1);
  } finally {
    await admin.disconnect();
  }
});

after(async () => {
  await cluster?.stop();
});

function edgestream(args: string[], input = ''): Promise<RunResult> {
  return run('node', [bin, ...args], { input, timeoutMs: STEP_TIMEOUT_MS });
}

/** kcat logged in as alice with SCRAM-SHA-512 on broker `id`'s SASL_PLAINTEXT listener, and nowhere else first. */
function kcat(id: number, args: string[], input = ''): Promise<RunResult> {
  const sasl = [
    '-X',
    'security.protocol=SASL_PLAINTEXT',
    '-X',
    'sasl.mechanisms=SCRAM-SHA-512',
    '-X',
    'sasl.username=alice',
    '-X',
    `sasl.password=${PASSWORD}`,
  ];
  const bootstrap = `127.0.0.1:${cluster.broker(id).saslPort}`;
  return run('kcat', ['-b', bootstrap, ...sasl, ...args], { input, timeoutMs: STEP_TIMEOUT_MS });
}

/** Runs `attempt` until `done` holds for its result; the last result is in the error otherwise. */
async function poll(what: string, attempt: () => Promise<RunResult>, done: (r: RunResult) => boolean) {
  const deadline = Date.now() + PROPAGATION_MS;
  for (;;) {
    const result = await attempt();
    if (done(result)) return result;
    if (Date.now() > deadline) {
      assert.fail(
        `${what}: still not after ${PROPAGATION_MS} ms (status ${result.status}): ${result.stderr}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

test('a user created through broker 1 logs in to brokers 2 and 3; deleted through broker 3, it cannot log in to broker 1', {
  timeout: 600_000,
}, async () => {
  const refused = await edgestream(
    ['user', 'create', 'alice', '--data-dir', cluster.broker(1).dataDir, '--password-stdin'],
    `${PASSWORD}\n`,
  );
  assert.equal(refused.status, 2, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /--brokers/);

  const created = await edgestream(
    ['user', 'create', 'alice', '--brokers', `127.0.0.1:${cluster.broker(1).port}`, '--password-stdin'],
    `${PASSWORD}\n`,
  );
  assert.equal(created.status, 0, created.stderr);
  const listed = await edgestream(['user', 'list', '--brokers', `127.0.0.1:${cluster.broker(2).port}`]);
  assert.equal(listed.status, 0, listed.stderr);
  assert.match(listed.stdout, /^alice\tSCRAM-SHA-512\(8192\)$/m);

  for (const id of [2, 3]) {
    const value = `from-broker-${id}`;
    await poll(
      `alice producing through broker ${id}`,
      () => kcat(id, ['-P', '-t', TOPIC, '-X', 'message.timeout.ms=10000'], `${value}\n`),
      (r) => r.status === 0,
    );
    const consumed = await kcat(id, ['-C', '-t', TOPIC, '-o', 'beginning', '-e', '-q']);
    assert.equal(consumed.status, 0, consumed.stderr);
    assert.match(consumed.stdout, new RegExp(`^${value}$`, 'm'));
  }

  const deleted = await edgestream([
    'user',
    'delete',
    'alice',
    '--brokers',
    `127.0.0.1:${cluster.broker(3).port}`,
  ]);
  assert.equal(deleted.status, 0, deleted.stderr);
  const failed = await poll(
    'alice refused by broker 1',
    () => kcat(1, ['-L', '-m', '10']),
    (r) => r.status !== 0,
  );
  assert.match(failed.stderr, /auth|SASL/i);
});
