import type { ApiSchema } from '../schema.js';

/**
 * Fetch (key 1). v4 adds isolation level and aborted transactions, v7 fetch sessions, v11 rack id and
 * preferred read replica, v12 is the first flexible version (tagged clusterId in the request; divergingEpoch,
 * currentLeader and snapshotId per partition in the response), v13 names topics by id instead of by name.
 *
 * Offered up to v13 rather than v12: @platformatic/kafka 1.x puts the topic id where v12 expects the topic
 * name, so it only works against a broker that lets it use v13. v14 and later are not offered (v15 moves the
 * replica id into the tagged replicaState, declared below for completeness).
 */

export interface FetchRequestPartition {
  partition: number;
  /** v9+. */
  currentLeaderEpoch: number;
  fetchOffset: number;
  /** v12+. */
  lastFetchedEpoch: number;
  /** v5+; only followers send a real value. */
  logStartOffset: number;
  partitionMaxBytes: number;
}

export interface FetchRequestTopic {
  /** v0-12. */
  topic: string;
  /** v13+. */
  topicId: Buffer;
  partitions: FetchRequestPartition[];
}

export interface FetchForgottenTopic {
  /** v7-12. */
  topic: string;
  /** v13+. */
  topicId: Buffer;
  partitions: number[];
}

export interface FetchReplicaState {
  replicaId: number;
  replicaEpoch: number;
}

export interface FetchRequest {
  /** Tagged (tag 0) from v12. */
  clusterId: string | null;
  /** v0-14; -1 for consumers. */
  replicaId: number;
  /** Tagged (tag 1) from v15, so never on the wire in the versions offered. */
  replicaState: FetchReplicaState;
  maxWaitMs: number;
  minBytes: number;
  /** v3+. */
  maxBytes: number;
  /** v4+: 0 READ_UNCOMMITTED, 1 READ_COMMITTED. */
  isolationLevel: number;
  /** v7+. */
  sessionId: number;
  /** v7+. */
  sessionEpoch: number;
  topics: FetchRequestTopic[];
  /** v7+. */
  forgottenTopicsData: FetchForgottenTopic[];
  /** v11+. */
  rackId: string;
}

export interface FetchEpochEndOffset {
  epoch: number;
  endOffset: number;
}

export interface FetchLeaderIdAndEpoch {
  leaderId: number;
  leaderEpoch: number;
}

export interface FetchSnapshotId {
  endOffset: number;
  epoch: number;
}

export interface FetchAbortedTransaction {
  producerId: number;
  firstOffset: number;
}

export interface FetchPartitionResponse {
  partitionIndex: number;
  errorCode: number;
  highWatermark: number;
  /** v4+. */
  lastStableOffset: number;
  /** v5+. */
  logStartOffset: number;
  /** Tagged (tag 0) from v12; all -1 when not sent. */
  divergingEpoch: FetchEpochEndOffset;
  /** Tagged (tag 1) from v12; all -1 when not sent. */
  currentLeader: FetchLeaderIdAndEpoch;
  /** Tagged (tag 2) from v12; all -1 when not sent. */
  snapshotId: FetchSnapshotId;
  /** v4+; null in older versions. */
  abortedTransactions: FetchAbortedTransaction[] | null;
  /** v11+. */
  preferredReadReplica: number;
  records: Buffer | null;
}

export interface FetchTopicResponse {
  /** v0-12. */
  topic: string;
  /** v13+. */
  topicId: Buffer;
  partitions: FetchPartitionResponse[];
}

export interface FetchResponse {
  /** v1+. */
  throttleTimeMs: number;
  /** v7+. */
  errorCode: number;
  /** v7+. */
  sessionId: number;
  responses: FetchTopicResponse[];
}

export const Fetch: ApiSchema = {
  apiKey: 1,
  name: 'Fetch',
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
    { name: 'replicaId', type: 'int32', versions: '0-14', default: -1 },
    {
      name: 'replicaState',
      versions: '15+',
      tag: 1,
      taggedVersions: '15+',
      type: {
        struct: [
          { name: 'replicaId', type: 'int32', versions: '15+', default: -1 },
          { name: 'replicaEpoch', type: 'int64', versions: '15+', default: -1 },
        ],
      },
    },
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
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', default: 0 },
    { name: 'errorCode', type: 'int16', versions: '7+', default: 0 },
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
