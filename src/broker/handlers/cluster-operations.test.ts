import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { callHandler, requestContext } from '../../../test/support/handler-call.js';
import { RecordingLogger, temporaryDirectory } from '../../../test/support/log-fixtures.js';
import { LogManager } from '../../log/index.js';
import { AlterPartitionReassignments } from '../../protocol/apis/alter-partition-reassignments.js';
import { DescribeCluster } from '../../protocol/apis/describe-cluster.js';
import { DescribeProducers } from '../../protocol/apis/describe-producers.js';
import { ElectLeaders } from '../../protocol/apis/elect-leaders.js';
import { ListPartitionReassignments } from '../../protocol/apis/list-partition-reassignments.js';
import { encodeRecordBatch } from '../../protocol/index.js';
import {
  AclAuthorizer,
  AclOperation,
  AclPermissionType,
  AclStore,
  FileAclStorage,
  PatternType,
  ResourceType,
} from '../../security/index.js';
import { Access } from '../access.js';
import { ErrorCode } from '../error-codes.js';
import { BrokerMetrics } from '../metrics.js';
import { TopicCatalog } from '../topic-catalog.js';
import { clusterOperationHandlers } from './cluster-operations.js';

const identity = {
  nodeId: 7,
  endpoints: new Map([
    ['PLAINTEXT', { host: 'edge-a', port: 9092 }],
    ['SSL', { host: 'edge-a', port: 9093 }],
  ]),
  clusterId: 'site-1',
};

/** A single node with topic 'orders' (2 partitions), its handlers under `access`. */
function singleNode(dir: string, access: Access) {
  const logs = LogManager.open({ dataDir: dir, logger: new RecordingLogger() });
  logs.createTopic('orders', 2);
  const topics = new TopicCatalog(logs, {
    autoCreateTopics: false,
    defaultPartitions: 1,
    logger: pino({ level: 'silent' }),
  });
  return { logs, handlers: clusterOperationHandlers({ topics, cluster: null, identity, access }) };
}

/** Access where User:alice may only DESCRIBE the cluster. */
async function describeOnly(dir: string): Promise<Access> {
  const store = await AclStore.open(new FileAclStorage(dir), { maxAcls: 10 });
  await store.create([
    {
      resourceType: ResourceType.CLUSTER,
      resourceName: 'kafka-cluster',
      patternType: PatternType.LITERAL,
      principal: 'User:alice',
      host: '*',
      operation: AclOperation.DESCRIBE,
      permissionType: AclPermissionType.ALLOW,
    },
  ]);
  const authorizer = new AclAuthorizer(store, { superUsers: [], allowEveryoneIfNoAclFound: false });
  return Access.enforced(authorizer, new BrokerMetrics(), pino({ level: 'silent' }));
}

describe('cluster admin APIs on a single node', () => {
  it('DescribeCluster names this broker as the only broker and the controller; v1 refuses controllers', async () => {
    using tmp = temporaryDirectory();
    const { logs, handlers } = singleNode(tmp.dir, Access.OPEN);
    try {
      const v0 = await callHandler(
        handlers,
        DescribeCluster,
        { includeClusterAuthorizedOperations: true },
        requestContext(0),
      );
      assert.equal(v0.errorCode, ErrorCode.NONE);
      assert.equal(v0.clusterId, 'site-1');
      assert.equal(v0.controllerId, 7);
      assert.deepEqual(v0.brokers, [{ brokerId: 7, host: 'edge-a', port: 9092, rack: null }]);
      // Without an authorizer every cluster operation is allowed.
      assert.equal(v0.clusterAuthorizedOperations & (1 << AclOperation.ALTER), 1 << AclOperation.ALTER);
      const controllers = await callHandler(
        handlers,
        DescribeCluster,
        { includeClusterAuthorizedOperations: false, endpointType: 2 },
        requestContext(1),
      );
      assert.equal(controllers.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
      assert.equal(controllers.endpointType, 2);
    } finally {
      await logs.close();
    }
  });

  it('ElectLeaders: ELECTION_NOT_NEEDED for every partition, unknown ones named', async () => {
    using tmp = temporaryDirectory();
    const { logs, handlers } = singleNode(tmp.dir, Access.OPEN);
    try {
      const all = await callHandler(
        handlers,
        ElectLeaders,
        { electionType: 0, topicPartitions: null, timeoutMs: 1000 },
        requestContext(2),
      );
      assert.equal(all.errorCode, ErrorCode.NONE);
      assert.deepEqual(
        all.replicaElectionResults.map((t) => [t.topic, t.partitionResult.map((p) => p.errorCode)]),
        [['orders', [ErrorCode.ELECTION_NOT_NEEDED, ErrorCode.ELECTION_NOT_NEEDED]]],
      );
      const named = await callHandler(
        handlers,
        ElectLeaders,
        {
          electionType: 1,
          topicPartitions: [
            { topic: 'orders', partitions: [1, 2] },
            { topic: 'nope', partitions: [0] },
          ],
          timeoutMs: 1000,
        },
        requestContext(1),
      );
      assert.deepEqual(
        named.replicaElectionResults.map((t) => [t.topic, t.partitionResult.map((p) => p.errorCode)]),
        [
          ['orders', [ErrorCode.ELECTION_NOT_NEEDED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
          ['nope', [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
        ],
      );
    } finally {
      await logs.close();
    }
  });

  it('reassignments: only [this broker] is valid, nothing to cancel or list', async () => {
    using tmp = temporaryDirectory();
    const { logs, handlers } = singleNode(tmp.dir, Access.OPEN);
    try {
      const answer = await callHandler(
        handlers,
        AlterPartitionReassignments,
        {
          timeoutMs: 1000,
          topics: [
            {
              name: 'orders',
              partitions: [
                { partitionIndex: 0, replicas: [7] },
                { partitionIndex: 1, replicas: [7, 8] },
                { partitionIndex: 0, replicas: null },
                { partitionIndex: 5, replicas: [7] },
              ],
            },
          ],
        },
        requestContext(0),
      );
      assert.deepEqual(
        answer.responses[0]!.partitions.map((p) => p.errorCode),
        [
          ErrorCode.NONE,
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ],
      );
      const listed = await callHandler(
        handlers,
        ListPartitionReassignments,
        { timeoutMs: 1000, topics: null },
        requestContext(0),
      );
      assert.equal(listed.errorCode, ErrorCode.NONE);
      assert.deepEqual(listed.topics, []);
    } finally {
      await logs.close();
    }
  });

  it('DescribeProducers: the idempotent producers of the log, unknown partitions named', async () => {
    using tmp = temporaryDirectory();
    const { logs, handlers } = singleNode(tmp.dir, Access.OPEN);
    try {
      const log = logs.partition('orders', 1);
      const records = [{ key: null, value: Buffer.from('a'), timestamp: 1_700_000_000_123 }];
      log.write(encodeRecordBatch(records, { producerId: 42, producerEpoch: 3, baseSequence: 0 }));
      log.write(
        encodeRecordBatch([...records, ...records], { producerId: 42, producerEpoch: 3, baseSequence: 1 }),
      );
      log.write(encodeRecordBatch(records));
      const answer = await callHandler(
        handlers,
        DescribeProducers,
        { topics: [{ name: 'orders', partitionIndexes: [1, 0, 9] }] },
        requestContext(0),
      );
      const [one, zero, nine] = answer.topics[0]!.partitions;
      assert.equal(one!.errorCode, ErrorCode.NONE);
      assert.deepEqual(one!.activeProducers, [
        {
          producerId: 42,
          producerEpoch: 3,
          lastSequence: 2,
          lastTimestamp: 1_700_000_000_123,
          coordinatorEpoch: -1,
          currentTxnStartOffset: -1,
        },
      ]);
      assert.deepEqual(zero!.activeProducers, []);
      assert.equal(nine!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    } finally {
      await logs.close();
    }
  });

  it('ACLs: ALTER on the cluster to elect or reassign, DESCRIBE to list, READ on the topic for producers', async () => {
    using tmp = temporaryDirectory();
    const { logs, handlers } = singleNode(`${tmp.dir}/logs`, await describeOnly(`${tmp.dir}/security`));
    const alice = requestContext(2, { principal: 'User:alice' });
    try {
      const elect = await callHandler(
        handlers,
        ElectLeaders,
        { electionType: 0, topicPartitions: [{ topic: 'orders', partitions: [0] }], timeoutMs: 1000 },
        alice,
      );
      assert.equal(elect.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      assert.equal(
        elect.replicaElectionResults[0]!.partitionResult[0]!.errorCode,
        ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      );
      const alter = await callHandler(
        handlers,
        AlterPartitionReassignments,
        { timeoutMs: 1000, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, replicas: [7] }] }] },
        requestContext(0, { principal: 'User:alice' }),
      );
      assert.equal(alter.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      const list = await callHandler(
        handlers,
        ListPartitionReassignments,
        { timeoutMs: 1000, topics: null },
        requestContext(0, { principal: 'User:alice' }),
      );
      assert.equal(list.errorCode, ErrorCode.NONE);
      const producers = await callHandler(
        handlers,
        DescribeProducers,
        { topics: [{ name: 'orders', partitionIndexes: [0] }] },
        requestContext(0, { principal: 'User:alice' }),
      );
      assert.equal(producers.topics[0]!.partitions[0]!.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      const cluster = await callHandler(
        handlers,
        DescribeCluster,
        { includeClusterAuthorizedOperations: true },
        requestContext(0, { principal: 'User:alice' }),
      );
      assert.equal(cluster.clusterAuthorizedOperations, 1 << AclOperation.DESCRIBE);
      const bob = await callHandler(
        handlers,
        DescribeCluster,
        { includeClusterAuthorizedOperations: true },
        requestContext(0, { principal: 'User:bob' }),
      );
      assert.equal(bob.clusterAuthorizedOperations, 0);
      // Listing the brokers needs no ACL, as Metadata's; each client gets its listener's address.
      assert.deepEqual(bob.brokers, [{ brokerId: 7, host: 'edge-a', port: 9093, rack: null }]);
    } finally {
      await logs.close();
    }
  });
});
