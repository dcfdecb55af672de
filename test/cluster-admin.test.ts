// The cluster's admin APIs on three brokers and ZooKeeper: DescribeCluster read with @platformatic/kafka
// (its describeClusterV1 request; kafkajs 2.2.4's admin.describeCluster reads Metadata instead, and
// confluent-kafka 1.7.0's AdminClient has no describe_cluster), DescribeProducers on a partition's new
// leader after a failover, and a preferred leader election (ElectLeaders: neither kafkajs 2.2.4 nor
// @platformatic/kafka 1.35 nor confluent-kafka 1.7.0 sends it, so our own request over a socket) that puts
// leadership back on the restarted first replica through the controller.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { describeClusterV1, describeProducersV0 } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../src/broker/error-codes.js';
import { ElectLeaders, type ElectLeadersResponse } from '../src/protocol/apis/elect-leaders.js';
import { Metadata, type MetadataResponse } from '../src/protocol/apis/metadata.js';
import { BrokerCluster, createReplicatedTopic } from './support/broker-cluster.js';
import { withPlatformaticConnection } from './support/platformatic-connection.js';
import { eventually, until } from './support/processes.js';
import { WireClient } from './support/wire-client.js';

let cluster: BrokerCluster;

before(async () => {
  // No periodic preferred-leader restoration during the test: the election asked for must be the one.
  cluster = await BrokerCluster.start({ extraArgs: ['--leader-imbalance-check-interval-ms', '600000'] });
});

after(async () => {
  await cluster?.stop();
});

async function elect(port: number, electionType: number, topic: string, partitions: number[]) {
  const client = await WireClient.connect(port);
  try {
    const response = (await client.request(
      ElectLeaders,
      2,
      { electionType, topicPartitions: [{ topic, partitions }], timeoutMs: 20_000 },
      { timeoutMs: 30_000 },
    )) as ElectLeadersResponse;
    return response;
  } finally {
    client.socket.destroy();
  }
}

/** Partition 0's leader, leader epoch and ISR, as the broker at `port` tells them in Metadata v9. */
async function leadership(
  port: number,
  topic: string,
): Promise<{ leader: number; leaderEpoch: number; isr: number[] }> {
  const client = await WireClient.connect(port);
  try {
    const response = (await client.request(Metadata, 9, {
      topics: [{ name: topic, topicId: Buffer.alloc(16) }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    })) as MetadataResponse;
    const partition = response.topics[0]!.partitions[0]!;
    return { leader: partition.leaderId, leaderEpoch: partition.leaderEpoch ?? -1, isr: partition.isrNodes };
  } finally {
    client.socket.destroy();
  }
}

test('DescribeCluster, DescribeProducers after a failover, and ElectLeaders putting the preferred leader back', async () => {
  const kafka = new Kafka({
    clientId: 'cluster-admin-test',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topic = 'elections';
    await createReplicatedTopic(admin, topic, 1);
    const partition0 = async () =>
      (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions[0]!;

    const described = await withPlatformaticConnection(`127.0.0.1:${cluster.brokers[1]!.port}`, (c) =>
      describeClusterV1.api.async(c, false, 1),
    );
    assert.equal(described.errorCode, ErrorCode.NONE);
    assert.deepEqual(
      described.brokers.map((b) => [b.brokerId, b.port]).sort((a, b) => a[0]! - b[0]!),
      cluster.brokers.map((b) => [b.id, b.advertisedPort]),
    );
    const { controller } = await admin.describeCluster();
    assert.equal(described.controllerId, controller);

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < 5; i++)
      await producer.send({ topic, acks: -1, messages: [{ partition: 0, value: `v${i}` }] });
    await producer.disconnect();

    const before = await partition0();
    const preferred = before.replicas[0]!;
    assert.equal(before.leader, preferred, 'the first replica leads a new partition');
    await cluster.kill(preferred);
    await eventually(
      async () => {
        const now = await partition0();
        return now.leader >= 0 && now.leader !== preferred;
      },
      20_000,
      'a new leader after the preferred one was killed',
    );
    const failedOver = (await partition0()).leader;

    // The new leader rebuilt the producer's state from its replica: 5 batches of one record, sequences 0..4.
    const producers = await withPlatformaticConnection(`127.0.0.1:${cluster.broker(failedOver).port}`, (c) =>
      describeProducersV0.api.async(c, [{ name: topic, partitionIndexes: [0] }]),
    );
    const state = producers.topics[0]!.partitions[0]!;
    assert.equal(state.errorCode, ErrorCode.NONE);
    assert.equal(state.activeProducers.length, 1);
    assert.equal(state.activeProducers[0]!.lastSequence, 4);
    assert.ok(Number(state.activeProducers[0]!.lastTimestamp) > 0);
    const notLeader = cluster.brokers.find((b) => b.id !== failedOver && b.id !== preferred)!;
    const refused = await withPlatformaticConnection(`127.0.0.1:${notLeader.port}`, (c) =>
      describeProducersV0.api
        .async(c, [{ name: topic, partitionIndexes: [0] }])
        .catch((error: { response?: typeof producers }) => {
          if (error.response) return error.response;
          throw error;
        }),
    );
    assert.equal(refused.topics[0]!.partitions[0]!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);

    // While the preferred replica is down it cannot be elected (asked once the broker knows of the failover).
    await eventually(
      async () => (await leadership(notLeader.port, topic)).leader === failedOver,
      10_000,
      'the broker asked seeing the failover',
    );
    const unavailable = await elect(notLeader.port, 0, topic, [0]);
    assert.equal(
      unavailable.replicaElectionResults[0]!.partitionResult[0]!.errorCode,
      ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
    );

    await cluster.restart(preferred);
    await eventually(
      async () => (await partition0()).isr.length === 3,
      30_000,
      'the restarted broker back in the ISR',
    );
    assert.equal((await partition0()).leader, failedOver, 'leadership stays where it moved until asked');

    // The broker asked decides from its own view, which follows ZooKeeper's a moment later.
    await eventually(
      async () => (await leadership(notLeader.port, topic)).isr.length === 3,
      10_000,
      'the broker asked seeing the ISR of three',
    );
    const epochBefore = (await leadership(notLeader.port, topic)).leaderEpoch;
    const elected = await elect(notLeader.port, 0, topic, [0, 7]);
    assert.equal(elected.errorCode, ErrorCode.NONE);
    assert.deepEqual(
      elected.replicaElectionResults[0]!.partitionResult.map((p) => [p.partitionId, p.errorCode]),
      [
        [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        [0, ErrorCode.NONE],
      ],
    );
    // Once the broker asked knows it too (its view follows ZooKeeper's a moment later), the next
    // election is not needed.
    await eventually(
      async () => (await leadership(notLeader.port, topic)).leader === preferred,
      10_000,
      'metadata naming the preferred leader',
    );
    assert.ok(
      (await leadership(notLeader.port, topic)).leaderEpoch > epochBefore,
      'the election moved the leader epoch on',
    );

    const again = await elect(notLeader.port, 0, topic, [0]);
    assert.equal(
      again.replicaElectionResults[0]!.partitionResult[0]!.errorCode,
      ErrorCode.ELECTION_NOT_NEEDED,
    );
    const unclean = await elect(notLeader.port, 1, topic, [0]);
    assert.equal(
      unclean.replicaElectionResults[0]!.partitionResult[0]!.errorCode,
      ErrorCode.ELECTION_NOT_NEEDED,
    );

    // Every record written before the failover is still there, read from the preferred leader.
    const consumer = kafka.consumer({ groupId: 'cluster-admin-reader' });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await until(() => seen.length >= 5, 20_000, 'the 5 records read back');
    await consumer.disconnect();
    assert.deepEqual(seen, ['v0', 'v1', 'v2', 'v3', 'v4']);
  } finally {
    await admin.disconnect();
  }
});
