import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Admin } from 'kafkajs';
import { z } from 'zod';
import { OffsetFetch } from '../src/protocol/apis/offset-fetch.js';
import { ErrorCode } from '../src/protocol/index.js';
import { BrokerCluster, createReplicatedTopic } from './support/broker-cluster.js';
import {
  CoordinatorKey,
  type CoordinatorKeyType,
  coordinatorOf,
  kafkaOf,
} from './support/cluster-coordinators.js';
import { eventually, run } from './support/processes.js';
import { WireClient } from './support/wire-client.js';

/**
 * Offsets in transactions on a replicated cluster (kafkajs `transaction.sendOffsets`), with the group's
 * coordinator on another broker than the transaction's: TxnOffsetCommit writes the offsets in the transaction
 * to the group's `__consumer_offsets` partition and the transaction's marker there applies (commit) or drops
 * (abort) them; a group coordinator killed between TxnOffsetCommit and the commit leaves them to the next
 * leader of its partition, which finds them in the log and applies them at the marker.
 */
const SOURCE = 'txn-offsets-source';
const OUTPUT = 'txn-offsets-output';
const TRANSACTIONAL_ID = 'txn-offsets-tx';
/** Debian's Python modules live under /usr/bin/python3. */
const PYTHON = '/usr/bin/python3';
const pythonScript = fileURLToPath(new URL('../../test/python/transactions_client.py', import.meta.url));
const OffsetFetchAnswer = z.object({
  topics: z.array(
    z.object({
      partitions: z.array(z.object({ committedOffset: z.number(), errorCode: z.number() })),
    }),
  ),
});

let cluster: BrokerCluster;

before(async () => {
  cluster = await BrokerCluster.start();
});

after(async () => {
  await cluster?.stop();
});

/**
 * The broker coordinating `key`, once one does: the offsets topic is created on the first group lookup, and
 * a partition may be between leaders.
 */
async function foundCoordinator(keyType: CoordinatorKeyType, key: string, via: number): Promise<number> {
  let node = -1;
  await eventually(
    async () => {
      node = await coordinatorOf(cluster, keyType, key, via);
      return true;
    },
    60_000,
    `a coordinator for ${key}`,
  );
  return node;
}

/** A group whose coordinator is a broker other than `avoid`, and that broker. */
async function groupNotOn(
  avoid: number,
  via: number,
  prefix: string,
): Promise<{ group: string; node: number }> {
  for (let i = 0; i < 50; i++) {
    const group = `${prefix}-${i}`;
    const node = await foundCoordinator(CoordinatorKey.GROUP, group, via);
    if (node !== avoid) return { group, node };
  }
  throw new Error(`no group coordinated away from broker ${avoid}`);
}

/** Source partition 0's committed offset of `groupId` as OffsetFetch v7 with requireStable answers it at `node`. */
async function stableOffset(node: number, groupId: string): Promise<{ offset: number; errorCode: number }> {
  const client = await WireClient.connect(cluster.broker(node).port);
  try {
    const answer = OffsetFetchAnswer.parse(
      await client.request(OffsetFetch, 7, {
        groupId,
        topics: [{ name: SOURCE, partitionIndexes: [0] }],
        requireStable: true,
      }),
    );
    const partition = answer.topics[0]!.partitions[0]!;
    return { offset: partition.committedOffset, errorCode: partition.errorCode };
  } finally {
    await client.close();
  }
}

/** The group's committed offset of each source partition (-1: none), as the admin client reads them. */
async function committed(admin: Admin, groupId: string): Promise<number[]> {
  const [topic] = await admin.fetchOffsets({ groupId, topics: [SOURCE] });
  return [...topic!.partitions].sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
}

test('sendOffsets commits the offsets with the transaction and an abort leaves them unchanged', {
  timeout: 240_000,
}, async () => {
  const kafka = kafkaOf(cluster, 'txn-offsets-test');
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({
    transactionalId: TRANSACTIONAL_ID,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  try {
    await createReplicatedTopic(admin, SOURCE, 2);
    await createReplicatedTopic(admin, OUTPUT, 1);
    const via = cluster.brokers[0]!.id;
    const txnCoordinator = await foundCoordinator(CoordinatorKey.TRANSACTION, TRANSACTIONAL_ID, via);
    const { group, node } = await groupNotOn(txnCoordinator, via, 'txn-offsets-group');
    assert.notEqual(
      node,
      txnCoordinator,
      'the group and the transaction are coordinated by different brokers',
    );

    await producer.connect();
    const offsets = (partition: number, offset: number) => ({
      consumerGroupId: group,
      topics: [{ topic: SOURCE, partitions: [{ partition, offset: String(offset) }] }],
    });
    const first = await producer.transaction();
    await first.send({ topic: OUTPUT, messages: [{ value: 'first' }] });
    await first.sendOffsets(offsets(0, 5));
    await first.commit();
    await eventually(
      async () => (await committed(admin, group))[0] === 5,
      60_000,
      'the committed transaction offset visible',
    );

    const aborted = await producer.transaction();
    await aborted.send({ topic: OUTPUT, messages: [{ value: 'aborted' }] });
    await aborted.sendOffsets(offsets(0, 9));
    assert.deepEqual(
      await stableOffset(node, group),
      { offset: -1, errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT },
      'pending in an open transaction: unstable to a reader that requires stability',
    );
    await aborted.abort();
    // The next transaction starts once the abort completed, its markers included: its offset seen means
    // the abort marker reached the offsets partition before it.
    const last = await producer.transaction();
    await last.sendOffsets(offsets(1, 3));
    await last.commit();
    await eventually(
      async () => (await committed(admin, group))[1] === 3,
      60_000,
      'the last transaction offset visible',
    );
    assert.deepEqual(await committed(admin, group), [5, 3], 'the aborted offset was dropped');
    assert.deepEqual(
      await stableOffset(node, group),
      { offset: 5, errorCode: ErrorCode.NONE },
      'and is no longer pending',
    );
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});

test('confluent-kafka (librdkafka) send_offsets_to_transaction: commit, then an abort that leaves them', {
  timeout: 240_000,
}, async () => {
  const via = cluster.brokers[0]!.id;
  const transactionalId = 'txn-offsets-python';
  const txnCoordinator = await foundCoordinator(CoordinatorKey.TRANSACTION, transactionalId, via);
  const { group, node } = await groupNotOn(txnCoordinator, via, 'txn-offsets-python-group');
  const transaction = async (outcome: 'commit' | 'abort', groupId: string, offset: number) => {
    const result = await run(
      PYTHON,
      [
        pythonScript,
        cluster.bootstrap,
        transactionalId,
        OUTPUT,
        '5',
        outcome,
        groupId,
        SOURCE,
        String(offset),
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(result.status, 0, result.stderr.slice(-2000));
  };
  await transaction('commit', group, 11);
  await transaction('abort', group, 12);
  // The same transactional id starts again only once the abort completed, its markers written.
  await transaction('commit', `${group}-next`, 13);
  const admin = kafkaOf(cluster, 'txn-offsets-python-admin').admin();
  await admin.connect();
  try {
    await eventually(
      async () => (await committed(admin, `${group}-next`))[0] === 13,
      60_000,
      'the last transaction offset visible',
    );
    assert.equal((await committed(admin, group))[0], 11, 'the aborted offset was dropped');
    assert.deepEqual(
      await stableOffset(node, group),
      { offset: 11, errorCode: ErrorCode.NONE },
      'and is no longer pending',
    );
  } finally {
    await admin.disconnect();
  }
});

test('the group coordinator killed between TxnOffsetCommit and the commit: the next leader applies them', {
  timeout: 240_000,
}, async () => {
  const via = cluster.brokers[0]!.id;
  const txnCoordinator = await foundCoordinator(CoordinatorKey.TRANSACTION, TRANSACTIONAL_ID, via);
  const { group, node: groupCoordinator } = await groupNotOn(txnCoordinator, via, 'txn-offsets-failover');
  const producer = kafkaOf(cluster, 'txn-offsets-failover').producer({
    transactionalId: TRANSACTIONAL_ID,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    const open = await producer.transaction();
    await open.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic: SOURCE, partitions: [{ partition: 0, offset: '7' }] }],
    });
    await cluster.kill(groupCoordinator);
    await open.commit();
  } finally {
    await producer.disconnect();
  }
  const survivor = cluster.brokers.find((b) => b.id !== groupCoordinator)!.id;
  await eventually(
    async () => (await coordinatorOf(cluster, CoordinatorKey.GROUP, group, survivor)) !== groupCoordinator,
    60_000,
    'the group coordinated by a live broker',
  );
  const admin = kafkaOf(cluster, 'txn-offsets-failover-admin', groupCoordinator).admin();
  await admin.connect();
  try {
    await eventually(
      async () => (await committed(admin, group))[0] === 7,
      90_000,
      'the offset committed by the transaction visible at the new coordinator',
    );
  } finally {
    await admin.disconnect();
  }
});
