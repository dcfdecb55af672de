import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { commitOne, withCoordinator } from '../../test/support/group-fixtures.js';
import { callHandler, requestContext } from '../../test/support/handler-call.js';
import { RecordingLogger, temporaryDirectory } from '../../test/support/log-fixtures.js';
import { LogManager } from '../log/index.js';
import { CreateTopics } from '../protocol/apis/create-topics.js';
import { DeleteGroups } from '../protocol/apis/delete-groups.js';
import { DeleteTopics } from '../protocol/apis/delete-topics.js';
import { DescribeGroups } from '../protocol/apis/describe-groups.js';
import { ListGroups } from '../protocol/apis/list-groups.js';
import { Metadata } from '../protocol/apis/metadata.js';
import { OffsetCommit } from '../protocol/apis/offset-commit.js';
import { OffsetDelete } from '../protocol/apis/offset-delete.js';
import { OffsetFetch } from '../protocol/apis/offset-fetch.js';
import { Produce } from '../protocol/apis/produce.js';
import { encodeRecordBatch } from '../protocol/index.js';
import {
  AclAuthorizer,
  type AclBinding,
  AclOperation,
  AclPermissionType,
  AclStore,
  type BindingOperation,
  type BindingResourceType,
  CLUSTER_RESOURCE_NAME,
  FileAclStorage,
  PatternType,
  ResourceType,
} from '../security/index.js';
import { Access } from './access.js';
import { ClientQuotas } from './client-quotas.js';
import { ErrorCode } from './error-codes.js';
import { LocalGroups } from './group-router.js';
import { createTopicsHandler, deleteTopicsHandler } from './handlers/admin.js';
import { groupAdminHandlers } from './handlers/group-admin.js';
import { groupHandlers } from './handlers/groups.js';
import { metadataHandler } from './handlers/metadata.js';
import { offsetHandlers } from './handlers/offsets.js';
import { produceHandler } from './handlers/produce.js';
import { BrokerMetrics } from './metrics.js';
import { PartitionWatch } from './partition-watch.js';
import { TopicCatalog } from './topic-catalog.js';
import type { TransactionRouter } from './transaction-router.js';

const ALICE = { principal: 'User:alice' };

/** No transaction coordinator: these tests are about groups. */
const NO_TRANSACTIONS: TransactionRouter = {
  coordinatorOf: () => null,
  all: () => [],
  locate: () => ({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: 'no transactions here' }),
  close: () => {},
};

function allow(
  resourceType: BindingResourceType,
  resourceName: string,
  operation: BindingOperation,
  options: { prefixed?: boolean; host?: string } = {},
): AclBinding {
  return {
    resourceType,
    resourceName,
    patternType: options.prefixed === true ? PatternType.PREFIXED : PatternType.LITERAL,
    principal: ALICE.principal,
    host: options.host ?? '*',
    operation,
    permissionType: AclPermissionType.ALLOW,
  };
}

/** Access over an authorizer holding `acls` (ACL file in a temporary directory); User:admin is a super user. */
async function enforced(dir: string, acls: AclBinding[]) {
  const store = await AclStore.open(new FileAclStorage(dir), { maxAcls: 100 });
  await store.create(acls);
  const authorizer = new AclAuthorizer(store, {
    superUsers: ['User:admin'],
    allowEveryoneIfNoAclFound: false,
  });
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const metrics = new BrokerMetrics();
  const denials = async () =>
    (await metrics.registry.getSingleMetricAsString('edgestream_broker_authorization_denied_total'))
      .split('\n')
      .filter((line) => !line.startsWith('#') && line !== '');
  return { access: Access.enforced(authorizer, metrics, logger), lines, denials };
}

describe('Access', () => {
  it('allows everything without an authorizer', () => {
    const context = requestContext(0);
    assert.equal(Access.OPEN.allows(context, 'Produce', AclOperation.WRITE, ResourceType.TOPIC, 't'), true);
    assert.equal(Access.OPEN.permitsCluster(context, AclOperation.CLUSTER_ACTION), true);
    assert.equal(Access.OPEN.mayCreateTopic(context, 'Metadata', 't'), true);
  });

  it('counts and logs a refusal the client is told of; one that only narrows an answer is silent', async () => {
    using tmp = temporaryDirectory();
    const { access, lines, denials } = await enforced(tmp.dir, [
      allow(ResourceType.TOPIC, 'orders', AclOperation.READ),
    ]);
    const context = requestContext(12, ALICE);
    assert.equal(access.allows(context, 'Fetch', AclOperation.READ, ResourceType.TOPIC, 'orders'), true);
    assert.equal(access.allows(context, 'Fetch', AclOperation.READ, ResourceType.TOPIC, 'secret'), false);
    assert.equal(access.permits(context, AclOperation.DESCRIBE, ResourceType.TOPIC, 'secret'), false);
    assert.equal(
      access.allows(
        requestContext(12, { principal: 'User:admin' }),
        'Fetch',
        AclOperation.READ,
        ResourceType.TOPIC,
        'secret',
      ),
      true,
    );
    assert.deepEqual(await denials(), [
      'edgestream_broker_authorization_denied_total{api="Fetch",resource_type="TOPIC"} 1',
    ]);
    assert.equal(lines.length, 1);
    assert.deepEqual(
      {
        msg: lines[0]!.msg,
        principal: lines[0]!.principal,
        host: lines[0]!.host,
        operation: lines[0]!.operation,
        resource: lines[0]!.resource,
      },
      {
        msg: 'request denied by ACLs',
        principal: 'User:alice',
        host: '10.0.0.1',
        operation: 'READ',
        resource: 'secret',
      },
    );
  });

  it("compares ACL hosts with the client's address as Kafka prints it", async () => {
    using tmp = temporaryDirectory();
    const { access } = await enforced(tmp.dir, [
      allow(ResourceType.GROUP, 'g', AclOperation.READ, { host: '10.0.0.1' }),
    ]);
    const from = (clientHost: string) =>
      access.permits(
        requestContext(11, { ...ALICE, clientHost }),
        AclOperation.READ,
        ResourceType.GROUP,
        'g',
      );
    assert.equal(from('::ffff:10.0.0.1'), true);
    assert.equal(from('10.0.0.2'), false);
  });

  it('lets CREATE on the cluster or on the topic create a topic', async () => {
    using tmp = temporaryDirectory();
    const { access, denials } = await enforced(tmp.dir, [
      allow(ResourceType.TOPIC, 'mine-', AclOperation.CREATE, { prefixed: true }),
    ]);
    const context = requestContext(7, ALICE);
    assert.equal(access.mayCreateTopic(context, 'CreateTopics', 'mine-1'), true);
    assert.equal(access.mayCreateTopic(context, 'CreateTopics', 'other'), false);
    // Only the topic's refusal is counted: the cluster check before it narrows nothing the client sees.
    assert.equal((await denials()).length, 1);
    using clusterTmp = temporaryDirectory();
    const cluster = await enforced(clusterTmp.dir, [
      allow(ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME, AclOperation.CREATE),
    ]);
    assert.equal(cluster.access.mayCreateTopic(context, 'CreateTopics', 'anything'), true);
  });
});

describe('handlers under ACLs', () => {
  it('Metadata: named topics refused, all topics filtered, auto-creation needs CREATE', async () => {
    using tmp = temporaryDirectory();
    const logs = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    try {
      logs.createTopic('orders', 1);
      logs.createTopic('secret', 1);
      const { access } = await enforced(`${tmp.dir}/security`, [
        allow(ResourceType.TOPIC, 'orders', AclOperation.READ),
        allow(ResourceType.TOPIC, 'new-', AclOperation.DESCRIBE, { prefixed: true }),
        allow(ResourceType.TOPIC, 'new-ok', AclOperation.CREATE),
      ]);
      const topics = new TopicCatalog(logs, {
        autoCreateTopics: true,
        defaultPartitions: 1,
        logger: pino({ level: 'silent' }),
      });
      const handlers = [metadataHandler(topics, { nodeId: 1, endpoints: new Map(), clusterId: 'c' }, access)];
      const context = requestContext(9, ALICE);
      const all = await callHandler(handlers, Metadata, { topics: null }, context);
      assert.deepEqual(
        all.topics.map((t) => t.name),
        ['orders'],
      );
      const named = await callHandler(
        handlers,
        Metadata,
        {
          topics: ['orders', 'secret', 'new-denied', 'new-ok'].map((name) => ({
            name,
            topicId: Buffer.alloc(16),
          })),
        },
        context,
      );
      assert.deepEqual(
        named.topics.map((t) => [t.name, t.errorCode]),
        [
          ['orders', ErrorCode.NONE],
          ['secret', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
          ['new-denied', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
          ['new-ok', ErrorCode.NONE],
        ],
      );
      assert.equal(logs.hasTopic('new-denied'), false);
      assert.equal(logs.hasTopic('new-ok'), true);
    } finally {
      await logs.close();
    }
  });

  it('Produce: WRITE on each topic; auto-creating a missing one also needs CREATE', async () => {
    using tmp = temporaryDirectory();
    const logs = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    try {
      logs.createTopic('orders-1', 1);
      const { access } = await enforced(`${tmp.dir}/security`, [
        allow(ResourceType.TOPIC, 'orders-', AclOperation.WRITE, { prefixed: true }),
        allow(ResourceType.TOPIC, 'orders-made', AclOperation.CREATE),
      ]);
      const logger = pino({ level: 'silent' });
      const topics = new TopicCatalog(logs, { autoCreateTopics: true, defaultPartitions: 1, logger });
      const metrics = new BrokerMetrics();
      const handlers = [
        produceHandler({
          topics,
          watch: new PartitionWatch(),
          metrics,
          logger,
          cluster: null,
          access,
          quotas: new ClientQuotas(metrics),
        }),
      ];
      const records = encodeRecordBatch([{ key: null, value: Buffer.from('v') }]);
      const produced = await callHandler(
        handlers,
        Produce,
        {
          transactionalId: null,
          acks: 1,
          timeoutMs: 1000,
          topicData: ['orders-1', 'orders-missing', 'orders-made', 'secret'].map((name) => ({
            name,
            partitionData: [{ index: 0, records }],
          })),
        },
        requestContext(9, ALICE),
      );
      assert.deepEqual(
        produced.responses.map((t) => [t.name, t.partitionResponses[0]!.errorCode]),
        [
          ['orders-1', ErrorCode.NONE],
          ['orders-missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
          ['orders-made', ErrorCode.NONE],
          ['secret', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
        ],
      );
      assert.deepEqual(logs.topicNames().sort(), ['orders-1', 'orders-made']);
    } finally {
      await logs.close();
    }
  });

  it('CreateTopics: CREATE on the topic creates it; its configs need DESCRIBE_CONFIGS', async () => {
    using tmp = temporaryDirectory();
    const logs = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    try {
      const { access } = await enforced(`${tmp.dir}/security`, [
        allow(ResourceType.TOPIC, 'mine', AclOperation.CREATE),
      ]);
      const topics = new TopicCatalog(logs, {
        autoCreateTopics: false,
        defaultPartitions: 1,
        logger: pino({ level: 'silent' }),
      });
      const topic = (name: string) => ({
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      });
      const created = await callHandler(
        [createTopicsHandler(topics, 1, access)],
        CreateTopics,
        { topics: [topic('mine'), topic('theirs')], timeoutMs: 1000, validateOnly: false },
        requestContext(5, ALICE),
      );
      assert.deepEqual(
        created.topics.map((t) => [t.name, t.errorCode, t.topicConfigErrorCode, t.configs?.length]),
        [
          ['mine', ErrorCode.NONE, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 0],
          ['theirs', ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.NONE, 0],
        ],
      );
      assert.deepEqual(logs.topicNames(), ['mine']);
    } finally {
      await logs.close();
    }
  });

  it('DeleteTopics: DELETE on each topic; named by id, a topic it may not describe keeps its name hidden', async () => {
    using tmp = temporaryDirectory();
    const logs = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    try {
      for (const name of ['mine', 'theirs', 'seen']) logs.createTopic(name, 1);
      const { access } = await enforced(`${tmp.dir}/security`, [
        allow(ResourceType.TOPIC, 'mine', AclOperation.DELETE),
        allow(ResourceType.TOPIC, 'seen', AclOperation.DESCRIBE),
      ]);
      const topics = new TopicCatalog(logs, {
        autoCreateTopics: false,
        defaultPartitions: 1,
        logger: pino({ level: 'silent' }),
      });
      const byId = (name: string) => ({
        name: null,
        topicId: Buffer.from(logs.describeTopic(name).topicId, 'hex'),
      });
      const deleted = await callHandler(
        [deleteTopicsHandler(topics, access)],
        DeleteTopics,
        { topics: [byId('theirs'), byId('seen'), byId('mine')], topicNames: [], timeoutMs: 1000 },
        requestContext(6, ALICE),
      );
      assert.deepEqual(
        deleted.responses.map((t) => [t.name, t.errorCode]),
        [
          [null, ErrorCode.TOPIC_AUTHORIZATION_FAILED],
          ['seen', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
          ['mine', ErrorCode.NONE],
        ],
      );
      assert.deepEqual(logs.topicNames().sort(), ['seen', 'theirs']);
    } finally {
      await logs.close();
    }
  });

  it('group APIs: READ on the group and each topic to commit, DESCRIBE to fetch offsets and list', () =>
    withCoordinator(async ({ coordinator, dir }) => {
      const { access } = await enforced(`${dir}/security`, [
        allow(ResourceType.GROUP, 'g', AclOperation.READ),
        allow(ResourceType.TOPIC, 't', AclOperation.READ),
      ]);
      const router = new LocalGroups(coordinator, { nodeId: 1, endpoints: new Map() });
      const handlers = [...groupHandlers(router, NO_TRANSACTIONS, access), ...offsetHandlers(router, access)];
      const partition = { partitionIndex: 0, committedOffset: 5, committedMetadata: null };
      const commit = (groupId: string, principal: string) =>
        callHandler(
          handlers,
          OffsetCommit,
          {
            groupId,
            memberId: '',
            topics: [
              { name: 't', partitions: [partition] },
              { name: 'u', partitions: [partition] },
            ],
          },
          requestContext(8, { principal }),
        );
      const errorsOf = (response: Awaited<ReturnType<typeof commit>>) =>
        response.topics.map((t) => [t.name, t.partitions[0]!.errorCode]);
      assert.deepEqual(errorsOf(await commit('g', ALICE.principal)), [
        ['t', ErrorCode.NONE],
        ['u', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
      ]);
      assert.deepEqual(errorsOf(await commit('h', ALICE.principal)), [
        ['t', ErrorCode.GROUP_AUTHORIZATION_FAILED],
        ['u', ErrorCode.GROUP_AUTHORIZATION_FAILED],
      ]);
      await commit('h', 'User:admin');

      const alice = requestContext(7, ALICE);
      const named = await callHandler(
        handlers,
        OffsetFetch,
        {
          groupId: 'g',
          groups: [],
          topics: [
            { name: 't', partitionIndexes: [0] },
            { name: 'u', partitionIndexes: [0] },
          ],
        },
        alice,
      );
      assert.deepEqual(
        named.topics.map((t) => [t.name, t.partitions[0]!.committedOffset, t.partitions[0]!.errorCode]),
        [
          ['t', 5, ErrorCode.NONE],
          ['u', -1, ErrorCode.TOPIC_AUTHORIZATION_FAILED],
        ],
      );
      const every = await callHandler(
        handlers,
        OffsetFetch,
        { groupId: 'g', groups: [], topics: null },
        alice,
      );
      assert.deepEqual(
        every.topics.map((t) => t.name),
        ['t'],
      );
      // Before v2 a refused group is reported on each partition asked for.
      const old = await callHandler(
        handlers,
        OffsetFetch,
        { groupId: 'h', groups: [], topics: [{ name: 't', partitionIndexes: [0, 1] }] },
        requestContext(1, ALICE),
      );
      assert.deepEqual(
        old.topics[0]!.partitions.map((p) => p.errorCode),
        [ErrorCode.GROUP_AUTHORIZATION_FAILED, ErrorCode.GROUP_AUTHORIZATION_FAILED],
      );

      const listed = await callHandler(
        handlers,
        ListGroups,
        { statesFilter: [], typesFilter: [] },
        requestContext(4, ALICE),
      );
      assert.deepEqual(
        listed.groups.map((g) => g.groupId),
        ['g'],
      );
      const everyGroup = await callHandler(
        handlers,
        ListGroups,
        { statesFilter: [], typesFilter: [] },
        requestContext(4, { principal: 'User:admin' }),
      );
      assert.deepEqual(everyGroup.groups.map((g) => g.groupId).sort(), ['g', 'h']);
      const described = await callHandler(
        handlers,
        DescribeGroups,
        { groups: ['g', 'h'], includeAuthorizedOperations: false },
        requestContext(5, ALICE),
      );
      assert.deepEqual(
        described.groups.map((g) => g.errorCode),
        [ErrorCode.NONE, ErrorCode.GROUP_AUTHORIZATION_FAILED],
      );
    }));
  it('DeleteGroups and OffsetDelete: DELETE on the group, and READ on each topic for OffsetDelete', () =>
    withCoordinator(async ({ coordinator, dir }) => {
      const { access } = await enforced(`${dir}/security`, [
        allow(ResourceType.GROUP, 'g', AclOperation.DELETE),
        allow(ResourceType.GROUP, 'h', AclOperation.READ),
        allow(ResourceType.TOPIC, 't', AclOperation.READ),
      ]);
      const router = new LocalGroups(coordinator, { nodeId: 1, endpoints: new Map() });
      const handlers = groupAdminHandlers(router, access);
      const alice = requestContext(0, ALICE);
      for (const groupId of ['g', 'h']) await commitOne(coordinator, groupId, 5);
      const offsetDelete = (groupId: string) =>
        callHandler(
          handlers,
          OffsetDelete,
          {
            groupId,
            topics: [
              { name: 't', partitions: [{ partitionIndex: 0 }] },
              { name: 'u', partitions: [{ partitionIndex: 0 }] },
            ],
          },
          alice,
        );
      assert.equal((await offsetDelete('h')).errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
      const deleted = await offsetDelete('g');
      assert.deepEqual(
        deleted.topics.map((t) => [t.name, t.partitions[0]!.errorCode]),
        [
          ['t', ErrorCode.NONE],
          ['u', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
        ],
      );
      assert.deepEqual(coordinator.fetchOffsets('g', null), []);
      const groups = await callHandler(
        handlers,
        DeleteGroups,
        { groupsNames: ['g', 'h'] },
        requestContext(2, ALICE),
      );
      assert.deepEqual(
        groups.results.map((r) => [r.groupId, r.errorCode]),
        [
          ['g', ErrorCode.NONE],
          ['h', ErrorCode.GROUP_AUTHORIZATION_FAILED],
        ],
      );
      assert.equal(coordinator.fetchOffsets('h', null).length, 1, 'a refused deletion keeps the offsets');
    }));
});
