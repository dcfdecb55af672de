import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

export const LeaveGroup = defineApi({
  apiKey: 13,
  name: 'LeaveGroup',
  versions: [0, 5],
  flexibleFrom: 4,
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    /** The single leaving member. */
    { name: 'memberId', type: 'string', versions: '0-2' },
    /** The leaving members (batch). */
    {
      name: 'members',
      type: {
        array: [
          { name: 'memberId', type: 'string', versions: '3+' },
          { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
          /** KIP-800. */
          { name: 'reason', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
        ],
      },
      versions: '3+',
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    {
      name: 'members',
      type: {
        array: [
          { name: 'memberId', type: 'string', versions: '3+' },
          { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+' },
          { name: 'errorCode', type: 'int16', versions: '3+' },
        ],
      },
      versions: '3+',
    },
  ],
});

export type LeaveGroupRequest = RequestOf<typeof LeaveGroup>;
export type LeaveGroupResponse = ResponseOf<typeof LeaveGroup>;
