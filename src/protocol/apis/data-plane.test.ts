import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { crc32 } from 'node:zlib';
import type { Message } from '../codec.js';
import type { DecodedResponseOf, RequestOf } from '../message-types.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../messages.js';
import { encodeRecordBatch } from '../record-batch.js';
import { Compression } from '../record-batch-header.js';
import { type ApiSchema, type FieldSpec, inRange, parseVersions } from '../schema.js';
import { ProtocolError } from '../wire.js';
import { CreateTopics, type CreateTopicsRequest, type CreateTopicsResponse } from './create-topics.js';
import { DeleteTopics, type DeleteTopicsRequest, type DeleteTopicsResponse } from './delete-topics.js';
import {
  DescribeConfigs,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
} from './describe-configs.js';
import { Fetch, type FetchRequest, type FetchResponse } from './fetch.js';
import {
  InitProducerId,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from './init-producer-id.js';
import { ListOffsets, type ListOffsetsRequest, type ListOffsetsResponse } from './list-offsets.js';
import {
  AUTHORIZED_OPERATIONS_NOT_REQUESTED,
  Metadata,
  type MetadataRequest,
  type MetadataResponse,
} from './metadata.js';
import { Produce, type ProduceRequest, type ProduceResponse } from './produce.js';

// ------------------------------------------------------------------------------------------------ helpers

const CLIENT_ID = 'edgestream-test';

function asMessage(body: object): Message {
  return body as Message;
}

/**
 * Bodies here may hold only some fields of a version, so the round trip goes through the untyped schema; the
 * frame is then decoded once more through the typed one, which is what a caller gets.
 */
function roundTripRequest<A extends ApiSchema>(typed: A, version: number, body: object): RequestOf<A> {
  const schema: ApiSchema = typed;
  const header = {
    apiKey: schema.apiKey,
    apiVersion: version,
    correlationId: 0x0a0b0c0d,
    clientId: CLIENT_ID,
  };
  const frame = encodeRequest(schema, header, asMessage(body));
  assert.equal(frame.readInt32BE(0), frame.length - 4, 'size prefix counts the bytes after it');
  const decoded = decodeRequest(frame.subarray(4), schema);
  assert.deepEqual(decoded.header, header);
  // Encoding what was decoded gives the same bytes: nothing the version carries was lost on the way.
  assert.deepEqual(
    encodeRequest(schema, header, decoded.body),
    frame,
    `${schema.name} v${version} re-encode`,
  );
  return decodeRequest(frame.subarray(4), typed).body;
}

function roundTripResponse<A extends ApiSchema>(
  typed: A,
  version: number,
  body: object,
): DecodedResponseOf<A> {
  const schema: ApiSchema = typed;
  const frame = Buffer.concat(encodeResponse(schema, version, 0x11223344, asMessage(body)));
  assert.equal(frame.readInt32BE(0), frame.length - 4, 'size prefix counts the bytes after it');
  const decoded = decodeResponse(frame.subarray(4), schema, version);
  assert.equal(decoded.correlationId, 0x11223344);
  const again = Buffer.concat(encodeResponse(schema, version, 0x11223344, decoded.body));
  assert.deepEqual(again, frame, `${schema.name} v${version} re-encode`);
  return decodeResponse(frame.subarray(4), typed, version).body;
}

/** What a field reads as when the version does not carry it (or a tagged field was not sent). */
function absentValue(spec: FieldSpec): unknown {
  const type = spec.type;
  if (typeof type === 'string') {
    if (spec.default !== undefined) return spec.default;
    if (type === 'bool') return false;
    if (type === 'string') return '';
    if (type === 'bytes' || type === 'records') return null;
    if (type === 'uuid') return Buffer.alloc(16);
    return 0;
  }
  if ('array' in type) return spec.default !== undefined ? spec.default : [];
  return Object.fromEntries(type.struct.map((field) => [field.name, absentValue(field)]));
}

/** The message as it must decode in one version: fields the version carries as given, the rest at their defaults. */
function inVersion(fields: FieldSpec[], version: number, value: object): Message {
  const source = value as Message;
  const result: Message = {};
  for (const spec of fields) {
    const given = source[spec.name];
    if (!inRange(parseVersions(spec.versions), version) || given === undefined) {
      result[spec.name] = absentValue(spec);
      continue;
    }
    const type = spec.type;
    if (given === null || typeof type === 'string') result[spec.name] = given;
    else if ('struct' in type) result[spec.name] = inVersion(type.struct, version, given as object);
    else if (typeof type.array === 'string') result[spec.name] = given;
    else {
      const elementFields = type.array;
      result[spec.name] = (given as object[]).map((item) => inVersion(elementFields, version, item));
    }
  }
  return result;
}

function checkRequest<A extends ApiSchema>(schema: A, version: number, body: object): RequestOf<A> {
  const decoded = roundTripRequest(schema, version, body);
  assert.deepEqual(decoded, inVersion(schema.request, version, body), `${schema.name} request v${version}`);
  return decoded;
}

function checkResponse<A extends ApiSchema>(schema: A, version: number, body: object): DecodedResponseOf<A> {
  const decoded = roundTripResponse(schema, version, body);
  assert.deepEqual(decoded, inVersion(schema.response, version, body), `${schema.name} response v${version}`);
  return decoded;
}

function eachVersion(schema: ApiSchema, run: (version: number) => void): void {
  for (let version = schema.versions[0]; version <= schema.versions[1]; version++) run(version);
}

/** Hex with `//` comments and any whitespace, so expected frames can be written field by field. */
function hex(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/\/\/.*$/, '').replace(/\s+/g, ''))
    .join('')
    .toLowerCase();
}

/** Request frames for byte tests use correlation id 1 and client id "c" (classic string 00 01 63). */
function expectRequestBytes(schema: ApiSchema, version: number, body: object, expected: string): void {
  const header = { apiKey: schema.apiKey, apiVersion: version, correlationId: 1, clientId: 'c' };
  const frame = encodeRequest(schema, header, asMessage(body));
  assert.equal(frame.toString('hex'), hex(expected), `${schema.name} v${version} request bytes`);
  // And the hand-written bytes decode to the message.
  const decoded = decodeRequest(Buffer.from(hex(expected), 'hex').subarray(4), schema);
  assert.deepEqual(decoded.header, header);
  assert.deepEqual(decoded.body, inVersion(schema.request, version, body));
}

/** Response frames for byte tests use correlation id 7. */
function expectResponseBytes(schema: ApiSchema, version: number, body: object, expected: string): void {
  const frame = Buffer.concat(encodeResponse(schema, version, 7, asMessage(body)));
  assert.equal(frame.toString('hex'), hex(expected), `${schema.name} v${version} response bytes`);
  const decoded = decodeResponse(Buffer.from(hex(expected), 'hex').subarray(4), schema, version);
  assert.equal(decoded.correlationId, 7);
  assert.deepEqual(decoded.body, inVersion(schema.response, version, body));
}

/** A legacy MessageSet with one message (magic 0 or 1), as Produce v0-2 carry. */
function messageSet(magic: 0 | 1, key: string, value: string, timestamp: number): Buffer {
  const keyBytes = Buffer.from(key);
  const valueBytes = Buffer.from(value);
  const body = Buffer.alloc(2 + (magic === 1 ? 8 : 0) + 4 + keyBytes.length + 4 + valueBytes.length);
  let at = body.writeInt8(magic, 0);
  at = body.writeInt8(0, at);
  if (magic === 1) at = body.writeBigInt64BE(BigInt(timestamp), at);
  at = body.writeInt32BE(keyBytes.length, at);
  at += keyBytes.copy(body, at);
  at = body.writeInt32BE(valueBytes.length, at);
  valueBytes.copy(body, at);
  const entry = Buffer.alloc(12 + 4 + body.length);
  entry.writeBigInt64BE(0n, 0);
  entry.writeInt32BE(4 + body.length, 8);
  entry.writeUInt32BE(crc32(body), 12);
  body.copy(entry, 16);
  return entry;
}

const ORDERS_ID = Buffer.from('6f1d1a0e3c8b4f0e9a7d2b5c4e3f2a10', 'hex');
const PAYMENTS_ID = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');
const NO_ID = Buffer.alloc(16);
const CLUSTER_ID = 'vQ3c8h1XQp2Y3LZkO1mUeA';

const ordersBatch = encodeRecordBatch(
  [
    { key: Buffer.from('order-1'), value: Buffer.from('{"total":12.5}'), timestamp: 1_700_000_000_000 },
    {
      key: Buffer.from('order-2'),
      value: Buffer.from('{"total":3}'),
      headers: [{ key: 'trace', value: Buffer.from('abc') }],
      timestamp: 1_700_000_000_005,
    },
  ],
  { baseTimestamp: 1_700_000_000_000 },
);
const idempotentBatch = encodeRecordBatch([{ key: null, value: Buffer.from('payment'), timestamp: 1 }], {
  producerId: 4242,
  producerEpoch: 0,
  baseSequence: 17,
  compression: Compression.Gzip,
});
/** Larger than the writer's zero-copy threshold, so it travels as its own chunk. */
const bigBatch = encodeRecordBatch(
  [{ key: Buffer.from('blob'), value: Buffer.alloc(4000, 0x5a), timestamp: 1_700_000_000_100 }],
  { baseOffset: 1240 },
);

// ------------------------------------------------------------------------------------------------ fixtures

function produceRequest(version: number): ProduceRequest {
  const legacy = version <= 2;
  const magic = version === 2 ? 1 : 0;
  return {
    transactionalId: version % 2 === 1 ? 'payments-tx-1' : null,
    acks: -1,
    timeoutMs: 30_000,
    topicData: [
      {
        name: 'orders',
        partitionData: [
          {
            index: 0,
            records: legacy ? messageSet(magic, 'order-1', '{"total":12.5}', 1_700_000_000_000) : ordersBatch,
          },
          {
            index: 3,
            records: legacy ? messageSet(magic, 'order-9', '{}', 1_700_000_000_001) : idempotentBatch,
          },
        ],
      },
      { name: 'payments', partitionData: [{ index: 1, records: bigBatch }] },
    ],
  };
}

const produceResponse: ProduceResponse = {
  responses: [
    {
      name: 'orders',
      partitionResponses: [
        {
          index: 0,
          errorCode: 0,
          baseOffset: 2 ** 40 + 5,
          logAppendTimeMs: 1_700_000_000_321,
          logStartOffset: 12,
          recordErrors: [],
          errorMessage: null,
        },
        {
          index: 3,
          errorCode: 87,
          baseOffset: -1,
          logAppendTimeMs: -1,
          logStartOffset: 40,
          recordErrors: [
            { batchIndex: 2, batchIndexErrorMessage: 'Compacted topic cannot accept message without key' },
            { batchIndex: 4, batchIndexErrorMessage: null },
          ],
          errorMessage: 'One or more records have been rejected',
        },
      ],
    },
  ],
  throttleTimeMs: 25,
};

const fetchRequest: FetchRequest = {
  clusterId: CLUSTER_ID,
  replicaId: -1,
  replicaState: { replicaId: -1, replicaEpoch: -1 },
  maxWaitMs: 500,
  minBytes: 1,
  maxBytes: 52_428_800,
  isolationLevel: 1,
  sessionId: 123,
  sessionEpoch: 4,
  topics: [
    {
      topic: 'orders',
      topicId: ORDERS_ID,
      partitions: [
        {
          partition: 0,
          currentLeaderEpoch: 3,
          fetchOffset: 1234,
          lastFetchedEpoch: 2,
          logStartOffset: -1,
          partitionMaxBytes: 1_048_576,
        },
        {
          partition: 1,
          currentLeaderEpoch: 3,
          fetchOffset: 2 ** 33,
          lastFetchedEpoch: 3,
          logStartOffset: 7,
          partitionMaxBytes: 65_536,
        },
      ],
    },
  ],
  forgottenTopicsData: [{ topic: 'payments', topicId: PAYMENTS_ID, partitions: [2, 5] }],
  rackId: 'use1-az1',
};

const fetchResponse: FetchResponse = {
  throttleTimeMs: 10,
  errorCode: 0,
  sessionId: 123,
  responses: [
    {
      topic: 'orders',
      topicId: ORDERS_ID,
      partitions: [
        {
          partitionIndex: 0,
          errorCode: 0,
          highWatermark: 1300,
          lastStableOffset: 1290,
          logStartOffset: 100,
          divergingEpoch: { epoch: 2, endOffset: 1250 },
          currentLeader: { leaderId: 1, leaderEpoch: 3 },
          snapshotId: { endOffset: 1000, epoch: 1 },
          abortedTransactions: [{ producerId: Number.MAX_SAFE_INTEGER, firstOffset: 1240 }],
          preferredReadReplica: 2,
          records: bigBatch,
        },
        {
          partitionIndex: 1,
          errorCode: 1,
          highWatermark: -1,
          lastStableOffset: -1,
          logStartOffset: -1,
          divergingEpoch: { epoch: -1, endOffset: -1 },
          currentLeader: { leaderId: -1, leaderEpoch: -1 },
          snapshotId: { endOffset: -1, epoch: -1 },
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: Buffer.alloc(0),
        },
      ],
    },
  ],
};

const listOffsetsRequest: ListOffsetsRequest = {
  replicaId: -1,
  isolationLevel: 1,
  topics: [
    {
      name: 'orders',
      partitions: [
        { partitionIndex: 0, currentLeaderEpoch: 3, timestamp: -1, maxNumOffsets: 1 },
        { partitionIndex: 1, currentLeaderEpoch: 3, timestamp: 1_700_000_000_000, maxNumOffsets: 5 },
        { partitionIndex: 2, currentLeaderEpoch: -1, timestamp: -2, maxNumOffsets: 1 },
      ],
    },
  ],
};

const listOffsetsResponse: ListOffsetsResponse = {
  throttleTimeMs: 5,
  topics: [
    {
      name: 'orders',
      partitions: [
        {
          partitionIndex: 0,
          errorCode: 0,
          oldStyleOffsets: [1300, 0],
          timestamp: -1,
          offset: 1300,
          leaderEpoch: 3,
        },
        {
          partitionIndex: 1,
          errorCode: 0,
          oldStyleOffsets: [],
          timestamp: 1_700_000_000_123,
          offset: 1201,
          leaderEpoch: 3,
        },
        { partitionIndex: 2, errorCode: 75, oldStyleOffsets: [], timestamp: -1, offset: -1, leaderEpoch: -1 },
      ],
    },
  ],
};

function metadataRequest(version: number, allTopics: boolean): MetadataRequest {
  const topics: MetadataRequest['topics'] = [
    { topicId: NO_ID, name: 'orders' },
    { topicId: NO_ID, name: 'payments' },
  ];
  if (version >= 12) topics.push({ topicId: PAYMENTS_ID, name: null });
  return {
    topics: allTopics ? (version === 0 ? [] : null) : topics,
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: true,
    includeTopicAuthorizedOperations: true,
  };
}

function metadataResponse(version: number): MetadataResponse {
  const topics: MetadataResponse['topics'] = [
    {
      errorCode: 0,
      name: 'orders',
      topicId: ORDERS_ID,
      isInternal: false,
      partitions: [
        {
          errorCode: 0,
          partitionIndex: 0,
          leaderId: 1,
          leaderEpoch: 4,
          replicaNodes: [1, 2],
          isrNodes: [1, 2],
          offlineReplicas: [],
        },
        {
          errorCode: 9,
          partitionIndex: 1,
          leaderId: 1,
          leaderEpoch: 5,
          replicaNodes: [1, 2],
          isrNodes: [1],
          offlineReplicas: [2],
        },
      ],
      topicAuthorizedOperations: 0b1111_1111_1000,
    },
    {
      errorCode: 0,
      name: '__consumer_offsets',
      topicId: PAYMENTS_ID,
      isInternal: true,
      partitions: [],
      topicAuthorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
    },
    {
      errorCode: 3,
      name: 'missing',
      topicId: NO_ID,
      isInternal: false,
      partitions: [],
      topicAuthorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
    },
  ];
  if (version >= 12) {
    topics.push({
      errorCode: 100,
      name: null,
      topicId: Buffer.from('ffeeddccbbaa99887766554433221100', 'hex'),
      isInternal: false,
      partitions: [],
      topicAuthorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
    });
  }
  return {
    throttleTimeMs: 7,
    brokers: [
      { nodeId: 1, host: 'broker-1.internal', port: 9092, rack: 'use1-az1' },
      { nodeId: 2, host: 'broker-2.internal', port: 19092, rack: null },
    ],
    clusterId: CLUSTER_ID,
    controllerId: 2,
    topics,
    clusterAuthorizedOperations: 0b1011_0000,
  };
}

const createTopicsRequest: CreateTopicsRequest = {
  topics: [
    {
      name: 'orders',
      numPartitions: 6,
      replicationFactor: 1,
      assignments: [],
      configs: [
        { name: 'retention.ms', value: '604800000' },
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'segment.bytes', value: null },
      ],
    },
    {
      name: 'manual',
      numPartitions: -1,
      replicationFactor: -1,
      assignments: [
        { partitionIndex: 0, brokerIds: [1] },
        { partitionIndex: 1, brokerIds: [1, 2] },
      ],
      configs: [],
    },
  ],
  timeoutMs: 30_000,
  validateOnly: true,
};

const createTopicsResponse: CreateTopicsResponse = {
  throttleTimeMs: 3,
  topics: [
    {
      name: 'orders',
      topicId: ORDERS_ID,
      errorCode: 0,
      errorMessage: null,
      topicConfigErrorCode: 0,
      numPartitions: 6,
      replicationFactor: 1,
      configs: [
        { name: 'retention.ms', value: '604800000', readOnly: false, configSource: 1, isSensitive: false },
        { name: 'compression.type', value: 'producer', readOnly: false, configSource: 5, isSensitive: false },
        { name: 'sasl.jaas.config', value: null, readOnly: true, configSource: 5, isSensitive: true },
      ],
    },
    {
      name: 'exists',
      topicId: NO_ID,
      errorCode: 36,
      errorMessage: "Topic 'exists' already exists.",
      topicConfigErrorCode: 29,
      numPartitions: -1,
      replicationFactor: -1,
      configs: null,
    },
  ],
};

const deleteTopicsRequest: DeleteTopicsRequest = {
  topics: [
    { name: 'orders', topicId: NO_ID },
    { name: null, topicId: PAYMENTS_ID },
  ],
  topicNames: ['orders', 'payments'],
  timeoutMs: 30_000,
};

function deleteTopicsResponse(version: number): DeleteTopicsResponse {
  return {
    throttleTimeMs: 2,
    responses: [
      { name: 'orders', topicId: ORDERS_ID, errorCode: 0, errorMessage: null },
      {
        name: version >= 6 ? null : 'payments',
        topicId: PAYMENTS_ID,
        errorCode: version >= 6 ? 100 : 3,
        errorMessage: 'This server does not host this topic ID.',
      },
    ],
  };
}

const describeConfigsRequest: DescribeConfigsRequest = {
  resources: [
    { resourceType: 2, resourceName: 'orders', configurationKeys: null },
    { resourceType: 4, resourceName: '1', configurationKeys: ['log.retention.ms', 'num.partitions'] },
  ],
  includeSynonyms: true,
  includeDocumentation: true,
};

const describeConfigsResponse: DescribeConfigsResponse = {
  throttleTimeMs: 4,
  results: [
    {
      errorCode: 0,
      errorMessage: null,
      resourceType: 2,
      resourceName: 'orders',
      configs: [
        {
          name: 'retention.ms',
          value: '604800000',
          readOnly: false,
          isDefault: false,
          configSource: 1,
          isSensitive: false,
          synonyms: [
            { name: 'retention.ms', value: '604800000', source: 1 },
            { name: 'log.retention.hours', value: '168', source: 5 },
          ],
          configType: 5,
          documentation: 'How long a log segment is kept before it is deleted.',
        },
        {
          name: 'ssl.key.password',
          value: null,
          readOnly: true,
          isDefault: true,
          configSource: 5,
          isSensitive: true,
          synonyms: [],
          configType: 9,
          documentation: null,
        },
      ],
    },
    {
      errorCode: 3,
      errorMessage: 'Topic missing does not exist',
      resourceType: 2,
      resourceName: 'missing',
      configs: [],
    },
  ],
};

function initProducerIdRequest(version: number): InitProducerIdRequest {
  const transactional = version % 2 === 1;
  return {
    transactionalId: transactional ? 'payments-tx-1' : null,
    transactionTimeoutMs: transactional ? 60_000 : -1,
    producerId: 4242,
    producerEpoch: 7,
  };
}

const initProducerIdResponse: InitProducerIdResponse = {
  throttleTimeMs: 1,
  errorCode: 0,
  producerId: 2 ** 35 + 17,
  producerEpoch: 3,
};

// ------------------------------------------------------------------------------------------------ tests

describe('data-plane schemas: versions offered', () => {
  test('ranges and first flexible versions', () => {
    const offered = [
      Produce,
      Fetch,
      ListOffsets,
      Metadata,
      CreateTopics,
      DeleteTopics,
      DescribeConfigs,
      InitProducerId,
    ];
    assert.deepEqual(
      offered.map((s) => [s.apiKey, s.versions, s.flexibleFrom]),
      [
        [0, [0, 9], 9],
        [1, [0, 13], 12],
        [2, [0, 7], 6],
        [3, [0, 12], 9],
        [19, [0, 7], 5],
        [20, [0, 6], 4],
        [32, [0, 4], 4],
        [22, [0, 4], 2],
      ],
    );
  });
});

describe('Produce', () => {
  test('request and response round-trip in every version', () => {
    eachVersion(Produce, (v) => {
      const request = checkRequest(Produce, v, produceRequest(v));
      assert.equal(request.transactionalId, v >= 3 && v % 2 === 1 ? 'payments-tx-1' : null);
      assert.deepEqual(request.topicData[1]!.partitionData[0]!.records, bigBatch);
      const response = checkResponse(Produce, v, produceResponse);
      const rejected = response.responses[0]!.partitionResponses[1]!;
      assert.equal(response.throttleTimeMs, v >= 1 ? 25 : 0);
      assert.equal(
        response.responses[0]!.partitionResponses[0]!.logAppendTimeMs,
        v >= 2 ? 1_700_000_000_321 : -1,
      );
      assert.equal(rejected.logStartOffset, v >= 5 ? 40 : -1);
      assert.equal(rejected.recordErrors.length, v >= 8 ? 2 : 0);
      assert.equal(rejected.errorMessage, v >= 8 ? 'One or more records have been rejected' : null);
    });
  });

  test('v3 request bytes (classic)', () => {
    expectRequestBytes(
      Produce,
      3,
      {
        transactionalId: 'tx',
        acks: -1,
        timeoutMs: 30_000,
        topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.from('deadbeef', 'hex') }] }],
      },
      `0000002c              // size 44
       0000 0003 00000001 000163  // key 0, v3, correlation 1, client "c"
       0002 7478             // transactionalId "tx"
       ffff                  // acks -1
       00007530              // timeoutMs 30000
       00000001 0001 74      // 1 topic "t"
       00000001 00000000     // 1 partition, index 0
       00000004 deadbeef     // records (int32 length)`,
    );
  });

  test('v9 request bytes (flexible)', () => {
    expectRequestBytes(
      Produce,
      9,
      {
        transactionalId: null,
        acks: 1,
        timeoutMs: 100,
        topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.from('deadbeef', 'hex') }] }],
      },
      `00000023              // size 35
       0000 0009 00000001 000163 00  // header v2: ..., client "c" (still classic), no tags
       00                    // transactionalId null (compact)
       0001 00000064         // acks 1, timeoutMs 100
       02 0274               // 1 topic, "t"
       02 00000000           // 1 partition, index 0
       05 deadbeef           // records (uvarint length + 1)
       00 00 00              // partition, topic and request tagged fields`,
    );
  });

  test('v2 response bytes (classic, log append time then throttle time)', () => {
    expectResponseBytes(
      Produce,
      2,
      {
        responses: [
          {
            name: 't',
            partitionResponses: [{ index: 1, errorCode: 0, baseOffset: 5, logAppendTimeMs: 1000 }],
          },
        ],
        throttleTimeMs: 0,
      },
      `00000029 00000007       // size 41, correlation 7
       00000001 000174         // 1 topic "t"
       00000001 00000001 0000  // 1 partition, index 1, no error
       0000000000000005        // baseOffset
       00000000000003e8        // logAppendTimeMs 1000
       00000000                // throttleTimeMs`,
    );
  });

  test('v9 response bytes (flexible, record errors)', () => {
    expectResponseBytes(
      Produce,
      9,
      {
        responses: [
          {
            name: 't',
            partitionResponses: [
              {
                index: 0,
                errorCode: 0,
                baseOffset: 5,
                logAppendTimeMs: -1,
                logStartOffset: 0,
                recordErrors: [{ batchIndex: 1, batchIndexErrorMessage: 'bad' }],
                errorMessage: null,
              },
            ],
          },
        ],
        throttleTimeMs: 0,
      },
      `00000039 00000007 00    // size 57, correlation 7, response header v1 tags
       02 0274                 // 1 topic "t"
       02 00000000 0000        // 1 partition, index 0, no error
       0000000000000005        // baseOffset
       ffffffffffffffff        // logAppendTimeMs -1
       0000000000000000        // logStartOffset
       02 00000001 04626164 00 // 1 record error: index 1, "bad", tags
       00                      // errorMessage null
       00 00                   // partition and topic tags
       00000000 00             // throttleTimeMs, tags`,
    );
  });

  test('a null topic name is rejected, not read as ""', () => {
    const frame = Buffer.from(
      hex(`0000 0003 00000001 000163  // header
           ffff ffff 00007530       // transactionalId null, acks -1, timeout
           00000001 ffff            // 1 topic, name null`),
      'hex',
    );
    assert.throws(() => decodeRequest(frame, Produce), ProtocolError);
  });
});

describe('Fetch', () => {
  test('request and response round-trip in every version', () => {
    eachVersion(Fetch, (v) => {
      const request = checkRequest(Fetch, v, fetchRequest);
      assert.equal(request.topics[0]!.topic, v <= 12 ? 'orders' : '');
      assert.deepEqual(request.topics[0]!.topicId, v >= 13 ? ORDERS_ID : NO_ID);
      assert.equal(request.topics[0]!.partitions[1]!.fetchOffset, 2 ** 33);
      assert.equal(request.clusterId, v >= 12 ? CLUSTER_ID : null);
      assert.equal(request.maxBytes, v >= 3 ? 52_428_800 : 0x7fffffff);
      assert.equal(request.rackId, v >= 11 ? 'use1-az1' : '');
      const response = checkResponse(Fetch, v, fetchResponse);
      const partition = response.responses[0]!.partitions[0]!;
      assert.deepEqual(partition.records, bigBatch);
      assert.deepEqual(
        partition.divergingEpoch,
        v >= 12 ? { epoch: 2, endOffset: 1250 } : { epoch: -1, endOffset: -1 },
      );
      assert.deepEqual(
        partition.abortedTransactions,
        v >= 4 ? [{ producerId: Number.MAX_SAFE_INTEGER, firstOffset: 1240 }] : null,
      );
      assert.equal(response.responses[0]!.partitions[1]!.abortedTransactions, null);
    });
  });

  test('v4 request bytes (classic)', () => {
    expectRequestBytes(
      Fetch,
      4,
      {
        replicaId: -1,
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: 1_048_576,
        isolationLevel: 1,
        topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 7, partitionMaxBytes: 65_536 }] }],
      },
      `00000037                   // size 55
       0001 0004 00000001 000163  // key 1, v4
       ffffffff 000001f4 00000001 // replicaId -1, maxWaitMs 500, minBytes 1
       00100000 01                // maxBytes 1 MiB, READ_COMMITTED
       00000001 000174            // 1 topic "t"
       00000001 00000000          // 1 partition, 0
       0000000000000007 00010000  // fetchOffset 7, partitionMaxBytes 64 KiB`,
    );
  });

  test('v12 request bytes (flexible, tagged clusterId)', () => {
    expectRequestBytes(
      Fetch,
      12,
      {
        clusterId: 'k',
        replicaId: -1,
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: 1_048_576,
        isolationLevel: 1,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: 't',
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: 2,
                fetchOffset: 7,
                lastFetchedEpoch: 1,
                logStartOffset: -1,
                partitionMaxBytes: 65_536,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      },
      `00000052                      // size 82
       0001 000c 00000001 000163 00  // key 1, v12, header tags
       ffffffff 000001f4 00000001    // replicaId, maxWaitMs, minBytes
       00100000 01                   // maxBytes, isolationLevel
       00000000 ffffffff             // sessionId 0, sessionEpoch -1
       02 0274                       // 1 topic "t"
       02 00000000 00000002          // 1 partition: 0, currentLeaderEpoch 2
       0000000000000007 00000001     // fetchOffset 7, lastFetchedEpoch 1
       ffffffffffffffff 00010000     // logStartOffset -1, partitionMaxBytes
       00 00                         // partition and topic tags
       01 01                         // forgottenTopicsData [], rackId ""
       01 00 02 026b                 // 1 tagged field: tag 0, 2 bytes, clusterId "k"`,
    );
  });

  test('v13 request bytes (topic ids)', () => {
    expectRequestBytes(
      Fetch,
      13,
      {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 0,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topicId: PAYMENTS_ID, partitions: [] }],
        forgottenTopicsData: [{ topicId: ORDERS_ID, partitions: [3] }],
        rackId: 'r',
      },
      `00000052                           // size 82
       0001 000d 00000001 000163 00       // key 1, v13
       ffffffff 00000000 00000000         // replicaId -1 (default), maxWaitMs, minBytes
       00000000 00 00000000 ffffffff      // maxBytes, isolationLevel, sessionId, sessionEpoch
       02 0123456789abcdeffedcba9876543210 01 00    // 1 topic by id, no partitions, tags
       02 6f1d1a0e3c8b4f0e9a7d2b5c4e3f2a10 02 00000003 00 // 1 forgotten topic by id, [3], tags
       0272 00                            // rackId "r", no tagged fields`,
    );
  });

  test('v4 response bytes (classic, aborted transactions)', () => {
    expectResponseBytes(
      Fetch,
      4,
      {
        throttleTimeMs: 0,
        responses: [
          {
            topic: 't',
            partitions: [
              {
                partitionIndex: 0,
                errorCode: 0,
                highWatermark: 10,
                lastStableOffset: 8,
                abortedTransactions: [{ producerId: 9, firstOffset: 8 }],
                records: Buffer.from('deadbeef', 'hex'),
              },
            ],
          },
        ],
      },
      `00000045 00000007            // size 69, correlation 7
       00000000                     // throttleTimeMs
       00000001 000174              // 1 topic "t"
       00000001 00000000 0000       // 1 partition: 0, no error
       000000000000000a             // highWatermark 10
       0000000000000008             // lastStableOffset 8
       00000001 0000000000000009 0000000000000008 // 1 aborted transaction: producer 9 from 8
       00000004 deadbeef            // records`,
    );
  });

  test('v12 response bytes (flexible, tagged currentLeader only when set)', () => {
    expectResponseBytes(
      Fetch,
      12,
      {
        throttleTimeMs: 0,
        errorCode: 0,
        sessionId: 0,
        responses: [
          {
            topic: 't',
            partitions: [
              {
                partitionIndex: 0,
                errorCode: 0,
                highWatermark: 10,
                lastStableOffset: 10,
                logStartOffset: 0,
                currentLeader: { leaderId: 1, leaderEpoch: 3 },
                abortedTransactions: null,
                preferredReadReplica: -1,
                records: Buffer.from('deadbeef', 'hex'),
              },
            ],
          },
        ],
      },
      `00000049 00000007 00           // size 73, correlation 7, header tags
       00000000 0000 00000000         // throttleTimeMs, errorCode, sessionId
       02 0274                        // 1 topic "t"
       02 00000000 0000               // 1 partition: 0, no error
       000000000000000a 000000000000000a 0000000000000000 // hw, lso, log start
       00 ffffffff                    // abortedTransactions null, preferredReadReplica -1
       05 deadbeef                    // records
       01 01 09 00000001 00000003 00  // 1 tagged field: tag 1 currentLeader (9 bytes: 1, 3, tags)
       00 00                          // topic and response tags`,
    );
  });

  test('v12 response: tagged fields are read in any order and unknown tags are skipped', () => {
    const frame = Buffer.from(
      hex(`00000007 00                   // correlation 7, header tags
           00000000 0000 00000000        // throttleTimeMs, errorCode, sessionId
           02 0274 02 00000001 0000      // topic "t", partition 1
           0000000000000005 0000000000000005 0000000000000000
           01 ffffffff 01                // abortedTransactions [], preferredReadReplica -1, records empty
           03                            // 3 tagged fields
           00 0d 00000002 0000000000000004 00  // tag 0 divergingEpoch: epoch 2, endOffset 4
           02 0d 0000000000000003 00000001 00  // tag 2 snapshotId: endOffset 3, epoch 1
           07 02 abcd                    // tag 7: unknown to us, skipped
           00 00`),
      'hex',
    );
    const { body } = decodeResponse(frame, Fetch, 12);
    const partition = body.responses[0]!.partitions[0]!;
    assert.deepEqual(partition.divergingEpoch, { epoch: 2, endOffset: 4 });
    assert.deepEqual(partition.snapshotId, { endOffset: 3, epoch: 1 });
    assert.deepEqual(partition.currentLeader, { leaderId: -1, leaderEpoch: -1 });
    assert.deepEqual(partition.abortedTransactions, []);
    assert.deepEqual(partition.records, Buffer.alloc(0));
  });

  test('request header tagged fields (v2 header) are skipped', () => {
    const frame = Buffer.from(
      hex(`0001 000c 00000001 000163        // key 1, v12, correlation 1, "c"
           01 05 03 616263                 // header tags: 1 field, tag 5, 3 bytes
           ffffffff 000001f4 00000001 00100000 00 00000000 ffffffff
           01 01 01 00                     // no topics, no forgotten topics, rackId "", no tags`),
      'hex',
    );
    const { header, body } = decodeRequest(frame, Fetch);
    assert.deepEqual(header, { apiKey: 1, apiVersion: 12, correlationId: 1, clientId: 'c' });
    assert.equal(body.maxWaitMs, 500);
    assert.deepEqual(body.topics, []);
  });
});

describe('ListOffsets', () => {
  test('request and response round-trip in every version', () => {
    eachVersion(ListOffsets, (v) => {
      const request = checkRequest(ListOffsets, v, listOffsetsRequest);
      assert.equal(request.topics[0]!.partitions[1]!.maxNumOffsets, v === 0 ? 5 : 1);
      assert.equal(request.isolationLevel, v >= 2 ? 1 : 0);
      const response = checkResponse(ListOffsets, v, listOffsetsResponse);
      const first = response.topics[0]!.partitions[0]!;
      assert.deepEqual(first.oldStyleOffsets, v === 0 ? [1300, 0] : []);
      assert.equal(first.offset, v >= 1 ? 1300 : -1);
    });
  });

  test('v0 request bytes (classic, maxNumOffsets)', () => {
    expectRequestBytes(
      ListOffsets,
      0,
      {
        replicaId: -1,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: -1, maxNumOffsets: 1 }] }],
      },
      `0000002a                   // size 42
       0002 0000 00000001 000163  // key 2, v0
       ffffffff                   // replicaId -1
       00000001 000174            // 1 topic "t"
       00000001 00000000          // 1 partition, 0
       ffffffffffffffff 00000001  // timestamp -1 (latest), maxNumOffsets 1`,
    );
  });

  test('v0 response bytes (old-style offsets)', () => {
    expectResponseBytes(
      ListOffsets,
      0,
      {
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0, oldStyleOffsets: [42] }] }],
      },
      `00000021 00000007                 // size 33, correlation 7
       00000001 000174                   // 1 topic "t"
       00000001 00000000 0000            // 1 partition: 0, no error
       00000001 000000000000002a         // offsets [42]`,
    );
  });

  test('v7 request bytes (flexible, max timestamp)', () => {
    expectRequestBytes(
      ListOffsets,
      7,
      {
        replicaId: -1,
        isolationLevel: 1,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -3 }] }],
      },
      `00000028                      // size 40
       0002 0007 00000001 000163 00  // key 2, v7, header tags
       ffffffff 01                   // replicaId -1, READ_COMMITTED
       02 0274                       // 1 topic "t"
       02 00000000 ffffffff          // 1 partition: 0, currentLeaderEpoch -1
       fffffffffffffffd              // timestamp -3 (max timestamp)
       00 00 00                      // partition, topic and request tags`,
    );
  });

  test('v6 response bytes (flexible)', () => {
    expectResponseBytes(
      ListOffsets,
      6,
      {
        throttleTimeMs: 0,
        topics: [
          {
            name: 't',
            partitions: [{ partitionIndex: 0, errorCode: 0, timestamp: -1, offset: 42, leaderEpoch: 0 }],
          },
        ],
      },
      `0000002a 00000007 00            // size 42, correlation 7, header tags
       00000000                        // throttleTimeMs
       02 0274                         // 1 topic "t"
       02 00000000 0000                // 1 partition: 0, no error
       ffffffffffffffff 000000000000002a 00000000 // timestamp -1, offset 42, leaderEpoch 0
       00 00 00                        // partition, topic and response tags`,
    );
  });
});

describe('Metadata', () => {
  test('request (all topics and named topics) and response round-trip in every version', () => {
    eachVersion(Metadata, (v) => {
      const all = checkRequest(Metadata, v, metadataRequest(v, true));
      assert.deepEqual(all.topics, v === 0 ? [] : null);
      assert.equal(all.allowAutoTopicCreation, v < 4);
      const named = checkRequest(Metadata, v, metadataRequest(v, false));
      assert.equal(named.topics!.length, v >= 12 ? 3 : 2);
      assert.equal(named.includeClusterAuthorizedOperations, v >= 8 && v <= 10);
      const response = checkResponse(Metadata, v, metadataResponse(v));
      assert.equal(response.brokers[0]!.rack, v >= 1 ? 'use1-az1' : null);
      assert.equal(response.clusterId, v >= 2 ? CLUSTER_ID : null);
      assert.equal(response.controllerId, v >= 1 ? 2 : -1);
      assert.deepEqual(response.topics[0]!.topicId, v >= 10 ? ORDERS_ID : NO_ID);
      assert.deepEqual(response.topics[0]!.partitions[1]!.offlineReplicas, v >= 5 ? [2] : []);
      assert.equal(response.clusterAuthorizedOperations, v >= 8 && v <= 10 ? 0b1011_0000 : -2147483648);
    });
  });

  test('v0 and v1 "all topics" request bytes (empty list, then null)', () => {
    expectRequestBytes(
      Metadata,
      0,
      { topics: [] },
      `0000000f 0003 0000 00000001 000163  // size 15, key 3, v0
       00000000                            // topics: empty means all in v0`,
    );
    const frame = encodeRequest(
      Metadata,
      { apiKey: 3, apiVersion: 1, correlationId: 5, clientId: null },
      { topics: null },
    );
    assert.equal(
      frame.toString('hex'),
      hex(`0000000e 0003 0001 00000005 ffff  // size 14, key 3, v1, correlation 5, clientId null
           ffffffff                          // topics null`),
    );
  });

  test('v9 request bytes (flexible)', () => {
    expectRequestBytes(
      Metadata,
      9,
      {
        topics: [{ name: 't' }],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: true,
      },
      `00000014                      // size 20
       0003 0009 00000001 000163 00  // key 3, v9, header tags
       02 0274 00                    // 1 topic "t", tags
       00 00 01                      // allowAutoTopicCreation false, cluster ops false, topic ops true
       00                            // request tags`,
    );
  });

  test('v12 request bytes (topic by id, null name)', () => {
    expectRequestBytes(
      Metadata,
      12,
      { topics: [{ topicId: ORDERS_ID, name: null }], allowAutoTopicCreation: true },
      `00000022                      // size 34
       0003 000c 00000001 000163 00  // key 3, v12
       02 6f1d1a0e3c8b4f0e9a7d2b5c4e3f2a10 00 00 // 1 topic: id, name null, tags
       01 00 00                      // allowAutoTopicCreation true, topic ops false, tags`,
    );
  });

  test('v1 response bytes (classic)', () => {
    expectResponseBytes(
      Metadata,
      1,
      {
        brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: null }],
        controllerId: 1,
        topics: [
          {
            errorCode: 0,
            name: 't',
            isInternal: false,
            partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1] }],
          },
        ],
      },
      `00000041 00000007                 // size 65, correlation 7
       00000001 00000001 000168 00002384 ffff // 1 broker: 1, "h", 9092, rack null
       00000001                          // controllerId 1
       00000001 0000 000174 00           // 1 topic: no error, "t", not internal
       00000001 0000 00000000 00000001   // 1 partition: no error, 0, leader 1
       00000001 00000001 00000001 00000001 // replicas [1], isr [1]`,
    );
  });

  test('v12 response bytes (flexible)', () => {
    expectResponseBytes(
      Metadata,
      12,
      {
        throttleTimeMs: 0,
        brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: null }],
        clusterId: 'k',
        controllerId: 1,
        topics: [
          {
            errorCode: 0,
            name: 't',
            topicId: ORDERS_ID,
            isInternal: false,
            partitions: [
              {
                errorCode: 0,
                partitionIndex: 0,
                leaderId: 1,
                leaderEpoch: 0,
                replicaNodes: [1],
                isrNodes: [1],
                offlineReplicas: [],
              },
            ],
            topicAuthorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
          },
        ],
      },
      `00000053 00000007 00                 // size 83, correlation 7, header tags
       00000000                             // throttleTimeMs
       02 00000001 0268 00002384 00 00      // 1 broker: 1, "h", 9092, rack null, tags
       026b 00000001                        // clusterId "k", controllerId 1
       02 0000 0274 6f1d1a0e3c8b4f0e9a7d2b5c4e3f2a10 00 // 1 topic: no error, "t", id, not internal
       02 0000 00000000 00000001 00000000   // 1 partition: no error, 0, leader 1, epoch 0
       02 00000001 02 00000001 01 00        // replicas [1], isr [1], offline [], tags
       80000000 00                          // topic authorized operations not requested, tags
       00                                   // response tags`,
    );
  });
});

describe('CreateTopics', () => {
  test('request and response round-trip in every version', () => {
    eachVersion(CreateTopics, (v) => {
      const request = checkRequest(CreateTopics, v, createTopicsRequest);
      assert.equal(request.validateOnly, v >= 1);
      assert.equal(request.topics[0]!.configs[2]!.value, null);
      const response = checkResponse(CreateTopics, v, createTopicsResponse);
      const exists = response.topics[1]!;
      assert.equal(exists.errorMessage, v >= 1 ? "Topic 'exists' already exists." : null);
      assert.equal(exists.topicConfigErrorCode, v >= 5 ? 29 : 0);
      assert.equal(response.topics[0]!.configs?.length ?? -1, v >= 5 ? 3 : -1);
      assert.deepEqual(response.topics[0]!.topicId, v >= 7 ? ORDERS_ID : NO_ID);
    });
  });

  test('v4 request bytes (classic)', () => {
    expectRequestBytes(
      CreateTopics,
      4,
      {
        topics: [
          {
            name: 't',
            numPartitions: -1,
            replicationFactor: -1,
            assignments: [],
            configs: [{ name: 'a', value: '1' }],
          },
        ],
        timeoutMs: 1000,
        validateOnly: false,
      },
      `0000002b                   // size 43
       0013 0004 00000001 000163  // key 19, v4
       00000001 000174            // 1 topic "t"
       ffffffff ffff              // numPartitions -1, replicationFactor -1 (broker defaults)
       00000000                   // no assignments
       00000001 000161 000131     // 1 config a=1
       000003e8 00                // timeoutMs 1000, validateOnly false`,
    );
  });

  test('v5 request bytes (flexible)', () => {
    expectRequestBytes(
      CreateTopics,
      5,
      {
        topics: [
          {
            name: 't',
            numPartitions: -1,
            replicationFactor: -1,
            assignments: [],
            configs: [{ name: 'a', value: '1' }],
          },
        ],
        timeoutMs: 1000,
        validateOnly: false,
      },
      `00000023                      // size 35
       0013 0005 00000001 000163 00  // key 19, v5, header tags
       02 0274 ffffffff ffff 01      // 1 topic "t", -1, -1, no assignments
       02 0261 0231 00               // 1 config a=1, tags
       00                            // topic tags
       000003e8 00 00                // timeoutMs 1000, validateOnly false, tags`,
    );
  });

  test('v2 response bytes (classic)', () => {
    expectResponseBytes(
      CreateTopics,
      2,
      { throttleTimeMs: 0, topics: [{ name: 't', errorCode: 36, errorMessage: 'x' }] },
      `00000014 00000007          // size 20, correlation 7
       00000000                   // throttleTimeMs
       00000001 000174 0024 000178 // 1 topic "t", TOPIC_ALREADY_EXISTS, "x"`,
    );
  });

  test('v5 response bytes (flexible, tagged topicConfigErrorCode)', () => {
    expectResponseBytes(
      CreateTopics,
      5,
      {
        throttleTimeMs: 0,
        topics: [
          {
            name: 't',
            errorCode: 0,
            errorMessage: null,
            topicConfigErrorCode: 29,
            numPartitions: 1,
            replicationFactor: 1,
            configs: null,
          },
        ],
      },
      `0000001c 00000007 00       // size 28, correlation 7, header tags
       00000000                   // throttleTimeMs
       02 0274 0000 00            // 1 topic "t", no error, errorMessage null
       00000001 0001 00           // numPartitions 1, replicationFactor 1, configs null
       01 00 02 001d              // 1 tagged field: tag 0, 2 bytes, topicConfigErrorCode 29
       00                         // response tags`,
    );
  });
});

describe('DeleteTopics', () => {
  test('request and response round-trip in every version', () => {
    eachVersion(DeleteTopics, (v) => {
      const request = checkRequest(DeleteTopics, v, deleteTopicsRequest);
      assert.deepEqual(request.topicNames, v <= 5 ? ['orders', 'payments'] : []);
      assert.equal(request.topics.length, v >= 6 ? 2 : 0);
      const response = checkResponse(DeleteTopics, v, deleteTopicsResponse(v));
      assert.equal(response.responses[1]!.name, v >= 6 ? null : 'payments');
      assert.equal(
        response.responses[1]!.errorMessage,
        v >= 5 ? 'This server does not host this topic ID.' : null,
      );
    });
  });

  test('v1 request and response bytes (classic)', () => {
    expectRequestBytes(
      DeleteTopics,
      1,
      { topicNames: ['t'], timeoutMs: 1000 },
      `00000016 0014 0001 00000001 000163  // size 22, key 20, v1
       00000001 000174                     // topicNames ["t"]
       000003e8                            // timeoutMs`,
    );
    expectResponseBytes(
      DeleteTopics,
      1,
      { throttleTimeMs: 0, responses: [{ name: 't', errorCode: 3 }] },
      `00000011 00000007 00000000          // size 17, correlation 7, throttleTimeMs
       00000001 000174 0003                // 1 result: "t", UNKNOWN_TOPIC_OR_PARTITION`,
    );
  });

  test('v4 request bytes (flexible, names)', () => {
    expectRequestBytes(
      DeleteTopics,
      4,
      { topicNames: ['t'], timeoutMs: 1000 },
      `00000014 0014 0004 00000001 000163 00 // size 20, key 20, v4, header tags
       02 0274                               // topicNames ["t"]
       000003e8 00                           // timeoutMs, tags`,
    );
  });

  test('v6 request and response bytes (topic ids)', () => {
    expectRequestBytes(
      DeleteTopics,
      6,
      { topics: [{ name: null, topicId: PAYMENTS_ID }], timeoutMs: 1000 },
      `00000024 0014 0006 00000001 000163 00 // size 36, key 20, v6
       02 00 0123456789abcdeffedcba9876543210 00 // 1 topic: name null, id, tags
       000003e8 00                           // timeoutMs, tags`,
    );
    expectResponseBytes(
      DeleteTopics,
      6,
      {
        throttleTimeMs: 0,
        responses: [{ name: 't', topicId: PAYMENTS_ID, errorCode: 0, errorMessage: null }],
      },
      `00000021 00000007 00 00000000         // size 33, correlation 7, header tags, throttleTimeMs
       02 0274 0123456789abcdeffedcba9876543210 // 1 result: "t", id
       0000 00 00                            // no error, errorMessage null, tags
       00                                    // response tags`,
    );
  });
});

describe('DescribeConfigs', () => {
  test('request and response round-trip in every version', () => {
    eachVersion(DescribeConfigs, (v) => {
      const request = checkRequest(DescribeConfigs, v, describeConfigsRequest);
      assert.equal(request.resources[0]!.configurationKeys, null);
      assert.equal(request.includeSynonyms, v >= 1);
      assert.equal(request.includeDocumentation, v >= 3);
      const response = checkResponse(DescribeConfigs, v, describeConfigsResponse);
      const password = response.results[0]!.configs[1]!;
      assert.equal(password.isDefault, v === 0);
      assert.equal(password.configSource, v >= 1 ? 5 : -1);
      assert.equal(response.results[0]!.configs[0]!.synonyms.length, v >= 1 ? 2 : 0);
      assert.equal(password.configType, v >= 3 ? 9 : 0);
    });
  });

  test('v1 request bytes (classic, all keys)', () => {
    expectRequestBytes(
      DescribeConfigs,
      1,
      { resources: [{ resourceType: 2, resourceName: 't', configurationKeys: null }], includeSynonyms: true },
      `00000018 0020 0001 00000001 000163  // size 24, key 32, v1
       00000001 02 000174 ffffffff         // 1 resource: TOPIC "t", keys null
       01                                  // includeSynonyms`,
    );
  });

  test('v4 request bytes (flexible)', () => {
    expectRequestBytes(
      DescribeConfigs,
      4,
      { resources: [{ resourceType: 2, resourceName: 't', configurationKeys: ['retention.ms'] }] },
      `00000022 0020 0004 00000001 000163 00   // size 34, key 32, v4, header tags
       02 02 0274                              // 1 resource: TOPIC "t"
       02 0d 726574656e74696f6e2e6d73 00       // keys ["retention.ms"], resource tags
       00 00 00                                // includeSynonyms, includeDocumentation, tags`,
    );
  });

  test('v0 response bytes (classic, isDefault)', () => {
    expectResponseBytes(
      DescribeConfigs,
      0,
      {
        throttleTimeMs: 0,
        results: [
          {
            errorCode: 0,
            errorMessage: null,
            resourceType: 2,
            resourceName: 't',
            configs: [{ name: 'a', value: '1', readOnly: false, isDefault: true, isSensitive: false }],
          },
        ],
      },
      `00000021 00000007 00000000           // size 33, correlation 7, throttleTimeMs
       00000001 0000 ffff 02 000174         // 1 result: no error, message null, TOPIC "t"
       00000001 000161 000131 00 01 00      // 1 config a=1, not read-only, default, not sensitive`,
    );
  });

  test('v4 response bytes (flexible, synonyms)', () => {
    expectResponseBytes(
      DescribeConfigs,
      4,
      {
        throttleTimeMs: 0,
        results: [
          {
            errorCode: 0,
            errorMessage: null,
            resourceType: 2,
            resourceName: 't',
            configs: [
              {
                name: 'a',
                value: '1',
                readOnly: false,
                configSource: 5,
                isSensitive: false,
                synonyms: [{ name: 'a', value: '1', source: 5 }],
                configType: 3,
                documentation: null,
              },
            ],
          },
        ],
      },
      `00000024 00000007 00 00000000   // size 36, correlation 7, header tags, throttleTimeMs
       02 0000 00 02 0274              // 1 result: no error, message null, TOPIC "t"
       02 0261 0231 00 05 00           // 1 config a=1, not read-only, DEFAULT_CONFIG, not sensitive
       02 0261 0231 05 00              // 1 synonym a=1 DEFAULT_CONFIG, tags
       03 00 00                        // configType INT, documentation null, config tags
       00 00                           // result and response tags`,
    );
  });
});

describe('InitProducerId', () => {
  test('request and response round-trip in every version', () => {
    eachVersion(InitProducerId, (v) => {
      const request = checkRequest(InitProducerId, v, initProducerIdRequest(v));
      assert.equal(request.producerId, v >= 3 ? 4242 : -1);
      assert.equal(request.producerEpoch, v >= 3 ? 7 : -1);
      const response = checkResponse(InitProducerId, v, initProducerIdResponse);
      assert.equal(response.producerId, 2 ** 35 + 17);
    });
  });

  test('v0 request and v1 response bytes (classic)', () => {
    expectRequestBytes(
      InitProducerId,
      0,
      { transactionalId: null, transactionTimeoutMs: -1 },
      `00000011 0016 0000 00000001 000163  // size 17, key 22, v0
       ffff ffffffff                       // transactionalId null, transactionTimeoutMs -1`,
    );
    expectResponseBytes(
      InitProducerId,
      1,
      { throttleTimeMs: 0, errorCode: 0, producerId: 1000, producerEpoch: 0 },
      `00000014 00000007 00000000 0000     // size 20, correlation 7, throttleTimeMs, no error
       00000000000003e8 0000               // producerId 1000, epoch 0`,
    );
  });

  test('v2 and v4 request, v4 response bytes (flexible)', () => {
    expectRequestBytes(
      InitProducerId,
      2,
      { transactionalId: 'tx', transactionTimeoutMs: 60_000 },
      `00000014 0016 0002 00000001 000163 00 // size 20, key 22, v2, header tags
       037478 0000ea60 00                    // "tx", 60000 ms, tags`,
    );
    expectRequestBytes(
      InitProducerId,
      4,
      { transactionalId: 'tx', transactionTimeoutMs: 60_000, producerId: 5, producerEpoch: 2 },
      `0000001e 0016 0004 00000001 000163 00 // size 30, key 22, v4, header tags
       037478 0000ea60                       // "tx", 60000 ms
       0000000000000005 0002 00              // producerId 5, epoch 2, tags`,
    );
    expectResponseBytes(
      InitProducerId,
      4,
      { throttleTimeMs: 0, errorCode: 0, producerId: 5, producerEpoch: 3 },
      `00000016 00000007 00 00000000 0000   // size 22, correlation 7, header tags, throttle, no error
       0000000000000005 0003 00             // producerId 5, epoch 3, tags`,
    );
  });
});
