import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { edgeCountPipeline } from '../../test/support/edge-count-pipeline.js';
import { temporaryDirectory } from '../../test/support/log-fixtures.js';
import { MemoryLogClient } from '../../test/support/memory-log-client.js';
import { Broker } from '../broker/broker.js';
import { parseBrokerConfig } from '../broker/config.js';
import { EmbeddedLogClient } from '../client/embedded-client.js';
import type { LogClient, TopicPartition } from '../client/types.js';
import { RepartitionPurge } from './repartition-purge.js';
import type { StreamsApp } from './streams-app.js';
import { type Checkpoint, outputPartitionKey, readLastCheckpoint } from './task-checkpoint.js';
import type { WritingTask } from './task-writer.js';
import { REPARTITION_CONFIG } from './topology.js';

const logger = pino({ level: 'silent' });
const PARTITIONS = 2;
const REPARTITION = 'purge-by-edge-repartition';
const EDGES = ['a', 'b', 'c', 'd', 'e'];

function pipeline(client: LogClient): StreamsApp {
  return edgeCountPipeline(client, {
    applicationId: 'purge',
    commitIntervalMs: 50,
    repartitionPurgeIntervalMs: 100,
  });
}

async function produceReadings(client: LogClient, perPartition: number): Promise<void> {
  const records = Array.from({ length: PARTITIONS * perPartition }, (_, i) => ({
    topic: 'readings',
    partition: i % PARTITIONS,
    key: null,
    value: Buffer.from(JSON.stringify({ edge: EDGES[i % EDGES.length] })),
    timestamp: Date.now(),
  }));
  await client.produce(records);
}

async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const repartitionPartitions: TopicPartition[] = Array.from({ length: PARTITIONS }, (_, partition) => ({
  topic: REPARTITION,
  partition,
}));

/** The checkpoint of the task reading each repartition partition, and of each task writing into them. */
async function checkpoints(client: LogClient): Promise<{ readers: Checkpoint[]; writers: Checkpoint[] }> {
  const read = (topic: string) =>
    Promise.all(
      Array.from({ length: PARTITIONS }, async (_, partition) => {
        const checkpoint = await readLastCheckpoint(client, topic, partition);
        assert.ok(checkpoint, `a checkpoint in ${topic}-${partition}`);
        return checkpoint;
      }),
    );
  return {
    readers: await read(`purge-${REPARTITION}-checkpoint`),
    writers: await read('purge-readings-checkpoint'),
  };
}

/** The latest count of every edge in 'counts'. */
async function latestCounts(client: MemoryLogClient | EmbeddedLogClient): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let partition = 0; partition < (await client.partitionCount('counts')); partition++) {
    const records = await client.fetch([{ topic: 'counts', partition, offset: 0 }], {
      maxBytes: 1 << 20,
      maxWaitMs: 0,
    });
    for (const record of records) {
      if (record.key && record.value) counts.set(record.key.toString(), Number(record.value.toString()));
    }
  }
  return counts;
}

describe('repartition topics purged once consumed', () => {
  const dataDir = temporaryDirectory('purge-');
  let broker: Broker | null = null;
  after(async () => {
    await broker?.close();
    dataDir[Symbol.dispose]();
  });

  it('creates them with Kafka Streams configs (an existing one altered), moves their log start to the consumed offsets, and restores across a restart', async () => {
    broker = await Broker.start(parseBrokerConfig({ dataDir: dataDir.dir, listen: '127.0.0.1:0' }), logger);
    const embedded = broker.embeddedLog();
    const client = new EmbeddedLogClient(embedded);
    await client.ensureTopic({ name: 'readings', partitions: PARTITIONS });
    // As an earlier version created it: the broker's retention and segments.
    await client.ensureTopic({
      name: REPARTITION,
      partitions: PARTITIONS,
      config: { 'retention.ms': '604800000' },
    });

    const first = pipeline(client);
    await first.start();
    assert.deepEqual(embedded.logs.describeTopic(REPARTITION).overrides, REPARTITION_CONFIG);
    await produceReadings(client, 500);
    const moved = async () => {
      const { readers, writers } = await checkpoints(client);
      for (const [partition, tp] of repartitionPartitions.entries()) {
        const { earliest, latest } = await client.offsets(tp);
        const reader = readers[partition]!;
        const writerBound = Math.min(
          ...writers.map((w) => w.outputBounds[outputPartitionKey(REPARTITION, partition)]!),
        );
        // Never past what its task or a task writing into it would read again after a restart.
        assert.ok(earliest <= reader.offset, `log start ${earliest} <= consumed ${reader.offset}`);
        assert.ok(earliest <= writerBound, `log start ${earliest} <= upstream bound ${writerBound}`);
        // Once all is consumed and checkpointed: all of it gone.
        if (!(latest > 0 && reader.offset === latest && earliest === latest)) return false;
      }
      return true;
    };
    await eventually(async () => (await latestCounts(client)).get('e') === 200, 'the counts');
    await eventually(moved, 'the repartition log starts to reach the consumed ends');
    await first.close();

    // A restart resumes from the checkpoints, which are at or past the log start, and counts on exactly once.
    const second = pipeline(client);
    await second.start();
    await produceReadings(client, 500);
    await eventually(async () => (await latestCounts(client)).get('e') === 400, 'the counts after a restart');
    assert.deepEqual(
      [...(await latestCounts(client))].sort(),
      EDGES.map((edge) => [edge, 400]),
      'each reading counted once',
    );
    await eventually(moved, 'the log starts to move on after the restart');
    await second.close();
    await client.close();
  });

  it('stays below what a task writing into the topic has not checkpointed past, and retries a failed purge', async () => {
    const client = new MemoryLogClient();
    await client.ensureTopic({ name: REPARTITION, partitions: 1 });
    await client.ensureTopic({ name: 'up-checkpoint', partitions: 1 });
    await client.produce(
      Array.from({ length: 10 }, () => ({
        topic: REPARTITION,
        partition: 0,
        key: null,
        value: Buffer.from('x'),
        timestamp: 0,
      })),
    );
    const upstreamBound = (offset: number) =>
      client.produce([
        {
          topic: 'up-checkpoint',
          partition: 0,
          key: Buffer.from('up'),
          value: Buffer.from(
            JSON.stringify({ outputBounds: { [outputPartitionKey(REPARTITION, 0)]: offset } }),
          ),
          timestamp: 0,
        },
      ]);
    await upstreamBound(4);
    const task: WritingTask = {
      id: 'down',
      source: { topic: REPARTITION },
      partition: 0,
      heldSince: 0,
      fenced: false,
    };
    let failNext = true;
    const deleteRecords = client.deleteRecords.bind(client);
    client.deleteRecords = async (entries) => {
      if (failNext) {
        failNext = false;
        throw new Error('refused');
      }
      return deleteRecords(entries);
    };
    const purge = new RepartitionPurge({
      client,
      logger,
      intervalMs: 0,
      upstreamOf: new Map([[REPARTITION, [{ checkpointTopic: 'up-checkpoint', partitions: 1 }]]]),
      runs: () => true,
      confirm: null,
    });
    const earliest = async () => (await client.offsets({ topic: REPARTITION, partition: 0 })).earliest;

    purge.checkpointed([{ task, offset: 8 }]);
    await purge.close();
    assert.equal(await earliest(), 0, 'the failed purge moved nothing');
    purge.checkpointed([{ task, offset: 8 }]);
    await purge.close();
    assert.equal(await earliest(), 4, 'held at the upstream bound');
    await upstreamBound(9);
    purge.checkpointed([{ task, offset: 8 }]);
    await purge.close();
    assert.equal(await earliest(), 8, 'held at the consumed offset');
  });
});
