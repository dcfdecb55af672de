import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { z } from 'zod';
import { DescribeTransactions } from '../src/protocol/apis/describe-transactions.js';
import { FindCoordinator } from '../src/protocol/apis/find-coordinator.js';
import { ListTransactions } from '../src/protocol/apis/list-transactions.js';
import { ErrorCode } from '../src/protocol/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { kcatValues } from './support/kcat-consume.js';
import { BrokerProcess } from './support/mirror-cluster.js';
import { eventually, run } from './support/processes.js';
import { WireClient } from './support/wire-client.js';

const DescribeAnswer = z.object({
  transactionStates: z.array(
    z.object({ errorCode: z.number(), transactionState: z.string(), transactionTimeoutMs: z.number() }),
  ),
});
const ListAnswer = z.object({
  unknownStateFilters: z.array(z.string()),
  transactionStates: z.array(z.object({ transactionalId: z.string() })),
});

/** Debian's Python modules live under /usr/bin/python3. */
const PYTHON = '/usr/bin/python3';
const pythonScript = fileURLToPath(new URL('../../test/python/transactions_client.py', import.meta.url));

function kafka(bootstrap: string): Kafka {
  return new Kafka({
    clientId: 'txn-interop',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

function transactionalProducer(
  bootstrap: string,
  transactionalId: string,
  transactionTimeout = 30_000,
): Producer {
  return kafka(bootstrap).producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout,
  });
}

async function createTopics(bootstrap: string, topics: Array<{ topic: string; numPartitions: number }>) {
  const admin = kafka(bootstrap).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/**
 * A kafkajs read_committed consumer (readUncommitted false) over `topic` until it has seen every value in
 * `last` (the last records written to each partition); returns every value it saw, in order.
 */
async function kafkajsReadCommitted(bootstrap: string, topic: string, last: string[]): Promise<string[]> {
  const consumer = kafka(bootstrap).consumer({
    groupId: `reader-${topic}-${Date.now()}`,
    readUncommitted: false,
    heartbeatInterval: 500,
  });
  const seen: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value!.toString());
      },
    });
    await eventually(async () => last.every((v) => seen.includes(v)), 60_000, `${last.join(', ')} read`);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

async function committedOffset(bootstrap: string, groupId: string, topic: string): Promise<string> {
  const admin = kafka(bootstrap).admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offsets!.partitions.find((p) => p.partition === 0)!.offset;
  } finally {
    await admin.disconnect();
  }
}

describe('transactions against edgestream (kafkajs, confluent-kafka, kcat)', { timeout: 300_000 }, () => {
  let broker: RunningBroker;

  before(async () => {
    broker = await startBroker({ transactionAbortCheckIntervalMs: 200 });
  });
  after(async () => {
    await broker?.stop();
  });

  it('kafkajs: a committed transaction and its offsets are visible, an aborted one never to read_committed readers', async () => {
    const topic = 'txn-kafkajs';
    await createTopics(broker.bootstrap, [
      { topic, numPartitions: 2 },
      { topic: 'txn-source', numPartitions: 1 },
    ]);
    const producer = transactionalProducer(broker.bootstrap, 'kafkajs-tx');
    await producer.connect();
    const batch = (label: string) =>
      [0, 1].flatMap((partition) =>
        [0, 1, 2].map((n) => ({ partition, key: `k${n}`, value: `${label}-p${partition}-${n}` })),
      );
    let txn = await producer.transaction();
    await txn.send({ topic, messages: batch('committed') });
    await txn.sendOffsets({
      consumerGroupId: 'kafkajs-group',
      topics: [{ topic: 'txn-source', partitions: [{ partition: 0, offset: '42' }] }],
    });
    await txn.commit();
    txn = await producer.transaction();
    await txn.send({ topic, messages: batch('aborted') });
    await txn.sendOffsets({
      consumerGroupId: 'kafkajs-group',
      topics: [{ topic: 'txn-source', partitions: [{ partition: 0, offset: '99' }] }],
    });
    await txn.abort();
    txn = await producer.transaction();
    await txn.send({ topic, messages: batch('last') });
    await txn.commit();
    await producer.disconnect();

    const committed = [...batch('committed'), ...batch('last')].map((m) => m.value).sort();
    const aborted = batch('aborted').map((m) => m.value);
    const seen = await kafkajsReadCommitted(broker.bootstrap, topic, ['last-p0-2', 'last-p1-2']);
    assert.deepEqual([...seen].sort(), committed, 'kafkajs read_committed');
    assert.deepEqual(
      (await kcatValues(broker.bootstrap, topic, null, 'read_committed')).sort(),
      committed,
      'kcat',
    );
    // The aborted records are in the log: read_uncommitted shows them.
    const uncommitted = await kcatValues(broker.bootstrap, topic, null, 'read_uncommitted');
    assert.ok(
      aborted.every((v) => uncommitted.includes(v)),
      'read_uncommitted sees the aborted records',
    );
    assert.equal(await committedOffset(broker.bootstrap, 'kafkajs-group', 'txn-source'), '42');
  });

  it('kafkajs: a second producer with the same transactional id fences the first and aborts its transaction', async () => {
    const topic = 'txn-zombie';
    await createTopics(broker.bootstrap, [{ topic, numPartitions: 1 }]);
    const zombie = transactionalProducer(broker.bootstrap, 'zombie-tx');
    await zombie.connect();
    const zombieTxn = await zombie.transaction();
    await zombieTxn.send({ topic, messages: [{ value: 'zombie-1' }] });

    const successor = transactionalProducer(broker.bootstrap, 'zombie-tx');
    await successor.connect();
    // kafkajs calls InitProducerId with its first transaction.
    const txn = await successor.transaction();
    await assert.rejects(
      async () => {
        await zombieTxn.send({ topic, messages: [{ value: 'zombie-2' }] });
        await zombieTxn.commit();
      },
      (error: { type?: string }) =>
        error.type === 'INVALID_PRODUCER_EPOCH' || error.type === 'PRODUCER_FENCED',
    );
    await txn.send({ topic, messages: [{ value: 'successor-1' }] });
    await txn.commit();
    await successor.disconnect();
    await zombie.disconnect();
    assert.deepEqual(await kafkajsReadCommitted(broker.bootstrap, topic, ['successor-1']), ['successor-1']);
    assert.deepEqual(await kcatValues(broker.bootstrap, topic, null, 'read_committed'), ['successor-1']);
  });

  it('a transaction left open past its timeout is aborted by the coordinator and its producer fenced', async () => {
    const topic = 'txn-timeout';
    await createTopics(broker.bootstrap, [{ topic, numPartitions: 1 }]);
    const idle = transactionalProducer(broker.bootstrap, 'idle-tx', 1_000);
    await idle.connect();
    const txn = await idle.transaction();
    await txn.send({ topic, messages: [{ value: 'forgotten' }] });
    const coordinator = broker.broker.transactions.coordinatorOf('idle-tx')!;
    await eventually(
      async () => coordinator.describe('idle-tx')?.state === 'CompleteAbort',
      30_000,
      'the timed-out transaction aborted',
    );
    await assert.rejects(() => txn.commit());
    await idle.disconnect();
    // Nothing holds the last stable offset back any more: read_committed readers reach the end.
    assert.deepEqual(await kcatValues(broker.bootstrap, topic, null, 'read_committed'), []);
    assert.deepEqual(await kcatValues(broker.bootstrap, topic, null, 'read_uncommitted'), ['forgotten']);
  });

  it('confluent-kafka (librdkafka): init, produce, send_offsets_to_transaction, commit and abort', async () => {
    const topic = 'txn-python';
    await createTopics(broker.bootstrap, [
      { topic, numPartitions: 3 },
      { topic: 'py-source', numPartitions: 1 },
    ]);
    const transaction = async (outcome: 'commit' | 'abort', offset: number) => {
      const result = await run(
        PYTHON,
        [
          pythonScript,
          broker.bootstrap,
          'python-tx',
          topic,
          '20',
          outcome,
          'py-group',
          'py-source',
          String(offset),
        ],
        { timeoutMs: 120_000 },
      );
      assert.equal(result.status, 0, result.stderr.slice(-2000));
      assert.deepEqual(JSON.parse(result.stdout.trim()), { outcome, produced: 20 });
    };
    await transaction('commit', 7);
    await transaction('abort', 11);
    const committed = Array.from({ length: 20 }, (_, n) => `commit-${n}`).sort();
    assert.deepEqual((await kcatValues(broker.bootstrap, topic, null, 'read_committed')).sort(), committed);
    assert.equal((await kcatValues(broker.bootstrap, topic, null, 'read_uncommitted')).length, 40);
    assert.equal(await committedOffset(broker.bootstrap, 'py-group', 'py-source'), '7');
  });

  it('FindCoordinator, DescribeTransactions and ListTransactions over the wire', async () => {
    const client = await WireClient.connect(broker.port);
    try {
      const found = await client.request(FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['kafkajs-tx'] });
      assert.deepEqual(found.coordinators, [
        {
          key: 'kafkajs-tx',
          nodeId: 1,
          host: '127.0.0.1',
          port: broker.port,
          errorCode: 0,
          errorMessage: null,
        },
      ]);
      const described = await client.request(DescribeTransactions, 0, {
        transactionalIds: ['kafkajs-tx', 'unknown-tx'],
      });
      const states = DescribeAnswer.parse(described).transactionStates;
      assert.deepEqual(states[0], {
        errorCode: ErrorCode.NONE,
        transactionState: 'CompleteCommit',
        transactionTimeoutMs: 30_000,
      });
      assert.equal(states[1]!.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
      const listed = await client.request(ListTransactions, 1, {
        stateFilters: ['CompleteAbort', 'Bogus'],
        producerIdFilters: [],
        durationFilter: -1,
      });
      const { unknownStateFilters, transactionStates } = ListAnswer.parse(listed);
      assert.deepEqual(unknownStateFilters, ['Bogus']);
      const ids = transactionStates.map((t) => t.transactionalId);
      assert.deepEqual(ids.sort(), ['idle-tx', 'python-tx']);
    } finally {
      await client.close();
    }
  });
});

describe('a broker killed mid-transaction (SIGKILL)', { timeout: 300_000 }, () => {
  let broker: BrokerProcess;

  before(async () => {
    broker = await BrokerProcess.start('txn-crash');
  });
  after(async () => {
    await broker?.destroy();
  });

  it('leaves the open transaction aborted after the restart and the committed one whole', async () => {
    const topic = 'txn-crash';
    await createTopics(broker.bootstrap, [{ topic, numPartitions: 3 }]);
    const values = (label: string) =>
      [0, 1, 2].flatMap((partition) =>
        [0, 1].map((n) => ({ partition, value: `${label}-p${partition}-${n}` })),
      );
    const done = transactionalProducer(broker.bootstrap, 'crash-done');
    await done.connect();
    const committedTxn = await done.transaction();
    await committedTxn.send({ topic, messages: values('committed') });
    await committedTxn.commit();
    await done.disconnect();
    const open = transactionalProducer(broker.bootstrap, 'crash-open', 2_000);
    await open.connect();
    const openTxn = await open.transaction();
    await openTxn.send({ topic, messages: values('open') });

    await broker.kill();
    await open.disconnect().catch(() => undefined);
    await broker.restart();

    // After the restart the open transaction is aborted once past its timeout; then a new one commits.
    const after = transactionalProducer(broker.bootstrap, 'crash-after');
    await after.connect();
    const afterTxn = await after.transaction();
    await afterTxn.send({ topic, messages: values('after') });
    await afterTxn.commit();
    await after.disconnect();
    const expected = [...values('committed'), ...values('after')].map((m) => m.value).sort();
    const seen = await kafkajsReadCommitted(broker.bootstrap, topic, [
      'after-p0-1',
      'after-p1-1',
      'after-p2-1',
    ]);
    assert.deepEqual([...seen].sort(), expected);
    assert.deepEqual((await kcatValues(broker.bootstrap, topic, null, 'read_committed')).sort(), expected);
    assert.equal((await kcatValues(broker.bootstrap, topic, null, 'read_uncommitted')).length, 18);
  });
});
