import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/**
 * CreateTopics (key 19). v1 adds validateOnly and error messages, v2 throttle time, v4 lets numPartitions
 * and replicationFactor be -1 (broker defaults), v5 is the first flexible version and returns the created
 * topic's configs (plus a tagged topicConfigErrorCode), v7 returns topic ids.
 */
export const CreateTopics = defineApi({
  apiKey: 19,
  name: 'CreateTopics',
  versions: [0, 7],
  flexibleFrom: 5,
  request: [
    {
      name: 'topics',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          /** -1 for the broker default (v4+). */
          { name: 'numPartitions', type: 'int32', versions: '0+' },
          /** -1 for the broker default (v4+). */
          { name: 'replicationFactor', type: 'int16', versions: '0+' },
          {
            name: 'assignments',
            versions: '0+',
            type: {
              array: [
                { name: 'partitionIndex', type: 'int32', versions: '0+' },
                { name: 'brokerIds', type: { array: 'int32' }, versions: '0+' },
              ],
            },
          },
          {
            name: 'configs',
            versions: '0+',
            type: {
              array: [
                { name: 'name', type: 'string', versions: '0+' },
                { name: 'value', type: 'string', versions: '0+', nullableVersions: '0+' },
              ],
            },
          },
        ],
      },
    },
    { name: 'timeoutMs', type: 'int32', versions: '0+', default: 60000 },
    { name: 'validateOnly', type: 'bool', versions: '1+', default: false },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '2+', default: 0 },
    {
      name: 'topics',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          { name: 'topicId', type: 'uuid', versions: '7+' },
          { name: 'errorCode', type: 'int16', versions: '0+' },
          { name: 'errorMessage', type: 'string', versions: '1+', nullableVersions: '0+', default: null },
          {
            name: 'topicConfigErrorCode',
            type: 'int16',
            versions: '5+',
            tag: 0,
            taggedVersions: '5+',
            default: 0,
          },
          { name: 'numPartitions', type: 'int32', versions: '5+', default: -1 },
          { name: 'replicationFactor', type: 'int16', versions: '5+', default: -1 },
          /** null when the configs could not be described. */
          {
            name: 'configs',
            versions: '5+',
            nullableVersions: '5+',
            default: null,
            type: {
              array: [
                { name: 'name', type: 'string', versions: '5+' },
                { name: 'value', type: 'string', versions: '5+', nullableVersions: '5+' },
                { name: 'readOnly', type: 'bool', versions: '5+' },
                { name: 'configSource', type: 'int8', versions: '5+', default: -1 },
                { name: 'isSensitive', type: 'bool', versions: '5+' },
              ],
            },
          },
        ],
      },
    },
  ],
});

export type CreateTopicsRequest = RequestOf<typeof CreateTopics>;
export type CreateTopicsResponse = ResponseOf<typeof CreateTopics>;
export type CreatableTopic = CreateTopicsRequest['topics'][number];
export type CreatableTopicResult = CreateTopicsResponse['topics'][number];
