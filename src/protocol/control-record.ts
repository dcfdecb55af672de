import { encodeRecordBatch } from './record-batch.js';
import { CONTROL_BIT, TRANSACTIONAL_BIT } from './record-batch-header.js';

/** Fetch and ListOffsets isolation_level: read_committed sees only below the last stable offset (KIP-98). */
export const IsolationLevel = { READ_UNCOMMITTED: 0, READ_COMMITTED: 1 } as const;

/** Kafka's ControlRecordType: the type field of a control record's key. */
export const ControlRecordType = { ABORT: 0, COMMIT: 1 } as const;

/** The only version of the control record key and of the end-transaction marker value Kafka writes. */
const CONTROL_RECORD_VERSION = 0;
/** Key: int16 version, int16 type. */
const CONTROL_KEY_BYTES = 4;
/** Value (EndTransactionMarker): int16 version, int32 coordinator epoch. */
const MARKER_VALUE_BYTES = 6;

export interface EndTransactionMarker {
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  committed: boolean;
}

/** The control batch that ends a producer's transaction in one partition, as the partition leader appends it. */
export function encodeMarkerBatch(marker: EndTransactionMarker, timestampMs: number): Buffer {
  const key = Buffer.alloc(CONTROL_KEY_BYTES);
  key.writeInt16BE(CONTROL_RECORD_VERSION, 0);
  key.writeInt16BE(marker.committed ? ControlRecordType.COMMIT : ControlRecordType.ABORT, 2);
  const value = Buffer.alloc(MARKER_VALUE_BYTES);
  value.writeInt16BE(CONTROL_RECORD_VERSION, 0);
  value.writeInt32BE(marker.coordinatorEpoch, 2);
  return encodeRecordBatch([{ key, value, timestamp: timestampMs }], {
    producerId: marker.producerId,
    producerEpoch: marker.producerEpoch,
    baseSequence: -1,
    flags: CONTROL_BIT | TRANSACTIONAL_BIT,
  });
}

/**
 * The control type of a control record's key (ABORT, COMMIT, or another Kafka defines), or null when the key
 * is too short to hold one. Unknown versions are read as Kafka does: the type field is stable across them.
 */
export function controlRecordType(key: Buffer | null): number | null {
  if (!key || key.length < CONTROL_KEY_BYTES) return null;
  return key.readInt16BE(2);
}

/** The coordinator epoch of an end-transaction marker's value, or null when the value is malformed. */
export function markerCoordinatorEpoch(value: Buffer | null): number | null {
  if (!value || value.length < MARKER_VALUE_BYTES) return null;
  return value.readInt32BE(2);
}
