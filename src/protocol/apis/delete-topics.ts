import type { ApiSchema } from '../schema.js';

export interface DeleteTopicsRequest {
  topics: Array<{ name: string | null; topicId: Buffer }>;
  topicNames: string[];
  timeoutMs: number;
}

export interface DeleteTopicsResponse {
  throttleTimeMs: number;
  responses: Array<{ name: string | null; topicId: Buffer; errorCode: number; errorMessage: string | null }>;
}

export const DeleteTopics: ApiSchema = {
  apiKey: 20,
  name: 'DeleteTopics',
  versions: [0, 6],
  flexibleFrom: 4,
  request: [
    {
      name: 'topics',
      versions: '6+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '6+', nullableVersions: '6+', default: null },
          { name: 'topicId', type: 'uuid', versions: '6+' },
        ],
      },
    },
    { name: 'topicNames', type: { array: 'string' }, versions: '0-5' },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    {
      name: 'responses',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+', nullableVersions: '6+' },
          { name: 'topicId', type: 'uuid', versions: '6+' },
          { name: 'errorCode', type: 'int16', versions: '0+' },
          { name: 'errorMessage', type: 'string', versions: '5+', nullableVersions: '5+', default: null },
        ],
      },
    },
  ],
};
