import type { ApiSchema } from '../schema.js';

export interface MemberIdentity {
  memberId: string;
  groupInstanceId: string | null;
  /** v5+ (KIP-800). */
  reason: string | null;
}

export interface LeaveGroupRequest {
  groupId: string;
  /** v0-2: the single leaving member. */
  memberId: string;
  /** v3+: the leaving members (batch). */
  members: MemberIdentity[];
}

export interface LeaveGroupMemberResponse {
  memberId: string;
  groupInstanceId: string | null;
  errorCode: number;
}

export interface LeaveGroupResponse {
  /** v1+. */
  throttleTimeMs: number;
  errorCode: number;
  /** v3+. */
  members: LeaveGroupMemberResponse[];
}

export const LeaveGroup: ApiSchema = {
  apiKey: 13,
  name: 'LeaveGroup',
  versions: [0, 5],
  flexibleFrom: 4,
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0-2' },
    {
      name: 'members',
      type: {
        array: [
          { name: 'memberId', type: 'string', versions: '3+' },
          { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
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
};
