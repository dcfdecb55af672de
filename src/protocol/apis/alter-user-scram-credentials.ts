import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi, defineFields } from '../schema.js';

/**
 * AlterUserScramCredentials (key 51, KIP-554): flexible from its only version. An upsertion carries the
 * client's salt and SaltedPassword = Hi(password, salt, iterations), never the password; the broker derives
 * the StoredKey and ServerKey it keeps. Mechanisms as DescribeUserScramCredentials.
 */
/** What both user SCRAM APIs answer per user before anything else. */
export const userResultFields = defineFields([
  { name: 'user', type: 'string', versions: '0+' },
  { name: 'errorCode', type: 'int16', versions: '0+' },
  { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
]);

export const AlterUserScramCredentials = defineApi({
  apiKey: 51,
  name: 'AlterUserScramCredentials',
  versions: [0, 0],
  flexibleFrom: 0,
  request: [
    {
      name: 'deletions',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          { name: 'mechanism', type: 'int8', versions: '0+' },
        ],
      },
    },
    {
      name: 'upsertions',
      versions: '0+',
      type: {
        array: [
          { name: 'name', type: 'string', versions: '0+' },
          { name: 'mechanism', type: 'int8', versions: '0+' },
          { name: 'iterations', type: 'int32', versions: '0+' },
          { name: 'salt', type: 'bytes', versions: '0+' },
          { name: 'saltedPassword', type: 'bytes', versions: '0+' },
        ],
      },
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'results', versions: '0+', type: { array: userResultFields } },
  ],
});

export type AlterUserScramCredentialsRequest = RequestOf<typeof AlterUserScramCredentials>;
export type AlterUserScramCredentialsResponse = ResponseOf<typeof AlterUserScramCredentials>;
