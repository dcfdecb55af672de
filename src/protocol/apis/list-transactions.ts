import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/**
 * ListTransactions (key 66, KIP-664): the transactions this broker coordinates, filtered by state and
 * producer id; v1 adds the duration filter (KIP-994). v2's transactional id pattern is not offered.
 */
export const ListTransactions = defineApi({
  apiKey: 66,
  name: 'ListTransactions',
  versions: [0, 1],
  flexibleFrom: 0,
  request: [
    /** Empty for every state. */
    { name: 'stateFilters', type: { array: 'string' }, versions: '0+' },
    /** Empty for every producer id. */
    { name: 'producerIdFilters', type: { array: 'int64' }, versions: '0+' },
    /** Only transactions running longer than this many ms; negative for all. */
    { name: 'durationFilter', type: 'int64', versions: '1+', default: -1 },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'unknownStateFilters', type: { array: 'string' }, versions: '0+' },
    {
      name: 'transactionStates',
      type: {
        array: [
          { name: 'transactionalId', type: 'string', versions: '0+' },
          { name: 'producerId', type: 'int64', versions: '0+' },
          { name: 'transactionState', type: 'string', versions: '0+' },
        ],
      },
      versions: '0+',
    },
  ],
});

export type ListTransactionsRequest = RequestOf<typeof ListTransactions>;
export type ListTransactionsResponse = ResponseOf<typeof ListTransactions>;
