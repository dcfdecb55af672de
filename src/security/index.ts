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
export { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';
export { readTlsFiles, type TlsFilesConfig, watchTlsFiles } from './tls-files.js';
