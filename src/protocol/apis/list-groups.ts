import type { ApiSchema } from '../schema.js';

export interface ListGroupsRequest {
  /** v4+ (KIP-518): only groups in these states; empty for all. */
  statesFilter: string[];
  /** v5+ (KIP-848), beyond our accepted range: only groups of these types. */
  typesFilter: string[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  /** v4+. */
  groupState: string;
  /** v5+, beyond our accepted range. */
  groupType: string;
}

export interface ListGroupsResponse {
  /** v1+. */
  throttleTimeMs: number;
  errorCode: number;
  groups: ListedGroup[];
}

export const ListGroups: ApiSchema = {
  apiKey: 16,
  name: 'ListGroups',
  versions: [0, 4],
  flexibleFrom: 3,
  request: [
    { name: 'statesFilter', type: { array: 'string' }, versions: '4+' },
    { name: 'typesFilter', type: { array: 'string' }, versions: '5+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    {
      name: 'groups',
      type: {
        array: [
          { name: 'groupId', type: 'string', versions: '0+' },
          { name: 'protocolType', type: 'string', versions: '0+' },
          { name: 'groupState', type: 'string', versions: '4+' },
          { name: 'groupType', type: 'string', versions: '5+' },
        ],
      },
      versions: '0+',
    },
  ],
};
