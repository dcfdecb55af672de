import type { ApiSchema } from '../schema.js';

/** AuthorizedOperations value meaning "not requested / not provided". */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export interface DescribeGroupsRequest {
  groups: string[];
  /** v3+. */
  includeAuthorizedOperations: boolean;
}

export interface DescribedGroupMember {
  memberId: string;
  /** v4+. */
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  memberMetadata: Buffer | null;
  memberAssignment: Buffer | null;
}

export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  groupState: string;
  protocolType: string;
  protocolData: string;
  members: DescribedGroupMember[];
  /** v3+: bit field of ACL operations; AUTHORIZED_OPERATIONS_OMITTED when not requested. */
  authorizedOperations: number;
}

export interface DescribeGroupsResponse {
  /** v1+. */
  throttleTimeMs: number;
  groups: DescribedGroup[];
}

export const DescribeGroups: ApiSchema = {
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
};
