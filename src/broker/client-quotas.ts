import {
  type EntityQuota,
  entityKey,
  precedenceOf,
  type QuotaKey,
  type QuotaValues,
  sharedBy,
} from '../security/index.js';
import { WindowedRate } from './quota-rate.js';

/** What is measured: produced bytes, fetched bytes, or request-handling time. */
export type QuotaKind = 'produce' | 'fetch' | 'request';

const KEY_OF: Record<QuotaKind, QuotaKey> = {
  produce: 'producer_byte_rate',
  fetch: 'consumer_byte_rate',
  request: 'request_percentage',
};

/** Where throttling is counted (BrokerMetrics). */
export interface ThrottleObserver {
  throttled(kind: QuotaKind, throttleMs: number): void;
}

/** The quota that applies to one (user, client-id) for one kind, and who shares its measurement. */
interface Applied {
  quota: number;
  rateKey: string;
}

/**
 * Measurements kept at most: one per entity sharing a quota (a user, a client id, or a pair). Past it, those
 * idle for a whole window are dropped, then the oldest.
 */
const MAX_MEASURED = 100_000;
/** (user, client-id) pairs whose quotas are remembered; the memory is cleared when it is full. */
const MAX_RESOLVED = 100_000;

/**
 * Enforces client quotas as Kafka's ClientQuotaManager: each request's bytes (or handling time) are recorded
 * against the entity its quota was found at (precedenceOf), and a rate over the window above the
 * quota gives the time the client must wait. A kind no quota sets is one property read per request.
 */
export class ClientQuotas {
  private values = new Map<string, QuotaValues>();
  private readonly enforced: Record<QuotaKind, boolean> = { produce: false, fetch: false, request: false };
  private readonly resolved = new Map<string, Partial<Record<QuotaKind, Applied | null>>>();
  private readonly rates = new Map<string, WindowedRate>();

  constructor(
    private readonly observer: ThrottleObserver,
    private readonly clockMs: () => number = Date.now,
  ) {}

  /** Applies a new set of quotas at once; measurements go on under the new quotas. */
  update(quotas: readonly EntityQuota[]): void {
    this.values = new Map(quotas.map((q) => [entityKey(q.entity), q.values]));
    for (const kind of Object.keys(KEY_OF) as QuotaKind[]) {
      this.enforced[kind] = quotas.some((q) => q.values[KEY_OF[kind]] !== undefined);
    }
    this.resolved.clear();
  }

  /** Does any quota of this kind exist? False: nothing needs to be recorded. */
  enforces(kind: QuotaKind): boolean {
    return this.enforced[kind];
  }

  /**
   * Records `amount` (bytes, or percent of a thread-second) for the client and returns how long it must be
   * throttled, 0 when it is within its quota or has none. Counted when throttled.
   */
  record(kind: QuotaKind, principal: string, clientId: string | null, amount: number): number {
    const applied = this.appliedTo(kind, principal, clientId);
    if (applied === null) return 0;
    const now = this.clockMs();
    const rate = this.rateOf(applied.rateKey, now);
    rate.record(amount, now);
    const throttleMs = rate.throttleMs(applied.quota, now);
    if (throttleMs > 0) this.observer.throttled(kind, throttleMs);
    return throttleMs;
  }

  /** Takes back what `record` recorded, as Kafka does for a fetch answered empty because it was throttled. */
  unrecord(kind: QuotaKind, principal: string, clientId: string | null, amount: number): void {
    const applied = this.appliedTo(kind, principal, clientId);
    if (applied !== null) this.rates.get(applied.rateKey)?.unrecord(amount);
  }

  /** The quota of `kind` that applies to the client, or null. */
  quotaOf(kind: QuotaKind, principal: string, clientId: string | null): number | null {
    return this.appliedTo(kind, principal, clientId)?.quota ?? null;
  }

  private appliedTo(kind: QuotaKind, principal: string, clientId: string | null): Applied | null {
    const user = userOf(principal);
    const client = clientId ?? '';
    const pairKey = `${user}\u0000${client}`;
    let byKind = this.resolved.get(pairKey);
    if (byKind === undefined) {
      if (this.resolved.size >= MAX_RESOLVED) this.resolved.clear();
      byKind = {};
      this.resolved.set(pairKey, byKind);
    }
    let applied = byKind[kind];
    if (applied === undefined) {
      applied = this.resolve(kind, user, client);
      byKind[kind] = applied;
    }
    return applied;
  }

  private resolve(kind: QuotaKind, user: string, clientId: string): Applied | null {
    const key = KEY_OF[kind];
    for (const entity of precedenceOf(user, clientId)) {
      const quota = this.values.get(entityKey(entity))?.[key];
      if (quota === undefined) continue;
      const shared = sharedBy(entity, user, clientId);
      return { quota, rateKey: JSON.stringify([kind, shared.user, shared.clientId]) };
    }
    return null;
  }

  private rateOf(rateKey: string, now: number): WindowedRate {
    let rate = this.rates.get(rateKey);
    if (rate === undefined) {
      if (this.rates.size >= MAX_MEASURED) this.forgetIdle(now);
      rate = new WindowedRate(now);
      this.rates.set(rateKey, rate);
    }
    return rate;
  }

  private forgetIdle(now: number): void {
    for (const [key, rate] of this.rates) if (rate.idle(now)) this.rates.delete(key);
    if (this.rates.size >= MAX_MEASURED) this.rates.delete(this.rates.keys().next().value!);
  }
}

/** The user name quotas go by: the principal's name without its type (`User:alice` is `alice`). */
export function userOf(principal: string): string {
  const colon = principal.indexOf(':');
  return colon < 0 ? principal : principal.slice(colon + 1);
}

/**
 * The first version of each API whose clients wait out throttle_time_ms by themselves (Kafka's
 * AbstractResponse.shouldClientThrottle, KIP-219), by API key. An older client, or an API not listed, gets its
 * response only once the throttle is over, as Kafka delays it: it would not back off on its own.
 */
const CLIENT_THROTTLES_FROM: ReadonlyMap<number, number> = new Map([
  [0, 6], // Produce
  [1, 8], // Fetch
  [2, 3], // ListOffsets
  [3, 6], // Metadata
  [8, 4], // OffsetCommit
  [9, 4], // OffsetFetch
  [10, 2], // FindCoordinator
  [11, 3], // JoinGroup
  [12, 2], // Heartbeat
  [13, 2], // LeaveGroup
  [14, 2], // SyncGroup
  [15, 2], // DescribeGroups
  [16, 2], // ListGroups
  [18, 2], // ApiVersions
  [19, 3], // CreateTopics
  [20, 2], // DeleteTopics
  [22, 1], // InitProducerId
  [23, 2], // OffsetForLeaderEpoch
  [29, 1], // DescribeAcls
  [30, 1], // CreateAcls
  [31, 1], // DeleteAcls
  [32, 2], // DescribeConfigs
  [48, 1], // DescribeClientQuotas
  [49, 1], // AlterClientQuotas
]);

/** Does a client of this API version back off on a throttle by itself (else its response is delayed)? */
export function clientBacksOff(apiKey: number, apiVersion: number): boolean {
  const from = CLIENT_THROTTLES_FROM.get(apiKey);
  return from !== undefined && apiVersion >= from;
}
