import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/** SaslAuthenticate: one SASL token each way, after a v1 SaslHandshake. */
export const SaslAuthenticate = defineApi({
  apiKey: 36,
  name: 'SaslAuthenticate',
  versions: [0, 2],
  flexibleFrom: 2,
  request: [{ name: 'authBytes', type: 'bytes', versions: '0+' }],
  response: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'authBytes', type: 'bytes', versions: '0+' },
    /** KIP-368: the client re-authenticates before this many ms pass; 0 means never. */
    { name: 'sessionLifetimeMs', type: 'int64', versions: '1+', default: 0 },
  ],
});

export type SaslAuthenticateRequest = RequestOf<typeof SaslAuthenticate>;
export type SaslAuthenticateResponse = ResponseOf<typeof SaslAuthenticate>;
