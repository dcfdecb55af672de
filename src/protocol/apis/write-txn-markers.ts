import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/**
 * WriteTxnMarkers (key 27, KIP-98): the transaction coordinator asks each partition leader to append the
 * end-of-transaction marker of a producer's transaction. v1 is the first flexible version; v2 (adds the
 * transaction version, KIP-890) is not offered.
 */
export const WriteTxnMarkers = defineApi({
  apiKey: 27,
  name: 'WriteTxnMarkers',
  versions: [0, 1],
  flexibleFrom: 1,
  request: [
    {
      name: 'markers',
      versions: '0+',
      type: {
        array: [
          { name: 'producerId', type: 'int64', versions: '0+' },
          { name: 'producerEpoch', type: 'int16', versions: '0+' },
          /** false = ABORT, true = COMMIT. */
          { name: 'transactionResult', type: 'bool', versions: '0+' },
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
          { name: 'coordinatorEpoch', type: 'int32', versions: '0+' },
        ],
      },
    },
  ],
  response: [
    {
      name: 'markers',
      versions: '0+',
      type: {
        array: [
          { name: 'producerId', type: 'int64', versions: '0+' },
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

export type WriteTxnMarkersRequest = RequestOf<typeof WriteTxnMarkers>;
export type WriteTxnMarkersResponse = ResponseOf<typeof WriteTxnMarkers>;
