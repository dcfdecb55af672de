// Consumer lag as a lag monitor written by others sees it: Burrow (LinkedIn's lag checker, Debian's 1.2.1, Go
// with its own Kafka client, sarama) finds groups and their committed offsets by consuming `__consumer_offsets`
// and decoding Kafka's record format itself, and the partitions' end offsets by ListOffsets. Burrow keeps its own
// lock in ZooKeeper, so a one-member ensemble runs beside the broker.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { seedTopic } from './support/kafkajs-seed.js';
import { Background, eventually } from './support/processes.js';
import { type Ensemble, freePorts, startZooKeeperEnsemble } from './support/zookeeper.js';

const BURROW = '/usr/bin/Burrow';
const TOPIC = 'orders';
const PER_PARTITION = 10;
const CLUSTER = 'edge';

/** What Burrow's /v3/kafka/CLUSTER/consumer/GROUP/lag answers, as far as the test reads it. */
const LagAnswer = z.object({
  error: z.literal(false),
  status: z.object({
    group: z.string(),
    partitions: z.array(
      z.object({
        topic: z.string(),
        partition: z.number(),
        // null for a partition the group has no offset for.
        end: z.object({ offset: z.number() }).nullable(),
        current_lag: z.number(),
      }),
    ),
    totallag: z.number(),
  }),
});

function kafka(bootstrap: string): Kafka {
  return new Kafka({
    clientId: 'burrow-test',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100 },
  });
}

/** Commits `offsets` (partition -> next offset to read) for `groupId` as an admin tool does. */
async function commitOffsets(bootstrap: string, groupId: string, offsets: Record<number, number>) {
  const admin = kafka(bootstrap).admin();
  await admin.connect();
  try {
    await admin.setOffsets({
      groupId,
      topic: TOPIC,
      partitions: Object.entries(offsets).map(([partition, offset]) => ({
        partition: Number(partition),
        offset: String(offset),
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

describe('Burrow (lag monitor) reads consumer lag from edgestream', { timeout: 300_000 }, () => {
  let broker: RunningBroker;
  let zookeeper: Ensemble;
  let burrow: Background;
  let httpPort: number;
  let dir: string;

  /** Burrow's lag of `group`: committed offset and lag per partition of the topic. */
  async function lagOf(group: string) {
    const response = await fetch(`http://127.0.0.1:${httpPort}/v3/kafka/${CLUSTER}/consumer/${group}/lag`);
    if (!response.ok) return null;
    const answer = LagAnswer.safeParse(await response.json());
    if (!answer.success) return null;
    const partitions = answer.data.status.partitions
      .filter((p) => p.topic === TOPIC)
      .sort((a, b) => a.partition - b.partition);
    return partitions.map((p) => ({ committed: p.end?.offset ?? null, lag: p.current_lag }));
  }

  /** Waits until Burrow shows `expected` for `group` (it refreshes offsets every second here). */
  async function burrowShows(group: string, expected: Array<{ committed: number | null; lag: number }>) {
    let last: unknown = null;
    await eventually(
      async () => {
        last = await lagOf(group);
        return JSON.stringify(last) === JSON.stringify(expected);
      },
      60_000,
      `Burrow to show ${JSON.stringify(expected)} for ${group}`,
    ).catch((error: unknown) => {
      throw new Error(
        `${String(error)}; last seen ${JSON.stringify(last)}; Burrow's log:\n${burrow.stdout.slice(-3000)}`,
      );
    });
  }

  before(async () => {
    assert.ok(fs.existsSync(BURROW), 'burrow is installed (scripts/debian-packages.json)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-burrow-'));
    zookeeper = await startZooKeeperEnsemble({ members: 1 });
    broker = await startBroker();
    await seedTopic(kafka(broker.bootstrap), TOPIC, 2, PER_PARTITION);
    [httpPort] = (await freePorts(1)) as [number];
    const servers = `[ "${broker.bootstrap}" ]`;
    fs.writeFileSync(
      path.join(dir, 'burrow.toml'),
      [
        '[general]',
        `pidfile="${path.join(dir, 'burrow.pid')}"`,
        '[logging]',
        'level="info"',
        '[zookeeper]',
        `servers=[ ${zookeeper.connectString
          .split(',')
          .map((s) => `"${s}"`)
          .join(', ')} ]`,
        'timeout=6',
        'root-path="/burrow"',
        '[client-profile.edge]',
        'client-id="burrow"',
        // The newest protocol version this Burrow's sarama knows.
        'kafka-version="2.0.0"',
        `[cluster.${CLUSTER}]`,
        'class-name="kafka"',
        `servers=${servers}`,
        'client-profile="edge"',
        'topic-refresh=5',
        'offset-refresh=1',
        `[consumer.${CLUSTER}]`,
        'class-name="kafka"',
        `cluster="${CLUSTER}"`,
        `servers=${servers}`,
        'client-profile="edge"',
        'start-latest=false',
        '[httpserver.default]',
        `address="127.0.0.1:${httpPort}"`,
        '[storage.default]',
        'class-name="inmemory"',
        'workers=4',
        'intervals=10',
        'min-distance=1',
        '',
      ].join('\n'),
    );
    burrow = new Background(BURROW, ['--config-dir', dir], 280_000);
  });

  after(async () => {
    await burrow?.stop('SIGKILL');
    await broker?.stop();
    await zookeeper?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shows committed offsets and lag as commits and new records arrive', async () => {
    await commitOffsets(broker.bootstrap, 'billing', { 0: 4, 1: PER_PARTITION });
    await burrowShows('billing', [
      { committed: 4, lag: PER_PARTITION - 4 },
      { committed: PER_PARTITION, lag: 0 },
    ]);

    // New records raise the lag (Burrow asks the broker for the partitions' end offsets).
    const producer = kafka(broker.bootstrap).producer();
    await producer.connect();
    await producer.send({
      topic: TOPIC,
      messages: Array.from({ length: 5 }, (_, i) => ({ partition: 1, value: `more-${i}` })),
    });
    await producer.disconnect();
    await burrowShows('billing', [
      { committed: 4, lag: PER_PARTITION - 4 },
      { committed: PER_PARTITION, lag: 5 },
    ]);

    // A later commit moves the offset Burrow shows.
    await commitOffsets(broker.bootstrap, 'billing', { 0: PER_PARTITION, 1: PER_PARTITION + 5 });
    await burrowShows('billing', [
      { committed: PER_PARTITION, lag: 0 },
      { committed: PER_PARTITION + 5, lag: 0 },
    ]);
  });

  it('shows offsets committed in a transaction, not those of an aborted one', async () => {
    const producer = kafka(broker.bootstrap).producer({
      transactionalId: 'burrow-txn',
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      let txn = await producer.transaction();
      await txn.sendOffsets({
        consumerGroupId: 'transactional',
        topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: '7' }] }],
      });
      await txn.commit();
      txn = await producer.transaction();
      await txn.sendOffsets({
        consumerGroupId: 'transactional',
        topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: '2' }] }],
      });
      await txn.abort();
    } finally {
      await producer.disconnect();
    }
    // A plain commit after both: Burrow reads past whatever the transactions left in the offsets topic.
    await commitOffsets(broker.bootstrap, 'after-transactions', { 0: 1, 1: 1 });
    await burrowShows('after-transactions', [
      { committed: 1, lag: PER_PARTITION - 1 },
      { committed: 1, lag: PER_PARTITION + 5 - 1 },
    ]);
    assert.deepEqual(await lagOf('transactional'), [
      { committed: 7, lag: PER_PARTITION - 7 },
      { committed: null, lag: 0 },
    ]);
  });
});
