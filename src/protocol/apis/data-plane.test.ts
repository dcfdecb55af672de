import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ApiSchema,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type Message,
} from '../index.js';
import { encodeRecordBatch } from '../record-batch.js';
import { CreateTopics } from './create-topics.js';
import { DeleteTopics } from './delete-topics.js';
import { DescribeConfigs } from './describe-configs.js';
import { Fetch } from './fetch.js';
import { InitProducerId } from './init-producer-id.js';
import { ListOffsets } from './list-offsets.js';
import { Metadata } from './metadata.js';
import { Produce } from './produce.js';

function roundTripRequest(schema: ApiSchema, version: number, body: Message): Message {
  const frame = encodeRequest(
    schema,
    { apiKey: schema.apiKey, apiVersion: version, correlationId: 42, clientId: 'test' },
    body,
  );
  assert.equal(frame.readInt32BE(0), frame.length - 4, 'size prefix');
  const decoded = decodeRequest(frame.subarray(4), schema);
  assert.deepEqual(decoded.header, {
    apiKey: schema.apiKey,
    apiVersion: version,
    correlationId: 42,
    clientId: 'test',
  });
  return decoded.body;
}

function roundTripResponse(schema: ApiSchema, version: number, body: Message): Message {
  const frame = Buffer.concat(encodeResponse(schema, version, 7, body));
  assert.equal(frame.readInt32BE(0), frame.length - 4);
  const decoded = decodeResponse(frame.subarray(4), schema, version);
  assert.equal(decoded.correlationId, 7);
  return decoded.body;
}

const batch = encodeRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1000 }]);

describe('data-plane API schemas', () => {
  it('Produce round-trips every version, nullable transactional id from v3', () => {
    for (let v = 0; v <= 9; v++) {
      const request = roundTripRequest(Produce, v, {
        transactionalId: v >= 3 ? null : undefined,
        acks: -1,
        timeoutMs: 1500,
        topicData: [{ name: 't', partitionData: [{ index: 2, records: batch }] }],
      }) as {
        transactionalId: string | null;
        acks: number;
        topicData: Array<{ partitionData: Array<{ records: Buffer }> }>;
      };
      assert.equal(request.transactionalId, null, `v${v}`);
      assert.equal(request.acks, -1);
      assert.deepEqual(request.topicData[0]!.partitionData[0]!.records, batch);
      const response = roundTripResponse(Produce, v, {
        responses: [
          {
            name: 't',
            partitionResponses: [
              { index: 2, errorCode: 0, baseOffset: 2 ** 40, logAppendTimeMs: 5, logStartOffset: 1 },
            ],
          },
        ],
        throttleTimeMs: 0,
      }) as {
        responses: Array<{
          partitionResponses: Array<{ baseOffset: number; logAppendTimeMs: number; logStartOffset: number }>;
        }>;
      };
      const p = response.responses[0]!.partitionResponses[0]!;
      assert.equal(p.baseOffset, 2 ** 40);
      assert.equal(p.logAppendTimeMs, v >= 2 ? 5 : -1);
      assert.equal(p.logStartOffset, v >= 5 ? 1 : -1);
    }
  });

  it('Produce v9 request is byte-exact against the flexible encoding', () => {
    const frame = encodeRequest(
      Produce,
      { apiKey: 0, apiVersion: 9, correlationId: 1, clientId: 'c' },
      {
        transactionalId: null,
        acks: 1,
        timeoutMs: 100,
        topicData: [{ name: 't', partitionData: [{ index: 0, records: null }] }],
      },
    );
    const expected = Buffer.from([
      0,
      0,
      0,
      0x1f, // size 31
      0,
      0,
      0,
      9,
      0,
      0,
      0,
      1,
      0,
      1,
      0x63,
      0, // header v2: key, version, correlation, clientId "c", no tags
      0, // transactionalId null (compact)
      0,
      1,
      0,
      0,
      0,
      100, // acks 1, timeout 100
      2,
      2,
      0x74, // one topic, name "t"
      2,
      0,
      0,
      0,
      0,
      0, // one partition, index 0, records null
      0,
      0,
      0, // partition, topic and request tagged fields
    ]);
    assert.deepEqual(frame, expected);
  });

  it('Fetch round-trips v0-v13, topic ids at v13 and tagged fields at v12+', () => {
    const topicId = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    for (let v = 0; v <= 13; v++) {
      const request = roundTripRequest(Fetch, v, {
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 1,
        topics: [
          { topic: 't', topicId, partitions: [{ partition: 3, fetchOffset: 99, partitionMaxBytes: 4096 }] },
        ],
      }) as {
        topics: Array<{ topic: string; topicId: Buffer; partitions: Array<{ fetchOffset: number }> }>;
        maxBytes: number;
      };
      assert.equal(request.topics[0]!.topic, v <= 12 ? 't' : '');
      assert.deepEqual(request.topics[0]!.topicId, v >= 13 ? topicId : Buffer.alloc(16));
      assert.equal(request.topics[0]!.partitions[0]!.fetchOffset, 99);
      assert.equal(request.maxBytes, v >= 3 ? 1 << 20 : 0x7fffffff);
      const response = roundTripResponse(Fetch, v, {
        throttleTimeMs: 0,
        errorCode: 0,
        sessionId: 0,
        responses: [
          {
            topic: 't',
            topicId,
            partitions: [
              {
                partitionIndex: 3,
                errorCode: 0,
                highWatermark: 100,
                lastStableOffset: 100,
                logStartOffset: 0,
                abortedTransactions: [],
                records: batch,
              },
            ],
          },
        ],
      }) as {
        responses: Array<{ partitions: Array<{ records: Buffer; abortedTransactions: unknown[] | null }> }>;
      };
      const partition = response.responses[0]!.partitions[0]!;
      assert.deepEqual(partition.records, batch);
      assert.deepEqual(partition.abortedTransactions, v >= 4 ? [] : null);
    }
  });

  it('Metadata round-trips v0-v12 with null topic lists from v1', () => {
    for (let v = 0; v <= 12; v++) {
      const request = roundTripRequest(Metadata, v, {
        topics: v >= 1 ? null : [],
        allowAutoTopicCreation: false,
      }) as {
        topics: unknown[] | null;
        allowAutoTopicCreation: boolean;
      };
      assert.deepEqual(request.topics, v >= 1 ? null : []);
      assert.equal(request.allowAutoTopicCreation, v >= 4 ? false : true);
      const response = roundTripResponse(Metadata, v, {
        brokers: [{ nodeId: 1, host: '127.0.0.1', port: 9092, rack: null }],
        clusterId: 'c',
        controllerId: 1,
        topics: [
          {
            errorCode: 0,
            name: 't',
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
          },
        ],
      }) as {
        brokers: Array<{ port: number }>;
        clusterId: string | null;
        topics: Array<{ partitions: Array<{ isrNodes: number[] }> }>;
      };
      assert.equal(response.brokers[0]!.port, 9092);
      assert.equal(response.clusterId, v >= 2 ? 'c' : null);
      assert.deepEqual(response.topics[0]!.partitions[0]!.isrNodes, [1]);
    }
  });

  it('Metadata v1 request is byte-exact for "all topics"', () => {
    const frame = encodeRequest(
      Metadata,
      { apiKey: 3, apiVersion: 1, correlationId: 5, clientId: null },
      { topics: null },
    );
    assert.deepEqual(
      frame,
      Buffer.from([0, 0, 0, 0x0e, 0, 3, 0, 1, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    );
  });

  it('ListOffsets, CreateTopics, DeleteTopics, DescribeConfigs and InitProducerId round-trip every version', () => {
    for (let v = 0; v <= 7; v++) {
      const request = roundTripRequest(ListOffsets, v, {
        replicaId: -1,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: -2 }] }],
      }) as { topics: Array<{ partitions: Array<{ timestamp: number }> }> };
      assert.equal(request.topics[0]!.partitions[0]!.timestamp, -2);
      const response = roundTripResponse(ListOffsets, v, {
        topics: [
          {
            name: 't',
            partitions: [{ partitionIndex: 0, errorCode: 0, oldStyleOffsets: [7], timestamp: 9, offset: 7 }],
          },
        ],
      }) as { topics: Array<{ partitions: Array<{ offset: number; oldStyleOffsets: number[] }> }> };
      const p = response.topics[0]!.partitions[0]!;
      assert.equal(v === 0 ? p.oldStyleOffsets[0] : p.offset, 7);
    }
    for (let v = 0; v <= 7; v++) {
      const request = roundTripRequest(CreateTopics, v, {
        topics: [
          {
            name: 'n',
            numPartitions: 3,
            replicationFactor: 1,
            assignments: [],
            configs: [{ name: 'retention.ms', value: '1000' }],
          },
        ],
        timeoutMs: 100,
        validateOnly: true,
      }) as { topics: Array<{ configs: Array<{ value: string }> }>; validateOnly: boolean };
      assert.equal(request.topics[0]!.configs[0]!.value, '1000');
      assert.equal(request.validateOnly, v >= 1);
      const response = roundTripResponse(CreateTopics, v, {
        topics: [
          {
            name: 'n',
            errorCode: 36,
            errorMessage: 'exists',
            numPartitions: 3,
            replicationFactor: 1,
            configs: null,
          },
        ],
      }) as { topics: Array<{ errorCode: number; errorMessage: string | null }> };
      assert.equal(response.topics[0]!.errorCode, 36);
      assert.equal(response.topics[0]!.errorMessage, v >= 1 ? 'exists' : null);
    }
    for (let v = 0; v <= 6; v++) {
      const request = roundTripRequest(DeleteTopics, v, {
        topicNames: ['a'],
        topics: [{ name: 'a', topicId: Buffer.alloc(16) }],
        timeoutMs: 1,
      }) as {
        topicNames: string[];
        topics: Array<{ name: string | null }>;
      };
      assert.equal(v >= 6 ? request.topics[0]!.name : request.topicNames[0], 'a');
    }
    for (let v = 0; v <= 4; v++) {
      const request = roundTripRequest(DescribeConfigs, v, {
        resources: [{ resourceType: 2, resourceName: 't', configurationKeys: null }],
      }) as { resources: Array<{ configurationKeys: string[] | null }> };
      assert.equal(request.resources[0]!.configurationKeys, null);
    }
    for (let v = 0; v <= 4; v++) {
      const response = roundTripResponse(InitProducerId, v, {
        errorCode: 0,
        producerId: 2 ** 35,
        producerEpoch: 3,
      }) as {
        producerId: number;
        producerEpoch: number;
      };
      assert.deepEqual([response.producerId, response.producerEpoch], [2 ** 35, 3]);
    }
  });
});
