import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { offsetsPartitionOf } from '../src/broker/group-router.js';
import { DeleteGroups } from '../src/protocol/apis/delete-groups.js';
import { OffsetDelete } from '../src/protocol/apis/offset-delete.js';
import { ErrorCode } from '../src/protocol/index.js';
import { BrokerCluster, createReplicatedTopic } from './support/broker-cluster.js';
import { readOffsetsTopic } from './support/offsets-topic-decoder.js';
import { until } from './support/processes.js';
import { WireClient } from './support/wire-client.js';

const { NOT_COORDINATOR } = ErrorCode;

let cluster: BrokerCluster;

before(async () => {
  cluster = await BrokerCluster.start();
});

after(async () => {
  await cluster?.stop();
});

function kafka() {
  return new Kafka({
    clientId: 'cluster-failover-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

test('three brokers: acks=all records survive the loss of a partition leader, and the broker rejoins', async () => {
  const client = kafka();
  const admin = client.admin();
  await admin.connect();
  const topic = 'failover';
  await createReplicatedTopic(admin, topic, 3);
  const metadata = async () => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions;
  for (const p of await metadata()) assert.equal(p.replicas.length, 3);

  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const acknowledged: string[] = [];
  // One partition per send: kafkajs 2.2.4 can drop a send's records for a partition whose new leader already
  // answered for another partition of the same send (it keeps answers per broker across retries).
  const send = async (from: number, count: number) => {
    for (let i = from; i < from + count; i += 10) {
      const messages = Array.from({ length: 10 }, (_, j) => ({
        partition: (i / 10) % 3,
        value: `v-${i + j}`,
      }));
      await producer.send({ topic, acks: -1, messages });
      acknowledged.push(...messages.map((m) => m.value));
    }
  };
  await send(0, 200);
  const leader = (await metadata()).find((p) => p.partitionId === 0)!.leader;
  await cluster.kill(leader);
  await send(200, 200);
  const after = await metadata();
  assert.notEqual(after.find((p) => p.partitionId === 0)!.leader, leader, 'partition 0 has a new leader');

  await cluster.restart(leader);
  const deadline = Date.now() + 30_000;
  while (!(await metadata()).every((p) => p.isr.length === 3)) {
    assert.ok(Date.now() < deadline, 'the restarted broker rejoins every ISR');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await send(400, 100);
  await producer.disconnect();

  const consumer = client.consumer({ groupId: 'failover-reader' });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  const positions: string[] = [];
  const perPartition = new Map<number, number[]>();
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.push(message.value!.toString());
      positions.push(`${partition}@${message.offset}=${message.value!.toString()}`);
      perPartition.set(partition, [...(perPartition.get(partition) ?? []), Number(message.offset)]);
    },
  });
  await until(
    () => seen.length >= acknowledged.length,
    60_000,
    `all ${acknowledged.length} records (have ${seen.length})`,
  );
  await consumer.disconnect();
  await admin.disconnect();
  assert.equal(new Set(seen).size, seen.length, `no record twice: ${JSON.stringify(positions)}`);
  assert.deepEqual(new Set(seen), new Set(acknowledged));
  for (const offsets of perPartition.values()) {
    assert.deepEqual(
      offsets,
      [...offsets].sort((a, b) => a - b),
      'offsets in order',
    );
  }
});

test('the group coordinator fails over: the consumer goes on and committed offsets never go back', async () => {
  const client = kafka();
  const admin = client.admin();
  await admin.connect();
  const topic = 'coordinated';
  const groupId = 'coordinated-reader';
  await createReplicatedTopic(admin, topic, 2);
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const send = async (from: number, count: number) => {
    for (let i = from; i < from + count; i += 20) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 20 }, (_, j) => ({ partition: (i / 20) % 2, value: `v-${i + j}` })),
      });
    }
  };
  await send(0, 300);
  const consumer = client.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Set<string>();
  await consumer.run({
    autoCommitInterval: 100,
    eachMessage: async ({ message }) => {
      seen.add(message.value!.toString());
    },
  });
  const committed: number[][] = [];
  const sample = async () => {
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    committed.push(
      offsets[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset)),
    );
  };
  await until(() => seen.size >= 150, 60_000, 'the consumer to read half');
  await sample();
  const offsetsTopic = (await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] })).topics[0]!;
  const coordinatorPartition = offsetsPartitionOf(groupId, offsetsTopic.partitions.length);
  const coordinator = offsetsTopic.partitions.find((p) => p.partitionId === coordinatorPartition)!.leader;
  await cluster.kill(coordinator);
  await send(300, 300);
  const deadline = Date.now() + 90_000;
  while (seen.size < 600) {
    assert.ok(
      Date.now() < deadline,
      `the consumer reads everything after the coordinator moved (${seen.size}/600)`,
    );
    await sample().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await consumer.disconnect();
  await sample();
  await producer.disconnect();
  for (let i = 1; i < committed.length; i++) {
    for (const [p, offset] of committed[i]!.entries()) {
      const before = committed[i - 1]![p]!;
      assert.ok(offset >= before, `partition ${p}: committed ${before} then ${offset}`);
    }
  }
  assert.equal(
    committed.at(-1)!.reduce((a, b) => a + b, 0),
    600,
    'every record committed',
  );
  // The new coordinator replayed Kafka-format records and writes them: a plain reader of the topic decodes
  // the group's latest commits, and they are what the group has committed.
  const latest = new Map<number, number>();
  for (const r of await readOffsetsTopic(cluster.bootstrap)) {
    if (r.kind === 'offset' && r.group === groupId && r.topic === topic && r.value)
      latest.set(r.partition, r.value.offset);
  }
  assert.deepEqual([latest.get(0), latest.get(1)], committed.at(-1));
  await admin.disconnect();
  await cluster.restart(coordinator);
});

test('group admin on a cluster: the coordinator deletes offsets and groups, the other brokers answer NOT_COORDINATOR', async () => {
  const admin = kafka().admin();
  await admin.connect();
  const topic = 'administered';
  const groupId = 'administered-group';
  await createReplicatedTopic(admin, topic, 2);
  // A standalone commit (no members) through kafkajs, which finds the coordinator itself.
  await admin.setOffsets({
    groupId,
    topic,
    partitions: [
      { partition: 0, offset: '0' },
      { partition: 1, offset: '0' },
    ],
  });
  const offsetsTopic = (await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] })).topics[0]!;
  const partition = offsetsPartitionOf(groupId, offsetsTopic.partitions.length);
  const coordinator = offsetsTopic.partitions.find((p) => p.partitionId === partition)!.leader;
  const ask = async (brokerId: number) => {
    const wire = await WireClient.connect(cluster.brokers.find((b) => b.id === brokerId)!.port);
    try {
      const offsetDelete = await wire.request(OffsetDelete, 0, {
        groupId,
        topics: [{ name: topic, partitions: [{ partitionIndex: 1 }] }],
      });
      const deleteGroups = await wire.request(DeleteGroups, 2, { groupsNames: [groupId] });
      return { offsetDelete, deleteGroups };
    } finally {
      await wire.close();
    }
  };
  for (const other of cluster.brokers.filter((b) => b.id !== coordinator)) {
    assert.deepEqual(await ask(other.id), {
      offsetDelete: { errorCode: NOT_COORDINATOR, throttleTimeMs: 0, topics: [] },
      deleteGroups: { throttleTimeMs: 0, results: [{ groupId, errorCode: NOT_COORDINATOR }] },
    });
  }
  const [before] = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.deepEqual(before!.partitions.map((p) => p.offset).sort(), ['0', '0'], 'nothing deleted elsewhere');
  const answered = await ask(coordinator);
  assert.equal(answered.offsetDelete.errorCode, 0);
  assert.deepEqual(answered.deleteGroups, { throttleTimeMs: 0, results: [{ groupId, errorCode: 0 }] });
  const [after] = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.deepEqual(
    after!.partitions.map((p) => p.offset),
    ['-1', '-1'],
  );
  await admin.disconnect();
});
