import { LogError, type LogErrorCode } from '../log/index.js';

/** Kafka protocol error codes the broker answers with. */
export const ErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  COORDINATOR_NOT_AVAILABLE: 15,
  INVALID_TOPIC_EXCEPTION: 17,
  INVALID_REQUIRED_ACKS: 21,
  TOPIC_AUTHORIZATION_FAILED: 29,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  INVALID_PRODUCER_EPOCH: 47,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  KAFKA_STORAGE_ERROR: 56,
  UNKNOWN_PRODUCER_ID: 59,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  INVALID_RECORD: 87,
  UNKNOWN_TOPIC_ID: 100,
};

const FROM_LOG: Record<LogErrorCode, number> = {
  CORRUPT_MESSAGE: ErrorCode.CORRUPT_MESSAGE,
  MESSAGE_TOO_LARGE: ErrorCode.MESSAGE_TOO_LARGE,
  OFFSET_OUT_OF_RANGE: ErrorCode.OFFSET_OUT_OF_RANGE,
  CORRUPT_SEGMENT: ErrorCode.KAFKA_STORAGE_ERROR,
  DISK_FULL: ErrorCode.KAFKA_STORAGE_ERROR,
  TOO_MANY_OPEN_SEGMENTS: ErrorCode.KAFKA_STORAGE_ERROR,
  IO_ERROR: ErrorCode.KAFKA_STORAGE_ERROR,
  LOG_CLOSED: ErrorCode.NOT_LEADER_OR_FOLLOWER,
  INVALID_CONFIG: ErrorCode.INVALID_CONFIG,
  TOPIC_ALREADY_EXISTS: ErrorCode.TOPIC_ALREADY_EXISTS,
  UNKNOWN_TOPIC_OR_PARTITION: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  INVALID_TOPIC: ErrorCode.INVALID_TOPIC_EXCEPTION,
};

/** The Kafka error code for a failure; anything unexpected is rethrown so the connection closes loudly. */
export function errorCodeOf(error: unknown): number {
  if (error instanceof LogError) return FROM_LOG[error.code];
  throw error;
}

/**
 * Messages quote client input (a topic name may be 32,767 bytes), so they are cut here: 1,024 UTF-16 units
 * are at most 3 KiB of UTF-8, and the response they travel in still fits its string fields.
 */
const MAX_ERROR_MESSAGE_CHARS = 1024;

export function errorMessageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length <= MAX_ERROR_MESSAGE_CHARS
    ? message
    : `${message.slice(0, MAX_ERROR_MESSAGE_CHARS)}...`;
}
