import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

export const JoinGroup = defineApi({
  apiKey: 11,
  name: 'JoinGroup',
  versions: [0, 9],
  flexibleFrom: 6,
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'sessionTimeoutMs', type: 'int32', versions: '0+' },
    /** -1 when absent (v0), in which case sessionTimeoutMs applies. */
    { name: 'rebalanceTimeoutMs', type: 'int32', versions: '1+', default: -1 },
    { name: 'memberId', type: 'string', versions: '0+' },
    /** Static membership id; null for dynamic members. */
    { name: 'groupInstanceId', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'protocolType', type: 'string', versions: '0+' },
    {
      name: 'protocols',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          { name: 'metadata', type: 'bytes', versions: '0+' },
        ],
      },
      versions: '0+',
    },
    /** KIP-800. */
    { name: 'reason', type: 'string', versions: '8+', nullableVersions: '8+', default: null },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+', default: -1 },
    /** KIP-559. */
    { name: 'protocolType', type: 'string', versions: '7+', nullableVersions: '7+', default: null },
    { name: 'protocolName', type: 'string', versions: '0+', nullableVersions: '7+' },
    { name: 'leader', type: 'string', versions: '0+' },
    { name: 'skipAssignment', type: 'bool', versions: '9+', default: false },
    { name: 'memberId', type: 'string', versions: '0+' },
    {
      name: 'members',
      type: {
        array: [
          { name: 'memberId', type: 'string', versions: '0+' },
          { name: 'groupInstanceId', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
          { name: 'metadata', type: 'bytes', versions: '0+' },
        ],
      },
      versions: '0+',
    },
  ],
});

export type JoinGroupRequest = RequestOf<typeof JoinGroup>;
export type JoinGroupResponse = ResponseOf<typeof JoinGroup>;
