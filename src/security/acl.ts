import net from 'node:net';

/**
 * Kafka's ACL model: the codes Kafka gives each enum on the wire, ACL bindings and binding filters, their
 * validation, and how a filter matches a binding (Kafka's AclBindingFilter). Deciding a request is
 * authorizer.ts; keeping bindings is acl-store.ts.
 */

/** Kafka's ResourceType codes. ANY exists only in filters. USER is carried from DescribeAcls v3 on. */
export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;

/** Kafka's PatternType codes (KIP-290). ANY and MATCH exist only in filters. */
export const PatternType = {
  UNKNOWN: 0,
  ANY: 1,
  MATCH: 2,
  LITERAL: 3,
  PREFIXED: 4,
} as const;

/** Kafka's AclOperation codes. ANY exists only in filters. */
export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const;

/** Kafka's AclPermissionType codes. ANY exists only in filters. */
export const AclPermissionType = {
  UNKNOWN: 0,
  ANY: 1,
  DENY: 2,
  ALLOW: 3,
} as const;

type ValueOf<T> = T[keyof T];
export type ResourceTypeCode = ValueOf<typeof ResourceType>;
export type PatternTypeCode = ValueOf<typeof PatternType>;
export type AclOperationCode = ValueOf<typeof AclOperation>;
export type AclPermissionCode = ValueOf<typeof AclPermissionType>;

/** What a binding (not a filter) may hold. */
export type BindingResourceType = Exclude<ResourceTypeCode, 0 | 1>;
export type BindingPatternType = typeof PatternType.LITERAL | typeof PatternType.PREFIXED;
export type BindingOperation = Exclude<AclOperationCode, 0 | 1>;
export type BindingPermission = typeof AclPermissionType.DENY | typeof AclPermissionType.ALLOW;
/** An operation a request asks for: every one but ALL, which exists only in ACLs. */
export type RequestedOperation = Exclude<BindingOperation, typeof AclOperation.ALL>;

/** A literal resource name that matches every resource of its type. */
export const WILDCARD_RESOURCE = '*';
/** The principal that matches every user. */
export const WILDCARD_PRINCIPAL = 'User:*';
export const WILDCARD_HOST = '*';
/** The one name the CLUSTER resource has. */
export const CLUSTER_RESOURCE_NAME = 'kafka-cluster';

/** One ACL: a resource pattern and an access control entry, as Kafka's AclBinding. */
export interface AclBinding {
  resourceType: BindingResourceType;
  resourceName: string;
  patternType: BindingPatternType;
  /** "Type:name", e.g. "User:alice", or "User:*". */
  principal: string;
  /** "*" or an IP address, compared as text. */
  host: string;
  operation: BindingOperation;
  permissionType: BindingPermission;
}

/** Selects bindings, as Kafka's AclBindingFilter: null strings and ANY codes match everything. */
export interface AclBindingFilter {
  resourceType: Exclude<ResourceTypeCode, 0>;
  resourceName: string | null;
  patternType: Exclude<PatternTypeCode, 0>;
  principal: string | null;
  host: string | null;
  operation: Exclude<AclOperationCode, 0>;
  permissionType: Exclude<AclPermissionCode, 0>;
}

/** A binding or filter as the wire or a file carries it: codes not yet checked. */
export interface RawAclBinding {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

export type RawAclBindingFilter = {
  [K in keyof RawAclBinding]: RawAclBinding[K] extends string ? string | null : number;
};

export type AclErrorCode = 'INVALID_ACL' | 'ACL_LIMIT' | 'CORRUPT_ACL_FILE';

export class AclError extends Error {
  constructor(
    readonly code: AclErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'AclError';
  }
}

/** The name Kafka gives a code ("TOPIC", "READ"), or the number when the code is unknown. */
export function codeName(codes: Record<string, number>, code: number): string {
  return Object.keys(codes).find((key) => codes[key] === code) ?? String(code);
}

function isCode<T extends number>(valid: readonly T[], code: number): code is T {
  return (valid as readonly number[]).includes(code);
}

const BINDING_RESOURCE_TYPES: readonly BindingResourceType[] = [2, 3, 4, 5, 6, 7];
const BINDING_PATTERN_TYPES: readonly BindingPatternType[] = [PatternType.LITERAL, PatternType.PREFIXED];
const BINDING_OPERATIONS: readonly BindingOperation[] = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
const BINDING_PERMISSIONS: readonly BindingPermission[] = [AclPermissionType.DENY, AclPermissionType.ALLOW];
const FILTER_RESOURCE_TYPES: readonly AclBindingFilter['resourceType'][] = [1, ...BINDING_RESOURCE_TYPES];
const FILTER_PATTERN_TYPES: readonly AclBindingFilter['patternType'][] = [1, 2, ...BINDING_PATTERN_TYPES];
const FILTER_OPERATIONS: readonly AclBindingFilter['operation'][] = [1, ...BINDING_OPERATIONS];
const FILTER_PERMISSIONS: readonly AclBindingFilter['permissionType'][] = [1, ...BINDING_PERMISSIONS];

/**
 * Checks one binding as Kafka does before creating it: concrete codes only (no UNKNOWN, ANY or MATCH), a
 * non-empty resource name, "kafka-cluster" for CLUSTER, a "Type:name" principal, and a host that is "*" or
 * an IP address (Kafka compares hosts as text without checking them; one that is neither could never match).
 */
export function validateBinding(raw: RawAclBinding): AclBinding {
  const invalid = (why: string) => new AclError('INVALID_ACL', `${why} in ${describeRaw(raw)}`);
  const { resourceType, resourceName, patternType, principal, host, operation, permissionType } = raw;
  if (!isCode(BINDING_RESOURCE_TYPES, resourceType)) throw invalid('invalid resource type');
  if (!isCode(BINDING_PATTERN_TYPES, patternType)) throw invalid('pattern type must be LITERAL or PREFIXED');
  if (!isCode(BINDING_OPERATIONS, operation)) throw invalid('invalid operation');
  if (!isCode(BINDING_PERMISSIONS, permissionType)) throw invalid('permission must be DENY or ALLOW');
  if (resourceName === '') throw invalid('empty resource name');
  if (resourceType === ResourceType.CLUSTER && resourceName !== CLUSTER_RESOURCE_NAME)
    throw invalid(`the only CLUSTER resource name is '${CLUSTER_RESOURCE_NAME}'`);
  if (principal.indexOf(':') <= 0) throw invalid("principal must be 'Type:name'");
  if (host !== WILDCARD_HOST && net.isIP(host) === 0) throw invalid("host must be '*' or an IP address");
  return { resourceType, resourceName, patternType, principal, host, operation, permissionType };
}

/** Checks a filter: any code but UNKNOWN (Kafka refuses filters with unknown elements). */
export function validateFilter(raw: RawAclBindingFilter): AclBindingFilter {
  const invalid = (why: string) => new AclError('INVALID_ACL', `${why} in filter ${describeRaw(raw)}`);
  const { resourceType, resourceName, patternType, principal, host, operation, permissionType } = raw;
  if (!isCode(FILTER_RESOURCE_TYPES, resourceType)) throw invalid('invalid resource type');
  if (!isCode(FILTER_PATTERN_TYPES, patternType)) throw invalid('invalid pattern type');
  if (!isCode(FILTER_OPERATIONS, operation)) throw invalid('invalid operation');
  if (!isCode(FILTER_PERMISSIONS, permissionType)) throw invalid('invalid permission');
  return { resourceType, resourceName, patternType, principal, host, operation, permissionType };
}

/**
 * Whether `filter` selects `binding`, as Kafka's AclBindingFilter.matches. Strings in the entry part match
 * exactly ("User:*" in a filter selects only bindings for "User:*"). On the resource side, pattern type ANY
 * or the binding's own type compares names exactly; MATCH selects every binding that would apply to the
 * named resource: same literal name, the "*" literal, or a prefix of it.
 */
export function filterMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  return resourceFilterMatches(filter, binding) && entryFilterMatches(filter, binding);
}

function resourceFilterMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== binding.resourceType) return false;
  const exactOrAny = filter.patternType === PatternType.ANY || filter.patternType === binding.patternType;
  if (!exactOrAny && filter.patternType !== PatternType.MATCH) return false;
  if (filter.resourceName === null) return true;
  if (exactOrAny) return filter.resourceName === binding.resourceName;
  return binding.patternType === PatternType.LITERAL
    ? binding.resourceName === filter.resourceName || binding.resourceName === WILDCARD_RESOURCE
    : filter.resourceName.startsWith(binding.resourceName);
}

function entryFilterMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  return (
    (filter.principal === null || filter.principal === binding.principal) &&
    (filter.host === null || filter.host === binding.host) &&
    (filter.operation === AclOperation.ANY || filter.operation === binding.operation) &&
    (filter.permissionType === AclPermissionType.ANY || filter.permissionType === binding.permissionType)
  );
}

/** One string per distinct binding: two bindings are the same ACL when every field is equal. */
export function bindingKey(binding: AclBinding): string {
  return JSON.stringify([
    binding.resourceType,
    binding.resourceName,
    binding.patternType,
    binding.principal,
    binding.host,
    binding.operation,
    binding.permissionType,
  ]);
}

function describeRaw(raw: RawAclBinding | RawAclBindingFilter): string {
  return (
    `(${codeName(ResourceType, raw.resourceType)} ${JSON.stringify(raw.resourceName)} ` +
    `${codeName(PatternType, raw.patternType)}, ${JSON.stringify(raw.principal)} from ` +
    `${JSON.stringify(raw.host)} ${codeName(AclPermissionType, raw.permissionType)} ` +
    `${codeName(AclOperation, raw.operation)})`
  );
}

/**
 * A client address (or an ACL's host) as Kafka prints a client's IP, which is what Kafka compares ACL hosts
 * with (Java's getHostAddress): a dual-stack socket's "::ffff:10.0.0.1" is "10.0.0.1", and an IPv6 address
 * has all eight groups without leading zeros ("::1" is "0:0:0:0:0:0:0:1"). The authorizer applies it to ACL
 * hosts too, so an ACL written either way matches the same clients.
 */
export function aclHostOf(address: string): string {
  if (address.startsWith('::ffff:') && net.isIPv4(address.slice(7))) return address.slice(7);
  const [ip = '', scope] = address.split('%');
  if (!net.isIPv6(ip)) return address;
  const [head = '', tail] = ip.toLowerCase().split('::');
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':').flatMap(hexGroups));
  const start = groupsOf(head);
  const end = tail === undefined ? [] : groupsOf(tail);
  const zeros = new Array<string>(8 - start.length - end.length).fill('0');
  const full = [...start, ...zeros, ...end].join(':');
  return scope === undefined ? full : `${full}%${scope}`;
}

/** One group of an IPv6 address without leading zeros; an embedded IPv4 tail ("1.2.3.4") is two. */
function hexGroups(group: string): string[] {
  if (!group.includes('.')) return [Number.parseInt(group, 16).toString(16)];
  const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
