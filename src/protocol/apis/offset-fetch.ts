import type { ApiSchema } from '../schema.js';

export interface OffsetFetchRequestTopic {
  name: string;
  partitionIndexes: number[];
}

export interface OffsetFetchRequestGroup {
  groupId: string;
  /** v9+ (KIP-848), beyond our accepted range. */
  memberId: string | null;
  /** v9+ (KIP-848), beyond our accepted range. */
  memberEpoch: number;
  /** null: all topics the group has committed offsets for. */
  topics: OffsetFetchRequestTopic[] | null;
}

export interface OffsetFetchRequest {
  /** v0-7. */
  groupId: string;
  /** v0-7; null (v2-7) fetches all topics. */
  topics: OffsetFetchRequestTopic[] | null;
  /** v8+: one entry per group (KIP-709). */
  groups: OffsetFetchRequestGroup[];
  /** v7+. */
  requireStable: boolean;
}

export interface OffsetFetchResponsePartition {
  partitionIndex: number;
  /** -1 when the group has no committed offset for the partition. */
  committedOffset: number;
  /** v5+; -1 when unknown. */
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

export interface OffsetFetchResponseTopic {
  name: string;
  partitions: OffsetFetchResponsePartition[];
}

export interface OffsetFetchResponseGroup {
  groupId: string;
  topics: OffsetFetchResponseTopic[];
  errorCode: number;
}

export interface OffsetFetchResponse {
  /** v3+. */
  throttleTimeMs: number;
  /** v0-7. */
  topics: OffsetFetchResponseTopic[];
  /** v2-7: group-level error. */
  errorCode: number;
  /** v8+. */
  groups: OffsetFetchResponseGroup[];
}

export const OffsetFetch: ApiSchema = {
  apiKey: 9,
  name: 'OffsetFetch',
  versions: [0, 8],
  flexibleFrom: 6,
  request: [
    { name: 'groupId', type: 'string', versions: '0-7' },
    {
      name: 'topics',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0-7' },
          { name: 'partitionIndexes', type: { array: 'int32' }, versions: '0-7' },
        ],
      },
      versions: '0-7',
      nullableVersions: '2-7',
    },
    {
      name: 'groups',
      type: {
        array: [
          { name: 'groupId', type: 'string', versions: '8+' },
          { name: 'memberId', type: 'string', versions: '9+', nullableVersions: '9+', default: null },
          { name: 'memberEpoch', type: 'int32', versions: '9+', default: -1 },
          {
            name: 'topics',
            type: {
              array: [
                { name: 'name', type: 'string', versions: '8+' },
                { name: 'partitionIndexes', type: { array: 'int32' }, versions: '8+' },
              ],
            },
            versions: '8+',
            nullableVersions: '8+',
          },
        ],
      },
      versions: '8+',
    },
    { name: 'requireStable', type: 'bool', versions: '7+', default: false },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '3+' },
    {
      name: 'topics',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0-7' },
          {
            name: 'partitions',
            type: {
              array: [
                { name: 'partitionIndex', type: 'int32', versions: '0-7' },
                { name: 'committedOffset', type: 'int64', versions: '0-7' },
                { name: 'committedLeaderEpoch', type: 'int32', versions: '5-7', default: -1 },
                { name: 'metadata', type: 'string', versions: '0-7', nullableVersions: '0-7' },
                { name: 'errorCode', type: 'int16', versions: '0-7' },
              ],
            },
            versions: '0-7',
          },
        ],
      },
      versions: '0-7',
    },
    { name: 'errorCode', type: 'int16', versions: '2-7', default: 0 },
    {
      name: 'groups',
      type: {
        array: [
          { name: 'groupId', type: 'string', versions: '8+' },
          {
            name: 'topics',
            type: {
              array: [
                { name: 'name', type: 'string', versions: '8+' },
                {
                  name: 'partitions',
                  type: {
                    array: [
                      { name: 'partitionIndex', type: 'int32', versions: '8+' },
                      { name: 'committedOffset', type: 'int64', versions: '8+' },
                      { name: 'committedLeaderEpoch', type: 'int32', versions: '8+', default: -1 },
                      { name: 'metadata', type: 'string', versions: '8+', nullableVersions: '8+' },
                      { name: 'errorCode', type: 'int16', versions: '8+' },
                    ],
                  },
                  versions: '8+',
                },
              ],
            },
            versions: '8+',
          },
          { name: 'errorCode', type: 'int16', versions: '8+', default: 0 },
        ],
      },
      versions: '8+',
    },
  ],
};
