import type { ApiSchema } from '../schema.js';

/**
 * InitProducerId (key 22). v1 is the same as v0, v2 is the first flexible version, v3 lets a producer
 * resume after INVALID_PRODUCER_EPOCH by sending its current id and epoch, v4 adds the PRODUCER_FENCED error.
 * v5 (same wire format, adds the TRANSACTION_ABORTABLE error) is not offered.
 */

export interface InitProducerIdRequest {
  /** null for an idempotent (non-transactional) producer. */
  transactionalId: string | null;
  /** -1 for an idempotent producer. */
  transactionTimeoutMs: number;
  /** v3+; -1 for a new producer. */
  producerId: number;
  /** v3+; -1 for a new producer. */
  producerEpoch: number;
}

export interface InitProducerIdResponse {
  throttleTimeMs: number;
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export const InitProducerId: ApiSchema = {
  apiKey: 22,
  name: 'InitProducerId',
  versions: [0, 4],
  flexibleFrom: 2,
  request: [
    { name: 'transactionalId', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'transactionTimeoutMs', type: 'int32', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '3+', default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: '3+', default: -1 },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '0+', default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: '0+' },
  ],
};
