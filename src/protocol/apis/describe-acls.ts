import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi, defineFields } from '../schema.js';

/**
 * DescribeAcls (key 29). v1 adds the pattern type (KIP-290 prefixed ACLs; v0 means LITERAL), v2 is the first
 * flexible version, v3 allows the USER resource type. Codes (resource, pattern, operation, permission) are
 * Kafka's, listed in security/acl.ts.
 */

/** An ACL binding filter: DescribeAcls's whole request, and each of DeleteAcls's filters. */
export const aclFilterFields = defineFields([
  { name: 'resourceTypeFilter', type: 'int8', versions: '0+' },
  /** null matches any name. */
  { name: 'resourceNameFilter', type: 'string', versions: '0+', nullableVersions: '0+' },
  /** LITERAL (3) before v1. */
  { name: 'patternTypeFilter', type: 'int8', versions: '1+', default: 3 },
  /** null matches any principal. */
  { name: 'principalFilter', type: 'string', versions: '0+', nullableVersions: '0+' },
  /** null matches any host. */
  { name: 'hostFilter', type: 'string', versions: '0+', nullableVersions: '0+' },
  { name: 'operation', type: 'int8', versions: '0+' },
  { name: 'permissionType', type: 'int8', versions: '0+' },
]);

/** An ACL's access control entry, as DescribeAcls and DeleteAcls report it after its resource pattern. */
export const aclEntryFields = defineFields([
  { name: 'principal', type: 'string', versions: '0+' },
  { name: 'host', type: 'string', versions: '0+' },
  { name: 'operation', type: 'int8', versions: '0+' },
  { name: 'permissionType', type: 'int8', versions: '0+' },
]);

export const DescribeAcls = defineApi({
  apiKey: 29,
  name: 'DescribeAcls',
  versions: [0, 3],
  flexibleFrom: 2,
  request: aclFilterFields,
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    {
      name: 'resources',
      versions: '0+',
      type: {
        array: [
          { name: 'resourceType', type: 'int8', versions: '0+' },
          { name: 'resourceName', type: 'string', versions: '0+' },
          { name: 'patternType', type: 'int8', versions: '1+', default: 3 },
          { name: 'acls', versions: '0+', type: { array: aclEntryFields } },
        ],
      },
    },
  ],
});

export type DescribeAclsRequest = RequestOf<typeof DescribeAcls>;
export type DescribeAclsResponse = ResponseOf<typeof DescribeAcls>;
