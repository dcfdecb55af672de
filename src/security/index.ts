export * from './acl.js';
export * from './acl-store.js';
export { AuthThrottle } from './auth-throttle.js';
export * from './authorizer.js';
export {
  CredentialStore,
  CredentialStoreError,
  checkUserName,
  MAX_USERS,
  type UserDescription,
} from './credential-store.js';
export { SaslAuthenticationError } from './sasl-errors.js';
export { SASL_MECHANISMS, type SaslMechanism, SaslSession, type SaslSettings } from './sasl-session.js';
export {
  isScramMechanism,
  makeScramCredential,
  SCRAM_MAX_ITERATIONS,
  SCRAM_MECHANISMS,
  SCRAM_MIN_ITERATIONS,
  type ScramCredential,
  type ScramMechanism,
} from './scram.js';
export { certificatePrincipal, ReloadingTlsContext, TlsConfigError, type TlsFiles } from './tls-context.js';
