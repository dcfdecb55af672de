import type { CredentialSource } from './credential-source.js';
import { SaslAuthenticationError } from './sasl-errors.js';
import {
  makeScramCredential,
  SCRAM_MECHANISMS,
  SCRAM_MIN_ITERATIONS,
  scramCredentialMatches,
} from './scram.js';

/** Salts the derivation done for unknown users, so a refusal takes as long whether the user exists or not. */
const UNKNOWN_USER_SALT = Buffer.alloc(32);

/** A PLAIN token longer than this is not one. */
const MAX_PLAIN_TOKEN_BYTES = 4096;

/** RFC 4616: [authzid] NUL authcid NUL passwd. An authzid other than the user is refused. */
export function parsePlainToken(token: Buffer): { user: string; password: string } {
  if (token.length > MAX_PLAIN_TOKEN_BYTES) {
    throw new SaslAuthenticationError(
      `PLAIN token of ${token.length} bytes; the limit is ${MAX_PLAIN_TOKEN_BYTES}`,
    );
  }
  const parts = token.toString('utf8').split('\u0000');
  if (parts.length !== 3 || parts[1] === '' || parts[2] === '') {
    throw new SaslAuthenticationError('malformed PLAIN token: expected [authzid] NUL user NUL password');
  }
  const [authorizationId, user, password] = parts as [string, string, string];
  if (authorizationId !== '' && authorizationId !== user) {
    throw new SaslAuthenticationError('a PLAIN authorization id other than the user name is not supported');
  }
  return { user, password };
}

/**
 * PLAIN is checked against the user's stored SCRAM credential (the strongest one stored): passwords are kept
 * only salted and iterated, whichever mechanism a client uses.
 */
export async function checkPlainPassword(
  credentials: CredentialSource,
  user: string,
  password: string,
): Promise<boolean> {
  for (const mechanism of [...SCRAM_MECHANISMS].reverse()) {
    const credential = credentials.get(user, mechanism);
    if (credential) return scramCredentialMatches(mechanism, credential, password);
  }
  await makeScramCredential('SCRAM-SHA-512', password, SCRAM_MIN_ITERATIONS, UNKNOWN_USER_SALT);
  return false;
}
