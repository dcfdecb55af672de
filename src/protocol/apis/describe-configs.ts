import type { ApiSchema } from '../schema.js';

export interface DescribeConfigsRequest {
  resources: Array<{ resourceType: number; resourceName: string; configurationKeys: string[] | null }>;
  includeSynonyms: boolean;
  includeDocumentation: boolean;
}

export interface DescribeConfigsEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: Array<{ name: string; value: string | null; source: number }>;
  configType: number;
  documentation: string | null;
}

export interface DescribeConfigsResponse {
  throttleTimeMs: number;
  results: Array<{
    errorCode: number;
    errorMessage: string | null;
    resourceType: number;
    resourceName: string;
    configs: DescribeConfigsEntry[];
  }>;
}

export const DescribeConfigs: ApiSchema = {
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
          { name: 'configurationKeys', type: { array: 'string' }, versions: '0+', nullableVersions: '0+' },
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
          { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
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
                { name: 'isDefault', type: 'bool', versions: '0' },
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
                { name: 'documentation', type: 'string', versions: '3+', nullableVersions: '0+' },
              ],
            },
          },
        ],
      },
    },
  ],
};
