import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/**
 * DescribeConfigs (key 32). v1 adds synonyms and config sources (replacing isDefault), v3 config types and
 * documentation, v4 is the first flexible version.
 */

/** Resource types in a request (Kafka's ConfigResource.Type). */
export const ConfigResourceType = {
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
} as const;

export const DescribeConfigs = defineApi({
  apiKey: 32,
  name: 'DescribeConfigs',
  versions: [0, 4],
  flexibleFrom: 4,
  request: [
    {
      name: 'resources',
      versions: '0+',
      type: {
        array: [
          { name: 'resourceType', type: 'int8', versions: '0+' },
          { name: 'resourceName', type: 'string', versions: '0+' },
          /** null asks for every key. */
          {
            name: 'configurationKeys',
            type: { array: 'string' },
            versions: '0+',
            nullableVersions: '0+',
            default: null,
          },
        ],
      },
    },
    { name: 'includeSynonyms', type: 'bool', versions: '1+', default: false },
    { name: 'includeDocumentation', type: 'bool', versions: '3+', default: false },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'results',
      versions: '0+',
      type: {
        array: [
          { name: 'errorCode', type: 'int16', versions: '0+' },
          { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
          { name: 'resourceType', type: 'int8', versions: '0+' },
          { name: 'resourceName', type: 'string', versions: '0+' },
          {
            name: 'configs',
            versions: '0+',
            type: {
              array: [
                { name: 'name', type: 'string', versions: '0+' },
                { name: 'value', type: 'string', versions: '0+', nullableVersions: '0+' },
                { name: 'readOnly', type: 'bool', versions: '0+' },
                /** v0 only; later versions say the same with configSource. */
                { name: 'isDefault', type: 'bool', versions: '0', default: false },
                { name: 'configSource', type: 'int8', versions: '1+', default: -1 },
                { name: 'isSensitive', type: 'bool', versions: '0+' },
                {
                  name: 'synonyms',
                  versions: '1+',
                  type: {
                    array: [
                      { name: 'name', type: 'string', versions: '1+' },
                      { name: 'value', type: 'string', versions: '1+', nullableVersions: '0+' },
                      { name: 'source', type: 'int8', versions: '1+' },
                    ],
                  },
                },
                { name: 'configType', type: 'int8', versions: '3+', default: 0 },
                {
                  name: 'documentation',
                  type: 'string',
                  versions: '3+',
                  nullableVersions: '0+',
                  default: null,
                },
              ],
            },
          },
        ],
      },
    },
  ],
});

export type DescribeConfigsRequest = RequestOf<typeof DescribeConfigs>;
export type DescribeConfigsResponse = ResponseOf<typeof DescribeConfigs>;
