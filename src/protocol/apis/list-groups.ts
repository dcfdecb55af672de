import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

export const ListGroups = defineApi({
  apiKey: 16,
  name: 'ListGroups',
  versions: [0, 4],
  flexibleFrom: 3,
  request: [
    /** KIP-518: only groups in these states; empty for all. */
    { name: 'statesFilter', type: { array: 'string' }, versions: '4+' },
    /** KIP-848, beyond our accepted range: only groups of these types. */
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
          /** Beyond our accepted range. */
          { name: 'groupType', type: 'string', versions: '5+' },
        ],
      },
      versions: '0+',
    },
  ],
});

export type ListGroupsRequest = RequestOf<typeof ListGroups>;
export type ListGroupsResponse = ResponseOf<typeof ListGroups>;
