import { WireReader, WireWriter } from '../protocol/index.js';

/**
 * The records of `__transaction_state` in Kafka's own format (TransactionLogKey v0, TransactionLogValue v0
 * written, v0 and v1 read), so the log reads the same to Kafka's tools. Pending transactional offsets, which
 * Kafka keeps in `__consumer_offsets`, are records of their own here under a key version Kafka's loader
 * skips as unknown (docs/architecture.md, "Transactions").
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

export interface PendingOffset {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
}

/** The offsets a transaction has committed so far for one group, applied to the group only if it commits. */
export interface PendingOffsetsValue {
  producerId: number;
  producerEpoch: number;
  offsets: PendingOffset[];
}

export type TxnLogKey =
  | { kind: 'transaction'; transactionalId: string }
  | { kind: 'pendingOffsets'; transactionalId: string; groupId: string }
  | { kind: 'unknown'; version: number };

const TXN_KEY_VERSION = 0;
/** Far above any TransactionLogKey version Kafka will define: its loader ignores keys of unknown versions. */
const PENDING_OFFSETS_KEY_VERSION = 32_000;
const PENDING_OFFSETS_VALUE_VERSION = 0;
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

export function encodePendingOffsetsKey(transactionalId: string, groupId: string): Buffer {
  return bufferOf(
    new WireWriter().int16(PENDING_OFFSETS_KEY_VERSION).string(transactionalId, false).string(groupId, false),
  );
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
  if (version === PENDING_OFFSETS_KEY_VERSION) {
    const transactionalId = requiredString(r, false, 'transactional id');
    return { kind: 'pendingOffsets', transactionalId, groupId: requiredString(r, false, 'group id') };
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

export function encodePendingOffsets(value: PendingOffsetsValue): Buffer {
  const w = new WireWriter()
    .int16(PENDING_OFFSETS_VALUE_VERSION)
    .int64(value.producerId)
    .int16(value.producerEpoch)
    .arrayLength(value.offsets.length, false);
  for (const o of value.offsets) {
    w.string(o.topic, false)
      .int32(o.partition)
      .int64(o.offset)
      .int32(o.leaderEpoch)
      .string(o.metadata, false);
  }
  return bufferOf(w);
}

export function decodePendingOffsets(buffer: Buffer): PendingOffsetsValue {
  const r = new WireReader(buffer);
  const version = r.int16();
  if (version !== PENDING_OFFSETS_VALUE_VERSION) {
    throw new RangeError(`pending offsets version ${version} is not known`);
  }
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const offsets: PendingOffset[] = [];
  const count = r.arrayLength(false) ?? 0;
  for (let i = 0; i < count; i++) {
    offsets.push({
      topic: requiredString(r, false, 'topic'),
      partition: r.int32(),
      offset: r.int64(),
      leaderEpoch: r.int32(),
      metadata: r.string(false),
    });
  }
  return { producerId, producerEpoch, offsets };
}
