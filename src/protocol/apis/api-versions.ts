import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

export const ApiVersions = defineApi({
  apiKey: 18,
  name: 'ApiVersions',
  versions: [0, 3],
  flexibleFrom: 3,
  request: [
    { name: 'clientSoftwareName', type: 'string', versions: '3+', default: '' },
    { name: 'clientSoftwareVersion', type: 'string', versions: '3+', default: '' },
  ],
  response: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    {
      name: 'apiKeys',
      type: {
        array: [
          { name: 'apiKey', type: 'int16', versions: '0+' },
          { name: 'minVersion', type: 'int16', versions: '0+' },
          { name: 'maxVersion', type: 'int16', versions: '0+' },
        ],
      },
      versions: '0+',
    },
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', default: 0 },
  ],
});

export type ApiVersionsRequest = RequestOf<typeof ApiVersions>;
export type ApiVersionsResponse = ResponseOf<typeof ApiVersions>;
