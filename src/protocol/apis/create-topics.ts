import type { ApiSchema } from '../schema.js';

/**
 * CreateTopics (key 19). v1 adds validateOnly and error messages, v2 throttle time, v4 lets numPartitions
 * and replicationFactor be -1 (broker defaults), v5 is the first flexible version and returns the created
 * topic's configs (plus a tagged topicConfigErrorCode), v7 returns topic ids.
 */

export interface CreatableReplicaAssignment {
  partitionIndex: number;
  brokerIds: number[];
}

export interface CreatableTopicConfig {
  name: string;
  value: string | null;
}

export interface CreatableTopic {
  name: string;
  /** -1 for the broker default (v4+). */
  numPartitions: number;
  /** -1 for the broker default (v4+). */
  replicationFactor: number;
  assignments: CreatableReplicaAssignment[];
  configs: CreatableTopicConfig[];
}

export interface CreateTopicsRequest {
  topics: CreatableTopic[];
  timeoutMs: number;
  /** v1+. */
  validateOnly: boolean;
}

export interface CreatableTopicConfigResult {
  name: string;
  value: string | null;
  readOnly: boolean;
  configSource: number;
  isSensitive: boolean;
}

export interface CreatableTopicResult {
  name: string;
  /** v7+. */
  topicId: Buffer;
  errorCode: number;
  /** v1+. */
  errorMessage: string | null;
  /** Tagged (tag 0) from v5. */
  topicConfigErrorCode: number;
  /** v5+. */
  numPartitions: number;
  /** v5+. */
  replicationFactor: number;
  /** v5+; null when the configs could not be described. */
  configs: CreatableTopicConfigResult[] | null;
}

export interface CreateTopicsResponse {
  /** v2+. */
  throttleTimeMs: number;
  topics: CreatableTopicResult[];
}

export const CreateTopics: ApiSchema = {
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
          { name: 'numPartitions', type: 'int32', versions: '0+' },
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
};
