/** Stable codes for what the store refuses or cannot do; the HTTP API maps them to JSON error codes. */
export type StoreErrorCode =
  | 'INVALID_ARGUMENT'
  | 'LIMIT_EXCEEDED'
  | 'CORRUPT_DATABASE'
  | 'DATABASE_UNWRITABLE'
  | 'SCHEMA_TOO_NEW'
  | 'DISK_FULL'
  | 'STORE_CLOSED'
  | 'IO_ERROR';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
    this.name = 'StoreError';
  }
}
