import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/** CreatePartitions (key 37). v1 is v0 with throttling after the response, v2 is flexible, v3 as v2. */
export const CreatePartitions = defineApi({
  apiKey: 37,
  name: 'CreatePartitions',
  versions: [0, 3],
  flexibleFrom: 2,
  request: [
    {
      name: 'topics',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          /** The new partition count, not the number added. */
          { name: 'count', type: 'int32', versions: '0+' },
          /** Replicas of each new partition; null lets the cluster place them. */
          {
            name: 'assignments',
            versions: '0+',
            nullableVersions: '0+',
            type: { array: [{ name: 'brokerIds', type: { array: 'int32' }, versions: '0+' }] },
          },
        ],
      },
    },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
    { name: 'validateOnly', type: 'bool', versions: '0+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'results',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          { name: 'errorCode', type: 'int16', versions: '0+' },
          { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
        ],
      },
    },
  ],
});

export type CreatePartitionsRequest = RequestOf<typeof CreatePartitions>;
export type CreatePartitionsResponse = ResponseOf<typeof CreatePartitions>;
