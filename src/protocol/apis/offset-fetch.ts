import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

export const OffsetFetch = defineApi({
  apiKey: 9,
  name: 'OffsetFetch',
  versions: [0, 8],
  flexibleFrom: 6,
  request: [
    { name: 'groupId', type: 'string', versions: '0-7' },
    /** null (v2-7) fetches all topics. */
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
    /** One entry per group (KIP-709). */
    {
      name: 'groups',
      type: {
        array: [
          { name: 'groupId', type: 'string', versions: '8+' },
          /** KIP-848, beyond our accepted range. */
          { name: 'memberId', type: 'string', versions: '9+', nullableVersions: '9+', default: null },
          /** KIP-848, beyond our accepted range. */
          { name: 'memberEpoch', type: 'int32', versions: '9+', default: -1 },
          /** null: all topics the group has committed offsets for. */
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
                /** -1 when the group has no committed offset for the partition. */
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
    /** Group-level error. */
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
});

export type OffsetFetchRequest = RequestOf<typeof OffsetFetch>;
export type OffsetFetchResponse = ResponseOf<typeof OffsetFetch>;
export type OffsetFetchRequestTopic = NonNullable<OffsetFetchRequest['topics']>[number];
export type OffsetFetchResponseTopic = OffsetFetchResponse['topics'][number];
