/** A SASL exchange failed because of what the client sent: told to the client, counted, and the session ends. */
export class SaslAuthenticationError extends Error {
  override readonly name = 'SaslAuthenticationError';
}
