import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';
import { transactionalProducerFields } from './add-offsets-to-txn.js';

/**
 * EndTxn (key 26): commit or abort the producer's transaction. v1 is the same as v0, v2 adds the
 * PRODUCER_FENCED error, v3 is the first flexible version. v4+ (TRANSACTION_ABORTABLE, KIP-890's epoch bump
 * per transaction) is not offered.
 */
export const EndTxn = defineApi({
  apiKey: 26,
  name: 'EndTxn',
  versions: [0, 3],
  flexibleFrom: 3,
  request: [
    ...transactionalProducerFields,
    /** true to commit, false to abort. */
    { name: 'committed', type: 'bool', versions: '0+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
  ],
});

export type EndTxnRequest = RequestOf<typeof EndTxn>;
export type EndTxnResponse = ResponseOf<typeof EndTxn>;
