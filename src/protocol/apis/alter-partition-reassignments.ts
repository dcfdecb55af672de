import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/** AlterPartitionReassignments (key 45, KIP-455). Flexible from v0. */
export const AlterPartitionReassignments = defineApi({
  apiKey: 45,
  name: 'AlterPartitionReassignments',
  versions: [0, 0],
  flexibleFrom: 0,
  request: [
    { name: 'timeoutMs', type: 'int32', versions: '0+', default: 60_000 },
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
                /** null cancels the partition's pending reassignment. */
                {
                  name: 'replicas',
                  type: { array: 'int32' },
                  versions: '0+',
                  nullableVersions: '0+',
                  default: null,
                },
              ],
            },
          },
        ],
      },
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
    {
      name: 'responses',
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
                { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
              ],
            },
          },
        ],
      },
    },
  ],
});

export type AlterPartitionReassignmentsRequest = RequestOf<typeof AlterPartitionReassignments>;
export type AlterPartitionReassignmentsResponse = ResponseOf<typeof AlterPartitionReassignments>;
