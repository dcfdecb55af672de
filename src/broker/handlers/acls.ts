import { CreateAcls, type CreateAclsResponse } from '../../protocol/apis/create-acls.js';
import { DeleteAcls, type DeleteAclsResponse } from '../../protocol/apis/delete-acls.js';
import {
  DescribeAcls,
  type DescribeAclsRequest,
  type DescribeAclsResponse,
} from '../../protocol/apis/describe-acls.js';
import {
  type AclBinding,
  type AclBindingFilter,
  AclOperation,
  type Authorizer,
  type RawAclBindingFilter,
  validateBinding,
  validateFilter,
} from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler, type RequestContext } from '../api-handler.js';
import { ErrorCode, errorCodeOf, errorMessageOf } from '../error-codes.js';

type DescribedResource = DescribeAclsResponse['resources'][number];
type FilterResult = DeleteAclsResponse['filterResults'][number];

interface Failure {
  errorCode: number;
  errorMessage: string;
}

/**
 * DescribeAcls, CreateAcls and DeleteAcls, as Kafka answers them: DESCRIBE on the cluster to list ACLs,
 * ALTER to change them; each creation and each filter is checked on its own, so one invalid entry fails
 * alone (INVALID_REQUEST) and the others go ahead. Without an authorizer (Access.OPEN) the three APIs
 * answer SECURITY_DISABLED, as Kafka's do.
 */
export function aclHandlers(access: Access): ApiHandler[] {
  return [describeAclsHandler(access), createAclsHandler(access), deleteAclsHandler(access)];
}

function describeAclsHandler(access: Access): ApiHandler {
  return defineHandler(DescribeAcls, (request, context) => {
    const admitted = admit(access, context, DescribeAcls.name, AclOperation.DESCRIBE);
    if ('errorCode' in admitted) return { throttleTimeMs: 0, ...admitted, resources: [] };
    try {
      const filter = validateFilter(rawFilterOf(request));
      const resources = describedResources(admitted.authorizer.acls(filter));
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources };
    } catch (error) {
      return { throttleTimeMs: 0, ...failure(error), resources: [] };
    }
  });
}

function createAclsHandler(access: Access): ApiHandler {
  return defineHandler(CreateAcls, async (request, context) => {
    const admitted = admit(access, context, CreateAcls.name, AclOperation.ALTER);
    if ('errorCode' in admitted) return { throttleTimeMs: 0, results: request.creations.map(() => admitted) };
    const results: CreateAclsResponse['results'] = [];
    const valid: { binding: AclBinding; at: number }[] = [];
    for (const creation of request.creations) {
      try {
        const binding = validateBinding({ ...creation, patternType: creation.resourcePatternType });
        valid.push({ binding, at: results.length });
        results.push({ errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (error) {
        results.push(failure(error));
      }
    }
    try {
      const created = await admitted.authorizer.createAcls(valid.map(({ binding }) => binding));
      created.forEach((error, i) => {
        if (error !== null) results[valid[i]!.at] = failure(error);
      });
    } catch (error) {
      for (const { at } of valid) results[at] = failure(error);
    }
    return { throttleTimeMs: 0, results };
  });
}

function deleteAclsHandler(access: Access): ApiHandler {
  return defineHandler(DeleteAcls, async (request, context) => {
    const admitted = admit(access, context, DeleteAcls.name, AclOperation.ALTER);
    if ('errorCode' in admitted) {
      return {
        throttleTimeMs: 0,
        filterResults: request.filters.map(() => ({ ...admitted, matchingAcls: [] })),
      };
    }
    const results: FilterResult[] = [];
    const valid: { filter: AclBindingFilter; at: number }[] = [];
    for (const raw of request.filters) {
      try {
        valid.push({ filter: validateFilter(rawFilterOf(raw)), at: results.length });
        results.push({ errorCode: ErrorCode.NONE, errorMessage: null, matchingAcls: [] });
      } catch (error) {
        results.push({ ...failure(error), matchingAcls: [] });
      }
    }
    try {
      const deleted = await admitted.authorizer.deleteAcls(valid.map(({ filter }) => filter));
      deleted.forEach((bindings, i) => {
        results[valid[i]!.at]!.matchingAcls = bindings.map((binding) => ({
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          ...binding,
        }));
      });
    } catch (error) {
      for (const { at } of valid) results[at] = { ...failure(error), matchingAcls: [] };
    }
    return { throttleTimeMs: 0, filterResults: results };
  });
}

/**
 * The authorizer, or why the whole request is refused: no authorizer (SECURITY_DISABLED), or the caller may
 * not do `operation` on the cluster (CLUSTER_AUTHORIZATION_FAILED).
 */
function admit(
  access: Access,
  context: RequestContext,
  api: string,
  operation: typeof AclOperation.DESCRIBE | typeof AclOperation.ALTER,
): { authorizer: Authorizer } | Failure {
  const { authorizer } = access;
  if (authorizer === null) {
    return {
      errorCode: ErrorCode.SECURITY_DISABLED,
      errorMessage: 'no authorizer is configured on the broker',
    };
  }
  if (!access.allowsCluster(context, api, operation)) {
    const verb = operation === AclOperation.DESCRIBE ? 'describe' : 'alter';
    return {
      errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      errorMessage: `${context.session.principal} may not ${verb} ACLs: it lacks ${verb.toUpperCase()} on the cluster`,
    };
  }
  return { authorizer };
}

/** DescribeAcls's request is one filter, with the same fields as each of DeleteAcls's. */
function rawFilterOf(filter: DescribeAclsRequest): RawAclBindingFilter {
  return {
    resourceType: filter.resourceTypeFilter,
    resourceName: filter.resourceNameFilter,
    patternType: filter.patternTypeFilter,
    principal: filter.principalFilter,
    host: filter.hostFilter,
    operation: filter.operation,
    permissionType: filter.permissionType,
  };
}

/** Bindings grouped by resource pattern, as Kafka's DescribeAcls response lists them. */
function describedResources(bindings: AclBinding[]): DescribedResource[] {
  const byPattern = new Map<string, DescribedResource>();
  for (const {
    resourceType,
    resourceName,
    patternType,
    principal,
    host,
    operation,
    permissionType,
  } of bindings) {
    const key = JSON.stringify([resourceType, resourceName, patternType]);
    let resource = byPattern.get(key);
    if (resource === undefined) {
      resource = { resourceType, resourceName, patternType, acls: [] };
      byPattern.set(key, resource);
    }
    resource.acls.push({ principal, host, operation, permissionType });
  }
  return [...byPattern.values()];
}

function failure(error: unknown): Failure {
  return { errorCode: errorCodeOf(error), errorMessage: errorMessageOf(error) };
}
