import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import {
  csrfTokenMatches,
  type HttpPrincipal,
  type HttpRole,
  type HttpSession,
  type HttpSessionOptions,
  HttpSessions,
  type HttpUsers,
  LoginThrottle,
  type LoginThrottleOptions,
  roleAllows,
} from '../security/index.js';
import type { ApiReply, ApiRequest, ApiRoute } from './api-routes.js';
import { HttpError } from './errors.js';

const SESSION_COOKIE = 'edgestream_session';
const CSRF_HEADER = 'x-csrf-token';
/** Longest user name and password a login may send; longer ones are refused before any hashing. */
const MAX_LOGIN_FIELD_CHARS = 1024;
/**
 * Password checks running at once at most: each holds 32 MiB and a libuv thread (which file I/O shares) for
 * tens of milliseconds, so a flood of logins from many addresses must not take them all.
 */
const MAX_CONCURRENT_LOGINS = 2;
const STATE_CHANGING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

type AuthFailureReason =
  | 'login_failed'
  | 'login_throttled'
  | 'logins_busy'
  | 'token_invalid'
  | 'session_invalid'
  | 'csrf_invalid'
  | 'no_credentials'
  | 'forbidden';

export interface HttpAuthConfig {
  /** Null: authentication is off and every request may do everything (the loopback-only default). */
  users: HttpUsers | null;
  /** 'token': /metrics needs credentials like any read route; 'open': anyone reaching the port may scrape it. */
  metrics: 'open' | 'token';
  sessions: HttpSessionOptions;
  loginThrottle: LoginThrottleOptions;
}

/** Sessions end after 1 h unused or 12 h after the login; 1000 at most (the least recently used goes first). */
export const DEFAULT_SESSION_OPTIONS: HttpSessionOptions = {
  idleTimeoutMs: 60 * 60_000,
  maxLifetimeMs: 12 * 60 * 60_000,
  maxSessions: 1000,
};

/** 1 s after a failed login, doubling to 1 min; forgotten after 15 min without failure; 10 000 sources. */
export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  firstDelayMs: 1000,
  maxDelayMs: 60_000,
  forgetAfterMs: 15 * 60_000,
  maxSources: 10_000,
};

/** Authentication off: today's behaviour for a server only this machine can reach. */
export const AUTH_OFF: HttpAuthConfig = {
  users: null,
  metrics: 'open',
  sessions: DEFAULT_SESSION_OPTIONS,
  loginThrottle: DEFAULT_LOGIN_THROTTLE,
};

/** Who a request comes from, and by which session when a cookie authenticated it. */
interface Identity {
  principal: HttpPrincipal;
  session: HttpSession | null;
}

/** What a request may do with authentication off: everything, as before authentication existed. */
const ANONYMOUS: HttpPrincipal = { name: 'anonymous', role: 'admin', kind: 'user' };

/**
 * Authentication and authorization of the HTTP API: bearer tokens for scripts, a session cookie with a CSRF
 * token for the dashboard, the role each route needs, and login, logout and "who am I".
 */
export class HttpAuth {
  readonly registry = new Registry();
  private readonly failures: Counter<'reason'>;
  private readonly logins: Counter;
  private readonly logger: Logger;
  private readonly sessions: HttpSessions;
  private readonly throttle: LoginThrottle;
  private loginsInProgress = 0;

  constructor(
    private readonly options: HttpAuthConfig,
    logger: Logger,
  ) {
    this.logger = logger.child({ component: 'http-auth' });
    this.sessions = new HttpSessions(options.sessions);
    this.throttle = new LoginThrottle(options.loginThrottle);
    const sessions = this.sessions;
    this.failures = new Counter({
      name: 'edgestream_http_auth_failures_total',
      help: 'HTTP requests refused for their credentials, by reason',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.logins = new Counter({
      name: 'edgestream_http_logins_total',
      help: 'Successful dashboard logins',
      registers: [this.registry],
    });
    new Gauge({
      name: 'edgestream_http_sessions',
      help: 'Dashboard sessions held in memory',
      registers: [this.registry],
      collect() {
        this.set(sessions.size);
      },
    });
  }

  get enabled(): boolean {
    return this.options.users !== null;
  }

  /** The request's principal if its role includes `needed`; 401 without valid credentials, 403 otherwise. */
  authorize(request: IncomingMessage, needed: HttpRole, nowMs: number): HttpPrincipal {
    if (this.options.users === null) return ANONYMOUS;
    const identity = this.identify(request, this.options.users, nowMs);
    if (identity === null) throw this.refuse('no_credentials', 401, 'log in or send a bearer token');
    if (identity.session !== null && STATE_CHANGING_METHODS.has(request.method ?? '')) {
      const header = request.headers[CSRF_HEADER];
      if (!csrfTokenMatches(identity.session, typeof header === 'string' ? header : undefined))
        throw this.refuse(
          'csrf_invalid',
          403,
          'X-CSRF-Token is missing or wrong: send the csrfToken that /api/login and /api/me return',
        );
    }
    if (!roleAllows(identity.principal.role, needed))
      throw this.refuse(
        'forbidden',
        403,
        `${identity.principal.name} is ${article(identity.principal.role)}; this needs role ${needed} or above`,
      );
    return identity.principal;
  }

  /** For /metrics: open, or the same credentials as a read route. */
  authorizeMetrics(request: IncomingMessage, nowMs: number): void {
    if (this.options.metrics === 'token') this.authorize(request, 'viewer', nowMs);
  }

  routes(): ApiRoute[] {
    return [
      { method: 'POST', pattern: /^\/api\/login$/, role: null, handle: (r) => this.login(r) },
      { method: 'POST', pattern: /^\/api\/logout$/, role: null, handle: async (r) => this.logout(r) },
      { method: 'GET', pattern: /^\/api\/me$/, role: null, handle: async (r) => this.me(r) },
    ];
  }

  private async login({ incoming, body, nowMs }: ApiRequest): Promise<ApiReply> {
    const users = this.options.users;
    if (users === null) throw new HttpError(404, 'NOT_FOUND', 'authentication is off on this server');
    const source = incoming.socket.remoteAddress ?? 'unknown';
    const waitMs = this.throttle.waitMs(source, nowMs);
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      throw this.refuse('login_throttled', 429, `too many failed logins; try again in ${seconds} s`, {
        'retry-after': String(seconds),
      });
    }
    const { user, password } = loginFields(await body());
    if (this.loginsInProgress >= MAX_CONCURRENT_LOGINS)
      throw this.refuse('logins_busy', 429, 'other logins are being checked; try again in a second', {
        'retry-after': '1',
      });
    this.loginsInProgress++;
    let principal: HttpPrincipal | null;
    try {
      principal = await users.login(user, password);
    } finally {
      this.loginsInProgress--;
    }
    if (principal === null) {
      this.throttle.failed(source, Date.now());
      // An unknown name is not logged: it may be a password typed into the wrong field.
      this.logger.warn({ user: users.has(user) ? user : '(unknown)', source }, 'login failed');
      throw this.refuse('login_failed', 401, 'wrong user name or password');
    }
    this.throttle.succeeded(source);
    // A login in a browser that still holds a session replaces it rather than leave it valid beside the new one.
    const previous = sessionCookie(incoming);
    if (previous !== null) this.sessions.end(previous);
    const session = this.sessions.create(principal, nowMs);
    this.logins.inc();
    this.logger.info({ user: principal.name, role: principal.role, source }, 'logged in');
    return {
      status: 200,
      body: meBody(principal, session),
      headers: { 'set-cookie': this.cookie(incoming, session.id, this.sessions.remainingMs(session, nowMs)) },
    };
  }

  private logout({ incoming, nowMs }: ApiRequest): ApiReply {
    const users = this.options.users;
    if (users === null) throw new HttpError(404, 'NOT_FOUND', 'authentication is off on this server');
    this.authorize(incoming, 'viewer', nowMs);
    const id = sessionCookie(incoming);
    if (id !== null) this.sessions.end(id);
    return {
      status: 200,
      body: { loggedOut: true },
      headers: { 'set-cookie': this.cookie(incoming, '', 0) },
    };
  }

  private me({ incoming, nowMs }: ApiRequest): ApiReply {
    const users = this.options.users;
    if (users === null)
      return { status: 200, body: { authEnabled: false, user: null, role: 'admin', csrfToken: null } };
    const identity = this.identify(incoming, users, nowMs);
    if (identity === null) throw this.refuse('no_credentials', 401, 'not logged in');
    return { status: 200, body: meBody(identity.principal, identity.session) };
  }

  /**
   * From the Authorization header when there is one (a wrong token is refused, never replaced by a cookie),
   * else from the session cookie; null when the request carries neither.
   */
  private identify(request: IncomingMessage, users: HttpUsers, nowMs: number): Identity | null {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const token = /^Bearer +(\S+)$/i.exec(authorization)?.[1];
      const principal = token === undefined ? null : users.bearer(token);
      if (principal === null) throw this.refuse('token_invalid', 401, 'the bearer token is not valid');
      return { principal, session: null };
    }
    const id = sessionCookie(request);
    if (id === null) return null;
    const session = this.sessions.use(id, nowMs);
    if (session === null) throw this.refuse('session_invalid', 401, 'the session has ended; log in again');
    return { principal: session.principal, session };
  }

  private refuse(
    reason: AuthFailureReason,
    status: 401 | 403 | 429,
    message: string,
    headers: Record<string, string> = {},
  ): HttpError {
    this.failures.inc({ reason });
    if (status === 401)
      return new HttpError(401, 'UNAUTHENTICATED', message, {
        ...headers,
        'www-authenticate': 'Bearer realm="edgestream"',
      });
    return new HttpError(status, status === 403 ? 'FORBIDDEN' : 'TOO_MANY_REQUESTS', message, headers);
  }

  /** Secure only over HTTPS: a Secure cookie set over plain HTTP would never be sent back. */
  private cookie(request: IncomingMessage, value: string, maxAgeMs: number): string {
    const secure = (request.socket as Partial<TLSSocket>).encrypted === true ? '; Secure' : '';
    const maxAgeS = Math.floor(maxAgeMs / 1000);
    return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeS}${secure}`;
  }
}

function meBody(principal: HttpPrincipal, session: HttpSession | null) {
  return {
    authEnabled: true,
    user: principal.name,
    role: principal.role,
    via: principal.kind,
    csrfToken: session?.csrfToken ?? null,
  };
}

function loginFields(input: unknown): { user: string; password: string } {
  const fields = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  for (const name of ['user', 'password']) {
    const value = fields[name];
    if (typeof value !== 'string' || value === '' || value.length > MAX_LOGIN_FIELD_CHARS)
      throw new HttpError(
        400,
        'BAD_BODY',
        `login ${name}: expected a string of 1 to ${MAX_LOGIN_FIELD_CHARS} characters`,
      );
  }
  return { user: fields.user as string, password: fields.password as string };
}

function sessionCookie(request: IncomingMessage): string | null {
  const header = request.headers.cookie;
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === SESSION_COOKIE) {
      const value = part.slice(separator + 1).trim();
      return value === '' ? null : value;
    }
  }
  return null;
}

function article(role: HttpRole): string {
  return role === 'operator' || role === 'admin' ? `an ${role}` : `a ${role}`;
}
