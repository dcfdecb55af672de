import { WireReader, WireWriter } from '../protocol/index.js';

/**
 * The records of `__transaction_state` in Kafka's own format (TransactionLogKey v0, TransactionLogValue v0
 * written, v0 and v1 read), so the log reads the same to Kafka's tools. Keys of other versions are skipped
 * as Kafka's loader does: among them the pending transactional offsets an older version kept here (version
 * 32000), which now are transactional records of `__consumer_offsets`, as in Kafka.
 */

export const TRANSACTION_STATE_TOPIC = '__transaction_state';

/** Kafka's TransactionState ids, as the log stores them. */
export const TxnState = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
} as const;
export type TxnState = (typeof TxnState)[keyof typeof TxnState];

/** The state names DescribeTransactions and ListTransactions use, by id. */
export const TXN_STATE_NAMES: ReadonlyMap<TxnState, string> = new Map(
  Object.entries(TxnState).map(([name, id]) => [id, name]),
);

const STATE_IDS: ReadonlySet<number> = new Set(Object.values(TxnState));

export function isTxnState(value: number): value is TxnState {
  return STATE_IDS.has(value);
}

export interface TxnPartitions {
  topic: string;
  partitions: number[];
}

/** One TransactionLogValue. */
export interface TxnLogValue {
  producerId: number;
  /** v1's tagged PreviousProducerId; -1 when none (always in v0). */
  previousProducerId: number;
  producerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  partitions: TxnPartitions[];
  lastUpdateMs: number;
  startMs: number;
}

export type TxnLogKey =
  | { kind: 'transaction'; transactionalId: string }
  | { kind: 'unknown'; version: number };

const TXN_KEY_VERSION = 0;
const VALUE_VERSION_WRITTEN = 0;
/** TransactionLogValue v1 is flexible: compact strings and arrays, tagged fields. */
const FIRST_FLEXIBLE_VALUE_VERSION = 1;
const TAG_PREVIOUS_PRODUCER_ID = 0;

function bufferOf(w: WireWriter): Buffer {
  return Buffer.concat(w.finish());
}

export function encodeTxnKey(transactionalId: string): Buffer {
  return bufferOf(new WireWriter().int16(TXN_KEY_VERSION).string(transactionalId, false));
}

function requiredString(r: WireReader, compact: boolean, what: string): string {
  const value = r.string(compact);
  if (value === null) throw new RangeError(`${what} is null`);
  return value;
}

export function decodeTxnKey(key: Buffer): TxnLogKey {
  const r = new WireReader(key);
  const version = r.int16();
  if (version === TXN_KEY_VERSION) {
    return { kind: 'transaction', transactionalId: requiredString(r, false, 'transactional id') };
  }
  return { kind: 'unknown', version };
}

export function encodeTxnValue(value: TxnLogValue): Buffer {
  const w = new WireWriter()
    .int16(VALUE_VERSION_WRITTEN)
    .int64(value.producerId)
    .int16(value.producerEpoch)
    .int32(value.timeoutMs)
    .int8(value.state)
    .arrayLength(value.partitions.length, false);
  for (const p of value.partitions) {
    w.string(p.topic, false).arrayLength(p.partitions.length, false);
    for (const partition of p.partitions) w.int32(partition);
  }
  return bufferOf(w.int64(value.lastUpdateMs).int64(value.startMs));
}

/** Skips a flexible struct's tagged fields, handing each to `read` first (which may consume it). */
function readTaggedFields(r: WireReader, read: (tag: number, r: WireReader) => boolean): void {
  const count = r.unsignedVarint();
  for (let i = 0; i < count; i++) {
    const tag = r.unsignedVarint();
    const size = r.unsignedVarint();
    if (!read(tag, r)) r.raw(size);
  }
}

export function decodeTxnValue(buffer: Buffer): TxnLogValue {
  const r = new WireReader(buffer);
  const version = r.int16();
  if (version < 0 || version > FIRST_FLEXIBLE_VALUE_VERSION) {
    throw new RangeError(`TransactionLogValue version ${version} is not known`);
  }
  const flexible = version >= FIRST_FLEXIBLE_VALUE_VERSION;
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const timeoutMs = r.int32();
  const state = r.int8();
  if (!isTxnState(state)) throw new RangeError(`transaction state ${state} is not known`);
  const partitions: TxnPartitions[] = [];
  const topics = r.arrayLength(flexible) ?? 0;
  for (let t = 0; t < topics; t++) {
    const topic = requiredString(r, flexible, 'topic');
    const ids: number[] = [];
    const count = r.arrayLength(flexible) ?? 0;
    for (let i = 0; i < count; i++) ids.push(r.int32());
    if (flexible) readTaggedFields(r, () => false);
    partitions.push({ topic, partitions: ids });
  }
  const lastUpdateMs = r.int64();
  const startMs = r.int64();
  let previousProducerId = -1;
  if (flexible) {
    readTaggedFields(r, (tag, fields) => {
      if (tag !== TAG_PREVIOUS_PRODUCER_ID) return false;
      previousProducerId = fields.int64();
      return true;
    });
  }
  return {
    producerId,
    previousProducerId,
    producerEpoch,
    timeoutMs,
    state,
    partitions,
    lastUpdateMs,
    startMs,
  };
}
