import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/** OffsetDelete (key 47, KIP-496): v0 only (v1, flexible, is KIP-1313's and newer than any client here). */
export const OffsetDelete = defineApi({
  apiKey: 47,
  name: 'OffsetDelete',
  versions: [0, 0],
  flexibleFrom: Number.POSITIVE_INFINITY,
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    {
      name: 'topics',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          {
            name: 'partitions',
            versions: '0+',
            type: { array: [{ name: 'partitionIndex', type: 'int32', versions: '0+' }] },
          },
        ],
      },
    },
  ],
  response: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
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
              ],
            },
          },
        ],
      },
    },
  ],
});

export type OffsetDeleteRequest = RequestOf<typeof OffsetDelete>;
export type OffsetDeleteResponse = ResponseOf<typeof OffsetDelete>;
