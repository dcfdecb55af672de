import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/** Key types of FindCoordinator. */
export const CoordinatorKeyType = { GROUP: 0, TRANSACTION: 1, SHARE: 2 } as const;

export const FindCoordinator = defineApi({
  apiKey: 10,
  name: 'FindCoordinator',
  versions: [0, 4],
  flexibleFrom: 3,
  request: [
    /** The single coordinator key (group id or transactional id). */
    { name: 'key', type: 'string', versions: '0-3' },
    /** A CoordinatorKeyType. */
    { name: 'keyType', type: 'int8', versions: '1+', default: 0 },
    /** The batched coordinator keys (KIP-699). */
    { name: 'coordinatorKeys', type: { array: 'string' }, versions: '4+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    /** The single-key result (v0-3) in errorCode to port; v4+ answers in `coordinators`. */
    { name: 'errorCode', type: 'int16', versions: '0-3' },
    { name: 'errorMessage', type: 'string', versions: '1-3', nullableVersions: '1-3', default: null },
    { name: 'nodeId', type: 'int32', versions: '0-3' },
    { name: 'host', type: 'string', versions: '0-3' },
    { name: 'port', type: 'int32', versions: '0-3' },
    /** One result per requested key. */
    {
      name: 'coordinators',
      type: {
        array: [
          { name: 'key', type: 'string', versions: '4+' },
          { name: 'nodeId', type: 'int32', versions: '4+' },
          { name: 'host', type: 'string', versions: '4+' },
          { name: 'port', type: 'int32', versions: '4+' },
          { name: 'errorCode', type: 'int16', versions: '4+' },
          { name: 'errorMessage', type: 'string', versions: '4+', nullableVersions: '4+', default: null },
        ],
      },
      versions: '4+',
    },
  ],
});

export type FindCoordinatorRequest = RequestOf<typeof FindCoordinator>;
export type FindCoordinatorResponse = ResponseOf<typeof FindCoordinator>;
