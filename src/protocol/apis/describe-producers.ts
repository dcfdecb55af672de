import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/** DescribeProducers (key 61, KIP-664): a partition leader's active producers. Flexible from v0. */
export const DescribeProducers = defineApi({
  apiKey: 61,
  name: 'DescribeProducers',
  versions: [0, 0],
  flexibleFrom: 0,
  request: [
    {
      name: 'topics',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          { name: 'partitionIndexes', type: { array: 'int32' }, versions: '0+' },
        ],
      },
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'topics',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          {
            name: 'partitions',
            versions: '0+',
            type: {
              array: [
                { name: 'partitionIndex', type: 'int32', versions: '0+' },
                { name: 'errorCode', type: 'int16', versions: '0+' },
                {
                  name: 'errorMessage',
                  type: 'string',
                  versions: '0+',
                  nullableVersions: '0+',
                  default: null,
                },
                {
                  name: 'activeProducers',
                  versions: '0+',
                  type: {
                    array: [
                      { name: 'producerId', type: 'int64', versions: '0+' },
                      { name: 'producerEpoch', type: 'int32', versions: '0+' },
                      { name: 'lastSequence', type: 'int32', versions: '0+', default: -1 },
                      { name: 'lastTimestamp', type: 'int64', versions: '0+', default: -1 },
                      { name: 'coordinatorEpoch', type: 'int32', versions: '0+' },
                      { name: 'currentTxnStartOffset', type: 'int64', versions: '0+', default: -1 },
                    ],
                  },
                },
              ],
            },
          },
        ],
      },
    },
  ],
});

export type DescribeProducersRequest = RequestOf<typeof DescribeProducers>;
export type DescribeProducersResponse = ResponseOf<typeof DescribeProducers>;
