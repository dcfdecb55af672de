import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/**
 * ListOffsets (key 2). v0 answers with a list of old-style offsets, v1+ with one timestamp and offset,
 * v2 adds isolation level, v4 leader epochs, v6 is the first flexible version, v7 accepts timestamp -3
 * (max timestamp). v8+ (tiered storage timestamps, timeoutMs in v10) is not offered.
 */

/** Special timestamps in a request. */
export const ListOffsetsTimestamp = {
  LATEST: -1,
  EARLIEST: -2,
  MAX_TIMESTAMP: -3,
} as const;

export const ListOffsets = defineApi({
  apiKey: 2,
  name: 'ListOffsets',
  versions: [0, 7],
  flexibleFrom: 6,
  request: [
    { name: 'replicaId', type: 'int32', versions: '0+', default: -1 },
    { name: 'isolationLevel', type: 'int8', versions: '2+', default: 0 },
    {
      name: 'topics',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          {
            name: 'partitions',
            versions: '0+',
            type: {
              array: [
                { name: 'partitionIndex', type: 'int32', versions: '0+' },
                { name: 'currentLeaderEpoch', type: 'int32', versions: '4+', default: -1 },
                /** A time in ms, or one of ListOffsetsTimestamp. */
                { name: 'timestamp', type: 'int64', versions: '0+' },
                { name: 'maxNumOffsets', type: 'int32', versions: '0', default: 1 },
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
          { name: 'name', type: 'string', versions: '0+' },
          {
            name: 'partitions',
            versions: '0+',
            type: {
              array: [
                { name: 'partitionIndex', type: 'int32', versions: '0+' },
                { name: 'errorCode', type: 'int16', versions: '0+' },
                { name: 'oldStyleOffsets', type: { array: 'int64' }, versions: '0' },
                { name: 'timestamp', type: 'int64', versions: '1+', default: -1 },
                { name: 'offset', type: 'int64', versions: '1+', default: -1 },
                { name: 'leaderEpoch', type: 'int32', versions: '4+', default: -1 },
              ],
            },
          },
        ],
      },
    },
  ],
});

export type ListOffsetsRequest = RequestOf<typeof ListOffsets>;
export type ListOffsetsResponse = ResponseOf<typeof ListOffsets>;
