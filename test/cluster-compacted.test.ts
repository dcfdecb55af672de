import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { batchDefect } from '../src/log/batch-validation.js';
import { decodeRecords, readBatchHeader, splitBatches } from '../src/protocol/index.js';
import { BrokerCluster } from './support/broker-cluster.js';
import { eventually, until } from './support/processes.js';

/**
 * Replication of a compacted topic (cleanup.policy=compact, as the streams runtime's changelogs): once the
 * leader's cleaner has removed batches, its log has offset gaps, and followers copy them as they are, as
 * Kafka's do: they stay in the ISR, and a follower started from nothing catches up and rejoins.
 */

const TOPIC = 'compacted-changelog';
/** Small segments, so the cleaner (which leaves the active segment alone) has sealed ones to clean. */
const SEGMENT_BYTES = 2048;
const KEYS = 20;
const ROUNDS = 15;
/** The broker's cleaner runs with its retention check, every 60 s (log.retention.check.interval.ms). */
const CLEANER_WAIT_MS = 100_000;

let cluster: BrokerCluster;

before(async () => {
  cluster = await BrokerCluster.start();
});

after(async () => {
  await cluster?.stop();
});

function kafka() {
  return new Kafka({
    clientId: 'cluster-compacted-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });
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

/** Every batch of the replica's log, back to back: equal on two replicas that hold the same batches. */
function logBytes(brokerId: number): Buffer {
  return Buffer.concat(segmentFiles(brokerId).map((file) => fs.readFileSync(file)));
}

interface Batch {
  base: number;
  last: number;
  bytes: Buffer;
}

/** The replica's batches in order, each checked whole (framing, CRC-32C) and after the previous one. */
function validBatches(brokerId: number): Batch[] {
  const batches: Batch[] = [];
  for (const file of segmentFiles(brokerId)) {
    const content = fs.readFileSync(file);
    for (const bytes of splitBatches(content)) {
      assert.equal(batchDefect(bytes, 0, bytes.length, content.length), null, `a batch of ${file}`);
      const header = readBatchHeader(bytes);
      const batch = { base: header.baseOffset, last: header.baseOffset + header.lastOffsetDelta, bytes };
      const previous = batches.at(-1);
      if (previous)
        assert.ok(batch.base > previous.last, `${file}: batch at ${batch.base} after ${previous.last}`);
      batches.push(batch);
    }
  }
  return batches;
}

/** Whether compaction left a hole: a batch starting past where the previous one ended. */
function hasGaps(batches: readonly Batch[]): boolean {
  return batches.some((batch, i) => batch.base > (i === 0 ? 0 : batches[i - 1]!.last + 1));
}

/** The newest value of each key in a replica's log. */
function latestValues(brokerId: number): Map<string, string> {
  const latest = new Map<string, string>();
  for (const batch of validBatches(brokerId)) {
    for (const record of decodeRecords(batch.bytes))
      latest.set(record.key!.toString(), record.value!.toString());
  }
  return latest;
}

/** `compacted log` lines of one broker for this topic that removed something. */
function compactions(brokerId: number): number {
  return cluster
    .logs(brokerId)
    .split('\n')
    .filter((line) => line.includes('"msg":"compacted log"') && line.includes(`${TOPIC}`))
    .map((line) => JSON.parse(line) as { recordsRemoved?: number })
    .filter((line) => (line.recordsRemoved ?? 0) > 0).length;
}

test('followers copy a compacted leader with its offset gaps, stay in the ISR, and one started empty catches up', async (t) => {
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
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'segment.bytes', value: String(SEGMENT_BYTES) },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
          { name: 'min.compaction.lag.ms', value: '0' },
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
  const expected = new Map<string, string>();
  const produceRounds = async (from: number, to: number) => {
    for (let round = from; round < to; round++) {
      const messages = Array.from({ length: KEYS }, (_, k) => ({
        partition: 0,
        key: `key-${String(k).padStart(2, '0')}`,
        value: `r${round}-${'v'.repeat(60)}`,
      }));
      // A few records a batch, so that compaction removes whole batches and leaves gaps between others.
      for (let i = 0; i < messages.length; i += 4) {
        await producer.send({ topic: TOPIC, acks: -1, messages: messages.slice(i, i + 4) });
      }
      for (const m of messages) expected.set(m.key, m.value);
    }
  };
  await produceRounds(0, ROUNDS);
  await eventually(async () => (await partition()).isr.length === 3, 20_000, 'every replica in sync');
  const { leader } = await partition();
  const [restarted, other] = [1, 2, 3].filter((id) => id !== leader) as [number, number];

  // The leader's cleaner runs and leaves offset gaps; the followers keep fetching from it.
  await until(() => compactions(leader) > 0, CLEANER_WAIT_MS, 'the leader to compact the topic');
  assert.ok(hasGaps(validBatches(leader)), 'compaction left offset gaps in the leader log');
  await produceRounds(ROUNDS, 2 * ROUNDS);
  const compactedBefore = compactions(leader);
  await until(() => compactions(leader) > compactedBefore, CLEANER_WAIT_MS, 'the leader to compact again');
  assert.equal((await partition()).isr.length, 3, 'the followers stayed in the ISR');

  // A follower that lost its copy starts from nothing and fetches the compacted leader's log.
  await cluster.kill(restarted);
  await eventually(
    async () => !(await partition()).isr.includes(restarted),
    20_000,
    'the killed broker to leave the ISR',
  );
  fs.rmSync(partitionDir(restarted), { recursive: true, force: true });
  const leaderBytes = logBytes(leader);
  await cluster.restart(restarted);
  await eventually(
    async () => (await partition()).isr.includes(restarted),
    30_000,
    `the emptied follower to rejoin the ISR (log: ${cluster.logs(restarted).slice(-2000)})`,
  );
  const copied = validBatches(restarted);
  assert.ok(hasGaps(copied), 'the follower holds the offset gaps of its leader');
  if (logBytes(leader).equals(leaderBytes) && compactions(restarted) === 0) {
    // Neither cleaner changed anything since: the copy is the leader's batches byte for byte.
    assert.ok(logBytes(restarted).equals(leaderBytes), 'the follower holds exactly the leader batches');
    t.diagnostic(`the restarted follower holds the leader's ${leaderBytes.length} bytes exactly`);
  } else {
    t.diagnostic('a cleaner ran after the restart: byte equality not checked');
  }

  // More writes go to all three; every replica keeps valid batches and the newest value of every key.
  await produceRounds(2 * ROUNDS, 2 * ROUNDS + 2);
  await producer.disconnect();
  const end = validBatches(leader).at(-1)!.last + 1;
  await until(
    () => [restarted, other].every((id) => (validBatches(id).at(-1)?.last ?? -1) + 1 === end),
    20_000,
    'the followers to reach the leader log end',
  );
  for (const id of [1, 2, 3]) assert.deepEqual(latestValues(id), expected, `newest values on broker ${id}`);
  const partitionNow = await partition();
  assert.equal(partitionNow.isr.length, 3);
  assert.equal(partitionNow.leader, leader);
  for (const id of [1, 2, 3]) {
    assert.ok(
      !cluster.logs(id).includes('replicated batch starts at offset'),
      `broker ${id} refused no batch`,
    );
  }

  // A consumer from the beginning ends with the newest value of every key.
  const consumer = client.consumer({ groupId: 'compacted-reader' });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const seen = new Map<string, string>();
  let lastOffset = -1;
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.set(message.key!.toString(), message.value!.toString());
      lastOffset = Number(message.offset);
    },
  });
  await until(() => lastOffset + 1 === end, 30_000, 'the consumer to read to the log end');
  await consumer.disconnect();
  assert.deepEqual(seen, expected);
  await admin.disconnect();
});
