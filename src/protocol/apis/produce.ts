import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/**
 * Produce (key 0). v0-2 carry MessageSet v0/v1, v3+ RecordBatch v2 (the records are opaque bytes here);
 * v3 adds the transactional id, v7 zstd, v8 per-record errors, v9 is the first flexible version.
 * v10+ (tagged leader hints) is not offered.
 */
export const Produce = defineApi({
  apiKey: 0,
  name: 'Produce',
  versions: [0, 9],
  flexibleFrom: 9,
  request: [
    /** null when the producer is not transactional. */
    { name: 'transactionalId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
    /** 0 (no response at all), 1 (leader) or -1 (all in-sync replicas). */
    { name: 'acks', type: 'int16', versions: '0+' },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
    {
      name: 'topicData',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          {
            name: 'partitionData',
            versions: '0+',
            type: {
              array: [
                { name: 'index', type: 'int32', versions: '0+' },
                { name: 'records', type: 'records', versions: '0+', nullableVersions: '0+' },
              ],
            },
          },
        ],
      },
    },
  ],
  response: [
    {
      name: 'responses',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          {
            name: 'partitionResponses',
            versions: '0+',
            type: {
              array: [
                { name: 'index', type: 'int32', versions: '0+' },
                { name: 'errorCode', type: 'int16', versions: '0+' },
                { name: 'baseOffset', type: 'int64', versions: '0+' },
                /** -1 unless the topic uses LogAppendTime. */
                { name: 'logAppendTimeMs', type: 'int64', versions: '2+', default: -1 },
                { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1 },
                {
                  name: 'recordErrors',
                  versions: '8+',
                  type: {
                    array: [
                      { name: 'batchIndex', type: 'int32', versions: '8+' },
                      {
                        name: 'batchIndexErrorMessage',
                        type: 'string',
                        versions: '8+',
                        nullableVersions: '8+',
                        default: null,
                      },
                    ],
                  },
                },
                {
                  name: 'errorMessage',
                  type: 'string',
                  versions: '8+',
                  nullableVersions: '8+',
                  default: null,
                },
              ],
            },
          },
        ],
      },
    },
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', default: 0 },
  ],
});

export type ProduceRequest = RequestOf<typeof Produce>;
export type ProduceResponse = ResponseOf<typeof Produce>;
export type ProducePartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];
