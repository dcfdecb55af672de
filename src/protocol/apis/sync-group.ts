import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

export const SyncGroup = defineApi({
  apiKey: 14,
  name: 'SyncGroup',
  versions: [0, 5],
  flexibleFrom: 4,
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
    /** KIP-559. */
    { name: 'protocolType', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    /** KIP-559. */
    { name: 'protocolName', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    /** Filled by the leader only. */
    {
      name: 'assignments',
      type: {
        array: [
          { name: 'memberId', type: 'string', versions: '0+' },
          { name: 'assignment', type: 'bytes', versions: '0+' },
        ],
      },
      versions: '0+',
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'protocolType', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'protocolName', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'assignment', type: 'bytes', versions: '0+' },
  ],
});

export type SyncGroupRequest = RequestOf<typeof SyncGroup>;
export type SyncGroupResponse = ResponseOf<typeof SyncGroup>;
