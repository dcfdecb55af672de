import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AlertControl } from '../alerts/engine.js';
import { silenceSchema } from '../alerts/rules.js';
import { SilenceLimitError } from '../alerts/silences.js';
import type { AlertSnapshot } from '../alerts/types.js';
import type { HttpPrincipal, HttpRole } from '../security/index.js';
import type { AggregateStore, SilenceStatus, Silence as StoredSilence } from '../store/types.js';
import { HttpError } from './errors.js';
import { type LiveFeed, parseLiveFilter } from './live-feed.js';
import { MAX_RESULT_LIMIT, type QueryParams } from './params.js';
import type { ClusterView } from './types.js';

const FIFTEEN_MINUTES_MS = 15 * 60_000;
const ONE_DAY_MS = 24 * 60 * 60_000;
/** Topics, groups or partitions listed at most per request; the broker bounds groups at 10 000 too. */
const MAX_CLUSTER_LIMIT = 10_000;
const SILENCE_STATUSES: readonly SilenceStatus[] = ['pending', 'active', 'expired'];
const ALERT_STATES = ['pending', 'firing', 'resolved'] as const;
const ACTIVE_ALERT_STATES = ['pending', 'firing'] as const;

export interface ApiDependencies {
  store: AggregateStore;
  alerts: AlertControl;
  cluster: ClusterView | null;
  live: LiveFeed;
}

export interface ApiRequest {
  query: QueryParams;
  /** Path segments captured by the route's pattern. */
  captures: readonly string[];
  nowMs: number;
  /** Reads the JSON body, within the server's body limit. */
  body(): Promise<unknown>;
  /** Reads the body as it came, whatever its type, refusing it with 413 past `maxBytes`. */
  rawBody(maxBytes: number): Promise<Buffer>;
  /** The query string as it came (`query` validates typed parameters). */
  searchParams: URLSearchParams;
  /** The request itself, for its credentials and connection (login, logout). */
  incoming: IncomingMessage;
  /** Who is calling, when authentication is on; null when it is off. */
  principal: HttpPrincipal | null;
  response: ServerResponse;
}

/**
 * A JSON answer (status 204: no body); null when the handler wrote the response itself (the live stream).
 * `headers` may set the content type of a JSON dialect (REST Proxy's application/vnd.kafka.v2+json).
 */
export type ApiReply = { status: number; body: unknown; headers?: Readonly<Record<string, string>> } | null;

export interface ApiRoute {
  method: 'GET' | 'POST' | 'DELETE' | 'OPTIONS';
  pattern: RegExp;
  /** The least role that may call it; null for routes that do their own checks (login, logout, me, beacons). */
  role: HttpRole | null;
  handle(request: ApiRequest): Promise<ApiReply>;
  /** The body of an error on this route when its clients expect another format (REST Proxy's); default `{error}`. */
  errorBody?(error: HttpError): unknown;
  /** Told the status of every answer on this route, refusals included (the ingest metrics). */
  answered?(status: number): void;
}

/** How a silence looks over HTTP: the matcher shape of POST bodies, with where it came from. */
export interface SilenceView {
  id: string;
  matchers: Array<{ label: string; op: string; value: string }>;
  startsAtMs: number;
  endsAtMs: number;
  createdBy: string;
  comment: string;
  createdAtMs: number | null;
  status: SilenceStatus;
  /** 'store' for silences created over the API; 'config' for those only the alert engine holds. */
  source: 'store' | 'config';
}

const ok = (body: unknown, status = 200): ApiReply => ({ status, body });

export function apiRoutes(deps: ApiDependencies): ApiRoute[] {
  return [
    {
      method: 'GET',
      pattern: /^\/api\/aggregates$/,
      role: 'viewer',
      handle: (r) => queryAggregates(deps, r),
    },
    {
      method: 'GET',
      pattern: /^\/api\/aggregates\/latest$/,
      role: 'viewer',
      handle: (r) => latestAggregates(deps, r),
    },
    {
      method: 'GET',
      pattern: /^\/api\/alerts$/,
      role: 'viewer',
      handle: async (r) => currentAlerts(deps, r),
    },
    {
      method: 'GET',
      pattern: /^\/api\/alerts\/history$/,
      role: 'viewer',
      handle: (r) => alertHistory(deps, r),
    },
    { method: 'GET', pattern: /^\/api\/silences$/, role: 'viewer', handle: (r) => listSilences(deps, r) },
    { method: 'POST', pattern: /^\/api\/silences$/, role: 'operator', handle: (r) => createSilence(deps, r) },
    {
      method: 'DELETE',
      pattern: /^\/api\/silences\/([^/]+)$/,
      role: 'operator',
      handle: (r) => expireSilence(deps, r),
    },
    { method: 'GET', pattern: /^\/api\/topics$/, role: 'viewer', handle: async (r) => listTopics(deps, r) },
    { method: 'GET', pattern: /^\/api\/groups$/, role: 'viewer', handle: (r) => listGroups(deps, r) },
    {
      method: 'GET',
      pattern: /^\/api\/cluster$/,
      role: 'viewer',
      handle: (r) => clusterReplication(deps, r),
    },
    { method: 'GET', pattern: /^\/api\/live$/, role: 'viewer', handle: async (r) => liveStream(deps, r) },
  ];
}

async function queryAggregates({ store }: ApiDependencies, { query, nowMs }: ApiRequest): Promise<ApiReply> {
  const metric = query.metric();
  const windowSizeMs = query.requiredDurationMs('windowSize');
  const { fromMs, toMs } = query.timeRange(nowMs, FIFTEEN_MINUTES_MS);
  const stepMs = query.optionalDurationMs('step');
  const dimensions = query.prefixed('dim.');
  const limit = query.integer('limit', 0, 1, MAX_RESULT_LIMIT);
  const result = await store.queryRange({
    metric,
    windowSizeMs,
    fromMs,
    toMs,
    ...(stepMs === undefined ? {} : { stepMs }),
    ...(dimensions === undefined ? {} : { dimensions }),
    ...(limit === 0 ? {} : { limit }),
  });
  return ok({ metric, windowSizeMs, fromMs, toMs, stepMs: stepMs ?? null, ...result });
}

async function latestAggregates({ store }: ApiDependencies, { query }: ApiRequest): Promise<ApiReply> {
  const metric = query.metric();
  const windowSizeMs = query.requiredDurationMs('windowSize');
  const orderBy = query.name('orderBy');
  const ascending = query.boolean('ascending', false);
  const limit = query.integer('limit', 20, 1, MAX_RESULT_LIMIT);
  const notBeforeMs = query.optionalTimeMs('notBefore');
  const dimensions = query.prefixed('dim.');
  const result = await store.latest({
    metric,
    windowSizeMs,
    orderByField: orderBy,
    ascending,
    limit,
    ...(notBeforeMs === undefined ? {} : { notBeforeMs }),
    ...(dimensions === undefined ? {} : { dimensions }),
  });
  return ok({ metric, windowSizeMs, orderBy, ascending, ...result });
}

function currentAlerts({ alerts }: ApiDependencies, { query }: ApiRequest): ApiReply {
  const states = query.optionalList('state', ACTIVE_ALERT_STATES);
  const rule = query.optionalString('rule');
  const selected = alerts
    .alerts()
    .filter(
      (a) => (states === undefined || (states as string[]).includes(a.state)) && (!rule || a.rule === rule),
    )
    .sort(byUrgency);
  return ok({ alerts: selected, count: selected.length });
}

/** Firing before pending, then the longest-standing first. */
function byUrgency(a: AlertSnapshot, b: AlertSnapshot): number {
  if (a.state !== b.state) return a.state === 'firing' ? -1 : 1;
  return a.sinceMs - b.sinceMs || (a.fingerprint < b.fingerprint ? -1 : 1);
}

async function alertHistory({ store }: ApiDependencies, { query, nowMs }: ApiRequest): Promise<ApiReply> {
  const { fromMs, toMs } = query.timeRange(nowMs, ONE_DAY_MS);
  const states = query.optionalList('state', ALERT_STATES);
  const rule = query.optionalString('rule');
  const fingerprint = query.optionalString('fingerprint');
  const labels = query.prefixed('label.');
  const limit = query.integer('limit', 1000, 1, MAX_RESULT_LIMIT);
  const result = await store.queryAlertEvents({
    fromMs,
    toMs,
    limit,
    ...(states === undefined ? {} : { states }),
    ...(rule === undefined ? {} : { rule }),
    ...(fingerprint === undefined ? {} : { fingerprint }),
    ...(labels === undefined ? {} : { labels }),
  });
  return ok({ fromMs, toMs, ...result });
}

async function listSilences(
  { store, alerts }: ApiDependencies,
  { query, nowMs }: ApiRequest,
): Promise<ApiReply> {
  const status = query.optionalChoice('status', SILENCE_STATUSES);
  const limit = query.integer('limit', 1000, 1, MAX_RESULT_LIMIT);
  const stored = await store.listSilences({ nowMs, limit, ...(status === undefined ? {} : { status }) });
  const silences = stored.silences.map((s) => storedSilenceView(s, nowMs));
  const storedIds = new Set(silences.map((s) => s.id));
  // Silences from the config file live only in the engine; the dashboard must see them too.
  for (const s of alerts.silences.list()) {
    if (storedIds.has(s.id)) continue;
    const view: SilenceView = {
      ...s,
      matchers: s.matchers.map((m) => ({ ...m })),
      createdAtMs: null,
      status: statusOf(s, nowMs),
      source: 'config',
    };
    if (status === undefined || view.status === status) silences.push(view);
  }
  silences.sort((a, b) => a.startsAtMs - b.startsAtMs);
  return ok({ silences, truncated: stored.truncated });
}

async function createSilence(
  { store, alerts }: ApiDependencies,
  { body, nowMs, principal }: ApiRequest,
): Promise<ApiReply> {
  const input = await body();
  const parsed = silenceSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.map(String).join('.') || '(body)';
    throw new HttpError(400, 'BAD_BODY', `silence ${key}: ${issue.message}`);
  }
  const spec = parsed.data;
  if (spec.id !== undefined)
    throw new HttpError(400, 'BAD_BODY', 'silence id: assigned by the server, leave it out');
  // Authenticated, the silence records who made it, whatever the body claims.
  if (principal !== null) spec.createdBy = principal.name;
  if (spec.createdBy === '')
    throw new HttpError(400, 'BAD_BODY', 'silence createdBy: expected who creates it');
  const stored = await store.createSilence({
    matchers: spec.matchers.map((m) => ({ name: m.label, op: m.op, value: m.value })),
    startsAtMs: spec.startsAtMs,
    endsAtMs: spec.endsAtMs,
    createdBy: spec.createdBy,
    comment: spec.comment,
    createdAtMs: nowMs,
  });
  try {
    alerts.addSilence({ ...spec, id: stored.id });
  } catch (error) {
    // The engine refused it (its silence limit): the stored copy must not outlive the refusal.
    await store.expireSilence(stored.id, nowMs);
    if (error instanceof SilenceLimitError) throw new HttpError(400, 'LIMIT_EXCEEDED', error.message);
    throw error;
  }
  return ok({ silence: storedSilenceView(stored, nowMs) }, 201);
}

async function expireSilence(
  { store, alerts }: ApiDependencies,
  { captures, nowMs }: ApiRequest,
): Promise<ApiReply> {
  const id = decodeSegment(captures[0]!);
  // The engine keeps an ended silence until its next tick prunes it: only a running one counts as expired now.
  const runningInEngine = alerts.silences.list().some((s) => s.id === id && s.endsAtMs > nowMs);
  const inEngine = runningInEngine && alerts.expireSilence(id);
  const inStore = await store.expireSilence(id, nowMs);
  if (!inEngine && !inStore) throw new HttpError(404, 'NOT_FOUND', `no active or pending silence '${id}'`);
  return ok({ id, expired: true, expiredAtMs: nowMs });
}

function listTopics({ cluster }: ApiDependencies, { query }: ApiRequest): ApiReply {
  const limit = query.integer('limit', 1000, 1, MAX_CLUSTER_LIMIT);
  const topics = requireCluster(cluster).topics();
  return ok({ topics: topics.slice(0, limit), truncated: topics.length > limit });
}

async function listGroups({ cluster }: ApiDependencies, { query }: ApiRequest): Promise<ApiReply> {
  const limit = query.integer('limit', 1000, 1, MAX_CLUSTER_LIMIT);
  const { groups, unreachableBrokers } = await requireCluster(cluster).groups();
  return ok({ groups: groups.slice(0, limit), truncated: groups.length > limit, unreachableBrokers });
}

/** Brokers, controller, every partition's replicas and ISR, and this broker's replication counters. */
async function clusterReplication({ cluster }: ApiDependencies, { query }: ApiRequest): Promise<ApiReply> {
  const limit = query.integer('limit', 1000, 1, MAX_CLUSTER_LIMIT);
  return ok(await requireCluster(cluster).replication(limit));
}

function liveStream({ live }: ApiDependencies, { query, response }: ApiRequest): ApiReply {
  live.attach(response, parseLiveFilter(query));
  return null;
}

function requireCluster(cluster: ClusterView | null): ClusterView {
  if (cluster === null) {
    throw new HttpError(
      404,
      'CLUSTER_UNAVAILABLE',
      'this process runs no broker; topics, groups and the cluster are not available',
    );
  }
  return cluster;
}

function storedSilenceView(silence: StoredSilence, nowMs: number): SilenceView {
  return {
    id: silence.id,
    matchers: silence.matchers.map((m) => ({ label: m.name, op: m.op, value: m.value })),
    startsAtMs: silence.startsAtMs,
    endsAtMs: silence.endsAtMs,
    createdBy: silence.createdBy,
    comment: silence.comment,
    createdAtMs: silence.createdAtMs,
    status: statusOf(silence, nowMs),
    source: 'store',
  };
}

function statusOf(silence: { startsAtMs: number; endsAtMs: number }, nowMs: number): SilenceStatus {
  if (nowMs >= silence.endsAtMs) return 'expired';
  return nowMs < silence.startsAtMs ? 'pending' : 'active';
}

/** A path segment's text; 400 for broken percent-encoding. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(
      400,
      'BAD_PARAMETER',
      `path segment ${JSON.stringify(segment)} is not valid percent-encoding`,
    );
  }
}
