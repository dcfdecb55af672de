import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/** DescribeTransactions (key 65, KIP-664): the coordinator's state of each transactional id asked for. */
export const DescribeTransactions = defineApi({
  apiKey: 65,
  name: 'DescribeTransactions',
  versions: [0, 0],
  flexibleFrom: 0,
  request: [{ name: 'transactionalIds', type: { array: 'string' }, versions: '0+' }],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'transactionStates',
      type: {
        array: [
          { name: 'errorCode', type: 'int16', versions: '0+' },
          { name: 'transactionalId', type: 'string', versions: '0+' },
          { name: 'transactionState', type: 'string', versions: '0+' },
          { name: 'transactionTimeoutMs', type: 'int32', versions: '0+' },
          { name: 'transactionStartTimeMs', type: 'int64', versions: '0+' },
          { name: 'producerId', type: 'int64', versions: '0+' },
          { name: 'producerEpoch', type: 'int32', versions: '0+' },
          {
            name: 'topicPartitions',
            type: {
              array: [
                { name: 'name', type: 'string', versions: '0+' },
                { name: 'partitionIndexes', type: { array: 'int32' }, versions: '0+' },
              ],
            },
            versions: '0+',
          },
        ],
      },
      versions: '0+',
    },
  ],
});

export type DescribeTransactionsRequest = RequestOf<typeof DescribeTransactions>;
export type DescribeTransactionsResponse = ResponseOf<typeof DescribeTransactions>;
