/**
 * Stable codes for everything a LogClient refuses or cannot do, the same from both clients: callers match on
 * `.code`, never on which client they hold. Where Kafka has a name for the failure the code is Kafka's.
 */
export type LogClientErrorCode =
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_TOPIC'
  | 'UNKNOWN_PARTITION'
  | 'MESSAGE_TOO_LARGE'
  | 'CORRUPT_MESSAGE'
  | 'OFFSET_OUT_OF_RANGE'
  | 'UNSUPPORTED_COMPRESSION_TYPE'
  | 'TOO_MANY_WAITING_FETCHES'
  | 'TOO_MANY_QUEUED_PRODUCES'
  | 'GROUP_ALREADY_JOINED'
  | 'GROUP_HAS_MEMBERS'
  | 'NOT_A_MEMBER'
  | 'COMMIT_FAILED'
  | 'UNSUPPORTED_BY_CLUSTER'
  | 'PRODUCER_FENCED'
  | 'REQUEST_TIMED_OUT'
  | 'CLIENT_CLOSED';

export class LogClientError extends Error {
  constructor(
    readonly code: LogClientErrorCode,
    message: string,
    options?: { cause: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'LogClientError';
  }
}

/** Asked for a topic the log does not have; carries its name so a caller can create it and retry. */
export class UnknownTopicError extends LogClientError {
  constructor(readonly topic: string) {
    super('UNKNOWN_TOPIC', `topic '${topic}' does not exist`);
    this.name = 'UnknownTopicError';
  }
}

/**
 * A transactional writer's producer was fenced: another producer started with the same transactional id (a new
 * owner of the work), or the cluster dropped this one's id. Nothing more can be written through the writer; its
 * open transaction, if any, was aborted by the cluster. The caller stops the work it did through it.
 */
export class ProducerFencedError extends LogClientError {
  constructor(
    readonly transactionalId: string,
    options?: { cause: unknown },
  ) {
    super(
      'PRODUCER_FENCED',
      `the producer of transactional id '${transactionalId}' was fenced by a newer one`,
      options,
    );
    this.name = 'ProducerFencedError';
  }
}
