import type { Logger } from 'pino';
import type { ClusterNode, LeaderPartition } from '../../cluster/index.js';
import { LogError, lastSequenceOf, type PartitionLog } from '../../log/index.js';
import { Produce, type ProduceRequest, type ProduceResponse } from '../../protocol/apis/produce.js';
import {
  errorCodeName,
  LegacyFormatError,
  RECORD_BATCH_MAGIC,
  readBatchHeader,
  recordsMagic,
  splitBatches,
  upConvertMessageSet,
} from '../../protocol/index.js';
import { AclOperation, ResourceType } from '../../security/index.js';
import type { Access } from '../access.js';
import { type ApiHandler, defineHandler, type Reply, type RequestContext } from '../api-handler.js';
import type { ClientQuotas } from '../client-quotas.js';
import { ErrorCode, errorCodeOf, errorMessageOf } from '../error-codes.js';
import { isInternalTopic } from '../internal-topics.js';
import type { BrokerMetrics } from '../metrics.js';
import type { PartitionWatch } from '../partition-watch.js';
import type { TopicCatalog } from '../topic-catalog.js';

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

export interface ProduceDependencies {
  topics: TopicCatalog;
  watch: PartitionWatch;
  metrics: BrokerMetrics;
  logger: Logger;
  /** The replicated cluster this broker belongs to; null for a single node. */
  cluster: ClusterNode | null;
  access: Access;
  quotas: ClientQuotas;
}

/** Why every partition of a topic is refused before anything is written. */
interface Refusal {
  errorCode: number;
  message: string;
}

/** How one partition's append is acknowledged: its log, and in a cluster the leader state it was written under. */
interface Target {
  log: PartitionLog;
  leader: LeaderPartition | null;
}

/**
 * Produce: every partition's batches are validated and written synchronously in arrival order; acks=all
 * then waits for the fsync that group commit shares with every other request in flight.
 */
export function produceHandler(deps: ProduceDependencies): ApiHandler {
  return defineHandler(Produce, (request, context) => handleProduce(deps, request, context));
}

function handleProduce(
  deps: ProduceDependencies,
  request: ProduceRequest,
  context: RequestContext,
): Reply<ProduceResponse> {
  const durability: Promise<void>[] = [];
  const transactional =
    request.transactionalId === null ? null : transactionalRefusal(deps, request.transactionalId, context);
  const responses = request.topicData.map((topic) => {
    // One check per topic, whatever the number of partitions and records.
    const refusal = transactional ?? topicRefusal(deps, topic.name, context);
    // Produce auto-creates a missing topic; under ACLs only for a client that may create it (asked only
    // when the topic is missing, so producing to an existing topic costs no second check).
    const autoCreate =
      refusal === null &&
      (deps.access.authorizer === null ||
        deps.topics.logs.hasTopic(topic.name) ||
        deps.access.mayCreateTopic(context, Produce.name, topic.name));
    return {
      name: topic.name,
      partitionResponses: topic.partitionData.map((partition) => {
        const response = emptyResponse(partition.index);
        if (refusal !== null) return fail(response, refusal.errorCode, refusal.message);
        if (request.acks !== 0 && request.acks !== 1 && request.acks !== -1) {
          return fail(response, ErrorCode.INVALID_REQUIRED_ACKS, `acks=${request.acks} must be -1, 0 or 1`);
        }
        const wait = appendToPartition(
          deps,
          topic.name,
          partition.records,
          response,
          request.acks,
          request.timeoutMs,
          autoCreate,
        );
        if (wait) {
          const settled = wait.catch((error: unknown) => {
            fail(response, ErrorCode.KAFKA_STORAGE_ERROR, errorMessageOf(error));
            deps.logger.error({ topic: topic.name, partition: partition.index, err: error }, 'fsync failed');
          });
          if (request.acks === -1) durability.push(settled);
        }
        return response;
      }),
    };
  });
  if (deps.quotas.enforces('produce')) throttleProduce(deps.quotas, request, context);
  if (request.acks === 0) return null;
  const result: ProduceResponse = { responses, throttleTimeMs: 0 };
  return durability.length === 0 ? result : Promise.all(durability).then(() => result);
}

/**
 * Records the request's record bytes against the client's producer_byte_rate, as Kafka records a produce
 * after appending it (the records are kept; the client is throttled for what it sent beyond its quota).
 */
function throttleProduce(quotas: ClientQuotas, request: ProduceRequest, context: RequestContext): void {
  let bytes = 0;
  for (const topic of request.topicData) {
    for (const partition of topic.partitionData) bytes += partition.records?.length ?? 0;
  }
  const throttleMs = quotas.record('produce', context.session.principal, context.clientId, bytes);
  if (throttleMs > context.throttleTimeMs) context.throttleTimeMs = throttleMs;
}

/** A transactional produce needs WRITE on its transactional id, checked first as Kafka does. */
function transactionalRefusal(
  deps: ProduceDependencies,
  transactionalId: string,
  context: RequestContext,
): Refusal | null {
  if (
    deps.access.allows(
      context,
      Produce.name,
      AclOperation.WRITE,
      ResourceType.TRANSACTIONAL_ID,
      transactionalId,
    )
  )
    return null;
  return { errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, message: TRANSACTIONAL_ID_DENIED };
}

function topicRefusal(deps: ProduceDependencies, topic: string, context: RequestContext): Refusal | null {
  if (deps.access.allows(context, Produce.name, AclOperation.WRITE, ResourceType.TOPIC, topic)) return null;
  return { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, message: WRITE_DENIED };
}

const TRANSACTIONAL_ID_DENIED = 'not authorized to write with this transactional id';
const WRITE_DENIED = 'not authorized to write to this topic';

function emptyResponse(index: number): PartitionResponse {
  return {
    index,
    errorCode: ErrorCode.NONE,
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
    recordErrors: [],
    errorMessage: null,
  };
}

function fail(response: PartitionResponse, errorCode: number, message: string): PartitionResponse {
  response.errorCode = errorCode;
  response.errorMessage = message;
  return response;
}

/** Writes the partition's batches; returns the durability promise, or null if nothing was written. */
function appendToPartition(
  deps: ProduceDependencies,
  topic: string,
  produced: Buffer | null,
  response: PartitionResponse,
  acks: number,
  timeoutMs: number,
  autoCreate: boolean,
): Promise<void> | null {
  if (isInternalTopic(topic)) {
    // As Kafka: only the broker writes its internal topics.
    fail(response, ErrorCode.INVALID_TOPIC_EXCEPTION, `cannot append to internal topic ${topic}`);
    return null;
  }
  if (!produced || produced.length === 0) {
    fail(response, ErrorCode.INVALID_RECORD, 'no records');
    return null;
  }
  const target = targetOf(deps, topic, response, acks, autoCreate);
  if (!target) return null;
  const records =
    recordsMagic(produced) === RECORD_BATCH_MAGIC ? produced : upConverted(produced, target.log, response);
  if (!records) return null;
  const { log, leader } = target;
  const leaderEpoch = leader ? { leaderEpoch: leader.leaderEpoch } : undefined;
  const header = records.length >= 61 ? readBatchHeader(records) : null;
  const idempotent = header !== null && header.producerId >= 0 && header.baseSequence >= 0;
  try {
    if (idempotent) {
      if (splitBatches(records).length !== 1) {
        fail(
          response,
          ErrorCode.INVALID_RECORD,
          'an idempotent produce must carry exactly one batch per partition',
        );
        return null;
      }
      const verdict = log.checkSequence(
        header.producerId,
        header.producerEpoch,
        header.baseSequence,
        lastSequenceOf(header.baseSequence, header.lastOffsetDelta),
      );
      if (verdict.kind === 'reject') {
        fail(response, verdict.errorCode, verdict.message);
        return null;
      }
      if (verdict.kind === 'duplicate') {
        response.baseOffset = verdict.baseOffset;
        response.logStartOffset = log.logStartOffset;
        const endOffset = verdict.baseOffset + header.lastOffsetDelta + 1;
        return acknowledged(deps, topic, response, target, endOffset, acks, timeoutMs);
      }
    }
    return accepted(
      deps,
      topic,
      target,
      response,
      log.write(records, leaderEpoch),
      records.length,
      acks,
      timeoutMs,
    );
  } catch (error) {
    if (!(error instanceof LogError)) throw error;
    fail(response, errorCodeOf(error), errorMessageOf(error));
    return null;
  }
}

/** A magic 0/1 message set (old producers) as RecordBatch v2 for the log, or null with the error in `response`. */
function upConverted(messageSet: Buffer, log: PartitionLog, response: PartitionResponse): Buffer | null {
  try {
    return upConvertMessageSet(messageSet, log.maxDecompressedBytes);
  } catch (error) {
    if (!(error instanceof LegacyFormatError)) throw error;
    fail(response, errorCodeOf(error), errorMessageOf(error));
    return null;
  }
}

/**
 * The partition's log, and in a cluster the leader state: only the leader at a confirmed leader epoch
 * takes writes, and acks=all needs min.insync.replicas in sync before anything is written.
 */
function targetOf(
  deps: ProduceDependencies,
  topic: string,
  response: PartitionResponse,
  acks: number,
  autoCreate: boolean,
): Target | null {
  if (!deps.cluster) {
    try {
      return { log: deps.topics.partition(topic, response.index, autoCreate), leader: null };
    } catch (error) {
      fail(response, errorCodeOf(error), errorMessageOf(error));
      return null;
    }
  }
  const found = deps.cluster.replicas.lookupLeader(topic, response.index, -1);
  if ('errorCode' in found) {
    if (found.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
      deps.cluster.metrics.fencedRequests.inc({ api: 'Produce' });
    fail(response, found.errorCode, found.message);
    return null;
  }
  const { leader } = found;
  if (acks === -1 && leader.isr.length < leader.minInsyncReplicas) {
    fail(
      response,
      ErrorCode.NOT_ENOUGH_REPLICAS,
      `${leader.isr.length} in-sync replicas (${leader.isr.join(',')}) < min.insync.replicas=${leader.minInsyncReplicas}`,
    );
    return null;
  }
  return { log: leader.log, leader };
}

/**
 * Resolves when the append is acknowledged: durable on this broker as its flush policy promises, and in a
 * cluster with acks=all, below the high watermark (on every in-sync replica). Failures land in the response.
 */
function acknowledged(
  deps: ProduceDependencies,
  topic: string,
  response: PartitionResponse,
  target: Target,
  endOffset: number,
  acks: number,
  timeoutMs: number,
): Promise<void> {
  const { log, leader } = target;
  return log.durable().then(async () => {
    deps.watch.notify(topic, response.index);
    if (!leader) return;
    leader.updateHighWatermark();
    if (acks !== -1) return;
    const errorCode = await leader.waitForCommit(endOffset, timeoutMs);
    if (errorCode !== ErrorCode.NONE) {
      fail(response, errorCode, `acks=all not satisfied: ${errorCodeName(errorCode) ?? errorCode}`);
    }
  });
}

function accepted(
  deps: ProduceDependencies,
  topic: string,
  target: Target,
  response: PartitionResponse,
  result: { baseOffset: number; lastOffset: number; logAppendTimeMs: number; logStartOffset: number },
  bytes: number,
  acks: number,
  timeoutMs: number,
): Promise<void> {
  response.baseOffset = result.baseOffset;
  response.logAppendTimeMs = result.logAppendTimeMs;
  response.logStartOffset = result.logStartOffset;
  deps.metrics.bytesIn.inc({ topic }, bytes);
  deps.metrics.recordsIn.inc({ topic }, result.lastOffset - result.baseOffset + 1);
  // No wake-up yet: the records become readable (by consumers and followers alike) only once the writer
  // thread has them in the file, and acknowledged wakes the long polls then. Woken now, every waiting fetch
  // read nothing and waited again, once per produce request.
  return acknowledged(deps, topic, response, target, result.lastOffset + 1, acks, timeoutMs);
}
