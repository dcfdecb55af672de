import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { joinAndSync, joinParams } from '../../test/support/group-fixtures.js';
import { RecordingLogger, temporaryDirectory } from '../../test/support/log-fixtures.js';
import {
  type DecodedOffsetsRecord,
  decodeOffsetsRecord,
  legacyOffsetsBatch,
} from '../../test/support/offsets-topic-decoder.js';
import { LogManager, type PartitionLog } from '../log/index.js';
import { decodeRecords, ErrorCode, encodeMarkerBatch, splitBatches } from '../protocol/index.js';
import { GroupCoordinator } from './group-coordinator.js';
import { OFFSETS_TOPIC, OffsetStore } from './offset-store.js';

/** Every record of the log, decoded by the test's own reader of Kafka's layouts. */
function recordsOf(log: PartitionLog): DecodedOffsetsRecord[] {
  log.settleWrites();
  const batches = splitBatches(log.readForReplica(log.logStartOffset, 1 << 24).records);
  return batches.flatMap((batch) => decodeRecords(batch).map((r) => decodeOffsetsRecord(r.key!, r.value)));
}

function coordinatorOver(store: OffsetStore): GroupCoordinator {
  return new GroupCoordinator(store, {
    initialRebalanceDelayMs: 0,
    minSessionTimeoutMs: 100,
    logger: new RecordingLogger(),
    partitionExists: (topic, partition) => topic === 't' && partition < 4,
  });
}

/** A consumer protocol subscription (ConsumerProtocolSubscription v0) to `topics`. */
function subscription(topics: string[]): Buffer {
  const parts = [Buffer.from([0, 0]), Buffer.alloc(4)];
  parts[1]!.writeInt32BE(topics.length);
  for (const topic of topics) {
    const length = Buffer.alloc(2);
    length.writeInt16BE(Buffer.byteLength(topic));
    parts.push(length, Buffer.from(topic));
  }
  parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  return Buffer.concat(parts);
}

describe('offset store in Kafka format', () => {
  it('writes commits as OffsetCommit records and generations as GroupMetadata records', async () => {
    using tmp = temporaryDirectory();
    const logs = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    const coordinator = coordinatorOver(await OffsetStore.open(logs));
    try {
      const joined = await joinAndSync(coordinator, 'g');
      const committed = await coordinator.commitOffsets({
        groupId: 'g',
        generationId: joined.generationId,
        memberId: joined.memberId,
        groupInstanceId: null,
        offsets: [{ topic: 't', partition: 2, offset: 42, leaderEpoch: 7, metadata: 'why' }],
      });
      assert.equal(committed[0]!.errorCode, ErrorCode.NONE);
      const log = logs.partition(OFFSETS_TOPIC, 0);
      const records = recordsOf(log);
      const group = records.find((r) => r.kind === 'group');
      assert.ok(group?.value, 'a GroupMetadata record for the completed generation');
      assert.equal(group.value.generation, joined.generationId);
      assert.equal(group.value.protocolType, 'consumer');
      assert.equal(group.value.protocol, 'range');
      assert.equal(group.value.leader, joined.memberId);
      assert.deepEqual(group.value.members, [
        { memberId: joined.memberId, clientId: 'client', clientHost: '127.0.0.1', sessionTimeout: 300 },
      ]);
      const offset = records.find((r) => r.kind === 'offset');
      assert.ok(offset);
      assert.equal(offset.group, 'g');
      assert.equal(offset.topic, 't');
      assert.equal(offset.partition, 2);
      assert.deepEqual(
        { ...offset.value, commitTimestamp: 0 },
        {
          offset: 42,
          leaderEpoch: 7,
          metadata: 'why',
          commitTimestamp: 0,
        },
      );
      assert.equal(logs.describeTopic(OFFSETS_TOPIC).config.cleanupPolicy, 'compact');
    } finally {
      coordinator.close();
      await logs.close();
    }
  });

  it('migrates the JSON log of an older version, then deletes it', async () => {
    using tmp = temporaryDirectory();
    const logger = new RecordingLogger();
    const former = LogManager.open({ dataDir: path.join(tmp.dir, 'internal'), logger });
    former.createTopic(OFFSETS_TOPIC, 1);
    former.partition(OFFSETS_TOPIC, 0).write(legacyOffsetsBatch());
    await former.partition(OFFSETS_TOPIC, 0).durable();
    let logs = LogManager.open({ dataDir: tmp.dir, logger });
    const store = await OffsetStore.open(logs, former);
    const expected = [
      { topic: 't', partition: 0, value: { offset: 10, leaderEpoch: 2, metadata: 'm', commitTimestamp: 5 } },
      { topic: 't', partition: 1, value: { offset: 11, leaderEpoch: -1, metadata: '', commitTimestamp: 6 } },
    ];
    const entries = (s: OffsetStore) =>
      s.entries('old').map(({ topic, partition, value }) => ({ topic, partition, value }));
    assert.deepEqual(entries(store), expected);
    assert.deepEqual(store.groups(), ['old'], 'a deleted group stays deleted');
    assert.equal(former.hasTopic(OFFSETS_TOPIC), false, 'the former log is gone once rewritten');
    assert.deepEqual(
      recordsOf(logs.partition(OFFSETS_TOPIC, 0)).map(
        (r) => r.kind === 'offset' && [r.group, r.partition, r.value?.offset],
      ),
      [
        ['old', 0, 10],
        ['old', 1, 11],
      ],
    );
    await former.close();
    await logs.close();
    logs = LogManager.open({ dataDir: tmp.dir, logger });
    const reopened = await OffsetStore.open(logs);
    assert.deepEqual(entries(reopened), expected);
    assert.equal(reopened.replayed.legacyRecords, 0);
    await logs.close();
  });

  it('retires JSON records found in its own log (a cluster partition) with tombstones before the rewrite', async () => {
    using tmp = temporaryDirectory();
    const logs = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    logs.createTopic(OFFSETS_TOPIC, 1);
    const log = logs.partition(OFFSETS_TOPIC, 0);
    log.write(legacyOffsetsBatch());
    const writer = { write: (payload: Buffer) => log.write(payload), acknowledged: () => log.durable() };
    const store = OffsetStore.over(log, writer);
    assert.equal(store.replayed.legacyRecords, 4);
    await store.migrate();
    const again = OffsetStore.over(log, writer);
    assert.deepEqual(
      again.entries('old').map((e) => e.value.offset),
      [10, 11],
      'the rewritten records come after the tombstones of the JSON keys they replace',
    );
    assert.deepEqual(again.groups(), ['old']);
    await logs.close();
  });

  it('DeleteGroups: only an empty group, with tombstones for its offsets and its group record', async () => {
    using tmp = temporaryDirectory();
    const logs = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    const coordinator = coordinatorOver(await OffsetStore.open(logs));
    try {
      assert.equal(await coordinator.deleteGroup('nobody'), ErrorCode.GROUP_ID_NOT_FOUND);
      const joined = await joinAndSync(coordinator, 'g', { sessionTimeoutMs: 60_000 });
      await coordinator.commitOffsets({
        groupId: 'g',
        generationId: joined.generationId,
        memberId: joined.memberId,
        groupInstanceId: null,
        offsets: [{ topic: 't', partition: 0, offset: 3, leaderEpoch: -1, metadata: null }],
      });
      assert.equal(await coordinator.deleteGroup('g'), ErrorCode.NON_EMPTY_GROUP);
      coordinator.leave({ groupId: 'g', members: [{ memberId: joined.memberId, groupInstanceId: null }] });
      assert.equal(coordinator.describe('g').state, 'Empty');
      assert.equal(await coordinator.deleteGroup('g'), ErrorCode.NONE);
      assert.equal(coordinator.describe('g').state, 'Dead');
      assert.deepEqual(coordinator.fetchOffsets('g', null), []);
      const tail = recordsOf(logs.partition(OFFSETS_TOPIC, 0)).slice(-2);
      assert.deepEqual(tail, [
        { kind: 'offset', group: 'g', topic: 't', partition: 0, value: null },
        { kind: 'group', group: 'g', value: null },
      ]);
    } finally {
      coordinator.close();
      await logs.close();
    }
  });

  it('OffsetDelete: removes offsets of topics no member subscribes to, refuses the subscribed ones', async () => {
    using tmp = temporaryDirectory();
    const logs = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    const coordinator = coordinatorOver(await OffsetStore.open(logs));
    try {
      const standalone = { groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null };
      await coordinator.commitOffsets({
        ...standalone,
        offsets: [
          { topic: 't', partition: 0, offset: 5, leaderEpoch: -1, metadata: null },
          { topic: 't', partition: 1, offset: 6, leaderEpoch: -1, metadata: null },
        ],
      });
      assert.deepEqual(await coordinator.deleteOffsets('g', [{ topic: 't', partition: 1 }]), {
        errorCode: ErrorCode.NONE,
        partitions: [{ topic: 't', partition: 1, errorCode: ErrorCode.NONE }],
      });
      assert.deepEqual(
        coordinator.fetchOffsets('g', null).map((o) => [o.partition, o.offset]),
        [[0, 5]],
      );
      await coordinator.join(
        joinParams('', {
          groupId: 'g',
          sessionTimeoutMs: 60_000,
          protocols: [{ name: 'range', metadata: subscription(['t']) }],
        }),
      );
      const refused = await coordinator.deleteOffsets('g', [
        { topic: 't', partition: 0 },
        { topic: 'elsewhere', partition: 0 },
      ]);
      assert.deepEqual(
        refused.partitions.map((p) => p.errorCode),
        [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      );
      assert.equal(coordinator.fetchOffsets('g', null).length, 1, 'a subscribed topic keeps its offset');
      assert.equal((await coordinator.deleteOffsets('unknown', [])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    } finally {
      coordinator.close();
      await logs.close();
    }
  });

  it('transactional offsets: pending until their marker, applied at their own log offsets, replayed in log order', async () => {
    using tmp = temporaryDirectory();
    const logs = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    logs.createTopic(OFFSETS_TOPIC, 1);
    const log = logs.partition(OFFSETS_TOPIC, 0);
    const writer = { write: (payload: Buffer) => log.write(payload), acknowledged: () => log.durable() };
    const at = (partition: number, offset: number) => ({
      topic: 't',
      partition,
      value: { offset, leaderEpoch: -1, metadata: '', commitTimestamp: 1 },
    });
    /** The marker as the partition leader writes it, then told to `store` as the marker writer does. */
    const mark = async (store: OffsetStore | null, producerId: number, committed: boolean) => {
      log.write(encodeMarkerBatch({ producerId, producerEpoch: 0, coordinatorEpoch: 0, committed }, 1), {
        marker: true,
      });
      await log.durable();
      await store?.endTransaction(producerId, committed);
    };
    const offsetsOf = (store: OffsetStore) => [0, 1, 2, 3].map((p) => store.get('g', 't', p)?.offset ?? -1);
    const pendingOf = (store: OffsetStore) => [0, 1, 2, 3].map((p) => store.hasPending('g', 't', p));
    const producer = (producerId: number) => ({ producerId, producerEpoch: 0 });
    try {
      const store = OffsetStore.over(log, writer);
      await store.commit('g', [at(0, 1)]);
      await store.commitTransactional('g', producer(7), [at(0, 5), at(1, 6)]);
      await store.commitTransactional('g', producer(8), [at(2, 9)]);
      await store.commitTransactional('g', producer(9), [at(3, 4)]);
      // Written after producer 7's offsets: this plain commit wins over them when they are applied.
      await store.commit('g', [at(1, 2)]);
      assert.deepEqual(offsetsOf(store), [1, 2, -1, -1], 'transactional offsets are not visible yet');
      assert.deepEqual(pendingOf(store), [true, true, true, true]);
      await mark(store, 7, true);
      await mark(store, 8, false);
      assert.deepEqual(offsetsOf(store), [5, 2, -1, -1], 'committed applied, aborted dropped');
      assert.deepEqual(pendingOf(store), [false, false, false, true], 'the open transaction stays pending');

      const replayed = OffsetStore.over(log, writer);
      assert.deepEqual(
        offsetsOf(replayed),
        [5, 2, -1, -1],
        'a replay applies only what its markers committed',
      );
      assert.deepEqual(pendingOf(replayed), [false, false, false, true]);
      await mark(replayed, 9, true);
      assert.deepEqual(offsetsOf(replayed), [5, 2, -1, 4]);
      // A store loaded after the marker was written (a new leader) finds it in the log.
      assert.deepEqual(offsetsOf(OffsetStore.over(log, writer)), [5, 2, -1, 4]);

      // A newer epoch of the producer has written here: the older one is fenced by the log.
      log.write(
        encodeMarkerBatch({ producerId: 10, producerEpoch: 1, coordinatorEpoch: 0, committed: false }, 1),
        {
          marker: true,
        },
      );
      const coordinator = coordinatorOver(replayed);
      assert.equal(
        await coordinator.commitTransactionalOffsets('g', producer(10), [
          { topic: 't', partition: 0, offset: 3, leaderEpoch: -1, metadata: null },
        ]),
        ErrorCode.INVALID_PRODUCER_EPOCH,
      );
      coordinator.close();
    } finally {
      await logs.close();
    }
  });
});
