import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import pino from 'pino';
import { HttpUsers, hashPassword, newToken } from '../security/index.js';
import type { ApiRequest } from './api-routes.js';
import { DEFAULT_LOGIN_THROTTLE, DEFAULT_SESSION_OPTIONS, HttpAuth } from './auth.js';
import { HttpError } from './errors.js';
import { QueryParams } from './params.js';

function incoming(method: string, headers: Record<string, string> = {}): IncomingMessage {
  return { method, headers, socket: { remoteAddress: '192.0.2.7' } } as unknown as IncomingMessage;
}

function apiRequest(request: IncomingMessage, body: unknown = null): ApiRequest {
  return {
    query: new QueryParams(new URLSearchParams()),
    searchParams: new URLSearchParams(),
    captures: [],
    nowMs: Date.now(),
    body: async () => body,
    rawBody: async () => Buffer.from(JSON.stringify(body)),
    incoming: request,
    principal: null,
    response: null as never,
  };
}

function refusal(status: number, code: string, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof HttpError, String(error));
    assert.deepEqual([error.status, error.code], [status, code]);
    if (message) assert.match(error.message, message);
    return true;
  };
}

describe('HTTP authentication and authorization', async () => {
  const viewerToken = newToken();
  const users = new HttpUsers(
    [{ name: 'olga', role: 'operator', passwordHash: await hashPassword('olga password') }],
    [{ name: 'grafana', role: 'viewer', tokenHash: viewerToken.tokenHash }],
  );
  const auth = new HttpAuth(
    {
      users,
      metrics: 'token',
      sessions: DEFAULT_SESSION_OPTIONS,
      loginThrottle: { ...DEFAULT_LOGIN_THROTTLE, firstDelayMs: 60_000 },
    },
    pino({ level: 'silent' }),
  );
  const [login, logout, me] = auth.routes();

  async function logIn(): Promise<{ cookie: string; csrfToken: string }> {
    const reply = await login!.handle(
      apiRequest(incoming('POST'), { user: 'olga', password: 'olga password' }),
    );
    const setCookie = reply!.headers!['set-cookie']!;
    assert.match(
      setCookie,
      /^edgestream_session=[\w-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/,
    );
    const body = reply!.body as { user: string; role: string; csrfToken: string };
    assert.deepEqual([body.user, body.role], ['olga', 'operator']);
    return { cookie: setCookie.split(';')[0]!, csrfToken: body.csrfToken };
  }

  it('refuses a request without credentials with 401 and a wrong bearer token too', () => {
    assert.throws(
      () => auth.authorize(incoming('GET'), 'viewer', Date.now()),
      (error) =>
        refusal(401, 'UNAUTHENTICATED')(error) &&
        (error as HttpError).headers['www-authenticate'] === 'Bearer realm="edgestream"',
    );
    assert.throws(
      () =>
        auth.authorize(
          incoming('GET', { authorization: `Bearer ${newToken().token}` }),
          'viewer',
          Date.now(),
        ),
      refusal(401, 'UNAUTHENTICATED', /bearer token/),
    );
    assert.throws(() => auth.authorizeMetrics(incoming('GET'), Date.now()), refusal(401, 'UNAUTHENTICATED'));
  });

  it('lets a bearer token do what its role allows, without a CSRF token', () => {
    const bearer = { authorization: `Bearer ${viewerToken.token}` };
    assert.equal(auth.authorize(incoming('GET', bearer), 'viewer', Date.now()).name, 'grafana');
    assert.throws(
      () => auth.authorize(incoming('POST', bearer), 'operator', Date.now()),
      refusal(403, 'FORBIDDEN', /grafana is a viewer; this needs role operator/),
    );
  });

  it('asks a cookie-authenticated state change for the session CSRF token', async () => {
    const { cookie, csrfToken } = await logIn();
    const nowMs = Date.now();
    assert.equal(auth.authorize(incoming('GET', { cookie }), 'viewer', nowMs).name, 'olga');
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      assert.throws(
        () => auth.authorize(incoming(method, { cookie }), 'operator', nowMs),
        refusal(403, 'FORBIDDEN', /X-CSRF-Token/),
      );
      assert.throws(
        () => auth.authorize(incoming(method, { cookie, 'x-csrf-token': 'guess' }), 'operator', nowMs),
        refusal(403, 'FORBIDDEN', /X-CSRF-Token/),
      );
    }
    const withToken = incoming('POST', { cookie: `theme=dark; ${cookie}`, 'x-csrf-token': csrfToken });
    assert.equal(auth.authorize(withToken, 'operator', nowMs).role, 'operator');
    assert.throws(() => auth.authorize(withToken, 'admin', nowMs), refusal(403, 'FORBIDDEN'));
  });

  it('answers /api/me, and ends the session on logout', async () => {
    const first = await logIn();
    const again = await login!.handle(
      apiRequest(incoming('POST', { cookie: first.cookie }), { user: 'olga', password: 'olga password' }),
    );
    assert.notEqual(again!.headers!['set-cookie']!.split(';')[0], first.cookie);
    await assert.rejects(
      me!.handle(apiRequest(incoming('GET', { cookie: first.cookie }))),
      refusal(401, 'UNAUTHENTICATED'),
      'a new login ends the session the browser held',
    );
    const { cookie, csrfToken } = await logIn();
    const mine = await me!.handle(apiRequest(incoming('GET', { cookie })));
    assert.deepEqual(mine!.body, {
      authEnabled: true,
      user: 'olga',
      role: 'operator',
      via: 'user',
      csrfToken,
    });
    await assert.rejects(me!.handle(apiRequest(incoming('GET'))), refusal(401, 'UNAUTHENTICATED'));
    await assert.rejects(logout!.handle(apiRequest(incoming('POST', { cookie }))), refusal(403, 'FORBIDDEN'));
    const out = await logout!.handle(apiRequest(incoming('POST', { cookie, 'x-csrf-token': csrfToken })));
    assert.match(out!.headers!['set-cookie']!, /^edgestream_session=; .*Max-Age=0/);
    await assert.rejects(
      me!.handle(apiRequest(incoming('GET', { cookie }))),
      refusal(401, 'UNAUTHENTICATED', /session has ended/),
    );
  });

  it('refuses a wrong password with 401, then the same source with 429 until its wait is over', async () => {
    const source = { remoteAddress: '198.51.100.9' };
    const attempt = (password: string) => {
      const request = incoming('POST');
      (request as unknown as { socket: typeof source }).socket = source;
      return login!.handle(apiRequest(request, { user: 'olga', password }));
    };
    await assert.rejects(attempt('guess'), refusal(401, 'UNAUTHENTICATED', /wrong user name or password/));
    await assert.rejects(attempt('olga password'), refusal(429, 'TOO_MANY_REQUESTS', /try again in 60 s/));
    await assert.rejects(
      login!.handle(apiRequest(incoming('POST'), { user: 'olga' })),
      refusal(400, 'BAD_BODY', /login password/),
    );
    const metrics = await auth.registry.metrics();
    assert.match(metrics, /edgestream_http_auth_failures_total\{reason="login_failed"\} 1/);
    assert.match(metrics, /edgestream_http_auth_failures_total\{reason="login_throttled"\} 1/);
    assert.doesNotMatch(metrics, /guess|olga password/);
  });

  it('checks two passwords at once at most, refusing more with 429 rather than queueing them', async () => {
    const attempts = [1, 2, 3].map((n) => {
      const request = incoming('POST');
      (request as unknown as { socket: { remoteAddress: string } }).socket = {
        remoteAddress: `203.0.113.${n}`,
      };
      return login!.handle(apiRequest(request, { user: 'olga', password: 'olga password' }));
    });
    const results = await Promise.allSettled(attempts);
    assert.deepEqual(
      results.map((result) => result.status),
      ['fulfilled', 'fulfilled', 'rejected'],
    );
    refusal(
      429,
      'TOO_MANY_REQUESTS',
      /other logins are being checked/,
    )((results[2] as PromiseRejectedResult).reason);
    await logIn();
  });

  it('lets everything through with authentication off, as before', async () => {
    const open = new HttpAuth(
      {
        users: null,
        metrics: 'open',
        sessions: DEFAULT_SESSION_OPTIONS,
        loginThrottle: DEFAULT_LOGIN_THROTTLE,
      },
      pino({ level: 'silent' }),
    );
    assert.equal(open.authorize(incoming('DELETE'), 'admin', Date.now()).role, 'admin');
    const [, , openMe] = open.routes();
    assert.deepEqual((await openMe!.handle(apiRequest(incoming('GET'))))!.body, {
      authEnabled: false,
      user: null,
      role: 'admin',
      csrfToken: null,
    });
  });
});
