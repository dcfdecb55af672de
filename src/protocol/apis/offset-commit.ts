import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

export const OffsetCommit = defineApi({
  apiKey: 8,
  name: 'OffsetCommit',
  versions: [0, 8],
  flexibleFrom: 8,
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    /** The generation (classic protocol) or member epoch (KIP-848); -1 for a simple (standalone) commit. */
    { name: 'generationIdOrMemberEpoch', type: 'int32', versions: '1+', default: -1 },
    /** Empty for a standalone commit. */
    { name: 'memberId', type: 'string', versions: '1+' },
    { name: 'groupInstanceId', type: 'string', versions: '7+', nullableVersions: '7+', default: null },
    /** -1 means the broker default. */
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
                /** -1 when unknown. */
                { name: 'committedLeaderEpoch', type: 'int32', versions: '6+', default: -1 },
                /** -1 means "now". */
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
});

export type OffsetCommitRequest = RequestOf<typeof OffsetCommit>;
export type OffsetCommitResponse = ResponseOf<typeof OffsetCommit>;
