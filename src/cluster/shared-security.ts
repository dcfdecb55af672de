import type { Logger } from 'pino';
import type { Coordinator } from '../coordination/index.js';
import {
  type AclBinding,
  AclError,
  aclDocument,
  type EntityQuota,
  parseAclDocument,
  parseQuotaDocument,
  QuotaError,
  quotaDocument,
} from '../security/index.js';
import { SharedList } from './shared-list.js';
import { Paths } from './zk-layout.js';

/**
 * The ACLs of every broker of the cluster, one node in the format of `acls.json` (compact): about 130 bytes
 * per binding with short names, so some 7,000 fit the node's bound; a creation past it is ACL_LIMIT
 * (POLICY_VIOLATION on the wire) whatever maxAcls says.
 */
export function sharedAclStorage(coordinator: Coordinator, logger: Logger): SharedList<AclBinding> {
  return new SharedList(coordinator, {
    path: Paths.acls,
    format: (bindings) => JSON.stringify(aclDocument(bindings)),
    parse: parseAclDocument,
    tooLarge: (bytes) =>
      new AclError(
        'ACL_LIMIT',
        `the cluster's ACLs would take ${bytes} bytes, more than ZooKeeper keeps in a node`,
      ),
    logger,
  });
}

/** The client quotas of every broker of the cluster, one node in the format of `quotas.json` (compact). */
export function sharedQuotaStorage(coordinator: Coordinator, logger: Logger): SharedList<EntityQuota> {
  return new SharedList(coordinator, {
    path: Paths.clientQuotas,
    format: (quotas) => JSON.stringify(quotaDocument(quotas)),
    parse: parseQuotaDocument,
    tooLarge: (bytes) =>
      new QuotaError(
        'QUOTA_LIMIT',
        `the cluster's quotas would take ${bytes} bytes, more than ZooKeeper keeps in a node`,
      ),
    logger,
  });
}
