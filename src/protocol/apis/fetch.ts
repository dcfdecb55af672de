import type { ApiSchema } from '../schema.js';

export interface FetchRequestPartition {
  partition: number;
  currentLeaderEpoch: number;
  fetchOffset: number;
  lastFetchedEpoch: number;
  logStartOffset: number;
  partitionMaxBytes: number;
}

export interface FetchRequest {
  clusterId: string | null;
  replicaId: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: number;
  sessionId: number;
  sessionEpoch: number;
  topics: Array<{ topic: string; topicId: Buffer; partitions: FetchRequestPartition[] }>;
  forgottenTopicsData: Array<{ topic: string; topicId: Buffer; partitions: number[] }>;
  rackId: string;
}

export interface FetchPartitionResponse {
  partitionIndex: number;
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  abortedTransactions: Array<{ producerId: number; firstOffset: number }> | null;
  preferredReadReplica: number;
  records: Buffer | null;
}

export interface FetchResponse {
  throttleTimeMs: number;
  errorCode: number;
  sessionId: number;
  responses: Array<{ topic: string; topicId: Buffer; partitions: FetchPartitionResponse[] }>;
}

export const Fetch: ApiSchema = {
  apiKey: 1,
  name: 'Fetch',
  // v13 names topics by id (@platformatic/kafka needs it); v15+ moves replicaId into tagged fields.
  versions: [0, 13],
  flexibleFrom: 12,
  request: [
    {
      name: 'clusterId',
      type: 'string',
      versions: '12+',
      nullableVersions: '12+',
      default: null,
      tag: 0,
      taggedVersions: '12+',
    },
    { name: 'replicaId', type: 'int32', versions: '0+', default: -1 },
    { name: 'maxWaitMs', type: 'int32', versions: '0+' },
    { name: 'minBytes', type: 'int32', versions: '0+' },
    { name: 'maxBytes', type: 'int32', versions: '3+', default: 0x7fffffff },
    { name: 'isolationLevel', type: 'int8', versions: '4+', default: 0 },
    { name: 'sessionId', type: 'int32', versions: '7+', default: 0 },
    { name: 'sessionEpoch', type: 'int32', versions: '7+', default: -1 },
    {
      name: 'topics',
      versions: '0+',
      type: {
        array: [
          { name: 'topic', type: 'string', versions: '0-12' },
          { name: 'topicId', type: 'uuid', versions: '13+' },
          {
            name: 'partitions',
            versions: '0+',
            type: {
              array: [
                { name: 'partition', type: 'int32', versions: '0+' },
                { name: 'currentLeaderEpoch', type: 'int32', versions: '9+', default: -1 },
                { name: 'fetchOffset', type: 'int64', versions: '0+' },
                { name: 'lastFetchedEpoch', type: 'int32', versions: '12+', default: -1 },
                { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1 },
                { name: 'partitionMaxBytes', type: 'int32', versions: '0+' },
              ],
            },
          },
        ],
      },
    },
    {
      name: 'forgottenTopicsData',
      versions: '7+',
      type: {
        array: [
          { name: 'topic', type: 'string', versions: '7-12' },
          { name: 'topicId', type: 'uuid', versions: '13+' },
          { name: 'partitions', type: { array: 'int32' }, versions: '7+' },
        ],
      },
    },
    { name: 'rackId', type: 'string', versions: '11+', default: '' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '7+' },
    { name: 'sessionId', type: 'int32', versions: '7+', default: 0 },
    {
      name: 'responses',
      versions: '0+',
      type: {
        array: [
          { name: 'topic', type: 'string', versions: '0-12' },
          { name: 'topicId', type: 'uuid', versions: '13+' },
          {
            name: 'partitions',
            versions: '0+',
            type: {
              array: [
                { name: 'partitionIndex', type: 'int32', versions: '0+' },
                { name: 'errorCode', type: 'int16', versions: '0+' },
                { name: 'highWatermark', type: 'int64', versions: '0+' },
                { name: 'lastStableOffset', type: 'int64', versions: '4+', default: -1 },
                { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1 },
                {
                  name: 'divergingEpoch',
                  versions: '12+',
                  tag: 0,
                  taggedVersions: '12+',
                  type: {
                    struct: [
                      { name: 'epoch', type: 'int32', versions: '12+', default: -1 },
                      { name: 'endOffset', type: 'int64', versions: '12+', default: -1 },
                    ],
                  },
                },
                {
                  name: 'currentLeader',
                  versions: '12+',
                  tag: 1,
                  taggedVersions: '12+',
                  type: {
                    struct: [
                      { name: 'leaderId', type: 'int32', versions: '12+', default: -1 },
                      { name: 'leaderEpoch', type: 'int32', versions: '12+', default: -1 },
                    ],
                  },
                },
                {
                  name: 'snapshotId',
                  versions: '12+',
                  tag: 2,
                  taggedVersions: '12+',
                  type: {
                    struct: [
                      { name: 'endOffset', type: 'int64', versions: '0+', default: -1 },
                      { name: 'epoch', type: 'int32', versions: '0+', default: -1 },
                    ],
                  },
                },
                {
                  name: 'abortedTransactions',
                  versions: '4+',
                  nullableVersions: '4+',
                  default: null,
                  type: {
                    array: [
                      { name: 'producerId', type: 'int64', versions: '4+' },
                      { name: 'firstOffset', type: 'int64', versions: '4+' },
                    ],
                  },
                },
                { name: 'preferredReadReplica', type: 'int32', versions: '11+', default: -1 },
                { name: 'records', type: 'records', versions: '0+', nullableVersions: '0+' },
              ],
            },
          },
        ],
      },
    },
  ],
};
