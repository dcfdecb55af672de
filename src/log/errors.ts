/** Stable codes for everything the log refuses or cannot do; the broker maps them to Kafka error codes. */
export type LogErrorCode =
  | 'CORRUPT_MESSAGE'
  | 'MESSAGE_TOO_LARGE'
  | 'OFFSET_OUT_OF_RANGE'
  | 'CORRUPT_SEGMENT'
  | 'DISK_FULL'
  | 'TOO_MANY_OPEN_SEGMENTS'
  | 'LOG_CLOSED'
  | 'IO_ERROR'
  | 'INVALID_CONFIG'
  | 'TOPIC_ALREADY_EXISTS'
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'INVALID_TOPIC'
  | 'INVALID_PRODUCER_EPOCH'
  | 'INVALID_RECORD';

export class LogError extends Error {
  constructor(
    readonly code: LogErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'LogError';
  }
}

/** A batch on disk failed its checks in a place where it is not a torn tail: data was damaged at rest. */
export class CorruptSegmentError extends LogError {
  constructor(
    readonly path: string,
    readonly position: number,
    readonly offset: number,
    reason: string,
  ) {
    super('CORRUPT_SEGMENT', `${path} at byte ${position} (offset ${offset}): ${reason}`);
    this.name = 'CorruptSegmentError';
  }
}

export function isNodeError(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/** Wraps a failed file-system call; ENOSPC becomes DISK_FULL so callers can answer it specifically. */
export function ioError(error: unknown, what: string): LogError {
  // Already one of ours (a deferred fsync failure, say): its code and message stand.
  if (error instanceof LogError) return error;
  if (isNodeError(error, 'ENOSPC') || isNodeError(error, 'EDQUOT')) {
    return new LogError('DISK_FULL', `${what}: no space left on device`, { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new LogError('IO_ERROR', `${what}: ${detail}`, { cause: error });
}
