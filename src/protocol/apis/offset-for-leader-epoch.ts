import type { DecodedResponseOf, EncodableRequestOf, RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/**
 * OffsetForLeaderEpoch (key 23, KIP-101 / KIP-320): the end offset of a leader epoch on the leader, so a
 * follower (or a consumer after a leader change) can cut off a tail the leader never had. v2 adds the
 * current leader epoch for fencing, v3 the replica id (-2 is a "debug" consumer, -1 a consumer), v4 is
 * the first flexible version.
 */
export const OffsetForLeaderEpoch = defineApi({
  apiKey: 23,
  name: 'OffsetForLeaderEpoch',
  versions: [0, 4],
  flexibleFrom: 4,
  request: [
    { name: 'replicaId', type: 'int32', versions: '3+', default: -2 },
    {
      name: 'topics',
      versions: '0+',
      type: {
        array: [
          { name: 'topic', type: 'string', versions: '0+' },
          {
            name: 'partitions',
            versions: '0+',
            type: {
              array: [
                { name: 'partition', type: 'int32', versions: '0+' },
                { name: 'currentLeaderEpoch', type: 'int32', versions: '2+', default: -1 },
                { name: 'leaderEpoch', type: 'int32', versions: '0+' },
              ],
            },
          },
        ],
      },
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+', default: 0 },
    {
      name: 'topics',
      versions: '0+',
      type: {
        array: [
          { name: 'topic', type: 'string', versions: '0+' },
          {
            name: 'partitions',
            versions: '0+',
            type: {
              array: [
                { name: 'errorCode', type: 'int16', versions: '0+' },
                { name: 'partition', type: 'int32', versions: '0+' },
                { name: 'leaderEpoch', type: 'int32', versions: '1+', default: -1 },
                { name: 'endOffset', type: 'int64', versions: '0+', default: -1 },
              ],
            },
          },
        ],
      },
    },
  ],
});

export type OffsetForLeaderEpochRequest = RequestOf<typeof OffsetForLeaderEpoch>;
export type OffsetForLeaderEpochResponse = ResponseOf<typeof OffsetForLeaderEpoch>;
export type OffsetForLeaderEpochOutgoing = EncodableRequestOf<typeof OffsetForLeaderEpoch>;
export type OffsetForLeaderEpochAnswer = DecodedResponseOf<typeof OffsetForLeaderEpoch>;
