import {
  AlterClientQuotas,
  type AlterClientQuotasRequest,
  type AlterClientQuotasResponse,
} from '../../protocol/apis/alter-client-quotas.js';
import { DescribeClientQuotas } from '../../protocol/apis/describe-client-quotas.js';
import {
  AclOperation,
  checkQuotaValue,
  componentsOf,
  entityOf,
  filterOf,
  type QuotaEntity,
  QuotaError,
  type QuotaOp,
  type QuotaStore,
  quotaFilterMatches,
  quotaKeyOf,
} from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler } from '../api-handler.js';
import { ErrorCode, errorCodeOf, errorMessageOf } from '../error-codes.js';

type AlterResult = AlterClientQuotasResponse['entries'][number];

/**
 * DescribeClientQuotas and AlterClientQuotas (KIP-546), as Kafka answers them: DESCRIBE_CONFIGS on the cluster
 * to describe, ALTER_CONFIGS to alter (else CLUSTER_AUTHORIZATION_FAILED); each altered entity succeeds or
 * fails on its own (INVALID_REQUEST for what it asks). In a cluster the store is shared by every broker.
 */
export function clientQuotaHandlers(store: QuotaStore, access: Access): ApiHandler[] {
  return [describeClientQuotasHandler(store, access), alterClientQuotasHandler(store, access)];
}

function describeClientQuotasHandler(store: QuotaStore, access: Access): ApiHandler {
  return defineHandler(DescribeClientQuotas, (request, context) => {
    if (!access.allowsCluster(context, DescribeClientQuotas.name, AclOperation.DESCRIBE_CONFIGS)) {
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: `${context.session.principal} may not describe client quotas: it lacks DESCRIBE_CONFIGS on the cluster`,
        entries: null,
      };
    }
    try {
      const filter = filterOf(request.components, request.strict);
      const entries = store
        .list()
        .filter(({ entity }) => quotaFilterMatches(filter, entity))
        .map(({ entity, values }) => ({
          entity: componentsOf(entity),
          values: Object.entries(values).map(([key, value]) => ({ key, value })),
        }));
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries };
    } catch (error) {
      return {
        throttleTimeMs: 0,
        errorCode: errorCodeOf(error),
        errorMessage: errorMessageOf(error),
        entries: null,
      };
    }
  });
}

function alterClientQuotasHandler(store: QuotaStore, access: Access): ApiHandler {
  return defineHandler(AlterClientQuotas, async (request, context) => {
    const refuse = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0,
      entries: request.entries.map(({ entity }) => ({ errorCode, errorMessage, entity })),
    });
    if (!access.allowsCluster(context, AlterClientQuotas.name, AclOperation.ALTER_CONFIGS)) {
      return refuse(
        ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        `${context.session.principal} may not alter client quotas: it lacks ALTER_CONFIGS on the cluster`,
      );
    }
    const results: AlterResult[] = [];
    const valid: { change: { entity: QuotaEntity; ops: QuotaOp[] }; at: number }[] = [];
    for (const entry of request.entries) {
      try {
        valid.push({ change: changeOf(entry), at: results.length });
        results.push({ errorCode: ErrorCode.NONE, errorMessage: null, entity: entry.entity });
      } catch (error) {
        results.push({
          errorCode: errorCodeOf(error),
          errorMessage: errorMessageOf(error),
          entity: entry.entity,
        });
      }
    }
    if (valid.length > 0) {
      try {
        await store.alter(
          valid.map(({ change }) => change),
          request.validateOnly,
        );
      } catch (error) {
        for (const { at } of valid) {
          results[at]!.errorCode = errorCodeOf(error);
          results[at]!.errorMessage = errorMessageOf(error);
        }
      }
    }
    return { throttleTimeMs: 0, entries: results };
  });
}

/** One entry's entity and ops, checked: a known entity, known keys, each at most once, valid values. */
function changeOf(entry: AlterClientQuotasRequest['entries'][number]): {
  entity: QuotaEntity;
  ops: QuotaOp[];
} {
  const entity = entityOf(entry.entity);
  const seen = new Set<string>();
  const ops = entry.ops.map(({ key, value, remove }) => {
    if (seen.has(key)) throw new QuotaError('INVALID_QUOTA', `quota key ${key} appears twice for one entity`);
    seen.add(key);
    const quotaKey = quotaKeyOf(key);
    return { key: quotaKey, value: remove ? null : checkQuotaValue(quotaKey, value) };
  });
  return { entity, ops };
}
