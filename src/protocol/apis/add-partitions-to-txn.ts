import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/**
 * AddPartitionsToTxn (key 24): a transactional producer names the partitions it is about to write. v1 is the
 * same as v0, v2 adds the PRODUCER_FENCED error, v3 is the first flexible version. v4+ is the broker-to-broker
 * batched form (KIP-890) and is not offered.
 */
export const AddPartitionsToTxn = defineApi({
  apiKey: 24,
  name: 'AddPartitionsToTxn',
  versions: [0, 3],
  flexibleFrom: 3,
  request: [
    { name: 'v3AndBelowTransactionalId', type: 'string', versions: '0-3' },
    { name: 'v3AndBelowProducerId', type: 'int64', versions: '0-3' },
    { name: 'v3AndBelowProducerEpoch', type: 'int16', versions: '0-3' },
    {
      name: 'v3AndBelowTopics',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          { name: 'partitions', type: { array: 'int32' }, versions: '0+' },
        ],
      },
      versions: '0-3',
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'resultsByTopicV3AndBelow',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          {
            name: 'resultsByPartition',
            type: {
              array: [
                { name: 'partitionIndex', type: 'int32', versions: '0+' },
                { name: 'partitionErrorCode', type: 'int16', versions: '0+' },
              ],
            },
            versions: '0+',
          },
        ],
      },
      versions: '0-3',
    },
  ],
});

export type AddPartitionsToTxnRequest = RequestOf<typeof AddPartitionsToTxn>;
export type AddPartitionsToTxnResponse = ResponseOf<typeof AddPartitionsToTxn>;
