import {
  type AclBinding,
  type AclBindingFilter,
  type AclError,
  AclOperation,
  AclPermissionType,
  aclHostOf,
  type BindingOperation,
  type BindingPermission,
  type BindingResourceType,
  filterMatches,
  PatternType,
  type RequestedOperation,
  ResourceType,
  WILDCARD_HOST,
  WILDCARD_PRINCIPAL,
  WILDCARD_RESOURCE,
} from './acl.js';
import type { AclStore } from './acl-store.js';

/** Who asks: the authenticated principal ("User:alice", "User:ANONYMOUS") and aclHostOf(the client's IP). */
export interface Session {
  principal: string;
  host: string;
}

/**
 * Decisions and ACL administration, as Kafka's Authorizer interface. Handlers depend on this, not on the
 * implementation, so another authorizer can take its place.
 */
export interface Authorizer {
  /** May `session` do `operation` on the named resource? Runs on every request: no I/O, no allocation per ACL. */
  authorize(
    session: Session,
    operation: RequestedOperation,
    resourceType: BindingResourceType,
    resourceName: string,
  ): boolean;
  /** May `session` do `operation` on at least one resource of the type (Kafka's authorizeByResourceType)? */
  authorizeByResourceType(
    session: Session,
    operation: RequestedOperation,
    resourceType: BindingResourceType,
  ): boolean;
  /** The bindings `filter` selects (DescribeAcls). */
  acls(filter: AclBindingFilter): AclBinding[];
  /** Creates each binding (an existing one is left as it is): per binding, null or why it was refused. */
  createAcls(bindings: readonly AclBinding[]): Promise<(AclError | null)[]>;
  /** Deletes what each filter selects: per filter, the bindings it selected (now gone). */
  deleteAcls(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]>;
}

export interface AuthorizerOptions {
  /** Principals allowed everything whatever the ACLs say (Kafka's super.users). */
  superUsers: readonly string[];
  /** Kafka's allow.everyone.if.no.acl.found: what to decide for a resource no ACL names. Kafka's default: false. */
  allowEveryoneIfNoAclFound: boolean;
  /**
   * Principals allowed CLUSTER_ACTION on the cluster whatever the ACLs say (and nothing else): the other
   * brokers of a cluster. None by default.
   */
  clusterActionPrincipals?: readonly string[];
}

/** The access control entry of a binding, all a decision needs once the resource has been matched. */
interface Entry {
  principal: string;
  host: string;
  operation: BindingOperation;
  permission: BindingPermission;
}

/** The ACLs of one resource type, indexed so a decision looks up only those that name the resource. */
class TypeIndex {
  /** Literal names, the "*" wildcard included. */
  readonly literal = new Map<string, Entry[]>();
  readonly prefixed = new Map<string, Entry[]>();
  /** The distinct lengths of the prefixes, ascending: a name is looked up once per length, not per ACL. */
  prefixLengths: number[] = [];
}

/**
 * What DESCRIBE and DESCRIBE_CONFIGS are implied by, as Kafka: an ALLOW of READ, WRITE, DELETE or ALTER
 * allows DESCRIBE, and ALTER_CONFIGS allows DESCRIBE_CONFIGS. DENY implies nothing: a DENY of READ does not
 * deny DESCRIBE.
 */
const IMPLIED_BY: ReadonlyMap<RequestedOperation, readonly BindingOperation[]> = new Map([
  [
    AclOperation.DESCRIBE,
    [AclOperation.DESCRIBE, AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER],
  ],
  [AclOperation.DESCRIBE_CONFIGS, [AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS]],
]);

/** What the entries of one resource pattern say of a request. */
type Match = 'none' | 'allow' | 'deny';

/**
 * Kafka's ACL authorizer (AclAuthorizer / StandardAuthorizer): super users are allowed everything; otherwise
 * the ACLs that apply to a resource are its literal ones, the "*" literal of its type and every prefixed one
 * whose prefix starts its name. If none apply, allowEveryoneIfNoAclFound decides. Among those whose principal
 * (or "User:*") and host (or "*") match, a DENY of the operation (or ALL) denies whatever allows it; else an
 * ALLOW of the operation, of ALL, or of an operation implying it, allows. Anything else is denied.
 *
 * The index is rebuilt from the store after each change, this broker's or (in a cluster) another's: changes
 * are rare admin requests; decisions are every request. Decisions are not cached: one costs a few map lookups, about what building a cache key would.
 */
export class AclAuthorizer implements Authorizer {
  private index = new Map<BindingResourceType, TypeIndex>();
  private readonly superUsers: ReadonlySet<string>;
  private readonly clusterActionPrincipals: ReadonlySet<string>;

  constructor(
    private readonly store: AclStore,
    private readonly options: AuthorizerOptions,
  ) {
    this.superUsers = new Set(options.superUsers);
    this.clusterActionPrincipals = new Set(options.clusterActionPrincipals ?? []);
    store.follow(() => this.rebuild());
  }

  authorize(
    session: Session,
    operation: RequestedOperation,
    resourceType: BindingResourceType,
    resourceName: string,
  ): boolean {
    if (this.superUsers.has(session.principal)) return true;
    if (
      operation === AclOperation.CLUSTER_ACTION &&
      resourceType === ResourceType.CLUSTER &&
      this.clusterActionPrincipals.has(session.principal)
    ) {
      return true;
    }
    if (this.aclsAllow(session, operation, resourceType, resourceName)) return true;
    // Kafka (KIP-679) lets an idempotent producer in with WRITE on any topic instead of IDEMPOTENT_WRITE.
    return (
      resourceType === ResourceType.CLUSTER &&
      operation === AclOperation.IDEMPOTENT_WRITE &&
      this.authorizeByResourceType(session, AclOperation.WRITE, ResourceType.TOPIC)
    );
  }

  /**
   * As Kafka's default authorizeByResourceType: first the decision for a made-up name of the type (which
   * lets super users, the "*" wildcard and allowEveryoneIfNoAclFound decide), then: a DENY of the "*"
   * wildcard denies; an ALLOW of "*" allows; otherwise any ALLOW (literal or prefixed) allows unless a DENY
   * of the same literal, or of a prefix of its name, covers it.
   */
  authorizeByResourceType(
    session: Session,
    operation: RequestedOperation,
    resourceType: BindingResourceType,
  ): boolean {
    if (this.authorize(session, operation, resourceType, 'hardcode')) return true;
    const acls = this.index.get(resourceType);
    if (acls === undefined) return false;
    const deniedLiterals = new Set<string>();
    const deniedPrefixes = new Set<string>();
    const allowed: { name: string; literal: boolean }[] = [];
    const collect = (name: string, entries: Entry[], literal: boolean): boolean => {
      for (const entry of entries) {
        if (!entryApplies(entry, session) || !operationMatches(entry.operation, operation)) continue;
        if (entry.permission === AclPermissionType.ALLOW) allowed.push({ name, literal });
        else if (!literal) deniedPrefixes.add(name);
        else if (name === WILDCARD_RESOURCE) return false;
        else deniedLiterals.add(name);
      }
      return true;
    };
    for (const [name, entries] of acls.literal) if (!collect(name, entries, true)) return false;
    for (const [name, entries] of acls.prefixed) collect(name, entries, false);
    if (allowed.some(({ name, literal }) => literal && name === WILDCARD_RESOURCE)) return true;
    return allowed.some(({ name, literal }) => {
      if (literal && deniedLiterals.has(name)) return false;
      for (let length = 1; length <= name.length; length++)
        if (deniedPrefixes.has(name.slice(0, length))) return false;
      return true;
    });
  }

  acls(filter: AclBindingFilter): AclBinding[] {
    return this.store.list().filter((binding) => filterMatches(filter, binding));
  }

  createAcls(bindings: readonly AclBinding[]): Promise<(AclError | null)[]> {
    return this.store.create(bindings);
  }

  deleteAcls(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]> {
    return this.store.delete(filters);
  }

  private aclsAllow(
    session: Session,
    operation: RequestedOperation,
    resourceType: BindingResourceType,
    resourceName: string,
  ): boolean {
    const acls = this.index.get(resourceType);
    if (acls === undefined) return this.options.allowEveryoneIfNoAclFound;
    // Literal, then wildcard, then prefixes: no list is built, and the first DENY ends the search.
    let verdict = fold('absent', acls.literal.get(resourceName), session, operation);
    verdict = fold(verdict, acls.literal.get(WILDCARD_RESOURCE), session, operation);
    for (const length of acls.prefixLengths) {
      if (length > resourceName.length || verdict === 'denied') break;
      verdict = fold(verdict, acls.prefixed.get(resourceName.slice(0, length)), session, operation);
    }
    return verdict === 'absent' ? this.options.allowEveryoneIfNoAclFound : verdict === 'allowed';
  }

  private rebuild(): void {
    const index = new Map<BindingResourceType, TypeIndex>();
    for (const binding of this.store.list()) {
      let acls = index.get(binding.resourceType);
      if (acls === undefined) {
        acls = new TypeIndex();
        index.set(binding.resourceType, acls);
      }
      const byName = binding.patternType === PatternType.LITERAL ? acls.literal : acls.prefixed;
      const entries = byName.get(binding.resourceName) ?? [];
      entries.push({
        principal: binding.principal,
        host: aclHostOf(binding.host),
        operation: binding.operation,
        permission: binding.permissionType,
      });
      byName.set(binding.resourceName, entries);
    }
    for (const acls of index.values()) {
      acls.prefixLengths = [...new Set([...acls.prefixed.keys()].map((prefix) => prefix.length))].sort(
        (a, b) => a - b,
      );
    }
    this.index = index;
  }
}

function entryApplies(entry: Entry, session: Session): boolean {
  return (
    (entry.principal === session.principal || entry.principal === WILDCARD_PRINCIPAL) &&
    (entry.host === session.host || entry.host === WILDCARD_HOST)
  );
}

function operationMatches(granted: BindingOperation, requested: RequestedOperation): boolean {
  return granted === requested || granted === AclOperation.ALL;
}

/**
 * The decision so far for a resource: no ACL applies to it yet, some apply but none decides, one ALLOW
 * decides, or one DENY decides (final).
 */
type Verdict = 'absent' | 'undecided' | 'allowed' | 'denied';

/** The verdict once the entries of one more resource pattern (undefined if there is none) are counted. */
function fold(
  verdict: Verdict,
  entries: Entry[] | undefined,
  session: Session,
  operation: RequestedOperation,
): Verdict {
  if (entries === undefined || verdict === 'denied') return verdict;
  const match = matchEntries(entries, session, operation);
  if (match === 'deny') return 'denied';
  return match === 'allow' || verdict === 'allowed' ? 'allowed' : 'undecided';
}

/** DENY if an entry denies the operation, else ALLOW if one allows it, else NONE. */
function matchEntries(entries: Entry[], session: Session, operation: RequestedOperation): Match {
  const implying = IMPLIED_BY.get(operation);
  let match: Match = 'none';
  for (const entry of entries) {
    if (!entryApplies(entry, session)) continue;
    if (entry.permission === AclPermissionType.DENY) {
      if (operationMatches(entry.operation, operation)) return 'deny';
    } else if (operationMatches(entry.operation, operation) || implying?.includes(entry.operation) === true) {
      match = 'allow';
    }
  }
  return match;
}
