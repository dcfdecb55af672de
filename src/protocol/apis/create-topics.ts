import type { ApiSchema } from '../schema.js';

export interface CreateTopicsRequest {
  topics: Array<{
    name: string;
    numPartitions: number;
    replicationFactor: number;
    assignments: Array<{ partitionIndex: number; brokerIds: number[] }>;
    configs: Array<{ name: string; value: string | null }>;
  }>;
  timeoutMs: number;
  validateOnly: boolean;
}

export interface CreateTopicsResponse {
  throttleTimeMs: number;
  topics: Array<{
    name: string;
    topicId: Buffer;
    errorCode: number;
    errorMessage: string | null;
    topicConfigErrorCode: number;
    numPartitions: number;
    replicationFactor: number;
    configs: Array<{
      name: string;
      value: string | null;
      readOnly: boolean;
      configSource: number;
      isSensitive: boolean;
    }> | null;
  }>;
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
    { name: 'throttleTimeMs', type: 'int32', versions: '2+' },
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
