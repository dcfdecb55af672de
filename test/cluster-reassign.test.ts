// A partition reassignment on four brokers and ZooKeeper, driven by kafkajs 2.2.4's admin
// (alterPartitionReassignments, listPartitionReassignments; the cancellation, a null replica list, which
// kafkajs cannot send, goes as our own request): [1,2,3] -> [1,2,4] with records produced before, during and
// after, the reassignment asked once broker 4's session is over, pending while 4 is down and surviving a
// controller failover, then completed once 4 has caught up; broker 3 deletes its copy; a second reassignment
// removes the leader, moving leadership to broker 4, and every acknowledged record is read from it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../src/broker/error-codes.js';
import {
  AlterPartitionReassignments,
  type AlterPartitionReassignmentsResponse,
} from '../src/protocol/apis/alter-partition-reassignments.js';
import { Metadata, type MetadataResponse } from '../src/protocol/apis/metadata.js';
import { BrokerCluster } from './support/broker-cluster.js';
import { eventually, until } from './support/processes.js';
import { WireClient } from './support/wire-client.js';

let cluster: BrokerCluster;

before(async () => {
  cluster = await BrokerCluster.start({ brokers: 4 });
});

after(async () => {
  await cluster?.stop();
});

const topic = 'moving';

async function partition0(admin: Admin) {
  return (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions[0]!;
}

/**
 * kafkajs 2.2.4's admin sends reassignments to the controller Metadata names, and retries only on
 * NOT_CONTROLLER: for a moment after a broker was killed a broker's Metadata may still name it (its view
 * follows ZooKeeper's), and the call fails (a connection error, or the broker not found). Tried again for
 * a while.
 */
async function retried<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof Error && error.name.startsWith('KafkaJS')) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** The pending reassignments as kafkajs 2.2.4 returns them (at run time: topics by `name`, `partition`). */
async function pending(admin: Admin): Promise<unknown[]> {
  const answer = await retried(() => admin.listPartitionReassignments({}));
  const listed: unknown = JSON.parse(JSON.stringify(answer.topics));
  assert.ok(Array.isArray(listed));
  return listed;
}

/** AlterPartitionReassignments of partition 0 as our own request (a null target cancels): its error code. */
async function reassign(port: number, replicas: number[] | null): Promise<number> {
  const client = await WireClient.connect(port);
  try {
    const response = (await client.request(AlterPartitionReassignments, 0, {
      timeoutMs: 10_000,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas }] }],
    })) as AlterPartitionReassignmentsResponse;
    return response.responses[0]!.partitions[0]!.errorCode;
  } finally {
    client.socket.destroy();
  }
}

/** The brokers the broker at `port` counts as live (Metadata v9: those registered in ZooKeeper now). */
async function liveBrokers(port: number): Promise<number[]> {
  const client = await WireClient.connect(port);
  try {
    const response = (await client.request(Metadata, 9, {
      topics: [],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    })) as MetadataResponse;
    return response.brokers.map((b) => b.nodeId).sort((a, b) => a - b);
  } finally {
    client.socket.destroy();
  }
}

test('[1,2,3] -> [1,2,4] -> [4,x]: pending while 4 is down, through a controller failover, every record on 4', async () => {
  const kafka = new Kafka({
    clientId: 'cluster-reassign-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }],
          configEntries: [{ name: 'min.insync.replicas', value: '2' }],
        },
      ],
    });
    await producer.connect();
    const acknowledged: string[] = [];
    let next = 0;
    const produce = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const value = `r${next++}`;
        await producer.send({ topic, acks: -1, messages: [{ partition: 0, value }] });
        acknowledged.push(value);
      }
    };
    await produce(50);

    // Broker 4 down, its session over (every broker counts it gone): the reassignment starts and waits for it.
    // A broker that never joined is refused.
    await cluster.kill(4);
    await eventually(
      async () => {
        const views = await Promise.all([1, 2, 3].map((id) => liveBrokers(cluster.broker(id).port)));
        return views.every((live) => live.join() === '1,2,3');
      },
      30_000,
      'every broker seeing broker 4 gone',
    );
    assert.equal(await reassign(cluster.broker(1).port, [1, 2, 9]), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    await retried(() =>
      admin.alterPartitionReassignments({
        topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [1, 2, 4] }] }],
      }),
    );
    assert.deepEqual(await pending(admin), [
      {
        name: topic,
        partitions: [{ partition: 0, replicas: [1, 2, 4, 3], addingReplicas: [4], removingReplicas: [3] }],
      },
    ]);
    // Cancelled, back to [1,2,3]; a second cancel finds nothing.
    assert.equal(await reassign(cluster.broker(1).port, null), ErrorCode.NONE);
    // kafkajs lists through the controller, whose view may take a moment to see broker 1's write.
    await eventually(async () => (await pending(admin)).length === 0, 10_000, 'the cancellation listed');
    await eventually(
      async () => (await partition0(admin)).replicas.join() === '1,2,3',
      10_000,
      'replicas [1,2,3]',
    );
    assert.equal(await reassign(cluster.broker(1).port, null), ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);

    await retried(() =>
      admin.alterPartitionReassignments({
        topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [1, 2, 4] }] }],
      }),
    );
    await produce(50);
    // The controller fails over with the reassignment pending: the new one finds it in ZooKeeper.
    const { controller } = await retried(() => admin.describeCluster());
    assert.ok(controller !== null && controller !== 4);
    await cluster.kill(controller);
    await produce(50);
    assert.equal((await pending(admin)).length, 1, 'still pending after the controller failover');

    await cluster.restart(4);
    await produce(50);
    await eventually(
      async () => (await pending(admin)).length === 0,
      60_000,
      'the reassignment completing once broker 4 caught up',
    );
    await cluster.restart(controller);
    // Metadata may come from a broker whose view is a moment behind the controller's.
    await eventually(
      async () => (await partition0(admin)).replicas.join() === '1,2,4',
      10_000,
      'replicas [1,2,4]',
    );
    const done = await partition0(admin);
    assert.deepEqual(done.replicas, [1, 2, 4]);
    assert.ok(!done.isr.includes(3), 'broker 3 left the ISR');
    await produce(50);

    // Broker 3 deleted its copy.
    await until(
      () => cluster.logs(3).includes('no longer a replica of the partition: its copy deleted'),
      30_000,
      'broker 3 deleting its copy',
    );
    const partitionDir = path.join(cluster.broker(3).dataDir, 'topics', topic, '0');
    const segments = fs
      .readdirSync(partitionDir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => fs.statSync(path.join(partitionDir, f)).size);
    assert.deepEqual(segments, [0]);

    // A second reassignment removes the leader: leadership moves to broker 4, first in the target, at a new
    // epoch, and the old leader deletes its copy. Every acknowledged record is then read from broker 4.
    await eventually(async () => (await partition0(admin)).isr.length === 3, 30_000, 'ISR [1,2,4]');
    const oldLeader = (await partition0(admin)).leader;
    assert.ok(oldLeader === 1 || oldLeader === 2, `leader ${oldLeader} is 1 or 2`);
    const kept = oldLeader === 1 ? 2 : 1;
    await retried(() =>
      admin.alterPartitionReassignments({
        topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [4, kept] }] }],
      }),
    );
    await produce(50);
    await eventually(async () => (await pending(admin)).length === 0, 30_000, 'the second reassignment');
    await eventually(async () => (await partition0(admin)).leader === 4, 10_000, 'broker 4 leading');
    const moved = await partition0(admin);
    assert.deepEqual([moved.replicas, moved.leader], [[4, kept], 4]);
    await until(
      () => cluster.logs(oldLeader).includes('no longer a replica of the partition: its copy deleted'),
      30_000,
      `broker ${oldLeader} deleting its copy`,
    );
    await produce(50);
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'reassign-reader' });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await until(
      () => seen.length >= acknowledged.length,
      30_000,
      `${acknowledged.length} records from broker 4`,
    );
    await consumer.disconnect();
    assert.deepEqual(seen, acknowledged);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect();
  }
});
