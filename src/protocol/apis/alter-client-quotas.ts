import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';
import { quotaEntityFields } from './describe-client-quotas.js';

/**
 * AlterClientQuotas (key 49, KIP-546). v1 is the first flexible version. Each entry sets or removes quota
 * keys of one entity; each entry succeeds or fails on its own.
 */
export const AlterClientQuotas = defineApi({
  apiKey: 49,
  name: 'AlterClientQuotas',
  versions: [0, 1],
  flexibleFrom: 1,
  request: [
    {
      name: 'entries',
      versions: '0+',
      type: {
        array: [
          { name: 'entity', versions: '0+', type: { array: quotaEntityFields } },
          {
            name: 'ops',
            versions: '0+',
            type: {
              array: [
                { name: 'key', type: 'string', versions: '0+' },
                { name: 'value', type: 'float64', versions: '0+' },
                /** Removes the key; its value is ignored. */
                { name: 'remove', type: 'bool', versions: '0+' },
              ],
            },
          },
        ],
      },
    },
    { name: 'validateOnly', type: 'bool', versions: '0+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'entries',
      versions: '0+',
      type: {
        array: [
          { name: 'errorCode', type: 'int16', versions: '0+' },
          { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
          { name: 'entity', versions: '0+', type: { array: quotaEntityFields } },
        ],
      },
    },
  ],
});

export type AlterClientQuotasRequest = RequestOf<typeof AlterClientQuotas>;
export type AlterClientQuotasResponse = ResponseOf<typeof AlterClientQuotas>;
