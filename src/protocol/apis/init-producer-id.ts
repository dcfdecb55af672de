import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/**
 * InitProducerId (key 22). v1 is the same as v0, v2 is the first flexible version, v3 lets a producer
 * resume after INVALID_PRODUCER_EPOCH by sending its current id and epoch, v4 adds the PRODUCER_FENCED error.
 * v5 (same wire format, adds the TRANSACTION_ABORTABLE error) is not offered.
 */
export const InitProducerId = defineApi({
  apiKey: 22,
  name: 'InitProducerId',
  versions: [0, 4],
  flexibleFrom: 2,
  request: [
    /** null for an idempotent (non-transactional) producer. */
    { name: 'transactionalId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    /** -1 for an idempotent producer. */
    { name: 'transactionTimeoutMs', type: 'int32', versions: '0+' },
    /** -1 for a new producer. */
    { name: 'producerId', type: 'int64', versions: '3+', default: -1 },
    /** -1 for a new producer. */
    { name: 'producerEpoch', type: 'int16', versions: '3+', default: -1 },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '0+', default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: '0+' },
  ],
});

export type InitProducerIdRequest = RequestOf<typeof InitProducerId>;
export type InitProducerIdResponse = ResponseOf<typeof InitProducerId>;
