import type { Logger } from 'pino';
import { LogError, type PartitionLog } from '../../log/index.js';
import { Produce, type ProduceRequest, type ProduceResponse } from '../../protocol/apis/produce.js';
import { BatchField, RECORD_BATCH_MAGIC, readBatchHeader, splitBatches } from '../../protocol/index.js';
import { type ApiHandler, defineHandler, type Reply } from '../api-handler.js';
import { ErrorCode, errorCodeOf, errorMessageOf } from '../error-codes.js';
import type { BrokerMetrics } from '../metrics.js';
import type { PartitionWatch } from '../partition-watch.js';
import type { TopicCatalog } from '../topic-catalog.js';

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

export interface ProduceDependencies {
  topics: TopicCatalog;
  watch: PartitionWatch;
  metrics: BrokerMetrics;
  logger: Logger;
}

/**
 * Produce: every partition's batches are validated and written synchronously in arrival order; acks=all
 * then waits for the fsync that group commit shares with every other request in flight.
 */
export function produceHandler(deps: ProduceDependencies): ApiHandler {
  return defineHandler(Produce, (request) => handleProduce(deps, request));
}

function handleProduce(deps: ProduceDependencies, request: ProduceRequest): Reply<ProduceResponse> {
  const durability: Promise<void>[] = [];
  const responses = request.topicData.map((topic) => ({
    name: topic.name,
    partitionResponses: topic.partitionData.map((partition) => {
      const response = emptyResponse(partition.index);
      if (request.transactionalId !== null) {
        return fail(
          response,
          ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
          'transactions are not supported',
        );
      }
      if (request.acks !== 0 && request.acks !== 1 && request.acks !== -1) {
        return fail(response, ErrorCode.INVALID_REQUIRED_ACKS, `acks=${request.acks} must be -1, 0 or 1`);
      }
      const wait = appendToPartition(deps, topic.name, partition.records, response);
      if (wait) {
        const acknowledged = wait.catch((error: unknown) => {
          fail(response, ErrorCode.KAFKA_STORAGE_ERROR, errorMessageOf(error));
          deps.logger.error({ topic: topic.name, partition: partition.index, err: error }, 'fsync failed');
        });
        if (request.acks === -1) durability.push(acknowledged);
      }
      return response;
    }),
  }));
  if (request.acks === 0) return null;
  const result: ProduceResponse = { responses, throttleTimeMs: 0 };
  return durability.length === 0 ? result : Promise.all(durability).then(() => result);
}

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
  records: Buffer | null,
  response: PartitionResponse,
): Promise<void> | null {
  if (!records || records.length === 0) {
    fail(response, ErrorCode.INVALID_RECORD, 'no records');
    return null;
  }
  if (records.length > BatchField.magic && records.readInt8(BatchField.magic) !== RECORD_BATCH_MAGIC) {
    fail(
      response,
      ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
      'only RecordBatch v2 (magic 2) is accepted; use Produce v3+',
    );
    return null;
  }
  let log: PartitionLog;
  try {
    log = deps.topics.partition(topic, response.index, true);
  } catch (error) {
    fail(response, errorCodeOf(error), errorMessageOf(error));
    return null;
  }
  const header = records.length >= 61 ? readBatchHeader(records) : null;
  const idempotent = header !== null && header.producerId >= 0 && header.baseSequence >= 0;
  try {
    if (idempotent) {
      const producers = deps.topics.producersOf(log);
      if (splitBatches(records).length !== 1) {
        fail(
          response,
          ErrorCode.INVALID_RECORD,
          'an idempotent produce must carry exactly one batch per partition',
        );
        return null;
      }
      const lastSequence = header.baseSequence + header.lastOffsetDelta;
      const verdict = producers.check(
        header.producerId,
        header.producerEpoch,
        header.baseSequence,
        lastSequence,
      );
      if (verdict.kind === 'reject') {
        fail(response, verdict.errorCode, verdict.message);
        return null;
      }
      if (verdict.kind === 'duplicate') {
        response.baseOffset = verdict.baseOffset;
        response.logStartOffset = log.logStartOffset;
        return log.durable();
      }
      const result = log.write(records);
      producers.record(header.producerId, header.producerEpoch, {
        firstSequence: header.baseSequence,
        lastSequence,
        baseOffset: result.baseOffset,
        lastOffset: result.lastOffset,
      });
      return accepted(deps, topic, log, response, result, records.length);
    }
    return accepted(deps, topic, log, response, log.write(records), records.length);
  } catch (error) {
    if (!(error instanceof LogError)) throw error;
    fail(response, errorCodeOf(error), errorMessageOf(error));
    return null;
  }
}

function accepted(
  deps: ProduceDependencies,
  topic: string,
  log: PartitionLog,
  response: PartitionResponse,
  result: { baseOffset: number; lastOffset: number; logAppendTimeMs: number; logStartOffset: number },
  bytes: number,
): Promise<void> {
  response.baseOffset = result.baseOffset;
  response.logAppendTimeMs = result.logAppendTimeMs;
  response.logStartOffset = result.logStartOffset;
  deps.metrics.bytesIn.inc({ topic }, bytes);
  deps.metrics.recordsIn.inc({ topic }, result.lastOffset - result.baseOffset + 1);
  deps.watch.notify(topic, response.index);
  return log.durable().then(() => deps.watch.notify(topic, response.index));
}
