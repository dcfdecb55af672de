import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/** ListPartitionReassignments (key 46, KIP-455). Flexible from v0. */
export const ListPartitionReassignments = defineApi({
  apiKey: 46,
  name: 'ListPartitionReassignments',
  versions: [0, 0],
  flexibleFrom: 0,
  request: [
    { name: 'timeoutMs', type: 'int32', versions: '0+', default: 60_000 },
    /** null: every pending reassignment. */
    {
      name: 'topics',
      versions: '0+',
      nullableVersions: '0+',
      default: null,
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          { name: 'partitionIndexes', type: { array: 'int32' }, versions: '0+' },
        ],
      },
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
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
                { name: 'replicas', type: { array: 'int32' }, versions: '0+' },
                { name: 'addingReplicas', type: { array: 'int32' }, versions: '0+' },
                { name: 'removingReplicas', type: { array: 'int32' }, versions: '0+' },
              ],
            },
          },
        ],
      },
    },
  ],
});

export type ListPartitionReassignmentsRequest = RequestOf<typeof ListPartitionReassignments>;
export type ListPartitionReassignmentsResponse = ResponseOf<typeof ListPartitionReassignments>;
