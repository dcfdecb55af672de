import pino from 'pino';
import type { AlertEngine } from '../../src/alerts/index.js';
import { DEFAULT_LOGIN_THROTTLE, DEFAULT_SESSION_OPTIONS, type HttpAuthConfig } from '../../src/http/auth.js';
import { HttpApi, type HttpApiOptions, LiveFeed } from '../../src/http/index.js';
import { type HttpTokenSpec, HttpUsers, hashPassword } from '../../src/security/index.js';
import type { AggregateStore } from '../../src/store/index.js';

/** Authentication on with two users, vera (viewer) and otto (operator), whose passwords are "NAME password". */
export async function veraAndOtto(tokens: readonly HttpTokenSpec[] = []): Promise<HttpAuthConfig> {
  return {
    users: new HttpUsers(
      [
        { name: 'vera', role: 'viewer', passwordHash: await hashPassword('vera password') },
        { name: 'otto', role: 'operator', passwordHash: await hashPassword('otto password') },
      ],
      tokens,
    ),
    metrics: 'open',
    sessions: DEFAULT_SESSION_OPTIONS,
    loginThrottle: DEFAULT_LOGIN_THROTTLE,
  };
}

/** An HTTP API on a free loopback port over a store and an alert engine, without a broker. */
export function startHttpApi(
  store: AggregateStore,
  engine: AlertEngine,
  options: Partial<HttpApiOptions>,
): Promise<HttpApi> {
  return HttpApi.start({
    host: '127.0.0.1',
    port: 0,
    store,
    alerts: engine,
    cluster: null,
    registries: [engine.metrics.registry],
    live: new LiveFeed({ maxClients: 4 }),
    logger: pino({ level: 'silent' }),
    ...options,
  });
}
