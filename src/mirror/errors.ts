export type MirrorErrorCode =
  | 'INVALID_OPTIONS'
  | 'TARGET_TOO_FEW_PARTITIONS'
  | 'TARGET_FOREIGN_RECORDS'
  | 'RECORD_REFUSED';

/** An error the mirror cannot get past by reconnecting: it stops, and whenStopped() rejects with it. */
export class MirrorError extends Error {
  constructor(
    readonly code: MirrorErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'MirrorError';
  }
}
