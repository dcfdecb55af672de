import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';
import { aclEntryFields, aclFilterFields } from './describe-acls.js';

/**
 * DeleteAcls (key 31). v1 adds the pattern type (v0 filters and reports LITERAL ACLs), v2 is the first
 * flexible version, v3 allows the USER resource type.
 */
export const DeleteAcls = defineApi({
  apiKey: 31,
  name: 'DeleteAcls',
  versions: [0, 3],
  flexibleFrom: 2,
  request: [{ name: 'filters', versions: '0+', type: { array: aclFilterFields } }],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'filterResults',
      versions: '0+',
      type: {
        array: [
          { name: 'errorCode', type: 'int16', versions: '0+' },
          { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
          {
            name: 'matchingAcls',
            versions: '0+',
            type: {
              array: [
                { name: 'errorCode', type: 'int16', versions: '0+' },
                {
                  name: 'errorMessage',
                  type: 'string',
                  versions: '0+',
                  nullableVersions: '0+',
                  default: null,
                },
                { name: 'resourceType', type: 'int8', versions: '0+' },
                { name: 'resourceName', type: 'string', versions: '0+' },
                { name: 'patternType', type: 'int8', versions: '1+', default: 3 },
                ...aclEntryFields,
              ],
            },
          },
        ],
      },
    },
  ],
});

export type DeleteAclsRequest = RequestOf<typeof DeleteAcls>;
export type DeleteAclsResponse = ResponseOf<typeof DeleteAcls>;
