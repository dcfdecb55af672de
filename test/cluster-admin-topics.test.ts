import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { BrokerCluster } from './support/broker-cluster.js';
import { eventually } from './support/processes.js';

/**
 * The topic admin APIs on three brokers: CreatePartitions places the new partitions through ZooKeeper and
 * every replica opens them, DeleteRecords moves the leader's log start and the followers follow, and a
 * topic config change reaches every broker's replica.
 */

const TOPIC = 'admin-replicated';
const DYNAMIC_TOPIC_CONFIG = 1;
const DYNAMIC_BROKER_CONFIG = 2;
const DEFAULT_CONFIG = 5;
/** kafkajs's ConfigResourceTypes TOPIC and BROKER (its CommonJS build does not export it to ESM by name). */
const TOPIC_RESOURCE = 2;
const BROKER_RESOURCE = 4;

let cluster: BrokerCluster;

before(async () => {
  cluster = await BrokerCluster.start();
});

after(async () => {
  await cluster?.stop();
});

function kafka() {
  return new Kafka({
    clientId: 'cluster-admin-topics-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** The topic as a broker keeps it on disk (LogManager's topic.json). */
function topicFile(brokerId: number): { partitions: number; config: Record<string, string> } {
  return JSON.parse(
    fs.readFileSync(path.join(cluster.broker(brokerId).dataDir, 'topics', TOPIC, 'topic.json'), 'utf8'),
  );
}

/** A replica's recorded log start (the log-start-offset file), or 0 when none was recorded. */
function recordedStartOf(brokerId: number, topic: string, partition: number): number {
  const file = path.join(
    cluster.broker(brokerId).dataDir,
    'topics',
    topic,
    String(partition),
    'log-start-offset',
  );
  return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : 0;
}

test('CreateTopics of an internal topic is refused: INVALID_REQUEST before its first use, then TOPIC_ALREADY_EXISTS', {
  timeout: 120_000,
}, async () => {
  const admin = kafka().admin();
  await admin.connect();
  try {
    for (const topic of ['__consumer_offsets', '__transaction_state']) {
      await assert.rejects(
        admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }] }),
        (error: { errors?: Array<{ type: string }> }) => {
          assert.deepEqual(
            error.errors?.map((e) => e.type),
            ['INVALID_REQUEST'],
          );
          return true;
        },
      );
      assert.ok(!(await admin.listTopics()).includes(topic), `${topic} was not created`);
    }
    // FindCoordinator creates the offsets topic, with the broker's own partition count.
    await eventually(
      async () => {
        await admin.describeGroups(['internal-topic-check']);
        return (await admin.listTopics()).includes('__consumer_offsets');
      },
      60_000,
      'the offsets topic created by FindCoordinator',
    );
    assert.equal(
      await admin.createTopics({ topics: [{ topic: '__consumer_offsets', numPartitions: 2 }] }),
      false,
      'TOPIC_ALREADY_EXISTS, as Kafka answers for an existing internal topic',
    );
    const metadata = await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] });
    assert.equal(metadata.topics[0]!.partitions.length, 12);
  } finally {
    await admin.disconnect();
  }
});

test('CreatePartitions, DeleteRecords and a topic config change on three brokers', {
  timeout: 180_000,
}, async () => {
  const admin = kafka().admin();
  await admin.connect();
  const producer = kafka().producer();
  await producer.connect();
  try {
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }],
      waitForLeaders: true,
    });

    await admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 3 }] });
    await eventually(
      async () => {
        const metadata = await admin.fetchTopicMetadata({ topics: [TOPIC] });
        const partitions = metadata.topics[0]!.partitions;
        assert.equal(partitions.length, 3);
        for (const p of partitions) {
          assert.ok(p.leader >= 1, `partition ${p.partitionId} has a leader`);
          assert.equal(p.replicas.length, 3, 'new partitions take the topic replication factor');
          assert.equal(p.isr.length, 3, `partition ${p.partitionId} is fully in sync`);
        }
        return true;
      },
      60_000,
      'three partitions, each led and fully in sync',
    );
    for (const id of [1, 2, 3])
      assert.equal(topicFile(id).partitions, 3, `broker ${id} opened the new partitions`);
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: [{ partition: 2, value: 'on a new partition' }],
    });

    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: Array.from({ length: 30 }, (_, i) => ({ partition: 0, value: `record-${i}` })),
    });
    await admin.fetchTopicMetadata({ topics: [TOPIC] });
    await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: '17' }] });
    const offsets = await admin.fetchTopicOffsets(TOPIC);
    assert.equal(offsets.find((o) => o.partition === 0)!.low, '17');
    // The answer waited for the ISR: every replica has recorded the new start already.
    for (const id of [1, 2, 3])
      assert.equal(recordedStartOf(id, TOPIC, 0), 17, `broker ${id}'s replica of partition 0`);

    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        { type: TOPIC_RESOURCE, name: TOPIC, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
      ],
    });
    await eventually(
      async () => {
        for (const id of [1, 2, 3])
          assert.deepEqual(topicFile(id).config, { 'retention.ms': '3600000' }, `broker ${id}`);
        return true;
      },
      30_000,
      'the config on every broker',
    );
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: TOPIC_RESOURCE, name: TOPIC, configNames: ['retention.ms'] }],
    });
    const entry = described.resources[0]!.configEntries[0]!;
    assert.equal(entry.configValue, '3600000');
    assert.equal(entry.configSource, DYNAMIC_TOPIC_CONFIG);

    // A dynamic broker config, kept in ZooKeeper: kafkajs sends a BROKER resource to that broker.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        { type: BROKER_RESOURCE, name: '2', configEntries: [{ name: 'log.retention.ms', value: '7200000' }] },
      ],
    });
    const brokers = await admin.describeConfigs({
      includeSynonyms: false,
      resources: ['1', '2'].map((name) => ({
        type: BROKER_RESOURCE,
        name,
        configNames: ['log.retention.ms'],
      })),
    });
    const byBroker = new Map(brokers.resources.map((r) => [r.resourceName, r.configEntries[0]!]));
    assert.equal(byBroker.get('2')!.configValue, '7200000');
    assert.equal(byBroker.get('2')!.configSource, DYNAMIC_BROKER_CONFIG);
    assert.equal(byBroker.get('1')!.configSource, DEFAULT_CONFIG, "broker 2's own value is not broker 1's");
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});

test("a follower that was down while records were deleted starts again at the leader's log start", {
  timeout: 180_000,
}, async () => {
  const topic = 'admin-lagging';
  const admin = kafka().admin();
  await admin.connect();
  const producer = kafka().producer();
  await producer.connect();
  const send = (from: number, count: number) =>
    producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({ partition: 0, value: `record-${from + i}` })),
    });
  const isr = async () => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions[0]!.isr;
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 3 }],
      waitForLeaders: true,
    });
    await send(0, 10);
    await cluster.kill(3);
    await eventually(async () => !(await isr()).includes(3), 60_000, 'broker 3 out of the ISR');
    await send(10, 20);
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '25' }] });
    await cluster.restart(3);
    await eventually(async () => (await isr()).includes(3), 60_000, 'broker 3 back in the ISR');
    // Emptied, started again at the base of the batch holding 25 (10..29), with the leader's start taken.
    const dir = path.join(cluster.broker(3).dataDir, 'topics', topic, '0');
    const segments = fs.readdirSync(dir).filter((name) => name.endsWith('.log'));
    assert.deepEqual(segments, [`${'10'.padStart(20, '0')}.log`]);
    await eventually(async () => recordedStartOf(3, topic, 0) === 25, 30_000, "broker 3's log start at 25");
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});
