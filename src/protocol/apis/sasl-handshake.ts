import type { RequestOf, ResponseOf } from '../message-types.js';
import { defineApi } from '../schema.js';

/**
 * SaslHandshake: the client names its SASL mechanism. After v0 the SASL tokens follow as bare size-prefixed
 * frames; after v1 they travel in SaslAuthenticate requests.
 */
export const SaslHandshake = defineApi({
  apiKey: 17,
  name: 'SaslHandshake',
  versions: [0, 1],
  flexibleFrom: Number.POSITIVE_INFINITY,
  request: [{ name: 'mechanism', type: 'string', versions: '0+' }],
  response: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    /** The mechanisms this listener enables. */
    { name: 'mechanisms', type: { array: 'string' }, versions: '0+' },
  ],
});

export type SaslHandshakeRequest = RequestOf<typeof SaslHandshake>;
export type SaslHandshakeResponse = ResponseOf<typeof SaslHandshake>;
