export * from './acl.js';
export * from './acl-store.js';
export * from './authorizer.js';
export * from './client-quota.js';
export type { CredentialSource } from './credential-source.js';
export {
  type CredentialChange,
  CredentialStore,
  CredentialStoreError,
  type CredentialStoreErrorCode,
  checkUserName,
  MAX_USERS,
  markUsersInCluster,
  type UserDescription,
  usersInClusterOf,
} from './credential-store.js';
export type { DoorSecurity } from './door-security.js';
export { HostAllowList, isLoopbackHost } from './host-allow-list.js';
export {
  hashPassword,
  hashToken,
  newToken,
  passwordHashProblem,
  TOKEN_HASH_PATTERN,
} from './http-credentials.js';
export { HTTP_ROLES, type HttpRole, roleAllows } from './http-roles.js';
export {
  csrfTokenMatches,
  type HttpSession,
  type HttpSessionOptions,
  HttpSessions,
} from './http-sessions.js';
export { type HttpPrincipal, type HttpTokenSpec, type HttpUserSpec, HttpUsers } from './http-users.js';
export { parseJsonText, readJsonFile, writeJsonFile } from './json-file.js';
export { type ListStorage, SingleWriterStorage } from './list-storage.js';
export { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';
export { checkPlainPassword } from './plain.js';
export {
  type EntityQuota,
  FileQuotaStorage,
  parseQuotaDocument,
  QUOTA_FILE,
  type QuotaOp,
  type QuotaStorage,
  QuotaStore,
  type QuotaStoreOptions,
  quotaDocument,
} from './quota-store.js';
export { SaslAuthenticationError } from './sasl-errors.js';
export { SASL_MECHANISMS, type SaslMechanism, SaslSession, type SaslSettings } from './sasl-session.js';
export {
  isScramMechanism,
  makeScramCredential,
  newScramSalt,
  SCRAM_MAX_ITERATIONS,
  SCRAM_MECHANISM_CODES,
  SCRAM_MECHANISMS,
  SCRAM_MIN_ITERATIONS,
  type ScramCredential,
  type ScramMechanism,
  saltPassword,
  scramCredentialFromSaltedPassword,
  scramMechanismOfCode,
} from './scram.js';
export {
  certificatePrincipal,
  ReloadingTlsContext,
  TlsConfigError,
  type TlsFiles,
  type TlsFilesConfig,
} from './tls-context.js';
