import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Admin } from '@platformatic/kafka';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { run, until } from './support/processes.js';

/** Debian's Python modules live under /usr/bin/python3, not the pyenv python3 first on PATH. */
const PYTHON = '/usr/bin/python3';
const script = fileURLToPath(new URL('../../test/python/admin_client.py', import.meta.url));
const DYNAMIC_TOPIC_CONFIG = 1;
const DYNAMIC_BROKER_CONFIG = 2;
const STATIC_BROKER_CONFIG = 4;
const DEFAULT_CONFIG = 5;
/** kafkajs's ConfigResourceTypes (its CommonJS build does not export them to ESM by name). */
const ConfigResourceTypes = { TOPIC: 2, BROKER: 4 } as const;

function kafka(broker: RunningBroker): Kafka {
  return new Kafka({
    clientId: 'admin-topics',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100 },
  });
}

/** Offsets a fresh consumer group reads from the earliest offset of `topic`'s partition 0. */
async function firstOffsetsRead(broker: RunningBroker, topic: string, count: number): Promise<number[]> {
  const consumer: Consumer = kafka(broker).consumer({ groupId: `reader-${Date.now()}` });
  const offsets: number[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (partition === 0) offsets.push(Number(message.offset));
      },
    });
    await until(() => offsets.length >= count, 30_000, `${count} records of ${topic}-0`);
  } finally {
    await consumer.disconnect();
  }
  return offsets;
}

describe('topic admin APIs on a single node', { timeout: 300_000 }, () => {
  let broker: RunningBroker;

  before(async () => {
    broker = await startBroker({
      topicDefaults: { 'segment.bytes': '1048576' },
      producerIdExpirationMs: 3_600_000,
    });
  });
  after(async () => {
    await broker?.stop();
  });

  it('kafkajs: createPartitions grows a topic, refuses fewer, honours validateOnly', async () => {
    const admin = kafka(broker).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'kjs-grow', numPartitions: 2 }] });
      await admin.createPartitions({
        validateOnly: true,
        topicPartitions: [{ topic: 'kjs-grow', count: 5 }],
      });
      assert.equal(broker.broker.logs.describeTopic('kjs-grow').partitions, 2);
      await admin.createPartitions({ topicPartitions: [{ topic: 'kjs-grow', count: 5 }] });
      assert.equal(broker.broker.logs.describeTopic('kjs-grow').partitions, 5);
      await assert.rejects(
        admin.createPartitions({ topicPartitions: [{ topic: 'kjs-grow', count: 3 }] }),
        /INVALID_PARTITIONS|partitions/i,
      );
      const metadata = await admin.fetchTopicMetadata({ topics: ['kjs-grow'] });
      assert.equal(metadata.topics[0]!.partitions.length, 5);
      const producer = kafka(broker).producer();
      await producer.connect();
      await producer.send({ topic: 'kjs-grow', messages: [{ partition: 4, value: 'on a new partition' }] });
      await producer.disconnect();
      assert.equal(broker.broker.logs.partition('kjs-grow', 4).logEndOffset, 1);
    } finally {
      await admin.disconnect();
    }
  });

  it('kafkajs: deleteTopicRecords moves the low watermark; consumers and ListOffsets start there, after a restart too', async () => {
    const admin = kafka(broker).admin();
    await admin.connect();
    const producer = kafka(broker).producer();
    await producer.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'kjs-trim', numPartitions: 1 }] });
      await producer.send({
        topic: 'kjs-trim',
        messages: Array.from({ length: 20 }, (_, i) => ({ value: `record-${i}` })),
      });
      // kafkajs sends DeleteRecords to the leader its metadata cache names.
      await admin.fetchTopicMetadata({ topics: ['kjs-trim'] });
      await admin.deleteTopicRecords({ topic: 'kjs-trim', partitions: [{ partition: 0, offset: '12' }] });
      const offsets = await admin.fetchTopicOffsets('kjs-trim');
      assert.equal(offsets[0]!.low, '12');
      assert.equal(offsets[0]!.high, '20');
      assert.deepEqual(await firstOffsetsRead(broker, 'kjs-trim', 8), [12, 13, 14, 15, 16, 17, 18, 19]);
      await assert.rejects(
        admin.deleteTopicRecords({ topic: 'kjs-trim', partitions: [{ partition: 0, offset: '99' }] }),
      );
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
    await broker.restart();
    assert.equal(broker.broker.logs.partition('kjs-trim', 0).logStartOffset, 12);
    const again = kafka(broker).admin();
    await again.connect();
    try {
      assert.equal((await again.fetchTopicOffsets('kjs-trim'))[0]!.low, '12');
    } finally {
      await again.disconnect();
    }
  });

  it('kafkajs: alterConfigs sets retention.ms; describeConfigs gives its source and synonyms; a restart keeps it', async () => {
    const admin = kafka(broker).admin();
    await admin.connect();
    const describe = async () => {
      const described = await admin.describeConfigs({
        includeSynonyms: true,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: 'kjs-config',
            configNames: ['retention.ms', 'segment.bytes', 'cleanup.policy'],
          },
        ],
      });
      return new Map(described.resources[0]!.configEntries.map((e) => [e.configName, e]));
    };
    const setRetention = (value: string, validateOnly: boolean) =>
      admin.alterConfigs({
        validateOnly,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: 'kjs-config',
            configEntries: [{ name: 'retention.ms', value }],
          },
        ],
      });
    try {
      await admin.createTopics({ topics: [{ topic: 'kjs-config', numPartitions: 1 }] });
      await setRetention('60000', true);
      assert.equal((await describe()).get('retention.ms')!.configSource, DEFAULT_CONFIG);
      await assert.rejects(setRetention('soon', false), { type: 'INVALID_CONFIG' });
      await setRetention('60000', false);
      const entries = await describe();
      assert.equal(entries.get('retention.ms')!.configValue, '60000');
      assert.equal(entries.get('retention.ms')!.configSource, DYNAMIC_TOPIC_CONFIG);
      assert.deepEqual(
        entries.get('retention.ms')!.configSynonyms.map((s) => s.configSource),
        [DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG],
      );
      assert.equal(entries.get('segment.bytes')!.configValue, '1048576');
      assert.equal(entries.get('segment.bytes')!.configSource, STATIC_BROKER_CONFIG);
      assert.equal(entries.get('cleanup.policy')!.configSource, DEFAULT_CONFIG);
      assert.equal(broker.broker.logs.describeTopic('kjs-config').config.retentionMs, 60_000);
    } finally {
      await admin.disconnect();
    }
    await broker.restart();
    const again = kafka(broker).admin();
    await again.connect();
    try {
      const described = await again.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs-config', configNames: ['retention.ms'] }],
      });
      const entry = described.resources[0]!.configEntries[0]!;
      assert.equal(entry.configValue, '60000');
      assert.equal(entry.configSource, DYNAMIC_TOPIC_CONFIG);
    } finally {
      await again.disconnect();
    }
  });

  it('kafkajs: log.retention.ms changes on the broker for topics without their own; a fixed broker config is refused', async () => {
    const admin = kafka(broker).admin();
    await admin.connect();
    const alterBroker = (name: string, value: string) =>
      admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configEntries: [{ name, value }] }],
      });
    const describe = async () => {
      const described = await admin.describeConfigs({
        includeSynonyms: true,
        resources: [
          { type: ConfigResourceTypes.TOPIC, name: 'kjs-defaults', configNames: ['retention.ms'] },
          { type: ConfigResourceTypes.BROKER, name: '1', configNames: ['log.retention.ms'] },
        ],
      });
      return described.resources.map((r) => r.configEntries[0]!);
    };
    try {
      await assert.rejects(alterBroker('num.partitions', '3'), { type: 'INVALID_REQUEST' });
      await admin.createTopics({ topics: [{ topic: 'kjs-defaults', numPartitions: 1 }] });
      await alterBroker('log.retention.ms', '7200000');
      assert.equal(broker.broker.logs.describeTopic('kjs-defaults').config.retentionMs, 7_200_000);
      const [topic, brokerEntry] = await describe();
      assert.equal(topic!.configValue, '7200000');
      assert.equal(topic!.configSource, DYNAMIC_BROKER_CONFIG);
      assert.equal(brokerEntry!.configValue, '7200000');
      assert.equal(brokerEntry!.configSource, DYNAMIC_BROKER_CONFIG);
      assert.equal(brokerEntry!.readOnly, false);
    } finally {
      await admin.disconnect();
    }
    await broker.restart();
    assert.equal(broker.broker.logs.describeTopic('kjs-defaults').config.retentionMs, 7_200_000);
    assert.equal(broker.broker.logs.describeTopic('kjs-config').config.retentionMs, 60_000, 'its own stays');
  });

  it('kafkajs: createTopics of __consumer_offsets or __transaction_state is refused: the broker keeps them', async () => {
    const admin = kafka(broker).admin();
    await admin.connect();
    try {
      for (const topic of ['__consumer_offsets', '__transaction_state']) {
        // kafkajs resolves false for TOPIC_ALREADY_EXISTS (and true for a topic it created).
        assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), false, topic);
        assert.equal(
          await admin.createTopics({ validateOnly: true, topics: [{ topic, numPartitions: 3 }] }),
          false,
          `${topic}, validateOnly`,
        );
      }
      assert.equal(broker.broker.logs.describeTopic('__consumer_offsets').partitions, 1, 'unchanged');
      assert.equal(broker.broker.logs.hasTopic('__transaction_state'), false, 'no user topic of that name');
    } finally {
      await admin.disconnect();
    }
  });

  it('kafkajs: describeConfigs of the broker shows producer.id.expiration.ms and the transaction settings', async () => {
    const admin = kafka(broker).admin();
    await admin.connect();
    try {
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          {
            type: ConfigResourceTypes.BROKER,
            name: '1',
            configNames: [
              'producer.id.expiration.ms',
              'transaction.max.timeout.ms',
              'transactional.id.expiration.ms',
            ],
          },
        ],
      });
      const entries = described.resources[0]!.configEntries;
      assert.deepEqual(
        entries.map((e) => [e.configName, e.configValue, e.configSource, e.readOnly]),
        [
          ['producer.id.expiration.ms', '3600000', STATIC_BROKER_CONFIG, true],
          ['transaction.max.timeout.ms', '900000', STATIC_BROKER_CONFIG, true],
          ['transactional.id.expiration.ms', '604800000', STATIC_BROKER_CONFIG, true],
        ],
      );
    } finally {
      await admin.disconnect();
    }
  });

  it('@platformatic/kafka: describeLogDirs gives the data directory, partition sizes and the disk (v4)', async () => {
    const admin = new Admin({ clientId: 'admin-topics', bootstrapBrokers: [broker.bootstrap], retries: 2 });
    try {
      const [described] = await admin.describeLogDirs({ topics: [{ name: 'kjs-grow', partitions: [0, 4] }] });
      const [dir] = described!.results;
      assert.equal(dir!.logDir, broker.dataDir);
      assert.ok(dir!.totalBytes > 0n && dir!.usableBytes > 0n && dir!.usableBytes <= dir!.totalBytes);
      const partitions = dir!.topics.find((t) => t.name === 'kjs-grow')!.partitions;
      assert.deepEqual(
        partitions.map((p) => [
          p.partitionIndex,
          Number(p.partitionSize),
          Number(p.offsetLag),
          p.isFutureKey,
        ]),
        [0, 4].map((p) => [p, broker.broker.logs.partition('kjs-grow', p).sizeBytes, 0, false]),
      );
      assert.ok(partitions[1]!.partitionSize > 0n, 'partition 4 holds the record produced to it');
    } finally {
      await admin.close();
    }
  });

  for (const client of ['kafka-python', 'confluent'] as const) {
    // Neither client of these versions has delete_records nor incremental_alter_configs.
    it(`${client}: create_partitions, alter_configs and describe_configs`, async () => {
      const topic = `py-admin-${client}`;
      const result = await run(PYTHON, [script, client, broker.bootstrap, topic], { timeoutMs: 120_000 });
      assert.equal(result.status, 0, result.stderr.slice(-3000));
      const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
      assert.equal(report.partitions, 3);
      assert.equal(broker.broker.logs.describeTopic(topic).partitions, 3);
      assert.deepEqual(report.retention, ['120000', DYNAMIC_TOPIC_CONFIG]);
      assert.equal(broker.broker.logs.describeTopic(topic).config.retentionMs, 120_000);
    });
  }
});
