import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EncodableRequestOf, ResponseOf } from '../message-types.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../messages.js';
import type { ApiSchema } from '../schema.js';
import { AddOffsetsToTxn } from './add-offsets-to-txn.js';
import { AddPartitionsToTxn } from './add-partitions-to-txn.js';
import { DescribeTransactions } from './describe-transactions.js';
import { EndTxn } from './end-txn.js';
import { ListTransactions } from './list-transactions.js';
import { TxnOffsetCommit } from './txn-offset-commit.js';

const header = (schema: ApiSchema, version: number) => ({
  apiKey: schema.apiKey,
  apiVersion: version,
  correlationId: 0x01020304,
  clientId: 'txn-test',
});

/** Every version of `schema`: the request and response come back exactly as given. */
function roundTrips<A extends ApiSchema>(
  schema: A,
  request: (version: number) => EncodableRequestOf<A>,
  response: (version: number) => ResponseOf<A>,
): void {
  for (let version = schema.versions[0]; version <= schema.versions[1]; version++) {
    const frame = encodeRequest(schema, header(schema, version), request(version));
    const decoded = decodeRequest(frame.subarray(4), schema);
    assert.deepEqual(decoded.body, request(version), `${schema.name} v${version} request`);
    const responseFrame = Buffer.concat(encodeResponse(schema, version, 7, response(version)));
    const body = decodeResponse(responseFrame.subarray(4), schema, version).body;
    assert.deepEqual(body, response(version), `${schema.name} v${version} response`);
  }
}

describe('transaction APIs', () => {
  test('AddPartitionsToTxn v0-3 (flexible from v3)', () => {
    assert.equal(AddPartitionsToTxn.flexibleFrom, 3);
    roundTrips(
      AddPartitionsToTxn,
      () => ({
        v3AndBelowTransactionalId: 'tx',
        v3AndBelowProducerId: 4_000_000_000,
        v3AndBelowProducerEpoch: 3,
        v3AndBelowTopics: [{ name: 'orders', partitions: [0, 2] }],
      }),
      () => ({
        throttleTimeMs: 0,
        resultsByTopicV3AndBelow: [
          {
            name: 'orders',
            resultsByPartition: [
              { partitionIndex: 0, partitionErrorCode: 0 },
              { partitionIndex: 2, partitionErrorCode: 51 },
            ],
          },
        ],
      }),
    );
  });

  test('EndTxn v0 as Kafka lays it out, and every version round-trips', () => {
    const frame = encodeRequest(EndTxn, header(EndTxn, 0), {
      transactionalId: 'tx',
      producerId: 5,
      producerEpoch: 1,
      committed: true,
    });
    assert.equal(
      frame.subarray(4 + 8 + 2 + 'txn-test'.length).toString('hex'),
      // transactionalId "tx", producerId 5, producerEpoch 1, committed true
      ['0002', '7478', '0000000000000005', '0001', '01'].join(''),
    );
    roundTrips(
      EndTxn,
      (v) => ({ transactionalId: 'tx', producerId: 5, producerEpoch: 1, committed: v % 2 === 0 }),
      () => ({ throttleTimeMs: 3, errorCode: 90 }),
    );
    roundTrips(
      AddOffsetsToTxn,
      () => ({ transactionalId: 'tx', producerId: 5, producerEpoch: 1, groupId: 'g' }),
      () => ({ throttleTimeMs: 0, errorCode: 0 }),
    );
  });

  test('TxnOffsetCommit v0-3: leader epoch from v2, member and generation from v3', () => {
    roundTrips(
      TxnOffsetCommit,
      (v) => ({
        transactionalId: 'tx',
        groupId: 'g',
        producerId: 5,
        producerEpoch: 1,
        generationId: v >= 3 ? 4 : -1,
        memberId: v >= 3 ? 'member-1' : '',
        groupInstanceId: null,
        topics: [
          {
            name: 'src',
            partitions: [
              {
                partitionIndex: 0,
                committedOffset: 42,
                committedLeaderEpoch: v >= 2 ? 7 : -1,
                committedMetadata: v % 2 === 0 ? null : 'meta',
              },
            ],
          },
        ],
      }),
      () => ({
        throttleTimeMs: 0,
        topics: [{ name: 'src', partitions: [{ partitionIndex: 0, errorCode: 48 }] }],
      }),
    );
  });

  test('DescribeTransactions v0 and ListTransactions v0-1 (flexible throughout)', () => {
    roundTrips(
      DescribeTransactions,
      () => ({ transactionalIds: ['a', 'b'] }),
      () => ({
        throttleTimeMs: 0,
        transactionStates: [
          {
            errorCode: 0,
            transactionalId: 'a',
            transactionState: 'Ongoing',
            transactionTimeoutMs: 60_000,
            transactionStartTimeMs: 1_700_000_000_000,
            producerId: 9,
            producerEpoch: 2,
            topicPartitions: [{ name: 'orders', partitionIndexes: [1, 3] }],
          },
        ],
      }),
    );
    roundTrips(
      ListTransactions,
      (v) => ({ stateFilters: ['Ongoing'], producerIdFilters: [9], durationFilter: v >= 1 ? 1000 : -1 }),
      () => ({
        throttleTimeMs: 0,
        errorCode: 0,
        unknownStateFilters: [],
        transactionStates: [{ transactionalId: 'a', producerId: 9, transactionState: 'Ongoing' }],
      }),
    );
  });
});
