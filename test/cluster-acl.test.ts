// ACLs and client quotas on a three-broker cluster with the authorizer on: an ACL created through one broker is
// enforced by every broker, replication goes on (the brokers fetch from each other as User:ANONYMOUS, which
// is let do CLUSTER_ACTION whatever the ACLs say), and a quota set through one broker is described by another.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Admin as QuotaAdmin } from '@platformatic/kafka';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { ClusterCredentials } from '../src/cluster/cluster-credentials.js';
import { ZooKeeperCoordinator } from '../src/coordination/index.js';
import {
  AclOperation,
  AclPermissionType,
  makeScramCredential,
  PatternType,
  ResourceType,
  SCRAM_MIN_ITERATIONS,
} from '../src/security/index.js';
import { BrokerCluster, createReplicatedTopic } from './support/broker-cluster.js';
import { eventually } from './support/processes.js';

const PASSWORDS: Record<string, string> = { admin: 'admin-secret', alice: 'alice-secret', bob: 'bob-secret' };
const TOPIC = 'orders';
/** How long a change made through one broker may take to reach the others; it takes well under a second. */
const PROPAGATION_MS = 20_000;

function kafka(brokers: string, user: string): Kafka {
  return new Kafka({
    clientId: `cluster-acl-${user}`,
    brokers: brokers.split(','),
    sasl: { mechanism: 'scram-sha-512', username: user, password: PASSWORDS[user]! },
    logLevel: logLevel.NOTHING,
    connectionTimeout: 10_000,
    requestTimeout: 15_000,
    retry: { retries: 1, initialRetryTime: 100 },
  });
}

/**
 * The SASL users, written into the cluster's ZooKeeper as a broker writes them (with the authorizer on, the
 * first super user cannot be created over the Kafka protocol by a client that is not one yet).
 */
async function addUsers(cluster: BrokerCluster): Promise<void> {
  const logger = pino({ level: 'silent' });
  const coordinator = new ZooKeeperCoordinator({
    connectString: cluster.ensemble.connectString,
    sessionTimeoutMs: 6_000,
    connectTimeoutMs: 10_000,
    requestTimeoutMs: 3_000,
    logger,
  });
  await coordinator.start();
  const users = new ClusterCredentials(coordinator, logger);
  try {
    await users.start();
    const changes = [];
    for (const [user, password] of Object.entries(PASSWORDS)) {
      changes.push({
        user,
        mechanism: 'SCRAM-SHA-512' as const,
        credential: await makeScramCredential('SCRAM-SHA-512', password, SCRAM_MIN_ITERATIONS),
      });
    }
    await users.alter(changes);
  } finally {
    users.close();
    await coordinator.close();
  }
}

/** Sends one record to each partition (so to every broker, each leading one), acks=all; true if all land. */
async function produceToEveryPartition(brokers: string, user: string, partitions: number): Promise<void> {
  const producer = kafka(brokers, user).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: Array.from({ length: partitions }, (_, partition) => ({ partition, value: `from ${user}` })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** kafkajs's error for a refused topic: its own type, or that of one of the errors it gathers. */
function topicAuthorizationFailed(error: unknown): boolean {
  const { type, errors } = error as { type?: string; errors?: Array<{ type?: string }> };
  const types = [type, ...(errors ?? []).map((e) => e.type)];
  assert.ok(types.includes('TOPIC_AUTHORIZATION_FAILED'), String(error));
  return true;
}

describe('ACLs and quotas on a three-broker cluster', { timeout: 300_000 }, () => {
  let cluster: BrokerCluster;
  let admin: Admin;

  before(async () => {
    cluster = await BrokerCluster.start({
      saslListeners: true,
      extraArgs: ['--authorizer', '--super-user', 'User:admin'],
    });
    await addUsers(cluster);
    // Each broker learns of the users through its ZooKeeper watch, a moment after they are written.
    for (const address of cluster.saslBootstrap.split(',')) {
      await eventually(
        async () => {
          const probe = kafka(address, 'admin').admin();
          const loggedIn = await probe.connect().then(
            () => true,
            () => false,
          );
          await probe.disconnect();
          return loggedIn;
        },
        30_000,
        `admin logged in at ${address}`,
      );
    }
    admin = kafka(cluster.saslBootstrap, 'admin').admin();
    await admin.connect();
    await createReplicatedTopic(admin, TOPIC, 3);
  });

  after(async () => {
    await admin?.disconnect();
    await cluster?.stop();
  });

  const isr = async () => {
    const metadata = await admin.fetchTopicMetadata({ topics: [TOPIC] });
    return metadata.topics[0]!.partitions.map((p) => ({ leader: p.leader, isr: p.isr.length }));
  };

  test('an ACL created through one broker is enforced by all three, and replication goes on', async () => {
    // Each partition led by a different broker (the preferred leaders of three partitions on three brokers).
    await eventually(
      async () => new Set((await isr()).map((p) => p.leader)).size === 3,
      60_000,
      'each broker to lead one partition',
    );
    await eventually(async () => (await isr()).every((p) => p.isr === 3), 60_000, 'every ISR to be 3');
    const denied = async (user: string) => {
      await assert.rejects(produceToEveryPartition(cluster.saslBootstrap, user, 3), (error: unknown) => {
        assert.match(String(error), /TOPIC_AUTHORIZATION_FAILED|not authorized/i, String(error));
        return true;
      });
    };
    await denied('alice');
    await denied('bob');

    // kafkajs sends CreateAcls to the controller; the other two brokers learn of it from ZooKeeper.
    await admin.createAcls({
      acl: [AclOperation.WRITE, AclOperation.DESCRIBE].map((operation) => ({
        resourceType: ResourceType.TOPIC,
        resourceName: TOPIC,
        resourcePatternType: PatternType.LITERAL,
        principal: 'User:alice',
        host: '*',
        operation,
        permissionType: AclPermissionType.ALLOW,
      })),
    });
    // alice writes to the partition each broker leads, so each broker's authorizer has the ACL.
    await eventually(
      async () => {
        await produceToEveryPartition(cluster.saslBootstrap, 'alice', 3);
        return true;
      },
      PROPAGATION_MS,
      'alice to produce to every partition',
    );
    await denied('bob');
    // Every broker describes the same ACLs, whichever answers.
    for (const broker of cluster.brokers) {
      const one = kafka(`127.0.0.1:${broker.saslPort}`, 'admin').admin();
      await one.connect();
      try {
        const described = await one.describeAcls({
          resourceType: ResourceType.TOPIC,
          resourceName: TOPIC,
          resourcePatternType: PatternType.LITERAL,
          operation: AclOperation.ANY,
          permissionType: AclPermissionType.ANY,
        });
        assert.equal(described.resources[0]?.acls.length, 2);
      } finally {
        await one.disconnect();
      }
    }
    // The followers fetched alice's records as User:ANONYMOUS: they are still in sync.
    await eventually(async () => (await isr()).every((p) => p.isr === 3), 30_000, 'every ISR to stay 3');
  });

  test('CreateTopics, DeleteTopics and Metadata on the cluster are checked as on a single broker', async () => {
    await createReplicatedTopic(admin, 'secret', 1);
    const bob = kafka(cluster.saslBootstrap, 'bob').admin();
    const alice = kafka(cluster.saslBootstrap, 'alice').admin();
    await Promise.all([bob.connect(), alice.connect()]);
    try {
      await assert.rejects(
        bob.createTopics({ topics: [{ topic: 'bobs-topic', numPartitions: 1 }] }),
        topicAuthorizationFailed,
      );
      await assert.rejects(bob.deleteTopics({ topics: [TOPIC] }), topicAuthorizationFailed);
      // An all-topics Metadata leaves out what the client may not describe: alice has DESCRIBE on orders only.
      await eventually(
        async () => (await alice.listTopics()).join() === TOPIC,
        PROPAGATION_MS,
        'alice to list only the topic she may describe',
      );
      assert.deepEqual(await bob.listTopics(), []);
      assert.ok((await admin.listTopics()).includes('secret'), 'a super user lists every topic');
    } finally {
      await Promise.all([bob.disconnect(), alice.disconnect()]);
    }
  });

  test('a quota set through one broker is described by another', async () => {
    const through = (id: number) =>
      new QuotaAdmin({
        clientId: `cluster-quota-${id}`,
        bootstrapBrokers: [`127.0.0.1:${cluster.broker(id).saslPort}`],
        sasl: { mechanism: 'SCRAM-SHA-512', username: 'admin', password: PASSWORDS.admin! },
      });
    const one = through(1);
    try {
      await one.alterClientQuotas({
        entries: [
          {
            entities: [{ entityType: 'user', entityName: 'alice' }],
            ops: [{ key: 'producer_byte_rate', value: 1_048_576, remove: false }],
          },
        ],
      });
    } finally {
      await one.close();
    }
    for (const id of [2, 3]) {
      const other = through(id);
      try {
        await eventually(
          async () => {
            const described = await other.describeClientQuotas({
              components: [{ entityType: 'user', matchType: 0, match: 'alice' }],
              strict: false,
            });
            return (
              described[0]?.values.some((v) => v.key === 'producer_byte_rate' && v.value === 1_048_576) ===
              true
            );
          },
          PROPAGATION_MS,
          `broker ${id} to describe alice's quota`,
        );
      } finally {
        await other.close();
      }
    }
  });
});
