import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';
import { userResultFields } from './alter-user-scram-credentials.js';

/**
 * DescribeUserScramCredentials (key 50, KIP-554): flexible from its only version. Mechanism codes are
 * Kafka's ScramMechanism: 0 unknown, 1 SCRAM-SHA-256, 2 SCRAM-SHA-512.
 */
export const DescribeUserScramCredentials = defineApi({
  apiKey: 50,
  name: 'DescribeUserScramCredentials',
  versions: [0, 0],
  flexibleFrom: 0,
  request: [
    {
      /** null describes every user. */
      name: 'users',
      versions: '0+',
      nullableVersions: '0+',
      type: { array: [{ name: 'name', type: 'string', versions: '0+' }] },
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
    {
      name: 'results',
      versions: '0+',
      type: {
        array: [
          ...userResultFields,
          {
            name: 'credentialInfos',
            versions: '0+',
            type: {
              array: [
                { name: 'mechanism', type: 'int8', versions: '0+' },
                { name: 'iterations', type: 'int32', versions: '0+' },
              ],
            },
          },
        ],
      },
    },
  ],
});

export type DescribeUserScramCredentialsRequest = RequestOf<typeof DescribeUserScramCredentials>;
export type DescribeUserScramCredentialsResponse = ResponseOf<typeof DescribeUserScramCredentials>;
