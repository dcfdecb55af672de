import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { AlertControl } from '../alerts/engine.js';
import { HostAllowList, ReloadingTlsContext, type TlsFilesConfig } from '../security/index.js';
import { StoreError } from '../store/errors.js';
import type { AggregateStore } from '../store/types.js';
import { type ApiReply, type ApiRoute, apiRoutes } from './api-routes.js';
import { AUTH_OFF, HttpAuth, type HttpAuthConfig } from './auth.js';
import { errorBody, HttpError } from './errors.js';
import type { LiveFeed } from './live-feed.js';
import { QueryParams } from './params.js';
import { StaticFiles } from './static-files.js';
import type { ClusterView, CoordinationView } from './types.js';

/** Prometheus text from somewhere: a prom-client Registry, or the metrics of worker threads summed. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface HttpApiOptions {
  host: string;
  /** 0 picks a free port; address() tells which. */
  port: number;
  store: AggregateStore;
  alerts: AlertControl;
  /** Null when the process runs no broker: /api/topics, /api/groups and /api/cluster then answer 404 CLUSTER_UNAVAILABLE. */
  cluster: ClusterView | null;
  /** Exposed together at /metrics; they must not share metric names. */
  registries: readonly MetricsSource[];
  live: LiveFeed;
  logger: Logger;
  /** A built front end served for paths outside /api; null or absent serves none. */
  staticDir?: string | null;
  /** Request bodies larger than this are refused with 413. Default 64 KiB. */
  maxBodyBytes?: number;
  /** Open HTTP connections at most, live streams included. Default 1024. */
  maxConnections?: number;
  /** How long close() lets requests in flight finish before cutting them. Default 5000. */
  closeGraceMs?: number;
  /** Who may do what (docs/security.md). Default: authentication off. */
  auth?: HttpAuthConfig;
  /**
   * Host header values answered besides localhost, 127.0.0.1, [::1] and the listen address on the bound port:
   * `name` (any port) or `name:port`. Every other Host is refused with 421 (DNS rebinding).
   */
  allowedHosts?: readonly string[];
  /** Serve HTTPS with these PEM files, reloaded when they change or on SIGHUP; absent: plain HTTP. */
  tls?: TlsFilesConfig;
  /** The REST proxy (`/topics`) and player beacons (`/beacons`); absent: neither is served. */
  ingest?: readonly ApiRoute[];
}

/** Paths served by the ingest routes, outside /api: where REST Proxy clients and players expect them. */
const INGEST_PATHS = /^\/(topics|beacons)(\/|$)/;

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The HTTP API of one Edgestream process: health, Prometheus metrics, aggregates, alerts, silences, topics,
 * groups and the live event stream, plus the dashboard's static files. Read-only except for silences.
 */
export class HttpApi {
  private readonly startedAtMs = Date.now();
  private readonly routes: ApiRoute[];
  private readonly logger: Logger;
  private readonly maxBodyBytes: number;
  private readonly closeGraceMs: number;
  private readonly auth: HttpAuth;
  private bound: { host: string; port: number } = { host: '', port: 0 };
  /** Needs the bound port: set once the server listens, before any request can be read. */
  private hosts: HostAllowList | null = null;
  private tlsContext: ReloadingTlsContext | null = null;

  private constructor(
    private readonly options: HttpApiOptions,
    private readonly server: http.Server | https.Server,
    private readonly staticFiles: StaticFiles | null,
  ) {
    this.logger = options.logger.child({ component: 'http' });
    this.auth = new HttpAuth(options.auth ?? AUTH_OFF, options.logger);
    this.routes = [...this.auth.routes(), ...apiRoutes(options), ...(options.ingest ?? [])];
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
    this.closeGraceMs = options.closeGraceMs ?? 5000;
  }

  static async start(options: HttpApiOptions): Promise<HttpApi> {
    const staticFiles = options.staticDir ? StaticFiles.open(options.staticDir) : null;
    const tlsContext = options.tls ? reloadingContext(options.tls, options.logger) : null;
    const server: http.Server = tlsContext ? httpsServer(tlsContext) : http.createServer();
    server.maxConnections = options.maxConnections ?? 1024;
    const api = new HttpApi(options, server, staticFiles);
    server.on('request', (request: IncomingMessage, response: ServerResponse) =>
      api.handle(request, response),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.host, port: options.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    api.bound = { host: address.address, port: address.port };
    api.hosts = new HostAllowList(options.host, address.port, options.allowedHosts ?? []);
    const tls = options.tls;
    api.tlsContext = tlsContext;
    api.logger.info(
      {
        address: api.bound,
        https: tls !== undefined,
        auth: api.auth.enabled,
        allowedHosts: api.hosts.entries(),
        staticDir: options.staticDir ?? null,
      },
      'http api started',
    );
    return api;
  }

  address(): { host: string; port: number } {
    return { ...this.bound };
  }

  /** Stops accepting, ends live streams, lets other requests finish within the grace period. */
  async close(): Promise<void> {
    this.tlsContext?.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    this.options.live.disconnectAll();
    const grace = setTimeout(() => this.server.closeAllConnections(), this.closeGraceMs);
    await closed;
    clearTimeout(grace);
    this.logger.info({}, 'http api stopped');
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    this.route(request, response).catch((error: unknown) => this.fail(request, response, error));
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const { pathname } = url;
    // Open and unchecked: load balancers probe it by IP address, and it tells nothing worth rebinding for.
    if (pathname === '/health') return this.health(request, response);
    if (!this.hosts!.allows(request.headers.host)) {
      throw new HttpError(
        421,
        'HOST_NOT_ALLOWED',
        `Host '${request.headers.host ?? ''}' is not served here; add it to http.allowedHosts if it is a name of this server`,
      );
    }
    if (pathname === '/metrics') {
      this.auth.authorizeMetrics(request, Date.now());
      return this.metrics(request, response);
    }
    if (pathname === '/api' || pathname.startsWith('/api/')) return this.api(request, response, url);
    if (this.options.ingest !== undefined && INGEST_PATHS.test(pathname))
      return this.api(request, response, url);
    if (this.staticFiles) return this.staticFiles.serve(request, response, pathname);
    throw new HttpError(404, 'NOT_FOUND', `no route for ${pathname}`);
  }

  private async api(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    const matching = this.routes.filter((r) => r.pattern.test(url.pathname));
    if (matching.length === 0) throw new HttpError(404, 'NOT_FOUND', `no route for ${url.pathname}`);
    const route = matching.find((r) => r.method === method);
    if (!route)
      throw methodNotAllowed(
        request.method,
        matching.map((r) => r.method),
      );
    let reply: ApiReply;
    try {
      const nowMs = Date.now();
      const principal =
        route.role !== null && this.auth.enabled ? this.auth.authorize(request, route.role, nowMs) : null;
      reply = await route.handle({
        query: new QueryParams(url.searchParams),
        searchParams: url.searchParams,
        captures: route.pattern.exec(url.pathname)!.slice(1),
        nowMs,
        body: () => readJsonBody(request, this.maxBodyBytes),
        rawBody: (maxBytes) => readBody(request, maxBytes),
        incoming: request,
        principal,
        response,
      });
    } catch (error) {
      // Not inside `answered?.()`: its argument would go unevaluated on routes that count nothing.
      const status = this.fail(request, response, error, route.errorBody);
      route.answered?.(status);
      return;
    }
    if (reply === null) return;
    if (reply.status === 204) {
      response.writeHead(204, { ...reply.headers, 'cache-control': 'no-store' });
      response.end();
    } else {
      sendJson(response, reply.status, reply.body, reply.headers);
    }
    route.answered?.(reply.status);
  }

  /**
   * Always 200 while the process answers: a broker cut off ZooKeeper still serves what it leads, so a load
   * balancer must keep sending it clients. `status: 'degraded'` and `reason` tell operators what is missing.
   */
  private health(request: IncomingMessage, response: ServerResponse): void {
    if (request.method !== 'GET' && request.method !== 'HEAD')
      throw methodNotAllowed(request.method, ['GET']);
    const nowMs = Date.now();
    const coordination = this.options.cluster?.coordination() ?? null;
    const reason = coordination === null ? null : degradedReason(coordination, nowMs);
    sendJson(response, 200, {
      status: reason === null ? 'ok' : 'degraded',
      reason,
      uptimeMs: nowMs - this.startedAtMs,
      startedAtMs: this.startedAtMs,
      live: this.options.live.stats(),
      alerts: this.options.alerts.stats(),
      cluster: this.options.cluster !== null,
      coordination,
    });
  }

  private async metrics(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'GET' && request.method !== 'HEAD')
      throw methodNotAllowed(request.method, ['GET']);
    const registries = [...this.options.registries, this.auth.registry];
    const texts = await Promise.all(registries.map((registry) => registry.metrics()));
    const contentType = this.options.registries[0]?.contentType ?? Registry.PROMETHEUS_CONTENT_TYPE;
    response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
    response.end(texts.map((text) => (text.endsWith('\n') ? text : `${text}\n`)).join(''));
  }

  /** Answers with the error (in the route's format when it has one); returns the status sent. */
  private fail(
    request: IncomingMessage,
    response: ServerResponse,
    error: unknown,
    format?: (error: HttpError) => unknown,
  ): number {
    const httpError = toHttpError(error);
    const { status, code, message, headers } = httpError;
    if (status >= 500) {
      this.logger.error({ err: error, method: request.method, url: request.url }, 'http request failed');
    } else {
      this.logger.debug({ method: request.method, url: request.url, code, message }, 'http request refused');
    }
    if (response.headersSent) {
      // A stream (a file, the live feed) broke after its headers went out: all that is left is to cut it.
      response.destroy();
      return status;
    }
    sendJson(response, status, format ? format(httpError) : errorBody(code, message), headers);
    return status;
  }
}

/**
 * Why a clustered broker is degraded, one clause per cause; null when nothing is missing. The causes are the
 * ones docs/cluster.md describes: ZooKeeper out of reach (roles kept, changes refused) and a broker fenced
 * after a pause or a session expiry (it leads nothing until ZooKeeper confirms its roles).
 */
function degradedReason(coordination: CoordinationView, nowMs: number): string | null {
  const reasons: string[] = [];
  if (!coordination.connected) {
    const since =
      coordination.unreachableSinceMs === null
        ? ''
        : ` for ${Math.round((nowMs - coordination.unreachableSinceMs) / 1000)} s`;
    const serving = coordination.leadershipConfirmed
      ? `; this broker keeps serving the ${coordination.leaderPartitions} partitions it leads`
      : '';
    reasons.push(
      `ZooKeeper unreachable${since}: topic creation and deletion, ISR changes and leader elections wait until it returns${serving}`,
    );
  }
  if (!coordination.leadershipConfirmed) {
    reasons.push(
      'leadership unconfirmed after a pause or a session expiry: this broker refuses produce and fetch for the partitions it would lead until ZooKeeper confirms its roles',
    );
  }
  return reasons.length === 0 ? null : reasons.join('; ');
}

function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof StoreError) {
    const message = error.message;
    switch (error.code) {
      case 'INVALID_ARGUMENT':
        return new HttpError(400, 'BAD_PARAMETER', message);
      case 'LIMIT_EXCEEDED':
        return new HttpError(400, 'LIMIT_EXCEEDED', message);
      case 'STORE_CLOSED':
        return new HttpError(503, 'SERVICE_UNAVAILABLE', message);
      default:
        return new HttpError(500, 'INTERNAL', message);
    }
  }
  return new HttpError(500, 'INTERNAL', 'internal error; the server log has the details');
}

function methodNotAllowed(method: string | undefined, allowed: readonly string[]): HttpError {
  const allow = [...new Set(allowed.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])))].join(', ');
  return new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allow}`, { allow });
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': JSON_TYPE,
    ...headers,
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
  });
  response.end(text);
}

/** The request's JSON body; 415 unless it says JSON, 413 past maxBytes, 400 when it does not parse. */
async function readJsonBody(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  const contentType = request.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new HttpError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `expected content-type application/json, got '${contentType}'`,
    );
  }
  const body = await readBody(request, maxBytes);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (error) {
    throw new HttpError(400, 'BAD_BODY', `request body is not JSON: ${(error as Error).message}`);
  }
}

/** The request's body, whatever its type; 413 past maxBytes (the connection is closed, the rest unread). */
async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new HttpError(413, 'BODY_TOO_LARGE', `request body exceeds ${maxBytes} bytes`, { connection: 'close' });
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of request) {
    received += (chunk as Buffer).length;
    if (received > maxBytes) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The HTTPS certificate, reloaded when renewed (or on SIGHUP) without a restart. */
function reloadingContext(files: TlsFilesConfig, logger: Logger): ReloadingTlsContext {
  return new ReloadingTlsContext(
    { certFile: files.cert, keyFile: files.key, caFile: null, clientAuth: 'none' },
    {
      reloaded: () => logger.info({ component: 'http', cert: files.cert }, 'tls certificate reloaded'),
      reloadFailed: (error) =>
        logger.error(
          { component: 'http', err: error },
          'tls certificate not reloaded; the previous one stays in use',
        ),
    },
  );
}

function httpsServer(context: ReloadingTlsContext): https.Server {
  const server = https.createServer(context.serverOptions(false));
  context.follow(server);
  return server;
}
