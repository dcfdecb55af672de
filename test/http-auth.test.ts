import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { AlertEngine } from '../src/alerts/index.js';
import { DEFAULT_LOGIN_THROTTLE, type HttpAuthConfig } from '../src/http/auth.js';
import type { HttpApi } from '../src/http/index.js';
import { newToken } from '../src/security/index.js';
import { SqliteAggregateStore } from '../src/store/index.js';
import { startHttpApi, veraAndOtto } from './support/http-auth-api.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
}

interface Call {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** One request over HTTP or HTTPS (node:http, so the Host header can be anything); the JSON body parsed. */
function call(
  base: URL,
  pathAndQuery: string,
  { method = 'GET', headers = {}, body }: Call = {},
): Promise<Reply> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const options: https.RequestOptions = {
    host: base.hostname,
    port: base.port,
    path: pathAndQuery,
    method,
    headers: {
      host: base.host,
      ...(text === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    // The test's self-signed certificate; the TLS test checks which one was served.
    rejectUnauthorized: false,
    agent: false,
  };
  return new Promise((resolve, reject) => {
    const request = (base.protocol === 'https:' ? https : http).request(options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const isJson = /^application\/json/.test(response.headers['content-type'] ?? '');
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: isJson ? JSON.parse(raw) : { text: raw },
        });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(text);
  });
}

function assertError(reply: Reply, status: number, code: string, message?: RegExp): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.error?.code, code, reply.body.error?.message);
  if (message) assert.match(reply.body.error?.message ?? '', message);
}

/** A self-signed certificate for localhost made by the openssl CLI. */
function selfSignedCertificate(dir: string, name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.cert.pem`);
  const key = path.join(dir, `${name}.key.pem`);
  execFileSync(
    'openssl',
    [
      ...[
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
      ],
      ...['-subj', `/CN=${name}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      ...['-keyout', key, '-out', cert],
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** The fingerprint of the certificate the server presents to a new connection now. */
function servedCertificate(base: URL): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: base.hostname, port: Number(base.port), rejectUnauthorized: false, servername: 'localhost' },
      () => {
        resolve(socket.getPeerX509Certificate()!.fingerprint256);
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

const SILENCE = {
  matchers: [{ label: 'edge', op: '=', value: 'edge-017' }],
  startsAtMs: Date.now(),
  endsAtMs: Date.now() + 3_600_000,
  createdBy: 'someone else',
  comment: 'maintenance',
};

describe('HTTP API with authentication on', () => {
  let tempDir: string;
  let store: SqliteAggregateStore;
  let engine: AlertEngine;
  let auth: HttpAuthConfig;
  const apis: HttpApi[] = [];
  const operatorToken = newToken();
  const viewerToken = newToken();

  async function startApi(
    options: { tls?: { cert: string; key: string }; auth?: HttpAuthConfig } = {},
  ): Promise<URL> {
    const api = await startHttpApi(store, engine, { auth, allowedHosts: ['dash.example.net'], ...options });
    apis.push(api);
    return new URL(`${options.tls ? 'https' : 'http'}://127.0.0.1:${api.address().port}`);
  }

  async function logIn(base: URL, user: string, password: string) {
    const reply = await call(base, '/api/login', { method: 'POST', body: { user, password } });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const setCookie = String(reply.headers['set-cookie']);
    return { setCookie, cookie: setCookie.split(';')[0]!, csrfToken: String(reply.body.csrfToken) };
  }

  before(async () => {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgestream-http-auth-'));
    store = SqliteAggregateStore.open({ path: path.join(tempDir, 'aggregates.db') });
    engine = new AlertEngine({ rules: [] });
    auth = {
      ...(await veraAndOtto([
        { name: 'ops-script', role: 'operator', tokenHash: operatorToken.tokenHash },
        { name: 'prometheus', role: 'viewer', tokenHash: viewerToken.tokenHash },
      ])),
      metrics: 'token',
    };
  });

  after(async () => {
    for (const api of apis) await api.close();
    await engine.close();
    await store.close();
    fs.rmSync(tempDir, { recursive: true, force: true });
  });

  it('answers 401 without credentials on every API route and /metrics, keeps /health open', async () => {
    const base = await startApi();
    for (const route of [
      '/api/alerts',
      '/api/silences',
      '/api/aggregates?metric=x&windowSize=1s',
      '/api/live',
      '/api/me',
      '/metrics',
    ])
      assertError(await call(base, route), 401, 'UNAUTHENTICATED');
    assertError(await call(base, '/api/silences', { method: 'POST', body: SILENCE }), 401, 'UNAUTHENTICATED');
    assertError(await call(base, '/api/silences/x', { method: 'DELETE' }), 401, 'UNAUTHENTICATED');
    assert.equal((await call(base, '/health')).status, 200);
  });

  it('lets a viewer read but not silence, and an operator silence only with the CSRF token', async () => {
    const base = await startApi();
    const viewer = await logIn(base, 'vera', 'vera password');
    assert.match(
      viewer.setCookie,
      /^edgestream_session=[\w-]+; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+$/,
    );
    const me = await call(base, '/api/me', { headers: { cookie: viewer.cookie } });
    assert.deepEqual([me.body.user, me.body.role, me.body.csrfToken], ['vera', 'viewer', viewer.csrfToken]);
    assert.equal((await call(base, '/api/silences', { headers: { cookie: viewer.cookie } })).status, 200);
    assertError(
      await call(base, '/api/silences', {
        method: 'POST',
        headers: { cookie: viewer.cookie, 'x-csrf-token': viewer.csrfToken },
        body: SILENCE,
      }),
      403,
      'FORBIDDEN',
      /vera is a viewer; this needs role operator/,
    );

    const operator = await logIn(base, 'otto', 'otto password');
    // No CSRF token, and another session's.
    for (const csrf of [{}, { 'x-csrf-token': viewer.csrfToken }] as Array<Record<string, string>>)
      assertError(
        await call(base, '/api/silences', {
          method: 'POST',
          headers: { cookie: operator.cookie, ...csrf },
          body: SILENCE,
        }),
        403,
        'FORBIDDEN',
        /X-CSRF-Token/,
      );
    const created = await call(base, '/api/silences', {
      method: 'POST',
      headers: { cookie: operator.cookie, 'x-csrf-token': operator.csrfToken },
      body: SILENCE,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const silence = created.body.silence as { id: string; createdBy: string };
    assert.equal(silence.createdBy, 'otto', 'the logged-in user, not what the body claimed');
    assert.deepEqual(
      engine.silences.list().map((s) => s.id),
      [silence.id],
    );

    const loggedOut = await call(base, '/api/logout', {
      method: 'POST',
      headers: { cookie: operator.cookie, 'x-csrf-token': operator.csrfToken },
    });
    assert.equal(loggedOut.status, 200);
    assertError(
      await call(base, '/api/me', { headers: { cookie: operator.cookie } }),
      401,
      'UNAUTHENTICATED',
    );
    assertError(
      await call(base, `/api/silences/${silence.id}`, {
        method: 'DELETE',
        headers: { cookie: operator.cookie, 'x-csrf-token': operator.csrfToken },
      }),
      401,
      'UNAUTHENTICATED',
    );
  });

  it('takes bearer tokens without a CSRF token, each limited to its role', async () => {
    const base = await startApi();
    const asOperator = { authorization: `Bearer ${operatorToken.token}` };
    const asViewer = { authorization: `Bearer ${viewerToken.token}` };
    const created = await call(base, '/api/silences', { method: 'POST', headers: asOperator, body: SILENCE });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id, createdBy } = created.body.silence as { id: string; createdBy: string };
    assert.equal(createdBy, 'ops-script');
    assertError(
      await call(base, `/api/silences/${id}`, { method: 'DELETE', headers: asViewer }),
      403,
      'FORBIDDEN',
    );
    assert.equal(
      (await call(base, `/api/silences/${id}`, { method: 'DELETE', headers: asOperator })).status,
      200,
    );
    assert.equal((await call(base, '/api/alerts', { headers: asViewer })).status, 200);
    assertError(
      await call(base, '/api/alerts', { headers: { authorization: 'Bearer est_not-a-token' } }),
      401,
      'UNAUTHENTICATED',
    );
    const metrics = await call(base, '/metrics', { headers: asViewer });
    assert.equal(metrics.status, 200);
    const text = String(metrics.body.text);
    assert.match(text, /edgestream_http_auth_failures_total\{reason="token_invalid"\} 1/);
    assert.doesNotMatch(text, /est_not-a-token/);
  });

  it('refuses a Host it was not told about with 421, before looking at credentials', async () => {
    const base = await startApi();
    const asViewer = { authorization: `Bearer ${viewerToken.token}` };
    for (const host of [
      'evil.example.com',
      `evil.example.com:${base.port}`,
      `localhost:${Number(base.port) + 1}`,
    ])
      assertError(
        await call(base, '/api/alerts', { headers: { ...asViewer, host } }),
        421,
        'HOST_NOT_ALLOWED',
        /http\.allowedHosts/,
      );
    assertError(await call(base, '/', { headers: { host: 'evil.example.com' } }), 421, 'HOST_NOT_ALLOWED');
    for (const host of [`localhost:${base.port}`, `dash.example.net:${base.port}`, `[::1]:${base.port}`])
      assert.equal((await call(base, '/api/alerts', { headers: { ...asViewer, host } })).status, 200, host);
  });

  it('slows a source after a failed login: 429 until the wait is over', async () => {
    // A minute's wait: the second attempt is refused however slow the machine is.
    const base = await startApi({
      auth: { ...auth, loginThrottle: { ...DEFAULT_LOGIN_THROTTLE, firstDelayMs: 60_000 } },
    });
    assertError(
      await call(base, '/api/login', { method: 'POST', body: { user: 'otto', password: 'guess' } }),
      401,
      'UNAUTHENTICATED',
    );
    const throttled = await call(base, '/api/login', {
      method: 'POST',
      body: { user: 'otto', password: 'otto password' },
    });
    assertError(throttled, 429, 'TOO_MANY_REQUESTS');
    assert.equal(throttled.headers['retry-after'], '60');
  });

  it('serves HTTPS with a Secure cookie and picks up a renewed certificate on SIGHUP', async () => {
    const first = selfSignedCertificate(tempDir, 'first');
    const files = { cert: path.join(tempDir, 'cert.pem'), key: path.join(tempDir, 'key.pem') };
    fs.copyFileSync(first.cert, files.cert);
    fs.copyFileSync(first.key, files.key);
    const base = await startApi({ tls: files });
    const fingerprint = (file: string) => new X509Certificate(fs.readFileSync(file)).fingerprint256;
    assert.equal(await servedCertificate(base), fingerprint(first.cert));
    const operator = await logIn(base, 'otto', 'otto password');
    assert.match(operator.setCookie, /; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+; Secure$/);
    const created = await call(base, '/api/silences', {
      method: 'POST',
      headers: { cookie: operator.cookie, 'x-csrf-token': operator.csrfToken },
      body: SILENCE,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));

    const second = selfSignedCertificate(tempDir, 'second');
    // As a renewal tool does: each file replaced whole, by rename.
    for (const kind of ['cert', 'key'] as const) {
      fs.copyFileSync(second[kind], `${files[kind]}.new`);
      fs.renameSync(`${files[kind]}.new`, files[kind]);
    }
    process.kill(process.pid, 'SIGHUP');
    const deadline = Date.now() + 10_000;
    while ((await servedCertificate(base)) !== fingerprint(second.cert)) {
      assert.ok(Date.now() < deadline, 'the renewed certificate is served within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const me = await call(base, '/api/me', { headers: { cookie: operator.cookie } });
    assert.equal(me.body.user, 'otto', 'sessions survive the reload');
  });
});
