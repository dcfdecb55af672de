import { LogClientError } from '../client/client-errors.js';

/**
 * Error codes of Confluent's REST Proxy v2 (io.confluent.kafkarest Errors and KafkaExceptionMapper): REST
 * clients match on them, so they are Confluent's, not ours. Where Confluent answers a plain HTTP failure
 * (malformed JSON, unsupported media type) its code is the HTTP status itself.
 */
export const KAFKA_REST_ERROR_CODES = {
  BAD_REQUEST: 400,
  INVALID_TOPIC: 40002,
  UNAUTHENTICATED: 40101,
  AUTHORIZATION_FAILED: 40301,
  TOPIC_NOT_FOUND: 40401,
  PARTITION_NOT_FOUND: 40402,
  NOT_ACCEPTABLE: 406,
  TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** Confluent's generic constraint violation: a body that parses but does not hold valid records. */
  INVALID_RECORDS: 422,
  TOO_MANY_REQUESTS: 42901,
  KAFKA_ERROR: 50002,
  KAFKA_RETRIABLE_ERROR: 50003,
  BROKER_NOT_AVAILABLE: 50302,
} as const;

/** A REST proxy failure as Confluent's clients expect it: an HTTP status and `{error_code, message}`. */
export class KafkaRestError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'KafkaRestError';
  }

  body(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

/** The codes beacon endpoints answer with: the HTTP API's own (src/http/errors.ts), in its `{error}` body. */
export type BeaconErrorCode =
  | 'BAD_BODY'
  | 'BAD_PARAMETER'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'LIMIT_EXCEEDED'
  | 'SERVICE_UNAVAILABLE';

export class BeaconError extends Error {
  constructor(
    readonly status: number,
    readonly code: BeaconErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BeaconError';
  }
}

/**
 * What a failed append means to an HTTP client: its own mistake (unknown topic or partition, a record too
 * large), back-pressure, or a log that could not take the records (worth retrying).
 */
export function kafkaRestErrorOfProduce(error: unknown): KafkaRestError {
  if (error instanceof KafkaRestError) return error;
  const { TOPIC_NOT_FOUND, PARTITION_NOT_FOUND, TOO_LARGE, TOO_MANY_REQUESTS } = KAFKA_REST_ERROR_CODES;
  if (error instanceof LogClientError) {
    switch (error.code) {
      case 'UNKNOWN_TOPIC':
        return new KafkaRestError(404, TOPIC_NOT_FOUND, error.message);
      case 'UNKNOWN_PARTITION':
        return new KafkaRestError(404, PARTITION_NOT_FOUND, error.message);
      case 'MESSAGE_TOO_LARGE':
        return new KafkaRestError(413, TOO_LARGE, error.message);
      case 'TOO_MANY_QUEUED_PRODUCES':
        return new KafkaRestError(429, TOO_MANY_REQUESTS, error.message);
      case 'CLIENT_CLOSED':
        return new KafkaRestError(503, KAFKA_REST_ERROR_CODES.BROKER_NOT_AVAILABLE, error.message);
      default:
        return new KafkaRestError(500, KAFKA_REST_ERROR_CODES.KAFKA_ERROR, error.message);
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  return new KafkaRestError(500, KAFKA_REST_ERROR_CODES.KAFKA_RETRIABLE_ERROR, `produce failed: ${message}`);
}
