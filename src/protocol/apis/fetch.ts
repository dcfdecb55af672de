import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/**
 * Fetch (key 1). v4 adds isolation level and aborted transactions, v7 fetch sessions, v11 rack id and
 * preferred read replica, v12 is the first flexible version (tagged clusterId in the request; divergingEpoch,
 * currentLeader and snapshotId per partition in the response), v13 names topics by id instead of by name.
 *
 * Offered up to v13 rather than v12: @platformatic/kafka 1.x puts the topic id where v12 expects the topic
 * name, so it only works against a broker that lets it use v13. v14 and later are not offered (v15 moves the
 * replica id into the tagged replicaState, declared below for completeness).
 */
export const Fetch = defineApi({
  apiKey: 1,
  name: 'Fetch',
  versions: [0, 13],
  flexibleFrom: 12,
  request: [
    /** Tagged (tag 0) from v12. */
    {
      name: 'clusterId',
      type: 'string',
      versions: '12+',
      nullableVersions: '12+',
      default: null,
      tag: 0,
      taggedVersions: '12+',
    },
    /** -1 for consumers. */
    { name: 'replicaId', type: 'int32', versions: '0-14', default: -1 },
    /** Tagged from v15, so never on the wire in the versions offered. */
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
    /** 0 READ_UNCOMMITTED, 1 READ_COMMITTED. */
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
                /** Only followers send a real value. */
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
                /** Tagged from v12; all -1 when not sent. */
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
                /** Tagged from v12; all -1 when not sent. */
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
                /** Tagged from v12; all -1 when not sent. */
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
                /** null in versions before v4. */
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
});

export type FetchRequest = RequestOf<typeof Fetch>;
export type FetchResponse = ResponseOf<typeof Fetch>;
