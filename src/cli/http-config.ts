import { z } from 'zod';
import { durationSchema } from '../alerts/rules.js';
import { splitHostPort } from '../broker/config.js';
import { DEFAULT_LOGIN_THROTTLE, type HttpAuthConfig } from '../http/auth.js';
import {
  HTTP_ROLES,
  HttpUsers,
  isLoopbackHost,
  passwordHashProblem,
  type TlsFilesConfig,
  TOKEN_HASH_PATTERN,
} from '../security/index.js';

const name = z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'expected a name of [A-Za-z0-9._@-], at most 64');
const role = z.enum(HTTP_ROLES);

const userSpec = z.strictObject({
  name,
  role,
  passwordHash: z.string().superRefine((value, context) => {
    const problem = passwordHashProblem(value);
    if (problem !== null) context.addIssue({ code: 'custom', message: problem });
  }),
});

const tokenSpec = z.strictObject({
  name,
  role,
  tokenHash: z
    .string()
    .regex(
      TOKEN_HASH_PATTERN,
      'expected sha256$ and 64 hex digits, as `edgestream http-user token` prints it',
    ),
});

const authSection = z.strictObject({
  /** auto: on unless http.listen is a loopback address. */
  enabled: z.union([z.boolean(), z.literal('auto')]).default('auto'),
  users: z.array(userSpec).max(1000).default([]),
  tokens: z.array(tokenSpec).max(1000).default([]),
  /** open: anyone reaching the port may scrape /metrics; token: it needs a bearer token (or a session). */
  metrics: z.enum(['open', 'token']).default('open'),
  sessionIdleTimeout: durationSchema.default(60 * 60_000),
  sessionMaxLifetime: durationSchema.default(12 * 60 * 60_000),
  maxSessions: z.number().int().min(1).max(100_000).default(1000),
});

/** The `http` section's keys besides `listen` (config.ts adds it, with the other listen addresses). */
export const httpSecuritySection = z.strictObject({
  /** Host header values served besides localhost, 127.0.0.1, [::1] and the listen address: NAME or NAME:PORT. */
  allowedHosts: z
    .array(z.string().regex(/^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/, 'expected NAME or NAME:PORT'))
    .max(100)
    .default([]),
  /** PEM files; present, the API and dashboard are served over HTTPS. */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  auth: authSection.default(authSection.parse({})),
});

export type HttpSection = { listen: string } & z.output<typeof httpSecuritySection>;

/** Checks across the section's keys: unique users and tokens, and someone to log in as when auth is on. */
export function checkHttpSection(http: HttpSection, context: z.RefinementCtx): void {
  const names = http.auth.users.map((user) => user.name);
  const duplicate = names.find((user, i) => names.indexOf(user) !== i);
  if (duplicate !== undefined)
    context.addIssue({
      code: 'custom',
      path: ['auth', 'users'],
      message: `user '${duplicate}' appears twice`,
    });
  const hashes = http.auth.tokens.map((token) => token.tokenHash);
  const again = http.auth.tokens.find((token, i) => hashes.indexOf(token.tokenHash) !== i);
  if (again !== undefined)
    context.addIssue({
      code: 'custom',
      path: ['auth', 'tokens'],
      message: `token '${again.name}' has the same hash as another one`,
    });
  if (!httpAuthEnabled(http) && http.auth.metrics === 'token')
    context.addIssue({
      code: 'custom',
      path: ['auth', 'metrics'],
      message: 'token needs authentication on (http.auth.enabled); with it off /metrics would stay open',
    });
  if (httpAuthEnabled(http) && http.auth.users.length === 0 && http.auth.tokens.length === 0) {
    const why =
      http.auth.enabled === true ? 'http.auth.enabled is true' : `${http.listen} is not a loopback address`;
    context.addIssue({
      code: 'custom',
      path: ['auth', 'users'],
      message:
        `authentication is on (${why}) but no user or token is configured: run ` +
        '`edgestream http-user hash --password-stdin` and add { name, role: admin, passwordHash } under ' +
        'http.auth.users, or set http.auth.enabled: false to serve everyone without a login',
    });
  }
}

/** Whether the HTTP API asks who you are: as configured, or (auto) unless it listens on loopback only. */
export function httpAuthEnabled(http: Pick<HttpSection, 'listen' | 'auth'>): boolean {
  if (http.auth.enabled !== 'auto') return http.auth.enabled;
  return !isLoopbackHost(splitHostPort(http.listen).host);
}

/** The HttpApi options that decide who may reach it and how: authentication, allowed Host names, TLS. */
export function httpSecurityOptions(http: HttpSection): {
  auth: HttpAuthConfig;
  allowedHosts: readonly string[];
  tls?: TlsFilesConfig;
} {
  const { auth } = http;
  return {
    auth: {
      users: httpAuthEnabled(http) ? new HttpUsers(auth.users, auth.tokens) : null,
      metrics: auth.metrics,
      sessions: {
        idleTimeoutMs: auth.sessionIdleTimeout,
        maxLifetimeMs: auth.sessionMaxLifetime,
        maxSessions: auth.maxSessions,
      },
      loginThrottle: DEFAULT_LOGIN_THROTTLE,
    },
    allowedHosts: http.allowedHosts,
    ...(http.tls === undefined ? {} : { tls: http.tls }),
  };
}
