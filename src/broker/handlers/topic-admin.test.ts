import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { callHandler, requestContext } from '../../../test/support/handler-call.js';
import { makeBatch, temporaryDirectory } from '../../../test/support/log-fixtures.js';
import { LogManager } from '../../log/index.js';
import { AlterConfigs, ConfigOperation, IncrementalAlterConfigs } from '../../protocol/apis/alter-configs.js';
import { CreatePartitions } from '../../protocol/apis/create-partitions.js';
import { DeleteRecords } from '../../protocol/apis/delete-records.js';
import { ConfigResourceType } from '../../protocol/apis/describe-configs.js';
import { DescribeLogDirs } from '../../protocol/apis/describe-log-dirs.js';
import {
  AclAuthorizer,
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
import { ConfigSource, DynamicBrokerConfigs, FileBrokerConfigStorage } from '../dynamic-broker-config.js';
import { ErrorCode } from '../error-codes.js';
import { BrokerMetrics } from '../metrics.js';
import { localTopicAdmin } from '../topic-admin.js';
import { TopicCatalog } from '../topic-catalog.js';
import { applyOperations, topicAdminHandlers } from './topic-admin.js';

const logger = pino({ level: 'silent' });
const { SET, DELETE, APPEND, SUBTRACT } = ConfigOperation;

async function openNode(dir: string, access = Access.OPEN) {
  const logs = LogManager.open({ dataDir: dir, logger });
  const topics = new TopicCatalog(logs, { autoCreateTopics: false, defaultPartitions: 1, logger });
  const dynamic = await DynamicBrokerConfigs.open(new FileBrokerConfigStorage(dir), 1, {}, (defaults) =>
    logs.setDefaults(defaults),
  );
  const targets = {
    admin: localTopicAdmin(topics, dir),
    dynamic,
    knownBroker: (name: string) => name === '' || name === '1',
  };
  return { logs, dynamic, handlers: topicAdminHandlers(targets, access) };
}

/** cleanup.policy's value where a topic does not set it, as the handler gives applyOperations. */
const listDefault = (name: string) => (name === 'cleanup.policy' ? 'delete' : null);

describe('applyOperations (IncrementalAlterConfigs)', () => {
  test('SET and DELETE any key; APPEND and SUBTRACT list keys, from the default when not overridden', () => {
    const op = (name: string, configOperation: number, value: string | null = null) => ({
      name,
      configOperation,
      value,
    });
    assert.deepEqual(
      applyOperations(
        { 'retention.ms': '1', 'segment.ms': '5' },
        [op('retention.ms', SET, '2'), op('segment.ms', DELETE), op('cleanup.policy', APPEND, 'compact')],
        listDefault,
      ),
      { 'retention.ms': '2', 'cleanup.policy': 'delete,compact' },
    );
    assert.deepEqual(
      applyOperations(
        { 'cleanup.policy': 'compact,delete' },
        [op('cleanup.policy', SUBTRACT, 'delete')],
        listDefault,
      ),
      { 'cleanup.policy': 'compact' },
    );
    assert.match(
      String(applyOperations({}, [op('retention.ms', APPEND, '1')], listDefault)),
      /retention\.ms.*not a list/,
    );
    assert.match(String(applyOperations({}, [op('retention.ms', SET)], listDefault)), /needs a value/);
    assert.match(
      String(applyOperations({}, [op('retention.ms', SET, '1'), op('retention.ms', DELETE)], listDefault)),
      /named twice/,
    );
    assert.match(String(applyOperations({}, [op('retention.ms', 9, '1')], listDefault)), /operation 9/);
  });
});

describe('topic admin handlers on a single node', () => {
  test('IncrementalAlterConfigs validates with the topic config parser, honours validateOnly, applies live', async () => {
    using tmp = temporaryDirectory();
    const { logs, handlers } = await openNode(tmp.dir);
    logs.createTopic('t', 1, { 'retention.ms': '1000' });
    const alter = (
      configs: Array<{ name: string; configOperation: number; value: string | null }>,
      validateOnly = false,
    ) =>
      callHandler(
        handlers,
        IncrementalAlterConfigs,
        { resources: [{ resourceType: ConfigResourceType.TOPIC, resourceName: 't', configs }], validateOnly },
        requestContext(1),
      );
    const bad = await alter([{ name: 'segment.bytes', configOperation: SET, value: '10' }]);
    assert.equal(bad.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(bad.responses[0]!.errorMessage!, /segment\.bytes/);
    const dry = await alter([{ name: 'cleanup.policy', configOperation: SET, value: 'compact' }], true);
    assert.equal(dry.responses[0]!.errorCode, ErrorCode.NONE);
    assert.equal(logs.describeTopic('t').config.cleanupPolicy, 'delete');
    const done = await alter([
      { name: 'cleanup.policy', configOperation: APPEND, value: 'compact' },
      { name: 'retention.ms', configOperation: DELETE, value: null },
    ]);
    assert.equal(done.responses[0]!.errorCode, ErrorCode.NONE);
    assert.deepEqual(logs.describeTopic('t').overrides, { 'cleanup.policy': 'delete,compact' });
    assert.equal(logs.partition('t', 0).logStartOffset, 0);
    const unknown = await callHandler(
      handlers,
      IncrementalAlterConfigs,
      {
        resources: [{ resourceType: ConfigResourceType.TOPIC, resourceName: 'nope', configs: [] }],
        validateOnly: false,
      },
      requestContext(1),
    );
    assert.equal(unknown.responses[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await logs.close();
  });

  test('AlterConfigs replaces every override; broker configs change the topic defaults, others are refused naming the key', async () => {
    using tmp = temporaryDirectory();
    const { logs, handlers } = await openNode(tmp.dir);
    logs.createTopic('t', 1, { 'retention.ms': '1000' });
    logs.createTopic('plain', 1);
    const alter = (resourceType: number, resourceName: string, configs: Record<string, string>) =>
      callHandler(
        handlers,
        AlterConfigs,
        {
          resources: [
            {
              resourceType,
              resourceName,
              configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
            },
          ],
          validateOnly: false,
        },
        requestContext(2),
      );
    const first = (answer: Awaited<ReturnType<typeof alter>>) => answer.responses[0]!;
    assert.equal(first(await alter(ConfigResourceType.TOPIC, 't', { 'segment.ms': '60000' })).errorCode, 0);
    assert.deepEqual(logs.describeTopic('t').overrides, { 'segment.ms': '60000' });
    const fixed = first(await alter(ConfigResourceType.BROKER, '1', { 'num.partitions': '3' }));
    assert.equal(fixed.errorCode, ErrorCode.INVALID_REQUEST);
    assert.match(fixed.errorMessage!, /num\.partitions/);
    const bad = first(await alter(ConfigResourceType.BROKER, '', { 'log.retention.ms': 'soon' }));
    assert.equal(bad.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(bad.errorMessage!, /log\.retention\.ms/);
    const stranger = first(await alter(ConfigResourceType.BROKER, '7', { 'log.retention.ms': '5' }));
    assert.equal(stranger.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(
      first(await alter(ConfigResourceType.BROKER, '', { 'log.retention.ms': '5000' })).errorCode,
      0,
    );
    assert.equal(
      logs.describeTopic('plain').config.retentionMs,
      5000,
      'the default for every broker applies',
    );
    assert.equal(
      first(await alter(ConfigResourceType.BROKER, '1', { 'log.retention.ms': '6000' })).errorCode,
      0,
    );
    assert.equal(
      logs.describeTopic('plain').config.retentionMs,
      6000,
      "this broker's own beats every broker's",
    );
    assert.equal(logs.partition('plain', 0).logStartOffset, 0);
    await logs.close();
    const reopened = await openNode(tmp.dir);
    assert.equal(reopened.logs.describeTopic('plain').config.retentionMs, 6000, 'kept across a restart');
    assert.deepEqual(
      reopened.dynamic.topicSynonyms('retention.ms').map((s) => [s.name, s.value, s.source]),
      [
        ['log.retention.ms', '6000', ConfigSource.DYNAMIC_BROKER_CONFIG],
        ['log.retention.ms', '5000', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
        ['retention.ms', '604800000', ConfigSource.DEFAULT_CONFIG],
      ],
    );
    await reopened.logs.close();
  });

  test('DeleteRecords: -1 means the high watermark, past it or on an unknown partition is refused', async () => {
    using tmp = temporaryDirectory();
    const { logs, handlers } = await openNode(tmp.dir);
    logs.createTopic('t', 2);
    for (const p of [0, 1]) await logs.partition('t', p).append(makeBatch(`p${p}`, 5));
    const answer = await callHandler(
      handlers,
      DeleteRecords,
      {
        topics: [
          {
            name: 't',
            partitions: [
              { partitionIndex: 0, offset: 3 },
              { partitionIndex: 1, offset: -1 },
              { partitionIndex: 2, offset: 1 },
            ],
          },
        ],
        timeoutMs: 1000,
      },
      requestContext(2),
    );
    assert.deepEqual(answer.topics[0]!.partitions, [
      { partitionIndex: 0, lowWatermark: 3, errorCode: ErrorCode.NONE },
      { partitionIndex: 1, lowWatermark: 5, errorCode: ErrorCode.NONE },
      { partitionIndex: 2, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
    ]);
    const past = await callHandler(
      handlers,
      DeleteRecords,
      { topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 6 }] }], timeoutMs: 1000 },
      requestContext(0),
    );
    assert.equal(past.topics[0]!.partitions[0]!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    await logs.close();
  });

  test('DescribeLogDirs v4 gives the data directory, each partition and the file system size', async () => {
    using tmp = temporaryDirectory();
    const { logs, handlers } = await openNode(tmp.dir);
    logs.createTopic('t', 2);
    await logs.partition('t', 1).append(makeBatch('x', 2));
    const answer = await callHandler(
      handlers,
      DescribeLogDirs,
      { topics: [{ topic: 't', partitions: [1] }] },
      requestContext(4),
    );
    const [dir] = answer.results;
    assert.equal(dir!.logDir, tmp.dir);
    assert.ok(dir!.totalBytes > 0 && dir!.usableBytes > 0 && dir!.usableBytes <= dir!.totalBytes);
    assert.deepEqual(dir!.topics, [
      {
        name: 't',
        partitions: [
          {
            partitionIndex: 1,
            partitionSize: logs.partition('t', 1).sizeBytes,
            offsetLag: 0,
            isFutureKey: false,
          },
        ],
      },
    ]);
    assert.ok(dir!.topics[0]!.partitions[0]!.partitionSize > 0);
    const all = await callHandler(handlers, DescribeLogDirs, { topics: null }, requestContext(1));
    assert.equal(all.results[0]!.topics[0]!.partitions.length, 2);
    await logs.close();
  });

  test('ACLs as Kafka: ALTER for CreatePartitions, DELETE for DeleteRecords, ALTER_CONFIGS, DESCRIBE on the cluster', async () => {
    using tmp = temporaryDirectory();
    const acls = await AclStore.open(new FileAclStorage(tmp.dir), { maxAcls: 10 });
    const authorizer = new AclAuthorizer(acls, { superUsers: [], allowEveryoneIfNoAclFound: false });
    const allow = (operation: BindingOperation, resourceType: BindingResourceType, resourceName: string) => ({
      resourceType,
      resourceName,
      patternType: PatternType.LITERAL,
      principal: 'User:ops',
      host: '*',
      operation,
      permissionType: AclPermissionType.ALLOW,
    });
    await authorizer.createAcls([
      allow(AclOperation.ALTER, ResourceType.TOPIC, 't'),
      allow(AclOperation.DELETE, ResourceType.TOPIC, 't'),
      allow(AclOperation.ALTER_CONFIGS, ResourceType.TOPIC, 't'),
      allow(AclOperation.DESCRIBE, ResourceType.CLUSTER, 'kafka-cluster'),
    ]);
    const { logs, handlers } = await openNode(
      tmp.dir,
      Access.enforced(authorizer, new BrokerMetrics(), logger),
    );
    logs.createTopic('t', 1);
    for (const [principal, allowed] of [
      ['User:ops', true],
      ['User:nobody', false],
    ] as const) {
      const context = requestContext(3, { principal });
      const grown = await callHandler(
        handlers,
        CreatePartitions,
        {
          topics: [{ name: 't', count: allowed ? 2 : 3, assignments: null }],
          timeoutMs: 1000,
          validateOnly: true,
        },
        context,
      );
      assert.equal(
        grown.results[0]!.errorCode,
        allowed ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      );
      const trimmed = await callHandler(
        handlers,
        DeleteRecords,
        { topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 0 }] }], timeoutMs: 1000 },
        context,
      );
      assert.equal(
        trimmed.topics[0]!.partitions[0]!.errorCode,
        allowed ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      );
      const altered = await callHandler(
        handlers,
        AlterConfigs,
        {
          resources: [{ resourceType: ConfigResourceType.TOPIC, resourceName: 't', configs: [] }],
          validateOnly: true,
        },
        context,
      );
      assert.equal(
        altered.responses[0]!.errorCode,
        allowed ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      );
      const dirs = await callHandler(handlers, DescribeLogDirs, { topics: null }, context);
      assert.equal(dirs.errorCode, allowed ? ErrorCode.NONE : ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    }
    await logs.close();
  });
});
