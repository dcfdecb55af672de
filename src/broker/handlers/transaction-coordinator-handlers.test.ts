import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { callHandler, requestContext } from '../../../test/support/handler-call.js';
import { RecordingLogger, temporaryDirectory } from '../../../test/support/log-fixtures.js';
import { LogManager } from '../../log/index.js';
import { AddOffsetsToTxn } from '../../protocol/apis/add-offsets-to-txn.js';
import { AddPartitionsToTxn } from '../../protocol/apis/add-partitions-to-txn.js';
import { DescribeTransactions } from '../../protocol/apis/describe-transactions.js';
import { EndTxn } from '../../protocol/apis/end-txn.js';
import { InitProducerId } from '../../protocol/apis/init-producer-id.js';
import { ListTransactions } from '../../protocol/apis/list-transactions.js';
import { TxnOffsetCommit } from '../../protocol/apis/txn-offset-commit.js';
import {
  AclAuthorizer,
  type AclBinding,
  AclOperation,
  AclPermissionType,
  AclStore,
  type BindingOperation,
  type BindingResourceType,
  FileAclStorage,
  PatternType,
  ResourceType,
} from '../../security/index.js';
import { Access } from '../access.js';
import { ErrorCode } from '../error-codes.js';
import { GroupCoordinator } from '../group-coordinator.js';
import { LocalGroups } from '../group-router.js';
import { BrokerMetrics } from '../metrics.js';
import { OffsetStore } from '../offset-store.js';
import { PartitionWatch } from '../partition-watch.js';
import { ProducerIdAllocator } from '../producer-state.js';
import { TopicCatalog } from '../topic-catalog.js';
import { localTxnMarkerWriter } from '../transaction-markers.js';
import { LocalTransactions } from '../transaction-router.js';
import { initProducerIdHandler } from './admin.js';
import { transactionHandlers } from './transactions.js';

const SELF = { nodeId: 1, endpoints: new Map([['PLAINTEXT', { host: '127.0.0.1', port: 9092 }]]) };
const alice = (version: number) => requestContext(version, { principal: 'User:alice' });
const admin = (version: number) => requestContext(version, { principal: 'User:admin' });

function allow(type: BindingResourceType, name: string, operation: BindingOperation): AclBinding {
  return {
    resourceType: type,
    resourceName: name,
    patternType: PatternType.LITERAL,
    principal: 'User:alice',
    host: '*',
    operation,
    permissionType: AclPermissionType.ALLOW,
  };
}

describe('transaction coordinator handlers', () => {
  it('authorize as Kafka, map PRODUCER_FENCED per version and check TxnOffsetCommit members', async () => {
    using tmp = temporaryDirectory();
    const logger = new RecordingLogger();
    const logs = LogManager.open({ dataDir: tmp.dir, logger });
    const store = await AclStore.open(new FileAclStorage(`${tmp.dir}/acls`), { maxAcls: 100 });
    await store.create([
      allow(ResourceType.TRANSACTIONAL_ID, 'tx', AclOperation.WRITE),
      allow(ResourceType.TOPIC, 't', AclOperation.WRITE),
      allow(ResourceType.TOPIC, 'src', AclOperation.READ),
      allow(ResourceType.GROUP, 'g', AclOperation.READ),
    ]);
    const authorizer = new AclAuthorizer(store, {
      superUsers: ['User:admin'],
      allowEveryoneIfNoAclFound: false,
    });
    const access = Access.enforced(authorizer, new BrokerMetrics(), pino({ level: 'silent' }));
    const partitionExists = (topic: string, partition: number) =>
      ['t', 'src', 'secret'].includes(topic) && partition < 2;
    const groups = new LocalGroups(
      new GroupCoordinator(await OffsetStore.open(logs), {
        initialRebalanceDelayMs: 20,
        logger,
        partitionExists,
      }),
      SELF,
    );
    const producerIds = new ProducerIdAllocator(tmp.dir);
    // Markers as the broker writes them: the offsets partition's reach the group coordinator.
    const markers = localTxnMarkerWriter({
      topics: new TopicCatalog(logs, {
        autoCreateTopics: false,
        defaultPartitions: 1,
        logger: pino({ level: 'silent' }),
      }),
      watch: new PartitionWatch(),
      cluster: null,
      replicationTimeoutMs: 1_000,
      offsetsMarked: (partition, marker) =>
        groups.transactionEnded(partition, marker.producerId, marker.committed),
    });
    const transactions = LocalTransactions.open(logs, SELF, {
      producerIds,
      markers,
      coordinatorEpoch: 0,
      offsetsPartitionOf: () => 0,
      partitionExists,
      maxTimeoutMs: 60_000,
      abortCheckIntervalMs: 1_000,
      idExpirationMs: 3_600_000,
      maxTransactionalIds: 100,
      logger,
    });
    const handlers = [
      initProducerIdHandler(producerIds, transactions, access),
      ...transactionHandlers(transactions, groups, access, partitionExists),
    ];
    try {
      const init = (id: string, context = alice(4)) =>
        callHandler(handlers, InitProducerId, { transactionalId: id, transactionTimeoutMs: 10_000 }, context);
      assert.equal((await init('other')).errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      assert.equal((await init('other', admin(4))).errorCode, ErrorCode.NONE);
      const first = await init('tx');
      assert.deepEqual([first.errorCode, first.producerEpoch], [ErrorCode.NONE, 0]);
      const producer = { transactionalId: 'tx', producerId: first.producerId, producerEpoch: 0 };

      const add = (topics: Array<{ name: string; partitions: number[] }>) =>
        callHandler(
          handlers,
          AddPartitionsToTxn,
          {
            v3AndBelowTransactionalId: 'tx',
            v3AndBelowProducerId: first.producerId,
            v3AndBelowProducerEpoch: 0,
            v3AndBelowTopics: topics,
          },
          alice(3),
        );
      const refused = await add([
        { name: 't', partitions: [0, 5] },
        { name: 'secret', partitions: [0] },
      ]);
      assert.deepEqual(
        refused.resultsByTopicV3AndBelow.map((t) => [
          t.name,
          t.resultsByPartition.map((p) => p.partitionErrorCode),
        ]),
        [
          ['t', [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
          ['secret', [ErrorCode.TOPIC_AUTHORIZATION_FAILED]],
        ],
      );
      const added = await add([{ name: 't', partitions: [0] }]);
      assert.equal(
        added.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode,
        ErrorCode.NONE,
      );

      const addOffsets = (groupId: string) =>
        callHandler(handlers, AddOffsetsToTxn, { ...producer, groupId }, alice(3));
      assert.equal((await addOffsets('h')).errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
      assert.equal((await addOffsets('g')).errorCode, ErrorCode.NONE);

      const commitOffsets = (memberId: string, generationId: number) =>
        callHandler(
          handlers,
          TxnOffsetCommit,
          {
            ...producer,
            groupId: 'g',
            memberId,
            generationId,
            groupInstanceId: null,
            topics: [
              {
                name: 'src',
                partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: null }],
              },
              {
                name: 'secret',
                partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: null }],
              },
            ],
          },
          alice(3),
        );
      const errorsOf = (response: Awaited<ReturnType<typeof commitOffsets>>) =>
        response.topics.map((t) => t.partitions[0]!.errorCode);
      assert.deepEqual(errorsOf(await commitOffsets('ghost', 1)), [
        ErrorCode.UNKNOWN_MEMBER_ID,
        ErrorCode.UNKNOWN_MEMBER_ID,
      ]);
      assert.deepEqual(errorsOf(await commitOffsets('', -1)), [
        ErrorCode.NONE,
        ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      ]);
      // Pending until the transaction ends: not committed, and unstable to a reader that requires stability.
      const asked = [{ topic: 'src', partitions: [0] }];
      assert.deepEqual(
        groups
          .coordinatorOf()
          .fetchOffsets('g', asked)
          .map((o) => [o.offset, o.errorCode]),
        [[-1, ErrorCode.NONE]],
      );
      assert.deepEqual(
        groups
          .coordinatorOf()
          .fetchOffsets('g', asked, true)
          .map((o) => [o.offset, o.errorCode]),
        [[-1, ErrorCode.UNSTABLE_OFFSET_COMMIT]],
      );

      const described = await callHandler(
        handlers,
        DescribeTransactions,
        { transactionalIds: ['tx', 'other'] },
        alice(0),
      );
      assert.deepEqual(
        described.transactionStates.map((s) => [s.transactionalId, s.errorCode, s.transactionState]),
        [
          ['tx', ErrorCode.NONE, 'Ongoing'],
          ['other', ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ''],
        ],
      );
      // The offsets topic's partition is an internal topic alice may not describe: left out.
      assert.deepEqual(described.transactionStates[0]!.topicPartitions, [
        { name: 't', partitionIndexes: [0] },
      ]);
      const listed = async (context: ReturnType<typeof alice>) =>
        (
          await callHandler(handlers, ListTransactions, { stateFilters: [], producerIdFilters: [] }, context)
        ).transactionStates.map((s) => s.transactionalId);
      assert.deepEqual(await listed(alice(0)), ['tx']);
      assert.deepEqual((await listed(admin(0))).sort(), ['other', 'tx']);

      // A new producer of 'tx' fences this one: the abort answers CONCURRENT_TRANSACTIONS until complete.
      let next = await init('tx');
      for (let i = 0; next.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS && i < 100; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        next = await init('tx');
      }
      assert.deepEqual([next.errorCode, next.producerEpoch], [ErrorCode.NONE, 2]);
      const end = (version: number) =>
        callHandler(handlers, EndTxn, { ...producer, committed: true }, alice(version));
      assert.equal((await end(1)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
      assert.equal((await end(3)).errorCode, ErrorCode.PRODUCER_FENCED);
      // The aborted transaction's offsets never reached the group, and are no longer pending.
      assert.deepEqual(groups.coordinatorOf().fetchOffsets('g', null), []);
      assert.deepEqual(
        groups
          .coordinatorOf()
          .fetchOffsets('g', [{ topic: 'src', partitions: [0] }], true)
          .map((o) => [o.offset, o.errorCode]),
        [[-1, ErrorCode.NONE]],
      );
    } finally {
      transactions.close();
      groups.close();
      await logs.close();
    }
  });
});
