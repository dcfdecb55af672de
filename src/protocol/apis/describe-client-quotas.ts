import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi, defineFields } from '../schema.js';

/**
 * DescribeClientQuotas (key 48, KIP-546). v1 is the first flexible version. Each component filters one entity
 * type: match type 0 names the entity exactly, 1 matches its default (`<default>`), 2 any named entity; with
 * `strict` an entity must have no other component than those filtered.
 */

/** One component of a quota entity: its type (`user`, `client-id`) and name, null for the default. */
export const quotaEntityFields = defineFields([
  { name: 'entityType', type: 'string', versions: '0+' },
  { name: 'entityName', type: 'string', versions: '0+', nullableVersions: '0+' },
]);

export const DescribeClientQuotas = defineApi({
  apiKey: 48,
  name: 'DescribeClientQuotas',
  versions: [0, 1],
  flexibleFrom: 1,
  request: [
    {
      name: 'components',
      versions: '0+',
      type: {
        array: [
          { name: 'entityType', type: 'string', versions: '0+' },
          { name: 'matchType', type: 'int8', versions: '0+' },
          { name: 'match', type: 'string', versions: '0+', nullableVersions: '0+' },
        ],
      },
    },
    { name: 'strict', type: 'bool', versions: '0+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
    {
      name: 'entries',
      versions: '0+',
      nullableVersions: '0+',
      type: {
        array: [
          { name: 'entity', versions: '0+', type: { array: quotaEntityFields } },
          {
            name: 'values',
            versions: '0+',
            type: {
              array: [
                { name: 'key', type: 'string', versions: '0+' },
                { name: 'value', type: 'float64', versions: '0+' },
              ],
            },
          },
        ],
      },
    },
  ],
});

export type DescribeClientQuotasRequest = RequestOf<typeof DescribeClientQuotas>;
export type DescribeClientQuotasResponse = ResponseOf<typeof DescribeClientQuotas>;
