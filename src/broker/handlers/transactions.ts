import { CoordinationError } from '../../coordination/coordinator.js';
import { AddOffsetsToTxn } from '../../protocol/apis/add-offsets-to-txn.js';
import { AddPartitionsToTxn } from '../../protocol/apis/add-partitions-to-txn.js';
import { DescribeTransactions } from '../../protocol/apis/describe-transactions.js';
import { EndTxn } from '../../protocol/apis/end-txn.js';
import type { InitProducerIdRequest, InitProducerIdResponse } from '../../protocol/apis/init-producer-id.js';
import { ListTransactions } from '../../protocol/apis/list-transactions.js';
import { TxnOffsetCommit } from '../../protocol/apis/txn-offset-commit.js';
import { AclOperation, ResourceType } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler, type RequestContext } from '../api-handler.js';
import { ErrorCode } from '../error-codes.js';
import type { GroupRouter } from '../group-router.js';
import type { InitResult, TransactionCoordinator } from '../transaction-coordinator.js';
import { TXN_STATE_NAMES } from '../transaction-log.js';
import type { TransactionRouter } from '../transaction-router.js';

/** InitProducerId v4+, AddPartitionsToTxn, AddOffsetsToTxn and EndTxn v2+ know PRODUCER_FENCED. */
const INIT_PRODUCER_FENCED_FROM = 4;
const TXN_PRODUCER_FENCED_FROM = 2;

/** Older clients are told INVALID_PRODUCER_EPOCH where newer ones get PRODUCER_FENCED, as in Kafka. */
function forVersion(errorCode: number, apiVersion: number, fencedFrom: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && apiVersion < fencedFrom
    ? ErrorCode.INVALID_PRODUCER_EPOCH
    : errorCode;
}

/**
 * The coordinator of `transactionalId` for a client with WRITE on it (what every transactional API but the
 * describing ones needs, as Kafka), or the error code answering the request.
 */
function writableCoordinator(
  transactions: TransactionRouter,
  access: Access,
  context: RequestContext,
  api: string,
  transactionalId: string,
): TransactionCoordinator | number {
  if (!access.allows(context, api, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId)) {
    return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  }
  return transactions.coordinatorOf(transactionalId) ?? ErrorCode.NOT_COORDINATOR;
}

/** InitProducerId with a transactional id (admin.ts answers idempotent producers). */
export async function initTransactionalProducer(
  transactions: TransactionRouter,
  access: Access,
  context: RequestContext,
  request: InitProducerIdRequest & { transactionalId: string },
  api: string,
): Promise<InitProducerIdResponse> {
  const refused = (errorCode: number) => ({
    throttleTimeMs: 0,
    errorCode,
    producerId: -1,
    producerEpoch: -1,
  });
  if (request.transactionalId === '') return refused(ErrorCode.INVALID_REQUEST);
  const coordinator = writableCoordinator(transactions, access, context, api, request.transactionalId);
  if (typeof coordinator === 'number') return refused(coordinator);
  const current =
    request.producerId >= 0 && request.producerEpoch >= 0
      ? { producerId: request.producerId, producerEpoch: request.producerEpoch }
      : null;
  let result: InitResult;
  try {
    result = await coordinator.initProducerId(request.transactionalId, request.transactionTimeoutMs, current);
  } catch (error) {
    // A new producer id comes from the cluster's shared counter, out of reach now: the client asks again.
    if (!(error instanceof CoordinationError)) throw error;
    return refused(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  }
  return {
    throttleTimeMs: 0,
    ...result,
    errorCode: forVersion(result.errorCode, context.apiVersion, INIT_PRODUCER_FENCED_FROM),
  };
}

/**
 * The transactional APIs a producer calls between InitProducerId and the end of its transaction, and the
 * admin ones that describe transactions, with Kafka's ACL checks (docs/security.md).
 */
export function transactionHandlers(
  transactions: TransactionRouter,
  groups: GroupRouter,
  access: Access,
  partitionExists: (topic: string, partition: number) => boolean,
): ApiHandler[] {
  return [
    defineHandler(AddPartitionsToTxn, async (request, context) => {
      const answer = (errorCodeOf: (topic: string, partition: number) => number) => ({
        throttleTimeMs: 0,
        resultsByTopicV3AndBelow: request.v3AndBelowTopics.map((t) => ({
          name: t.name,
          resultsByPartition: t.partitions.map((partitionIndex) => ({
            partitionIndex,
            partitionErrorCode: errorCodeOf(t.name, partitionIndex),
          })),
        })),
      });
      const coordinator = writableCoordinator(
        transactions,
        access,
        context,
        AddPartitionsToTxn.name,
        request.v3AndBelowTransactionalId,
      );
      if (typeof coordinator === 'number') return answer(() => coordinator);
      // Any partition refused (no WRITE, unknown) leaves the others not attempted, as Kafka.
      const refusals = new Map<string, number>();
      for (const t of request.v3AndBelowTopics) {
        const writable = access.allows(
          context,
          AddPartitionsToTxn.name,
          AclOperation.WRITE,
          ResourceType.TOPIC,
          t.name,
        );
        for (const p of t.partitions) {
          if (!writable) refusals.set(`${p}:${t.name}`, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
          else if (!partitionExists(t.name, p))
            refusals.set(`${p}:${t.name}`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        }
      }
      if (refusals.size > 0) {
        return answer(
          (topic, partition) => refusals.get(`${partition}:${topic}`) ?? ErrorCode.OPERATION_NOT_ATTEMPTED,
        );
      }
      const errorCode = await coordinator.addPartitions(
        request.v3AndBelowTransactionalId,
        { producerId: request.v3AndBelowProducerId, producerEpoch: request.v3AndBelowProducerEpoch },
        request.v3AndBelowTopics.flatMap((t) =>
          t.partitions.map((partition) => ({ topic: t.name, partition })),
        ),
      );
      return answer(() => forVersion(errorCode, context.apiVersion, TXN_PRODUCER_FENCED_FROM));
    }),
    defineHandler(AddOffsetsToTxn, async (request, context) => {
      const answer = (errorCode: number) => ({ throttleTimeMs: 0, errorCode });
      const coordinator = writableCoordinator(
        transactions,
        access,
        context,
        AddOffsetsToTxn.name,
        request.transactionalId,
      );
      if (typeof coordinator === 'number') return answer(coordinator);
      if (
        !access.allows(context, AddOffsetsToTxn.name, AclOperation.READ, ResourceType.GROUP, request.groupId)
      ) {
        return answer(ErrorCode.GROUP_AUTHORIZATION_FAILED);
      }
      const errorCode = await coordinator.addOffsets(
        request.transactionalId,
        { producerId: request.producerId, producerEpoch: request.producerEpoch },
        request.groupId,
      );
      return answer(forVersion(errorCode, context.apiVersion, TXN_PRODUCER_FENCED_FROM));
    }),
    defineHandler(EndTxn, async (request, context) => {
      const coordinator = writableCoordinator(
        transactions,
        access,
        context,
        EndTxn.name,
        request.transactionalId,
      );
      const errorCode =
        typeof coordinator === 'number'
          ? coordinator
          : await coordinator.endTransaction(
              request.transactionalId,
              { producerId: request.producerId, producerEpoch: request.producerEpoch },
              request.committed,
            );
      return {
        throttleTimeMs: 0,
        errorCode: forVersion(errorCode, context.apiVersion, TXN_PRODUCER_FENCED_FROM),
      };
    }),
    defineHandler(TxnOffsetCommit, async (request, context) => {
      const answer = (errorCodeOf: (topic: string, partition: number) => number) => ({
        throttleTimeMs: 0,
        topics: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: errorCodeOf(t.name, p.partitionIndex),
          })),
        })),
      });
      // At the group's coordinator, as Kafka: WRITE on the transactional id, READ on the group and topics.
      if (
        !access.allows(
          context,
          TxnOffsetCommit.name,
          AclOperation.WRITE,
          ResourceType.TRANSACTIONAL_ID,
          request.transactionalId,
        )
      ) {
        return answer(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      }
      if (
        !access.allows(context, TxnOffsetCommit.name, AclOperation.READ, ResourceType.GROUP, request.groupId)
      ) {
        return answer(() => ErrorCode.GROUP_AUTHORIZATION_FAILED);
      }
      const group = groups.coordinatorOf(request.groupId);
      if (!group) return answer(() => ErrorCode.NOT_COORDINATOR);
      const memberError = group.transactionalMemberError(
        request.groupId,
        request.memberId,
        request.generationId,
      );
      if (memberError !== ErrorCode.NONE) return answer(() => memberError);
      const offsets = request.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata: p.committedMetadata,
        })),
      );
      // Topics the client may not read, unknown partitions and oversized metadata are refused one by one.
      const refusals = new Map<string, number>();
      for (const o of offsets) {
        const errorCode = access.allows(
          context,
          TxnOffsetCommit.name,
          AclOperation.READ,
          ResourceType.TOPIC,
          o.topic,
        )
          ? group.offsetError(o)
          : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        if (errorCode !== ErrorCode.NONE) refusals.set(`${o.partition}:${o.topic}`, errorCode);
      }
      const accepted = offsets.filter((o) => !refusals.has(`${o.partition}:${o.topic}`));
      const errorCode =
        accepted.length === 0
          ? ErrorCode.NONE
          : await group.commitTransactionalOffsets(
              request.groupId,
              { producerId: request.producerId, producerEpoch: request.producerEpoch },
              accepted,
            );
      return answer((topic, partition) => refusals.get(`${partition}:${topic}`) ?? errorCode);
    }),
    defineHandler(DescribeTransactions, (request, context) => ({
      throttleTimeMs: 0,
      transactionStates: request.transactionalIds.map((transactionalId) => {
        const unknown = (errorCode: number) => ({
          errorCode,
          transactionalId,
          transactionState: '',
          transactionTimeoutMs: 0,
          transactionStartTimeMs: -1,
          producerId: -1,
          producerEpoch: -1,
          topicPartitions: [],
        });
        if (
          !access.allows(
            context,
            DescribeTransactions.name,
            AclOperation.DESCRIBE,
            ResourceType.TRANSACTIONAL_ID,
            transactionalId,
          )
        ) {
          return unknown(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
        }
        const coordinator = transactions.coordinatorOf(transactionalId);
        if (!coordinator) return unknown(ErrorCode.NOT_COORDINATOR);
        const view = coordinator.describe(transactionalId);
        if (!view) return unknown(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
        return {
          errorCode: ErrorCode.NONE,
          transactionalId,
          transactionState: view.state,
          transactionTimeoutMs: view.timeoutMs,
          transactionStartTimeMs: view.startMs,
          producerId: view.producerId,
          producerEpoch: view.producerEpoch,
          // Only the topics the client may describe, as Kafka.
          topicPartitions: view.partitions
            .filter((p) => access.permits(context, AclOperation.DESCRIBE, ResourceType.TOPIC, p.topic))
            .map((p) => ({ name: p.topic, partitionIndexes: p.partitions })),
        };
      }),
    })),
    defineHandler(ListTransactions, (request, context) => {
      const known = new Set(TXN_STATE_NAMES.values());
      const states = new Set(request.stateFilters);
      const producerIds = new Set(request.producerIdFilters);
      const now = Date.now();
      const listed = transactions
        .all()
        .flatMap((coordinator) => coordinator.list())
        .filter(
          (t) =>
            (states.size === 0 || states.has(t.state)) &&
            (producerIds.size === 0 || producerIds.has(t.producerId)) &&
            (request.durationFilter < 0 || (t.startMs >= 0 && now - t.startMs > request.durationFilter)) &&
            access.permits(context, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, t.transactionalId),
        );
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        unknownStateFilters: request.stateFilters.filter((s) => !known.has(s)),
        transactionStates: listed.map((t) => ({
          transactionalId: t.transactionalId,
          producerId: t.producerId,
          transactionState: t.state,
        })),
      };
    }),
  ];
}
