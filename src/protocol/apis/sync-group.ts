import type { ApiSchema } from '../schema.js';

export interface SyncGroupRequestAssignment {
  memberId: string;
  assignment: Buffer | null;
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  /** v3+. */
  groupInstanceId: string | null;
  /** v5+ (KIP-559). */
  protocolType: string | null;
  /** v5+ (KIP-559). */
  protocolName: string | null;
  /** Filled by the leader only. */
  assignments: SyncGroupRequestAssignment[];
}

export interface SyncGroupResponse {
  /** v1+. */
  throttleTimeMs: number;
  errorCode: number;
  /** v5+. */
  protocolType: string | null;
  /** v5+. */
  protocolName: string | null;
  assignment: Buffer | null;
}

export const SyncGroup: ApiSchema = {
  apiKey: 14,
  name: 'SyncGroup',
  versions: [0, 5],
  flexibleFrom: 4,
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
    { name: 'protocolType', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
    { name: 'protocolName', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
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
};
