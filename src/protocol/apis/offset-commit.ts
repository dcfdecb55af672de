import type { ApiSchema } from '../schema.js';

export interface OffsetCommitRequestPartition {
  partitionIndex: number;
  committedOffset: number;
  /** v6+; -1 when unknown. */
  committedLeaderEpoch: number;
  /** v1 only; -1 means "now". */
  commitTimestamp: number;
  committedMetadata: string | null;
}

export interface OffsetCommitRequestTopic {
  name: string;
  partitions: OffsetCommitRequestPartition[];
}

export interface OffsetCommitRequest {
  groupId: string;
  /** v1+: the generation (classic protocol) or member epoch (KIP-848); -1 for a simple (standalone) commit. */
  generationIdOrMemberEpoch: number;
  /** v1+; empty for a standalone commit. */
  memberId: string;
  /** v7+. */
  groupInstanceId: string | null;
  /** v2-4; -1 means the broker default. */
  retentionTimeMs: number;
  topics: OffsetCommitRequestTopic[];
}

export interface OffsetCommitResponsePartition {
  partitionIndex: number;
  errorCode: number;
}

export interface OffsetCommitResponseTopic {
  name: string;
  partitions: OffsetCommitResponsePartition[];
}

export interface OffsetCommitResponse {
  /** v3+. */
  throttleTimeMs: number;
  topics: OffsetCommitResponseTopic[];
}

export const OffsetCommit: ApiSchema = {
  apiKey: 8,
  name: 'OffsetCommit',
  versions: [0, 8],
  flexibleFrom: 8,
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'generationIdOrMemberEpoch', type: 'int32', versions: '1+', default: -1 },
    { name: 'memberId', type: 'string', versions: '1+' },
    { name: 'groupInstanceId', type: 'string', versions: '7+', nullableVersions: '7+', default: null },
    { name: 'retentionTimeMs', type: 'int64', versions: '2-4', default: -1 },
    {
      name: 'topics',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          {
            name: 'partitions',
            type: {
              array: [
                { name: 'partitionIndex', type: 'int32', versions: '0+' },
                { name: 'committedOffset', type: 'int64', versions: '0+' },
                { name: 'committedLeaderEpoch', type: 'int32', versions: '6+', default: -1 },
                { name: 'commitTimestamp', type: 'int64', versions: '1', default: -1 },
                { name: 'committedMetadata', type: 'string', versions: '0+', nullableVersions: '0+' },
              ],
            },
            versions: '0+',
          },
        ],
      },
      versions: '0+',
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '3+' },
    {
      name: 'topics',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          {
            name: 'partitions',
            type: {
              array: [
                { name: 'partitionIndex', type: 'int32', versions: '0+' },
                { name: 'errorCode', type: 'int16', versions: '0+' },
              ],
            },
            versions: '0+',
          },
        ],
      },
      versions: '0+',
    },
  ],
};
