/** Typed access to the HTTP API (docs/http-api.md). Every call rejects with an ApiError on a non-2xx status. */

export type Values = Record<string, number | null>;

export interface AggregatePoint {
  dimensions: Record<string, string>;
  windowStartMs: number;
  windowEndMs: number;
  values: Values;
  final: boolean;
}

export interface AggregatesResponse {
  metric: string;
  windowSizeMs: number;
  points: AggregatePoint[];
  truncated: boolean;
}

export type AlertState = 'pending' | 'firing' | 'resolved';

export interface ActiveAlert {
  fingerprint: string;
  rule: string;
  state: 'pending' | 'firing';
  sinceMs: number;
  activeAtMs: number | null;
  value: number | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  silencedBy: string | null;
}

export interface AlertEvent {
  id: number;
  fingerprint: string;
  rule: string;
  state: AlertState;
  atMs: number;
  value: number | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAtMs: number;
  endsAtMs: number;
  createdBy: string;
  comment: string | null;
  createdAtMs: number | null;
  status: 'pending' | 'active' | 'expired';
  source: 'store' | 'config';
}

export interface NewSilence {
  matchers: Matcher[];
  startsAtMs: number;
  endsAtMs: number;
  createdBy: string;
  comment: string;
}

/** Offsets of this broker's replica; null on a cluster for a partition with no replica on this broker. */
export interface PartitionInfo {
  partition: number;
  logStartOffset: number | null;
  logEndOffset: number | null;
  highWatermark: number | null;
}

export interface TopicInfo {
  name: string;
  partitions: PartitionInfo[];
}

export interface GroupOffset {
  topic: string;
  partition: number;
  /** Null for a partition the pipelines run but have not checkpointed yet. */
  committedOffset: number | null;
  /** How far the process's own pipelines have processed; null for a Kafka consumer. */
  processedOffset: number | null;
  highWatermark: number | null;
  /** From the processed offset where known, else from the committed one. */
  lag: number | null;
}

export interface GroupInfo {
  groupId: string;
  state: string;
  protocolType: string;
  members: Array<{ memberId: string; clientId: string; clientHost: string }>;
  offsets: GroupOffset[];
}

export interface ClusterBroker {
  id: number;
  host: string | null;
  port: number | null;
  rack: string | null;
  alive: boolean;
  controller: boolean;
}

export interface ReplicaPartition {
  topic: string;
  partition: number;
  leader: number | null;
  leaderEpoch: number | null;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  underReplicated: boolean;
  offline: boolean;
}

export interface FollowerLag {
  topic: string;
  partition: number;
  follower: number;
  lagOffsets: number;
}

export interface ReplicationCounters {
  isrShrinks: number;
  isrExpands: number;
  leaderElections: number;
  leaderElectionsByReason: Record<string, number>;
  controllerElections: number;
  fencedRequests: number;
}

/** GET /api/cluster: the replicated cluster seen from the broker serving the dashboard. */
export type ClusterReplication =
  | { clustered: false; message: string }
  | {
      clustered: true;
      clusterId: string;
      nodeId: number;
      controller: { id: number; epoch: number | null };
      coordinationConnected: boolean;
      brokers: ClusterBroker[];
      partitions: ReplicaPartition[];
      partitionCount: number;
      truncated: boolean;
      underReplicatedPartitions: number;
      offlinePartitions: number;
      leaderPartitions: number;
      counters: ReplicationCounters;
      followerLags: FollowerLag[];
    };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Role = 'viewer' | 'operator' | 'admin';

/** GET /api/me: who is logged in; with authentication off, nobody and every right. */
export interface Me {
  authEnabled: boolean;
  user: string | null;
  role: Role;
  csrfToken: string | null;
}

/** The session's CSRF token, sent on every state-changing request; null with no session. */
let csrfToken: string | null = null;
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const method = init?.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (csrfToken !== null && STATE_CHANGING.has(method)) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, { ...init, headers: { ...headers, ...init?.headers } });
  const body: unknown = await response.json().catch(() => null);
  if (response.status === 401 && csrfToken !== null) {
    // The session ended (idle, too old, or the server restarted): start again from the login page.
    csrfToken = null;
    location.reload();
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(
      response.status,
      error?.code ?? 'HTTP_ERROR',
      error?.message ?? `${path}: HTTP ${response.status}`,
    );
  }
  return body as T;
}

/** Who is logged in; null when nobody is (the server answers 401). */
export async function me(): Promise<Me | null> {
  try {
    const identity = await request<Me>('/api/me');
    csrfToken = identity.csrfToken;
    return identity;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export async function login(user: string, password: string): Promise<Me> {
  const identity = await request<Me>('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  csrfToken = identity.csrfToken;
  return identity;
}

export async function logout(): Promise<void> {
  await request('/api/logout', { method: 'POST' });
  csrfToken = null;
}

export function aggregates(query: {
  metric: string;
  windowSize: string;
  fromMs: number;
  dimensions: Record<string, string>;
  limit: number;
}): Promise<AggregatesResponse> {
  const params = new URLSearchParams({
    metric: query.metric,
    windowSize: query.windowSize,
    from: String(query.fromMs),
    limit: String(query.limit),
  });
  for (const [name, value] of Object.entries(query.dimensions)) params.append(`dim.${name}`, value);
  return request(`/api/aggregates?${params}`);
}

export function latestAggregates(metric: string, windowSize: string, orderBy: string, limit: number) {
  const params = new URLSearchParams({ metric, windowSize, orderBy, limit: String(limit) });
  return request<{ points: AggregatePoint[]; truncated: boolean }>(`/api/aggregates/latest?${params}`);
}

export function activeAlerts(): Promise<{ alerts: ActiveAlert[] }> {
  return request('/api/alerts');
}

export function alertHistory(query: {
  fromMs: number;
  state: AlertState;
  limit: number;
}): Promise<{ events: AlertEvent[]; truncated: boolean }> {
  const params = new URLSearchParams({
    from: String(query.fromMs),
    state: query.state,
    limit: String(query.limit),
  });
  return request(`/api/alerts/history?${params}`);
}

export function silences(): Promise<{ silences: Silence[]; truncated: boolean }> {
  return request('/api/silences?limit=1000');
}

export function createSilence(silence: NewSilence): Promise<{ silence: Silence }> {
  return request('/api/silences', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(silence),
  });
}

export function expireSilence(id: string): Promise<{ id: string; expired: boolean }> {
  return request(`/api/silences/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export function topics(): Promise<{ topics: TopicInfo[]; truncated: boolean }> {
  return request('/api/topics');
}

/** On a cluster, `unreachableBrokers` are live brokers that did not list their groups in time. */
export function groups(): Promise<{
  groups: GroupInfo[];
  truncated: boolean;
  unreachableBrokers?: number[];
}> {
  return request('/api/groups');
}

export function cluster(): Promise<ClusterReplication> {
  return request('/api/cluster');
}
