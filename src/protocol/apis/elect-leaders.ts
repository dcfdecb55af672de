import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/** ElectLeaders (key 43). v1 adds the election type (KIP-460) and a top-level error, v2 is flexible. */

/** Kafka's ElectionType: PREFERRED moves leadership to the first replica, UNCLEAN revives an offline one. */
export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;
export type ElectionType = (typeof ElectionType)[keyof typeof ElectionType];

export const ElectLeaders = defineApi({
  apiKey: 43,
  name: 'ElectLeaders',
  versions: [0, 2],
  flexibleFrom: 2,
  request: [
    /** v0 only elects preferred leaders. */
    { name: 'electionType', type: 'int8', versions: '1+', default: 0 },
    /** null: every partition of the cluster. */
    {
      name: 'topicPartitions',
      versions: '0+',
      nullableVersions: '0+',
      type: {
        array: [
          { name: 'topic', type: 'string', versions: '0+' },
          { name: 'partitions', type: { array: 'int32' }, versions: '0+' },
        ],
      },
    },
    { name: 'timeoutMs', type: 'int32', versions: '0+', default: 60_000 },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '1+', default: 0 },
    {
      name: 'replicaElectionResults',
      versions: '0+',
      type: {
        array: [
          { name: 'topic', type: 'string', versions: '0+' },
          {
            name: 'partitionResult',
            versions: '0+',
            type: {
              array: [
                { name: 'partitionId', type: 'int32', versions: '0+' },
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

export type ElectLeadersRequest = RequestOf<typeof ElectLeaders>;
export type ElectLeadersResponse = ResponseOf<typeof ElectLeaders>;
