import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi, defineFields } from '../schema.js';

/** What names a transaction in the requests a transactional producer sends its coordinator. */
export const transactionalProducerFields = defineFields([
  { name: 'transactionalId', type: 'string', versions: '0+' },
  { name: 'producerId', type: 'int64', versions: '0+' },
  { name: 'producerEpoch', type: 'int16', versions: '0+' },
]);

/**
 * AddOffsetsToTxn (key 25): a transactional producer is about to commit a group's offsets in its transaction.
 * v1 is the same as v0, v2 adds the PRODUCER_FENCED error, v3 is the first flexible version.
 */
export const AddOffsetsToTxn = defineApi({
  apiKey: 25,
  name: 'AddOffsetsToTxn',
  versions: [0, 3],
  flexibleFrom: 3,
  request: [...transactionalProducerFields, { name: 'groupId', type: 'string', versions: '0+' }],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
  ],
});

export type AddOffsetsToTxnRequest = RequestOf<typeof AddOffsetsToTxn>;
export type AddOffsetsToTxnResponse = ResponseOf<typeof AddOffsetsToTxn>;
