import type { ApiSchema } from '../schema.js';

export interface ListOffsetsRequest {
  replicaId: number;
  isolationLevel: number;
  topics: Array<{
    name: string;
    partitions: Array<{
      partitionIndex: number;
      currentLeaderEpoch: number;
      timestamp: number;
      maxNumOffsets: number;
    }>;
  }>;
}

export interface ListOffsetsPartitionResponse {
  partitionIndex: number;
  errorCode: number;
  oldStyleOffsets: number[];
  timestamp: number;
  offset: number;
  leaderEpoch: number;
}

export interface ListOffsetsResponse {
  throttleTimeMs: number;
  topics: Array<{ name: string; partitions: ListOffsetsPartitionResponse[] }>;
}

export const ListOffsets: ApiSchema = {
  apiKey: 2,
  name: 'ListOffsets',
  versions: [0, 7],
  flexibleFrom: 6,
  request: [
    { name: 'replicaId', type: 'int32', versions: '0+' },
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
    { name: 'throttleTimeMs', type: 'int32', versions: '2+' },
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
};
