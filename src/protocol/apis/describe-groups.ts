import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/** AuthorizedOperations value meaning "not requested / not provided". */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export const DescribeGroups = defineApi({
  apiKey: 15,
  name: 'DescribeGroups',
  versions: [0, 5],
  flexibleFrom: 5,
  request: [
    { name: 'groups', type: { array: 'string' }, versions: '0+' },
    { name: 'includeAuthorizedOperations', type: 'bool', versions: '3+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    {
      name: 'groups',
      type: {
        array: [
          { name: 'errorCode', type: 'int16', versions: '0+' },
          { name: 'groupId', type: 'string', versions: '0+' },
          { name: 'groupState', type: 'string', versions: '0+' },
          { name: 'protocolType', type: 'string', versions: '0+' },
          { name: 'protocolData', type: 'string', versions: '0+' },
          {
            name: 'members',
            type: {
              array: [
                { name: 'memberId', type: 'string', versions: '0+' },
                {
                  name: 'groupInstanceId',
                  type: 'string',
                  versions: '4+',
                  nullableVersions: '4+',
                  default: null,
                },
                { name: 'clientId', type: 'string', versions: '0+' },
                { name: 'clientHost', type: 'string', versions: '0+' },
                { name: 'memberMetadata', type: 'bytes', versions: '0+' },
                { name: 'memberAssignment', type: 'bytes', versions: '0+' },
              ],
            },
            versions: '0+',
          },
          /** Bit field of ACL operations; AUTHORIZED_OPERATIONS_OMITTED when not requested. */
          {
            name: 'authorizedOperations',
            type: 'int32',
            versions: '3+',
            default: AUTHORIZED_OPERATIONS_OMITTED,
          },
        ],
      },
      versions: '0+',
    },
  ],
});

export type DescribeGroupsRequest = RequestOf<typeof DescribeGroups>;
export type DescribeGroupsResponse = ResponseOf<typeof DescribeGroups>;
