import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { callHandler, requestContext } from '../../../test/support/handler-call.js';
import { temporaryDirectory } from '../../../test/support/log-fixtures.js';
import { LogManager } from '../../log/index.js';
import { Fetch } from '../../protocol/apis/fetch.js';
import { ListOffsets, ListOffsetsTimestamp } from '../../protocol/apis/list-offsets.js';
import { Produce } from '../../protocol/apis/produce.js';
import { WriteTxnMarkers } from '../../protocol/apis/write-txn-markers.js';
import {
  decodeLegacyMessageSet,
  encodeMarkerBatch,
  encodeRecordBatch,
  isControlBatch,
  readBatchHeader,
  splitBatches,
  TRANSACTIONAL_BIT,
} from '../../protocol/index.js';
import { AclAuthorizer, AclStore, FileAclStorage } from '../../security/index.js';
import { Access } from '../access.js';
import { ClientQuotas } from '../client-quotas.js';
import { ErrorCode } from '../error-codes.js';
import { BrokerMetrics } from '../metrics.js';
import { PartitionWatch } from '../partition-watch.js';
import { TopicCatalog } from '../topic-catalog.js';
import { localTxnMarkerWriter } from '../transaction-markers.js';
import { fetchHandler } from './fetch.js';
import { listOffsetsHandler } from './list-offsets.js';
import { produceHandler } from './produce.js';
import { writeTxnMarkersHandler } from './write-txn-markers.js';

const TOPIC = 'tx';
const logger = pino({ level: 'silent' });

function transactionalBatch(producerId: number, baseSequence: number, tag: string): Buffer {
  return encodeRecordBatch(
    [
      { key: null, value: Buffer.from(`${tag}-0`) },
      { key: null, value: Buffer.from(`${tag}-1`) },
    ],
    { producerId, producerEpoch: 0, baseSequence, flags: TRANSACTIONAL_BIT },
  );
}

/** WriteTxnMarkers: abort producer 1's transaction in partition 0. */
const abortOfProducer1 = {
  markers: [
    {
      producerId: 1,
      producerEpoch: 0,
      transactionResult: false,
      coordinatorEpoch: 0,
      topics: [{ name: TOPIC, partitionIndexes: [0] }],
    },
  ],
};

describe('transactions on the partition leader (single node)', () => {
  const tmp = temporaryDirectory();
  const logs = LogManager.open({ dataDir: tmp.dir, logger });
  const topics = new TopicCatalog(logs, { autoCreateTopics: false, defaultPartitions: 1, logger });
  const watch = new PartitionWatch();
  const metrics = new BrokerMetrics();
  const deps = {
    topics,
    watch,
    metrics,
    logger,
    cluster: null,
    access: Access.OPEN,
    quotas: new ClientQuotas(metrics),
  };
  const writer = localTxnMarkerWriter({
    topics,
    watch,
    cluster: null,
    replicationTimeoutMs: 1_000,
    offsetsMarked: () => undefined,
  });
  const handlers = [
    produceHandler(deps),
    fetchHandler({ ...deps, maxFetchWaitMs: 5_000 }),
    listOffsetsHandler(topics, null, Access.OPEN),
    writeTxnMarkersHandler(writer, Access.OPEN),
  ];

  async function produce(records: Buffer, transactionalId: string | null) {
    const response = await callHandler(
      handlers,
      Produce,
      {
        transactionalId,
        acks: -1,
        timeoutMs: 1_000,
        topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
      },
      requestContext(9),
    );
    return response.responses[0]!.partitionResponses[0]!;
  }

  async function fetch(version: number, isolationLevel: number, fetchOffset = 0, maxWaitMs = 0) {
    const topicId = Buffer.from(logs.describeTopic(TOPIC).topicId, 'hex');
    const response = await callHandler(
      handlers,
      Fetch,
      {
        maxWaitMs,
        minBytes: maxWaitMs > 0 ? 1 : 0,
        isolationLevel,
        topics: [
          { topic: TOPIC, topicId, partitions: [{ partition: 0, fetchOffset, partitionMaxBytes: 1 << 20 }] },
        ],
        forgottenTopicsData: [],
      },
      requestContext(version),
    );
    return response.responses[0]!.partitions[0]!;
  }

  async function latest(isolationLevel: number): Promise<number> {
    const response = await callHandler(
      handlers,
      ListOffsets,
      {
        isolationLevel,
        topics: [
          { name: TOPIC, partitions: [{ partitionIndex: 0, timestamp: ListOffsetsTimestamp.LATEST }] },
        ],
      },
      requestContext(5),
    );
    return response.topics[0]!.partitions[0]!.offset;
  }

  let abortAt = -1;
  let commitAt = -1;

  before(async () => {
    logs.createTopic(TOPIC, 1);
    // 0-1 aborted txn of producer 1, 2-3 committed txn of producer 2, 4 abort marker, 5 commit marker,
    // 6-7 an open txn of producer 1.
    assert.equal((await produce(transactionalBatch(1, 0, 'aborted'), 'a')).errorCode, ErrorCode.NONE);
    assert.equal((await produce(transactionalBatch(2, 0, 'committed'), 'b')).errorCode, ErrorCode.NONE);
    const markers = await callHandler(handlers, WriteTxnMarkers, abortOfProducer1, requestContext(1));
    assert.deepEqual(markers.markers[0]!.topics[0]!.partitions, [
      { partitionIndex: 0, errorCode: ErrorCode.NONE },
    ]);
    abortAt = 4;
    const committed = await writer.write(
      { producerId: 2, producerEpoch: 0, coordinatorEpoch: 0, committed: true },
      [{ topic: TOPIC, partition: 0 }],
    );
    assert.deepEqual(committed, [{ topic: TOPIC, partition: 0, errorCode: ErrorCode.NONE }]);
    commitAt = 5;
    assert.equal((await produce(transactionalBatch(1, 2, 'open'), 'a')).errorCode, ErrorCode.NONE);
  });

  after(async () => {
    await logs.close();
    tmp[Symbol.dispose]();
  });

  test('Fetch v4..v13: lastStableOffset stops at the open transaction; read_committed lists the aborted one', async () => {
    for (let version = 4; version <= 13; version++) {
      const uncommitted = await fetch(version, 0);
      assert.equal(uncommitted.highWatermark, 8, `v${version}`);
      assert.equal(uncommitted.lastStableOffset, 6, `v${version}`);
      assert.deepEqual(uncommitted.abortedTransactions, [], `v${version} read_uncommitted lists none`);
      assert.deepEqual(
        splitBatches(uncommitted.records!).map((b) => readBatchHeader(b).baseOffset),
        [0, 2, abortAt, commitAt, 6],
        `v${version} read_uncommitted reads to the high watermark`,
      );
      const committed = await fetch(version, 1);
      assert.equal(committed.lastStableOffset, 6, `v${version}`);
      assert.deepEqual(committed.abortedTransactions, [{ producerId: 1, firstOffset: 0 }], `v${version}`);
      const batches = splitBatches(committed.records!).map((b) => readBatchHeader(b));
      assert.deepEqual(
        batches.map((b) => b.baseOffset),
        [0, 2, abortAt, commitAt],
        `v${version} stops below the LSO`,
      );
      assert.deepEqual(
        batches.map((b) => isControlBatch(b.attributes)),
        [false, false, true, true],
      );
      assert.deepEqual(
        (await fetch(version, 1, commitAt)).abortedTransactions,
        [],
        `v${version} from ${commitAt}`,
      );
    }
  });

  test('Fetch v3 has no isolation level: it reads to the high watermark, markers left out', async () => {
    const response = await fetch(3, 1);
    // Magic 1 messages down-converted from the log: aborted and open records too, as Kafka's old readers get.
    assert.deepEqual(
      decodeLegacyMessageSet(response.records!).map((message) => message.offset),
      [0, 1, 2, 3, 6, 7],
    );
  });

  test('ListOffsets latest is the LSO for read_committed, the high watermark otherwise', async () => {
    assert.equal(await latest(1), 6);
    assert.equal(await latest(0), 8);
  });

  test('a read_committed long poll wakes when a marker moves the LSO', async () => {
    const waiting = fetch(13, 1, 6, 4_000);
    setTimeout(() => {
      void writer.write({ producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, committed: true }, [
        { topic: TOPIC, partition: 0 },
      ]);
    }, 100);
    const started = Date.now();
    const response = await waiting;
    assert.ok(Date.now() - started < 3_500, 'answered before max wait');
    assert.equal(response.lastStableOffset, 9);
    assert.deepEqual(
      splitBatches(response.records!).map((b) => readBatchHeader(b).baseOffset),
      [6, 8],
    );
  });

  test('Produce: a control batch from a client and a non-idempotent transactional batch are refused', async () => {
    const marker = encodeMarkerBatch(
      { producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, committed: false },
      1,
    );
    assert.equal((await produce(marker, 'a')).errorCode, ErrorCode.INVALID_RECORD);
    const plain = encodeRecordBatch([{ key: null, value: Buffer.from('x') }], { flags: TRANSACTIONAL_BIT });
    assert.equal((await produce(plain, 'a')).errorCode, ErrorCode.INVALID_RECORD);
  });

  test('refusals: an older producer epoch, a stale marker, an unknown partition, no CLUSTER_ACTION', async () => {
    const fenced = await writer.write(
      { producerId: 1, producerEpoch: -1, coordinatorEpoch: 0, committed: false },
      [
        { topic: TOPIC, partition: 0 },
        { topic: 'nope', partition: 0 },
      ],
    );
    assert.deepEqual(
      fenced.map((r) => r.errorCode),
      [ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    );
    // With ACLs and none granted, a client (not a super user) may not write markers.
    using aclDir = temporaryDirectory();
    const store = await AclStore.open(new FileAclStorage(aclDir.dir), { maxAcls: 3 });
    const authorizer = new AclAuthorizer(store, { superUsers: [], allowEveryoneIfNoAclFound: false });
    const denied = [writeTxnMarkersHandler(writer, Access.enforced(authorizer, metrics, logger))];
    const response = await callHandler(
      denied,
      WriteTxnMarkers,
      abortOfProducer1,
      requestContext(1, { principal: 'User:client' }),
    );
    assert.deepEqual(response.markers[0]!.topics[0]!.partitions, [
      { partitionIndex: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
    ]);
    // Nor produce with a transactional id it has no WRITE on.
    const guarded = produceHandler({ ...deps, access: Access.enforced(authorizer, metrics, logger) });
    const produced = await callHandler(
      [guarded],
      Produce,
      {
        transactionalId: 'a',
        acks: -1,
        timeoutMs: 1_000,
        topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: transactionalBatch(1, 4, 'x') }] }],
      },
      requestContext(9, { principal: 'User:client' }),
    );
    assert.equal(
      produced.responses[0]!.partitionResponses[0]!.errorCode,
      ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    );
  });
});
