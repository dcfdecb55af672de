import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { LogManager } from '../src/log/index.js';
import { Metadata } from '../src/protocol/apis/metadata.js';
import { OffsetCommit } from '../src/protocol/apis/offset-commit.js';
import { ErrorCode } from '../src/protocol/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { seedTopic } from './support/kafkajs-seed.js';
import {
  type DecodedOffsetsRecord,
  legacyOffsetsBatch,
  readOffsetsTopic,
} from './support/offsets-topic-decoder.js';
import { run } from './support/processes.js';
import { WireClient } from './support/wire-client.js';

const TOPIC = 'orders';
const PER_PARTITION = 10;
const OFFSETS_TOPIC = '__consumer_offsets';

function kafka(broker: RunningBroker): Kafka {
  return new Kafka({
    clientId: 'offsets-topic-test',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100 },
  });
}

/** The latest committed offset per partition of `group` in the topic's records (tombstones delete). */
function latestOffsets(records: DecodedOffsetsRecord[], group: string) {
  const latest = new Map<number, NonNullable<Extract<DecodedOffsetsRecord, { kind: 'offset' }>['value']>>();
  for (const r of records) {
    if (r.kind !== 'offset' || r.group !== group || r.topic !== TOPIC) continue;
    if (r.value === null) latest.delete(r.partition);
    else latest.set(r.partition, r.value);
  }
  return latest;
}

describe('__consumer_offsets in Kafka format, read by plain consumers', { timeout: 300_000 }, () => {
  let broker: RunningBroker;
  before(async () => {
    broker = await startBroker();
    await seedTopic(kafka(broker), TOPIC, 2, PER_PARTITION);
  });
  after(async () => {
    await broker?.stop();
  });

  it('commits of kafkajs, librdkafka and a raw OffsetCommit v8 decode with their group, offset, metadata and leader epoch', async () => {
    // kafkajs 2.2.4: a group consumer that commits what it consumed (OffsetCommit v5: no leader epoch).
    const consumer = kafka(broker).consumer({ groupId: 'js-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    let seen = 0;
    const allSeen = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async () => {
          if (++seen === 2 * PER_PARTITION) resolve();
        },
      });
    });
    await allSeen;
    await consumer.disconnect();

    // librdkafka 2.0.2 (kcat -G): a balanced consumer that commits on close.
    const rd = await run(
      'kcat',
      [
        '-b',
        broker.bootstrap,
        '-G',
        'rd-group',
        '-X',
        'auto.offset.reset=earliest',
        '-e',
        '-q',
        '-f',
        '%o\\n',
        TOPIC,
      ],
      { timeoutMs: 90_000 },
    );
    assert.equal(rd.status, 0, rd.stderr);
    assert.equal(rd.stdout.trim().split('\n').length, 2 * PER_PARTITION);

    // A commit with metadata and a leader epoch, as OffsetCommit v8 carries them.
    const wire = await WireClient.connect(broker.port);
    const committed = await wire.request(OffsetCommit, 8, {
      groupId: 'raw-group',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: TOPIC,
          partitions: [
            {
              partitionIndex: 1,
              committedOffset: 7,
              committedLeaderEpoch: 3,
              committedMetadata: 'checkpoint',
            },
          ],
        },
      ],
    });
    await wire.close();
    assert.deepEqual(JSON.parse(JSON.stringify(committed)).topics[0].partitions[0].errorCode, ErrorCode.NONE);

    const admin = kafka(broker).admin();
    await admin.connect();
    const records = await readOffsetsTopic(broker.bootstrap);
    for (const group of ['js-group', 'rd-group']) {
      const [fetched] = await admin.fetchOffsets({ groupId: group, topics: [TOPIC] });
      const latest = latestOffsets(records, group);
      for (const p of fetched!.partitions) {
        assert.equal(
          p.offset,
          String(PER_PARTITION),
          `${group} committed the end of partition ${p.partition}`,
        );
        const value = latest.get(p.partition);
        assert.ok(value, `${group}'s commit of partition ${p.partition} is in ${OFFSETS_TOPIC}`);
        assert.equal(value.offset, PER_PARTITION);
        assert.equal(value.leaderEpoch, -1, 'neither client sends a leader epoch');
        assert.equal(value.metadata, p.metadata ?? '');
        assert.ok(
          Math.abs(value.commitTimestamp - Date.now()) < 120_000,
          'the commit time is a timestamp in ms',
        );
      }
      const generations = records.flatMap((r) =>
        r.kind === 'group' && r.group === group && r.value ? [r.value] : [],
      );
      assert.ok(
        generations.some((g) => g.protocolType === 'consumer' && g.members.length === 1),
        `${group} has a GroupMetadata record of its generation with its member`,
      );
    }
    await admin.disconnect();
    assert.deepEqual(latestOffsets(records, 'raw-group').get(1), {
      offset: 7,
      leaderEpoch: 3,
      metadata: 'checkpoint',
      commitTimestamp: latestOffsets(records, 'raw-group').get(1)!.commitTimestamp,
    });
  });

  it('is internal: listed with isInternal, refused to a producing client and to DeleteTopics, kept across a restart', async () => {
    const wire = await WireClient.connect(broker.port);
    const metadata = JSON.parse(
      JSON.stringify(await wire.request(Metadata, 1, { topics: [{ name: OFFSETS_TOPIC }] })),
    ) as { topics: Array<{ name: string; errorCode: number; isInternal: boolean }> };
    await wire.close();
    assert.deepEqual(
      metadata.topics.map((t) => [t.name, t.errorCode, t.isInternal]),
      [[OFFSETS_TOPIC, ErrorCode.NONE, true]],
    );
    const produced = await run('kcat', ['-b', broker.bootstrap, '-P', '-t', OFFSETS_TOPIC, '-p', '0'], {
      input: 'forged\n',
      timeoutMs: 60_000,
    });
    assert.notEqual(produced.status, 0, 'kcat reports the refused delivery');
    assert.match(produced.stderr, /internal topic|Invalid topic|INVALID_TOPIC/i);

    const deleter = kafka(broker).admin();
    await deleter.connect();
    await assert.rejects(deleter.deleteTopics({ topics: [OFFSETS_TOPIC] }), 'deleting it is refused');
    await deleter.disconnect();
    assert.ok(broker.broker.logs.hasTopic(OFFSETS_TOPIC));

    const before = await readOffsetsTopic(broker.bootstrap);
    await broker.restart();
    const admin = kafka(broker).admin();
    await admin.connect();
    const [fetched] = await admin.fetchOffsets({ groupId: 'rd-group', topics: [TOPIC] });
    await admin.disconnect();
    assert.deepEqual(
      fetched!.partitions.map((p) => p.offset),
      [String(PER_PARTITION), String(PER_PARTITION)],
      'replayed from the Kafka-format records',
    );
    assert.deepEqual(
      latestOffsets(await readOffsetsTopic(broker.bootstrap), 'js-group'),
      latestOffsets(before, 'js-group'),
    );
  });
});

describe('a data directory of an older version (offsets as JSON under DIR/internal)', {
  timeout: 120_000,
}, () => {
  it('is migrated on start: the offsets are served and __consumer_offsets holds them in Kafka format', async () => {
    const broker = await startBroker({}, async (dataDir) => {
      const former = LogManager.open({
        dataDir: path.join(dataDir, 'internal'),
        logger: pino({ level: 'silent' }),
      });
      former.createTopic(OFFSETS_TOPIC, 1);
      former.partition(OFFSETS_TOPIC, 0).write(legacyOffsetsBatch());
      await former.close();
    });
    try {
      const admin = kafka(broker).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 't', numPartitions: 2 }] });
      const [old] = await admin.fetchOffsets({ groupId: 'old', topics: ['t'] });
      const [gone] = await admin.fetchOffsets({ groupId: 'gone', topics: ['t'] });
      await admin.disconnect();
      assert.deepEqual(old!.partitions.map((p) => [p.partition, p.offset, p.metadata ?? '']).sort(), [
        [0, '10', 'm'],
        [1, '11', ''],
      ]);
      assert.deepEqual(
        gone!.partitions.map((p) => p.offset),
        ['-1', '-1'],
        'a group deleted before stays deleted',
      );
      const records = await readOffsetsTopic(broker.bootstrap);
      assert.deepEqual(
        records.map(
          (r) =>
            r.kind === 'offset' && [r.group, r.topic, r.partition, r.value?.offset, r.value?.leaderEpoch],
        ),
        [
          ['old', 't', 0, 10, 2],
          ['old', 't', 1, 11, -1],
        ],
      );
      assert.equal(
        fs.existsSync(path.join(broker.dataDir, 'internal', OFFSETS_TOPIC)),
        false,
        'the old log is gone',
      );
    } finally {
      await broker.stop();
    }
  });
});
