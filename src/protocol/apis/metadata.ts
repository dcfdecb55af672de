import type { ApiSchema } from '../schema.js';

export interface MetadataRequest {
  topics: Array<{ topicId: Buffer; name: string | null }> | null;
  allowAutoTopicCreation: boolean;
  includeClusterAuthorizedOperations: boolean;
  includeTopicAuthorizedOperations: boolean;
}

export interface MetadataPartition {
  errorCode: number;
  partitionIndex: number;
  leaderId: number;
  leaderEpoch: number;
  replicaNodes: number[];
  isrNodes: number[];
  offlineReplicas: number[];
}

export interface MetadataTopic {
  errorCode: number;
  name: string | null;
  topicId: Buffer;
  isInternal: boolean;
  partitions: MetadataPartition[];
  topicAuthorizedOperations: number;
}

export interface MetadataResponse {
  throttleTimeMs: number;
  brokers: Array<{ nodeId: number; host: string; port: number; rack: string | null }>;
  clusterId: string | null;
  controllerId: number;
  topics: MetadataTopic[];
  clusterAuthorizedOperations: number;
}

export const Metadata: ApiSchema = {
  apiKey: 3,
  name: 'Metadata',
  versions: [0, 12],
  flexibleFrom: 9,
  request: [
    {
      name: 'topics',
      versions: '0+',
      nullableVersions: '1+',
      type: {
        array: [
          { name: 'topicId', type: 'uuid', versions: '10+' },
          { name: 'name', type: 'string', versions: '0+', nullableVersions: '10+' },
        ],
      },
    },
    { name: 'allowAutoTopicCreation', type: 'bool', versions: '4+', default: true },
    { name: 'includeClusterAuthorizedOperations', type: 'bool', versions: '8-10', default: false },
    { name: 'includeTopicAuthorizedOperations', type: 'bool', versions: '8+', default: false },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '3+' },
    {
      name: 'brokers',
      versions: '0+',
      type: {
        array: [
          { name: 'nodeId', type: 'int32', versions: '0+' },
          { name: 'host', type: 'string', versions: '0+' },
          { name: 'port', type: 'int32', versions: '0+' },
          { name: 'rack', type: 'string', versions: '1+', nullableVersions: '1+', default: null },
        ],
      },
    },
    { name: 'clusterId', type: 'string', versions: '2+', nullableVersions: '2+', default: null },
    { name: 'controllerId', type: 'int32', versions: '1+', default: -1 },
    {
      name: 'topics',
      versions: '0+',
      type: {
        array: [
          { name: 'errorCode', type: 'int16', versions: '0+' },
          { name: 'name', type: 'string', versions: '0+', nullableVersions: '12+' },
          { name: 'topicId', type: 'uuid', versions: '10+' },
          { name: 'isInternal', type: 'bool', versions: '1+', default: false },
          {
            name: 'partitions',
            versions: '0+',
            type: {
              array: [
                { name: 'errorCode', type: 'int16', versions: '0+' },
                { name: 'partitionIndex', type: 'int32', versions: '0+' },
                { name: 'leaderId', type: 'int32', versions: '0+' },
                { name: 'leaderEpoch', type: 'int32', versions: '7+', default: -1 },
                { name: 'replicaNodes', type: { array: 'int32' }, versions: '0+' },
                { name: 'isrNodes', type: { array: 'int32' }, versions: '0+' },
                { name: 'offlineReplicas', type: { array: 'int32' }, versions: '5+' },
              ],
            },
          },
          { name: 'topicAuthorizedOperations', type: 'int32', versions: '8+', default: -2147483648 },
        ],
      },
    },
    { name: 'clusterAuthorizedOperations', type: 'int32', versions: '8-10', default: -2147483648 },
  ],
};
