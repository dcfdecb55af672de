import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/**
 * Metadata (key 3). v1 lets the topic list be null (all topics; v0 uses an empty list for that), v4 adds
 * allowAutoTopicCreation, v8 authorized operations, v9 is the first flexible version, v10 topic ids (and a
 * nullable topic name in the request), v11 drops the cluster-wide authorized operations, v12 makes the
 * topic name nullable in the response.
 */

/** Kafka's value for an authorized-operations bitfield that was not requested. */
export const AUTHORIZED_OPERATIONS_NOT_REQUESTED = -2147483648;

export const Metadata = defineApi({
  apiKey: 3,
  name: 'Metadata',
  versions: [0, 12],
  flexibleFrom: 9,
  request: [
    /** null (v1+) asks for every topic; v0 asks for every topic with an empty list. */
    {
      name: 'topics',
      versions: '0+',
      nullableVersions: '1+',
      type: {
        array: [
          /** All zeroes when the topic is named. */
          { name: 'topicId', type: 'uuid', versions: '10+' },
          /** null when the topic is given by id. */
          { name: 'name', type: 'string', versions: '0+', nullableVersions: '10+' },
        ],
      },
    },
    /** Earlier versions always auto-create. */
    { name: 'allowAutoTopicCreation', type: 'bool', versions: '4+', default: true },
    { name: 'includeClusterAuthorizedOperations', type: 'bool', versions: '8-10', default: false },
    { name: 'includeTopicAuthorizedOperations', type: 'bool', versions: '8+', default: false },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '3+', default: 0 },
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
          {
            name: 'topicAuthorizedOperations',
            type: 'int32',
            versions: '8+',
            default: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
          },
        ],
      },
    },
    {
      name: 'clusterAuthorizedOperations',
      type: 'int32',
      versions: '8-10',
      default: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
    },
  ],
});

export type MetadataRequest = RequestOf<typeof Metadata>;
export type MetadataResponse = ResponseOf<typeof Metadata>;
