import type { ApiSchema } from '../schema.js';

export interface JoinGroupRequestProtocol {
  name: string;
  metadata: Buffer | null;
}

export interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  /** v1+; -1 when absent (v0), in which case sessionTimeoutMs applies. */
  rebalanceTimeoutMs: number;
  memberId: string;
  /** v5+: static membership id; null for dynamic members. */
  groupInstanceId: string | null;
  protocolType: string;
  protocols: JoinGroupRequestProtocol[];
  /** v8+ (KIP-800). */
  reason: string | null;
}

export interface JoinGroupResponseMember {
  memberId: string;
  /** v5+. */
  groupInstanceId: string | null;
  metadata: Buffer | null;
}

export interface JoinGroupResponse {
  /** v2+. */
  throttleTimeMs: number;
  errorCode: number;
  generationId: number;
  /** v7+ (KIP-559). */
  protocolType: string | null;
  /** Nullable from v7. */
  protocolName: string | null;
  leader: string;
  /** v9+. */
  skipAssignment: boolean;
  memberId: string;
  members: JoinGroupResponseMember[];
}

export const JoinGroup: ApiSchema = {
  apiKey: 11,
  name: 'JoinGroup',
  versions: [0, 9],
  flexibleFrom: 6,
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'sessionTimeoutMs', type: 'int32', versions: '0+' },
    { name: 'rebalanceTimeoutMs', type: 'int32', versions: '1+', default: -1 },
    { name: 'memberId', type: 'string', versions: '0+' },
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
    { name: 'reason', type: 'string', versions: '8+', nullableVersions: '8+', default: null },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+', default: -1 },
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
};
