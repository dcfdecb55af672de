// The cluster admin APIs' single-node answers through real clients and the CLI: @platformatic/kafka 1.35's
// describeClusterV1 and describeProducersV0 requests, kafkajs 2.2.4's admin (alterPartitionReassignments,
// listPartitionReassignments; its describeCluster reads Metadata, so it is only compared), and
// `edgestream cluster elect-leaders|reassign`. confluent-kafka 1.7.0's AdminClient has none of these calls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describeClusterV1, describeProducersV0 } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../src/broker/error-codes.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { withPlatformaticConnection } from './support/platformatic-connection.js';
import { run } from './support/processes.js';

const bin = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));

describe('cluster admin APIs on a single node', { timeout: 120_000 }, () => {
  let broker: RunningBroker;
  let kafka: Kafka;
  const edgestream = (args: string[]) =>
    run(process.execPath, [bin, 'cluster', ...args, '--brokers', broker.bootstrap], { timeoutMs: 30_000 });

  before(async () => {
    broker = await startBroker({ nodeId: 5 });
    kafka = new Kafka({
      clientId: 'single-admin-test',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'meters', numPartitions: 2 }] });
    await admin.disconnect();
  });
  after(async () => {
    await broker?.stop();
  });

  it('DescribeCluster (platformatic) names the node as broker and controller, as kafkajs reads Metadata', async () => {
    const described = await withPlatformaticConnection(broker.bootstrap, (c) =>
      describeClusterV1.api.async(c, false, 1),
    );
    assert.deepEqual(described.brokers, [{ brokerId: 5, host: '127.0.0.1', port: broker.port, rack: null }]);
    assert.equal(described.controllerId, 5);
    const admin = kafka.admin();
    await admin.connect();
    const viaMetadata = await admin.describeCluster();
    await admin.disconnect();
    assert.equal(viaMetadata.clusterId, described.clusterId);
  });

  it('DescribeProducers (platformatic) lists an idempotent kafkajs producer', async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < 3; i++)
      await producer.send({ topic: 'meters', messages: [{ partition: 1, value: `m${i}` }] });
    await producer.disconnect();
    const answer = await withPlatformaticConnection(broker.bootstrap, (c) =>
      describeProducersV0.api.async(c, [{ name: 'meters', partitionIndexes: [1] }]),
    );
    const partition = answer.topics[0]!.partitions[0]!;
    assert.equal(partition.errorCode, ErrorCode.NONE);
    assert.equal(partition.activeProducers.length, 1);
    assert.equal(partition.activeProducers[0]!.lastSequence, 2);
    assert.equal(partition.activeProducers[0]!.currentTxnStartOffset, -1n);
  });

  it('kafkajs reassignments: [this broker] accepted, another refused, none listed', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.alterPartitionReassignments({
        topics: [{ topic: 'meters', partitionAssignment: [{ partition: 0, replicas: [5] }] }],
      });
      await assert.rejects(
        admin.alterPartitionReassignments({
          topics: [{ topic: 'meters', partitionAssignment: [{ partition: 0, replicas: [5, 6] }] }],
        }),
        (error: Error) =>
          /INVALID_REPLICA_ASSIGNMENT|replica assignment/i.test(`${error.message} ${JSON.stringify(error)}`),
      );
      assert.deepEqual((await admin.listPartitionReassignments({})).topics, []);
    } finally {
      await admin.disconnect();
    }
  });

  it('the CLI: elect-leaders and reassign', async () => {
    const elect = await edgestream(['elect-leaders']);
    assert.equal(elect.status, 0, elect.stderr);
    assert.match(elect.stdout, /meters\s+0\s+ELECTION_NOT_NEEDED/);
    assert.match(elect.stdout, /meters\s+1\s+ELECTION_NOT_NEEDED/);
    const unknown = await edgestream(['elect-leaders', '--topic', 'nope', '--partition', '0', '--unclean']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stdout, /UNKNOWN_TOPIC_OR_PARTITION/);
    const same = await edgestream(['reassign', 'meters', '0', '5']);
    assert.equal(same.status, 0, same.stderr);
    const other = await edgestream(['reassign', 'meters', '0', '5,6']);
    assert.equal(other.status, 1);
    assert.match(other.stderr, /INVALID_REPLICA_ASSIGNMENT/);
    const cancel = await edgestream(['reassign', 'meters', '0', '--cancel']);
    assert.equal(cancel.status, 1);
    assert.match(cancel.stderr, /NO_REASSIGNMENT_IN_PROGRESS/);
    const list = await edgestream(['reassign', '--list']);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /no reassignment in progress/);
    const usage = await edgestream(['reassign', 'meters']);
    assert.equal(usage.status, 2);
  });
});
