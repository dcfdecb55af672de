import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EachMessagePayload, Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../src/broker/error-codes.js';
import { DescribeConfigs } from '../src/protocol/apis/describe-configs.js';
import { DescribeGroups } from '../src/protocol/apis/describe-groups.js';
import { Fetch } from '../src/protocol/apis/fetch.js';
import { FindCoordinator } from '../src/protocol/apis/find-coordinator.js';
import { InitProducerId } from '../src/protocol/apis/init-producer-id.js';
import { JoinGroup } from '../src/protocol/apis/join-group.js';
import { ListGroups } from '../src/protocol/apis/list-groups.js';
import { ListOffsets } from '../src/protocol/apis/list-offsets.js';
import { Metadata } from '../src/protocol/apis/metadata.js';
import { OffsetCommit } from '../src/protocol/apis/offset-commit.js';
import { OffsetFetch } from '../src/protocol/apis/offset-fetch.js';
import { Produce } from '../src/protocol/apis/produce.js';
import { encodeRecordBatch, type Message } from '../src/protocol/index.js';
import {
  AclOperation,
  AclPermissionType,
  CredentialStore,
  makeScramCredential,
  PatternType,
  ResourceType,
  SCRAM_MIN_ITERATIONS,
} from '../src/security/index.js';
import { type RunningBroker, startBroker } from './support/broker-harness.js';
import { run, until } from './support/processes.js';
import { WireClient } from './support/wire-client.js';

/**
 * The authorizer end to end: ACLs managed with kafkajs's admin client, every API refused as Kafka refuses it
 * to a client without ACLs (kafkajs over SASL_PLAINTEXT as a user, raw requests over PLAINTEXT as
 * User:ANONYMOUS), then allowed once ACLs say so, with a DENY beating an ALLOW.
 */

const PASSWORDS: Record<string, string> = { admin: 'admin-secret', alice: 'alice-secret', bob: 'bob-secret' };

function kafka(broker: RunningBroker, user: string): Kafka {
  return new Kafka({
    clientId: `acl-${user}`,
    brokers: [saslBootstrap(broker)],
    sasl: { mechanism: 'scram-sha-512', username: user, password: PASSWORDS[user]! },
    logLevel: logLevel.NOTHING,
    connectionTimeout: 10_000,
    requestTimeout: 15_000,
    retry: { retries: 2, initialRetryTime: 100 },
  });
}

function saslBootstrap(broker: RunningBroker): string {
  const { port } = broker.broker.listenerAddresses.get('SASL_PLAINTEXT')!;
  return `127.0.0.1:${port}`;
}

/** The Kafka error types an error from kafkajs carries, itself and whatever it wraps. */
function errorTypes(error: unknown): string[] {
  if (typeof error !== 'object' || error === null) return [];
  const { type, cause, originalError, errors } = error as {
    type?: unknown;
    cause?: unknown;
    originalError?: unknown;
    errors?: unknown;
  };
  return [
    ...(typeof type === 'string' ? [type] : []),
    ...errorTypes(cause),
    ...errorTypes(originalError),
    ...(Array.isArray(errors) ? errors.flatMap(errorTypes) : []),
  ];
}

async function rejectsWith(promise: Promise<unknown>, type: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(errorTypes(error).includes(type), `expected ${type}, got ${String(error)}`);
    return true;
  });
}

/** Runs `body` with a connected kafkajs admin client of `user`. */
async function asAdmin<T>(
  broker: RunningBroker,
  user: string,
  body: (admin: ReturnType<Kafka['admin']>) => Promise<T>,
): Promise<T> {
  const admin = kafka(broker, user).admin();
  await admin.connect();
  try {
    return await body(admin);
  } finally {
    await admin.disconnect();
  }
}

async function produce(broker: RunningBroker, user: string, topic: string, value: string): Promise<void> {
  const producer = kafka(broker, user).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [{ value }] });
  } finally {
    await producer.disconnect();
  }
}

/** kafkajs's ACL enums are not ESM exports; they carry Kafka's codes, which src/security defines too. */
const allow = (
  principal: string,
  resourceType: number,
  resourceName: string,
  resourcePatternType: number,
  operation: number,
  permissionType: number = AclPermissionType.ALLOW,
) => ({ principal, host: '*', resourceType, resourceName, resourcePatternType, operation, permissionType });

describe('ACL authorizer against kafkajs and kcat', { timeout: 180_000 }, () => {
  let broker: RunningBroker;
  let anonymous: WireClient;

  before(async () => {
    broker = await startBroker(
      {
        listeners: ['SASL_PLAINTEXT://127.0.0.1:0', 'PLAINTEXT://127.0.0.1:0'],
        authorizer: true,
        superUsers: ['User:admin'],
      },
      async (dataDir) => {
        const users = CredentialStore.open(dataDir);
        for (const [user, password] of Object.entries(PASSWORDS)) {
          const credential = await makeScramCredential('SCRAM-SHA-512', password, SCRAM_MIN_ITERATIONS);
          users.upsert(user, 'SCRAM-SHA-512', credential);
        }
      },
    );
    await asAdmin(broker, 'admin', (admin) =>
      admin.createTopics({
        topics: ['orders-1', 'orders-2', 'secret'].map((topic) => ({ topic, numPartitions: 1 })),
      }),
    );
    anonymous = await WireClient.connect(broker.broker.listenerAddresses.get('PLAINTEXT')!.port);
  });
  after(async () => {
    await anonymous?.close();
    await broker?.stop();
  });

  it('creates, lists and deletes ACLs through kafkajs, and refuses it to users without ALTER on the cluster', async () => {
    const acl = allow('User:carol', ResourceType.TOPIC, 'audit-', PatternType.PREFIXED, AclOperation.READ);
    const filter = {
      resourceType: ResourceType.TOPIC,
      resourceName: 'audit-',
      resourcePatternType: PatternType.PREFIXED,
      operation: AclOperation.ANY,
      permissionType: AclPermissionType.ANY,
    };
    await asAdmin(broker, 'admin', async (admin) => {
      assert.equal(await admin.createAcls({ acl: [acl] }), true);
      const described = await admin.describeAcls(filter);
      assert.deepEqual(described.resources, [
        {
          resourceType: ResourceType.TOPIC,
          resourceName: 'audit-',
          resourcePatternType: PatternType.PREFIXED,
          acls: [
            {
              principal: 'User:carol',
              host: '*',
              operation: AclOperation.READ,
              permissionType: AclPermissionType.ALLOW,
            },
          ],
        },
      ]);
      const deleted = await admin.deleteAcls({ filters: [filter] });
      assert.equal(deleted.filterResponses[0]!.matchingAcls.length, 1);
      assert.deepEqual((await admin.describeAcls(filter)).resources, []);
    });
    await asAdmin(broker, 'bob', async (admin) => {
      await rejectsWith(admin.describeAcls(filter), 'CLUSTER_AUTHORIZATION_FAILED');
      await rejectsWith(admin.createAcls({ acl: [acl] }), 'CLUSTER_AUTHORIZATION_FAILED');
    });
  });

  it('refuses a user without ACLs through kafkajs: produce, create and delete topics; Metadata hides topics', async () => {
    await rejectsWith(produce(broker, 'bob', 'orders-1', 'no'), 'TOPIC_AUTHORIZATION_FAILED');
    await asAdmin(broker, 'bob', async (admin) => {
      await rejectsWith(
        admin.createTopics({ topics: [{ topic: 'bob-topic', numPartitions: 1 }] }),
        'TOPIC_AUTHORIZATION_FAILED',
      );
      await rejectsWith(admin.deleteTopics({ topics: ['orders-2'] }), 'TOPIC_AUTHORIZATION_FAILED');
      assert.deepEqual(await admin.listTopics(), []);
    });
    await asAdmin(broker, 'admin', async (admin) => {
      // A super user sees the internal offsets topic too, as on Kafka.
      assert.deepEqual((await admin.listTopics()).sort(), [
        '__consumer_offsets',
        'orders-1',
        'orders-2',
        'secret',
      ]);
    });
    assert.ok(
      (
        await broker.broker.metrics.registry.getSingleMetricAsString(
          'edgestream_broker_authorization_denied_total',
        )
      ).includes('resource_type="TOPIC"'),
    );
  });

  it('answers each API with its authorization error on the wire (User:ANONYMOUS, no ACLs)', async () => {
    const metadata = (await anonymous.request(Metadata, 9, {
      topics: [{ name: 'orders-1' }, { name: 'never-created' }],
      allowAutoTopicCreation: true,
    })) as { topics: Array<{ name: string; errorCode: number }> };
    assert.deepEqual(
      metadata.topics.map((t) => [t.name, t.errorCode]),
      [
        ['orders-1', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
        ['never-created', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
      ],
    );
    const everything = (await anonymous.request(Metadata, 9, { topics: null })) as { topics: unknown[] };
    assert.deepEqual(everything.topics, [], 'an all-topics request leaves out what it may not describe');
    assert.equal(broker.broker.logs.hasTopic('never-created'), false, 'not auto-created without CREATE');

    const produced = (await anonymous.request(Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        {
          name: 'orders-1',
          partitionData: [{ index: 0, records: encodeRecordBatch([{ key: null, value: Buffer.from('x') }]) }],
        },
      ],
    })) as { responses: Array<{ partitionResponses: Array<{ errorCode: number }> }> };
    assert.equal(
      produced.responses[0]!.partitionResponses[0]!.errorCode,
      ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    );

    const fetchFrom = async (replicaId: number) =>
      (
        (await anonymous.request(Fetch, 12, {
          replicaId,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
          topics: [
            { topic: 'orders-1', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] },
          ],
        })) as { responses: Array<{ partitions: Array<{ errorCode: number }> }> }
      ).responses[0]!.partitions[0]!.errorCode;
    assert.equal(await fetchFrom(-1), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    // A follower without CLUSTER_ACTION: every partition refused, as Kafka answers it.
    assert.equal(await fetchFrom(1), ErrorCode.TOPIC_AUTHORIZATION_FAILED);

    const offsets = (await anonymous.request(ListOffsets, 7, {
      topics: [{ name: 'orders-1', partitions: [{ partitionIndex: 0, timestamp: -1 }] }],
    })) as { topics: Array<{ partitions: Array<{ errorCode: number }> }> };
    assert.equal(offsets.topics[0]!.partitions[0]!.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);

    const joined = (await anonymous.request(JoinGroup, 5, {
      groupId: 'billing',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: '',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    })) as { errorCode: number };
    assert.equal(joined.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);

    const committed = (await anonymous.request(OffsetCommit, 7, {
      groupId: 'billing',
      memberId: '',
      topics: [
        {
          name: 'orders-1',
          partitions: [{ partitionIndex: 0, committedOffset: 0, committedMetadata: null }],
        },
      ],
    })) as { topics: Array<{ partitions: Array<{ errorCode: number }> }> };
    assert.equal(committed.topics[0]!.partitions[0]!.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);

    const coordinator = (await anonymous.request(FindCoordinator, 3, { key: 'billing', keyType: 0 })) as {
      errorCode: number;
    };
    assert.equal(coordinator.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const fetchedOffsets = (await anonymous.request(OffsetFetch, 7, {
      groupId: 'billing',
      topics: null,
    })) as {
      errorCode: number;
    };
    assert.equal(fetchedOffsets.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const groups = (await anonymous.request(DescribeGroups, 5, { groups: ['billing'] })) as {
      groups: Array<{ errorCode: number }>;
    };
    assert.equal(groups.groups[0]!.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);

    const producerId = (await anonymous.request(InitProducerId, 4, {
      transactionTimeoutMs: 60_000,
    } as Message)) as { errorCode: number };
    assert.equal(producerId.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);

    const configs = (await anonymous.request(DescribeConfigs, 4, {
      resources: [
        { resourceType: 4, resourceName: '1', configurationKeys: null },
        { resourceType: 2, resourceName: 'orders-1', configurationKeys: null },
      ],
    })) as { results: Array<{ errorCode: number }> };
    assert.deepEqual(
      configs.results.map((r) => r.errorCode),
      [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.TOPIC_AUTHORIZATION_FAILED],
    );
  });

  it('lets a user produce, consume in a group and commit once ACLs allow it', async () => {
    await asAdmin(broker, 'admin', (admin) =>
      admin.createAcls({
        acl: [
          allow('User:alice', ResourceType.TOPIC, 'orders-', PatternType.PREFIXED, AclOperation.WRITE),
          allow('User:alice', ResourceType.TOPIC, 'orders-', PatternType.PREFIXED, AclOperation.READ),
          allow('User:alice', ResourceType.GROUP, 'billing', PatternType.LITERAL, AclOperation.READ),
        ],
      }),
    );
    await produce(broker, 'alice', 'orders-1', 'first');
    const consumer = kafka(broker, 'alice').consumer({
      groupId: 'billing',
      heartbeatInterval: 500,
      sessionTimeout: 10_000,
    });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'orders-1', fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }: EachMessagePayload) => {
          seen.push(message.value!.toString());
        },
      });
      await until(() => seen.length >= 1, 60_000, 'the record produced by alice');
      await consumer.commitOffsets([{ topic: 'orders-1', partition: 0, offset: '1' }]);
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(seen, ['first']);
    await asAdmin(broker, 'alice', async (admin) => {
      const [committed] = await admin.fetchOffsets({ groupId: 'billing', topics: ['orders-1'] });
      assert.equal(committed!.partitions[0]!.offset, '1');
      // Every topic it may describe, and no other.
      assert.deepEqual((await admin.listTopics()).sort(), ['orders-1', 'orders-2']);
      assert.deepEqual(
        (await admin.listGroups()).groups.map((g) => g.groupId),
        ['billing'],
      );
    });
    // Without DESCRIBE on the cluster or the group, ListGroups leaves the group out.
    const listed = (await anonymous.request(ListGroups, 4, { statesFilter: [] })) as { groups: unknown[] };
    assert.deepEqual(listed.groups, []);
  });

  it('lets a DENY beat an ALLOW, and kcat reports the refusal', async () => {
    await asAdmin(broker, 'admin', (admin) =>
      admin.createAcls({
        acl: [
          allow(
            'User:alice',
            ResourceType.TOPIC,
            'orders-2',
            PatternType.LITERAL,
            AclOperation.WRITE,
            AclPermissionType.DENY,
          ),
        ],
      }),
    );
    await rejectsWith(produce(broker, 'alice', 'orders-2', 'denied'), 'TOPIC_AUTHORIZATION_FAILED');
    await produce(broker, 'alice', 'orders-1', 'still allowed');

    const kcat = await run(
      'kcat',
      [
        '-b',
        saslBootstrap(broker),
        '-X',
        'security.protocol=SASL_PLAINTEXT',
        '-X',
        'sasl.mechanisms=SCRAM-SHA-512',
        '-X',
        'sasl.username=alice',
        '-X',
        `sasl.password=${PASSWORDS.alice}`,
        '-X',
        'message.timeout.ms=20000',
        '-P',
        '-t',
        'orders-2',
      ],
      { input: 'denied by kcat\n', timeoutMs: 60_000 },
    );
    assert.match(kcat.stderr, /Topic authorization failed/i, kcat.stderr);
  });
});
