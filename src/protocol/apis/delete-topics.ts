import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/**
 * DeleteTopics (key 20). v1 adds throttle time, v4 is the first flexible version, v5 error messages, v6
 * names topics by name or id (topics replaces topicNames; the response name becomes nullable).
 */
export const DeleteTopics = defineApi({
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
          /** null when the topic is given by id. */
          { name: 'name', type: 'string', versions: '6+', nullableVersions: '6+', default: null },
          /** All zeroes when the topic is given by name. */
          { name: 'topicId', type: 'uuid', versions: '6+' },
        ],
      },
    },
    { name: 'topicNames', type: { array: 'string' }, versions: '0-5' },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', default: 0 },
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
});

export type DeleteTopicsRequest = RequestOf<typeof DeleteTopics>;
export type DeleteTopicsResponse = ResponseOf<typeof DeleteTopics>;
