import { LogError, type LogErrorCode } from '../log/index.js';
import { ErrorCode, LegacyFormatError } from '../protocol/index.js';
import {
  AclError,
  type AclErrorCode,
  CredentialStoreError,
  type CredentialStoreErrorCode,
  QuotaError,
  type QuotaErrorCode,
} from '../security/index.js';

// Handlers name Kafka's codes through this module, beside the mapping from the log's errors to them.
export { ErrorCode };

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
  INVALID_PRODUCER_EPOCH: ErrorCode.INVALID_PRODUCER_EPOCH,
  INVALID_RECORD: ErrorCode.INVALID_RECORD,
};

const FROM_ACL: Record<AclErrorCode, number> = {
  INVALID_ACL: ErrorCode.INVALID_REQUEST,
  // A configured limit, which is what Kafka's policy errors say.
  ACL_LIMIT: ErrorCode.POLICY_VIOLATION,
  CORRUPT_ACL_FILE: ErrorCode.KAFKA_STORAGE_ERROR,
};

const FROM_CREDENTIALS: Record<CredentialStoreErrorCode, number> = {
  INVALID_USER_NAME: ErrorCode.UNACCEPTABLE_CREDENTIAL,
  USER_LIMIT: ErrorCode.POLICY_VIOLATION,
  INVALID_FILE: ErrorCode.KAFKA_STORAGE_ERROR,
  INVALID_NODE: ErrorCode.KAFKA_STORAGE_ERROR,
  // Retriable: a client may send the same request again (an upsertion is idempotent).
  UNAVAILABLE: ErrorCode.REQUEST_TIMED_OUT,
};

const FROM_QUOTA: Record<QuotaErrorCode, number> = {
  INVALID_QUOTA: ErrorCode.INVALID_REQUEST,
  QUOTA_LIMIT: ErrorCode.POLICY_VIOLATION,
  CORRUPT_QUOTA_FILE: ErrorCode.KAFKA_STORAGE_ERROR,
};

/** The Kafka error code for a failure; anything unexpected is rethrown so the connection closes loudly. */
export function errorCodeOf(error: unknown): number {
  if (error instanceof LogError) return FROM_LOG[error.code];
  if (error instanceof AclError) return FROM_ACL[error.code];
  if (error instanceof CredentialStoreError) return FROM_CREDENTIALS[error.code];
  if (error instanceof QuotaError) return FROM_QUOTA[error.code];
  if (error instanceof LegacyFormatError) return ErrorCode[error.code];
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
