/**
 * Kafka's client quotas (KIP-13, KIP-55, KIP-124, KIP-546): which entities a quota is set on, which keys it
 * has, how a request's (user, client-id) finds the quota that applies, and how DescribeClientQuotas filters
 * entities. Keeping quotas is quota-store.ts; measuring and throttling is the broker's.
 */

export const QUOTA_KEYS = ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage'] as const;
export type QuotaKey = (typeof QUOTA_KEYS)[number];

/** A quota's values, by key; a key that is absent is not set on the entity. */
export type QuotaValues = Partial<Record<QuotaKey, number>>;

/**
 * A quota entity: a user, a client id, or both. A component that is absent is not part of the entity; null
 * is its default (`<default>` in Kafka's tools), which applies to every user or client id without a quota
 * of its own.
 */
export interface QuotaEntity {
  user?: string | null;
  clientId?: string | null;
}

/** The entity types on the wire (Kafka's ClientQuotaEntity.USER and CLIENT_ID). */
export const USER_ENTITY = 'user';
export const CLIENT_ID_ENTITY = 'client-id';

export type QuotaErrorCode = 'INVALID_QUOTA' | 'CORRUPT_QUOTA_FILE' | 'QUOTA_LIMIT';

export class QuotaError extends Error {
  constructor(
    readonly code: QuotaErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'QuotaError';
  }
}

/** Longest user or client id name accepted in an entity (Kafka's strings are at most 32,767 bytes). */
const MAX_ENTITY_NAME_CHARS = 1024;

/** The entity of AlterClientQuotas and DescribeClientQuotas's entries: components by type, checked. */
export function entityOf(
  components: ReadonlyArray<{ entityType: string; entityName: string | null }>,
): QuotaEntity {
  const entity: QuotaEntity = {};
  if (components.length === 0) throw invalid('a quota entity needs a user or a client-id component');
  for (const { entityType, entityName } of components) {
    if (entityName !== null && entityName.length > MAX_ENTITY_NAME_CHARS) {
      throw invalid(`${entityType} name longer than ${MAX_ENTITY_NAME_CHARS} characters`);
    }
    if (entityType === USER_ENTITY) {
      if (entity.user !== undefined) throw invalid('duplicate user component in the quota entity');
      entity.user = entityName;
    } else if (entityType === CLIENT_ID_ENTITY) {
      if (entity.clientId !== undefined) throw invalid('duplicate client-id component in the quota entity');
      entity.clientId = entityName;
    } else if (entityType === 'ip') {
      throw invalid('ip quotas (connection_creation_rate) are not supported');
    } else {
      throw invalid(`unknown quota entity type '${entityType}'; expected 'user' or 'client-id'`);
    }
  }
  return entity;
}

/** The components of an entity as the wire lists them, user first. */
export function componentsOf(entity: QuotaEntity): Array<{ entityType: string; entityName: string | null }> {
  const components: Array<{ entityType: string; entityName: string | null }> = [];
  if (entity.user !== undefined) components.push({ entityType: USER_ENTITY, entityName: entity.user });
  if (entity.clientId !== undefined) {
    components.push({ entityType: CLIENT_ID_ENTITY, entityName: entity.clientId });
  }
  return components;
}

/** One string per entity, for maps: absent, default and named components are all told apart. */
export function entityKey(entity: QuotaEntity): string {
  return JSON.stringify([
    entity.user === undefined ? 0 : entity.user,
    entity.clientId === undefined ? 0 : entity.clientId,
  ]);
}

/** A key AlterClientQuotas may set or remove. */
export function quotaKeyOf(key: string): QuotaKey {
  if (key === 'controller_mutation_rate') {
    throw invalid('controller_mutation_rate is not supported: the broker has no controller mutation quota');
  }
  const known = QUOTA_KEYS.find((k) => k === key);
  if (known === undefined)
    throw invalid(`unknown quota key '${key}'; expected one of ${QUOTA_KEYS.join(', ')}`);
  return known;
}

/**
 * Checks a quota's value. Byte rates are whole bytes per second (Kafka's LONG keys); request_percentage is a
 * share of one request-handling thread in percent. Every value must be positive.
 */
export function checkQuotaValue(key: QuotaKey, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw invalid(`${key} must be a positive number, not ${value}`);
  if (key !== 'request_percentage' && !Number.isSafeInteger(value)) {
    throw invalid(`${key} must be a whole number of bytes per second, not ${value}`);
  }
  return value;
}

/**
 * The entities a (user, client-id) pair's quota is looked up in, most specific first, as Kafka:
 * /config/users/<user>/clients/<client-id>, /config/users/<user>/clients/<default>, /config/users/<user>,
 * /config/users/<default>/clients/<client-id>, /config/users/<default>/clients/<default>,
 * /config/users/<default>, /config/clients/<client-id>, /config/clients/<default>. Each key is resolved on
 * its own: the first entity that sets it wins.
 */
export function precedenceOf(user: string, clientId: string): QuotaEntity[] {
  return [
    { user, clientId },
    { user, clientId: null },
    { user },
    { user: null, clientId },
    { user: null, clientId: null },
    { user: null },
    { clientId },
    { clientId: null },
  ];
}

/**
 * Who shares the measured rate of a quota found at `entity` (Kafka's quota metric tags): a quota on a user
 * (or the default user) is shared by all of that user's client ids; one on a client id by every user of it;
 * one on both by that pair only. A default stands for the name of the client it applied to.
 */
export function sharedBy(
  entity: QuotaEntity,
  user: string,
  clientId: string,
): { user: string | null; clientId: string | null } {
  return {
    user: entity.user === undefined ? null : user,
    clientId: entity.clientId === undefined ? null : clientId,
  };
}

/**
 * A DescribeClientQuotas filter component: match type 0 is the entity named `match` (null: the default), 1 the
 * default, 2 any named entity.
 */
export interface QuotaFilterComponent {
  entityType: string;
  matchType: number;
  match: string | null;
}

export const MatchType = { EXACT: 0, DEFAULT: 1, SPECIFIED: 2 } as const;

/** A checked filter: per entity type, what its component must be; `strict` refuses other components. */
export interface QuotaFilter {
  user?: { matchType: number; match: string | null };
  clientId?: { matchType: number; match: string | null };
  strict: boolean;
}

export function filterOf(components: readonly QuotaFilterComponent[], strict: boolean): QuotaFilter {
  const filter: QuotaFilter = { strict };
  for (const { entityType, matchType, match } of components) {
    if (
      matchType !== MatchType.EXACT &&
      matchType !== MatchType.DEFAULT &&
      matchType !== MatchType.SPECIFIED
    ) {
      throw invalid(`unknown match type ${matchType}`);
    }
    const component = { matchType, match };
    if (entityType === USER_ENTITY) {
      if (filter.user) throw invalid('duplicate user component in the filter');
      filter.user = component;
    } else if (entityType === CLIENT_ID_ENTITY) {
      if (filter.clientId) throw invalid('duplicate client-id component in the filter');
      filter.clientId = component;
    } else {
      throw invalid(`unknown quota entity type '${entityType}' in the filter`);
    }
  }
  return filter;
}

/** Does the entity pass the filter? An entity must have every filtered component; strict: no other. */
export function quotaFilterMatches(filter: QuotaFilter, entity: QuotaEntity): boolean {
  if (filter.strict && (filter.user === undefined) !== (entity.user === undefined)) return false;
  if (filter.strict && (filter.clientId === undefined) !== (entity.clientId === undefined)) return false;
  return componentMatches(filter.user, entity.user) && componentMatches(filter.clientId, entity.clientId);
}

function componentMatches(
  component: { matchType: number; match: string | null } | undefined,
  name: string | null | undefined,
): boolean {
  if (component === undefined) return true;
  if (name === undefined) return false;
  if (component.matchType === MatchType.DEFAULT) return name === null;
  if (component.matchType === MatchType.SPECIFIED) return name !== null;
  return name === component.match;
}

function invalid(message: string): QuotaError {
  return new QuotaError('INVALID_QUOTA', message);
}
