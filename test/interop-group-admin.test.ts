import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { Admin } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { seedTopic } from './support/kafkajs-seed.js';
import { readOffsetsTopic } from './support/offsets-topic-decoder.js';
import { run } from './support/processes.js';

const TOPIC = 'admin-orders';
const NON_EMPTY_GROUP = 68;
const GROUP_ID_NOT_FOUND = 69;
const PYTHON = '/usr/bin/python3';
const script = fileURLToPath(new URL('../../test/python/group_admin.py', import.meta.url));

function kafka(broker: RunningBroker): Kafka {
  return new Kafka({
    clientId: 'group-admin-test',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 100 },
  });
}

describe('group administration with clients written by others', { timeout: 300_000 }, () => {
  let broker: RunningBroker;
  const python = async (...args: string[]) => {
    const result = await run(PYTHON, [script, broker.bootstrap, ...args], { timeoutMs: 90_000 });
    assert.equal(result.status, 0, `${args[0]}: ${result.stderr.slice(-2000)}`);
    return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as unknown;
  };
  before(async () => {
    broker = await startBroker();
    await seedTopic(kafka(broker), TOPIC, 2, 1);
  });
  after(async () => {
    await broker?.stop();
  });

  it('kafkajs 2.2.4 deleteGroups refuses a group with members, deletes it once empty; @platformatic/kafka deletes offsets of unsubscribed topics only', async () => {
    const consumer = kafka(broker).consumer({ groupId: 'js-admin', sessionTimeout: 30_000 });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async () => {
          if (++seen === 2) resolve();
        },
      });
    });
    await consumer.commitOffsets([
      { topic: TOPIC, partition: 0, offset: '1' },
      { topic: TOPIC, partition: 1, offset: '1' },
    ]);
    const admin = kafka(broker).admin();
    await admin.connect();
    await assert.rejects(
      admin.deleteGroups(['js-admin']),
      (error: { groups?: Array<{ errorCode: number }> }) => {
        assert.equal(error.groups?.[0]?.errorCode, NON_EMPTY_GROUP);
        return true;
      },
    );

    // OffsetDelete (47) through @platformatic/kafka: the member subscribes to TOPIC, so its offsets stay.
    const platformatic = new Admin({ clientId: 'group-admin-test', bootstrapBrokers: [broker.bootstrap] });
    try {
      await assert.rejects(
        platformatic.deleteConsumerGroupOffsets({
          groupId: 'js-admin',
          topics: [{ name: TOPIC, partitionIndexes: [0] }],
        }),
        (error: Error) => {
          assert.match(inspect(error, { depth: 8 }), /GROUP_SUBSCRIBED_TO_TOPIC|errorCode: 86/);
          return true;
        },
      );
      await consumer.disconnect();
      assert.deepEqual(
        await platformatic.deleteConsumerGroupOffsets({
          groupId: 'js-admin',
          topics: [{ name: TOPIC, partitionIndexes: [0] }],
        }),
        [{ name: TOPIC, partitionIndexes: [0] }],
      );
    } finally {
      await platformatic.close();
    }
    const [afterOffsetDelete] = await admin.fetchOffsets({ groupId: 'js-admin', topics: [TOPIC] });
    assert.deepEqual(afterOffsetDelete!.partitions.map((p) => [p.partition, p.offset]).sort(), [
      [0, '-1'],
      [1, '1'],
    ]);

    await admin.deleteGroups(['js-admin']);
    const [afterDelete] = await admin.fetchOffsets({ groupId: 'js-admin', topics: [TOPIC] });
    assert.deepEqual(
      afterDelete!.partitions.map((p) => p.offset),
      ['-1', '-1'],
    );
    assert.ok(!(await admin.listGroups()).groups.some((g) => g.groupId === 'js-admin'));
    await admin.disconnect();

    // Readers of the topic see the deletions: the group's last records are tombstones.
    const records = (await readOffsetsTopic(broker.bootstrap)).filter((r) => r.group === 'js-admin');
    const last = new Map(
      records.map((r) => [r.kind === 'offset' ? `${r.topic}-${r.partition}` : 'group', r.value]),
    );
    assert.deepEqual([...last.values()], [null, null, null]);
  });

  it('kafka-python 2.0.2 lists and deletes group offsets; confluent-kafka 1.7.0 lists groups', async () => {
    assert.deepEqual(await python('kp-commit', 'py-admin', TOPIC, '1', '1', 'from-python'), {
      committed: true,
    });
    assert.deepEqual(await python('kp-offsets', 'py-admin'), { [`${TOPIC}:1`]: [1, 'from-python'] });
    assert.ok(
      ((await python('cf-groups')) as string[][]).some(
        ([id, state]) => id === 'py-admin' && state === 'Empty',
      ),
    );
    assert.deepEqual(await python('kp-delete', 'py-admin'), [['py-admin', 0]]);
    assert.deepEqual(await python('kp-offsets', 'py-admin'), {});
    assert.deepEqual(await python('kp-delete', 'py-admin'), [['py-admin', GROUP_ID_NOT_FOUND]]);
    assert.ok(!((await python('cf-groups')) as string[][]).some(([id]) => id === 'py-admin'));
  });
});
