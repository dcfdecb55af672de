import type { PartitionAppend, PartitionBatches, TopicLimits } from './batch-records.js';
import { LogClientError, type LogClientErrorCode, UnknownTopicError } from './client-errors.js';
import type {
  CommitEntry,
  DeleteRecordsEntry,
  FetchOptions,
  FetchRequest,
  PartitionOffsets,
  TopicPartition,
  TopicSpec,
} from './types.js';

/**
 * The calls a worker thread's PortLogClient makes to the thread that owns the log (LogPortServer), each
 * request tied to the type of its result so neither side casts.
 */
export interface LogPortCalls {
  describe: { request: { topic: string }; result: TopicLimits };
  ensureTopic: { request: { spec: TopicSpec }; result: number };
  offsets: { request: { partition: TopicPartition }; result: PartitionOffsets };
  alterTopicConfig: { request: { topic: string; config: Record<string, string> }; result: string[] };
  deleteRecords: { request: { entries: DeleteRecordsEntry[] }; result: number[] };
  /** Resolves to the offset of each append's first batch. */
  append: { request: { appends: PartitionAppend[] }; result: number[] };
  fetch: { request: { requests: FetchRequest[]; options: FetchOptions }; result: PartitionBatches[] };
  /** The partitions of `topics` this worker's member of the group gets. */
  join: { request: { groupId: string; topics: string[] }; result: TopicPartition[] };
  commit: { request: { groupId: string; offsets: CommitEntry[] }; result: null };
}

export type LogPortOp = keyof LogPortCalls;

/** A call's op and request, tied together. */
export type LogPortRequest = {
  [Op in LogPortOp]: { op: Op; request: LogPortCalls[Op]['request'] };
}[LogPortOp];

/** A call's op and result, tied together: the reply names its op so the caller narrows it without a cast. */
export type LogPortResult = {
  [Op in LogPortOp]: { op: Op; result: LogPortCalls[Op]['result'] };
}[LogPortOp];

export type LogPortCall = { kind: 'call'; id: number } & LogPortRequest;

/** An error as it crosses the port: LogClientErrors keep their code (and an unknown topic its name). */
export interface PortError {
  code: LogClientErrorCode | null;
  message: string;
  topic?: string;
}

export type LogPortReply =
  | ({ kind: 'reply'; id: number; ok: true } & LogPortResult)
  | { kind: 'reply'; id: number; ok: false; error: PortError };

/** The reply to a call of one op came back naming another: the two threads disagree on the protocol. */
export function mismatchedReply(asked: LogPortOp, answered: LogPortOp): Error {
  return new Error(`a '${asked}' call was answered as '${answered}'`);
}

export function toPortError(error: unknown): PortError {
  if (error instanceof UnknownTopicError)
    return { code: error.code, message: error.message, topic: error.topic };
  if (error instanceof LogClientError) {
    return { code: error.code, message: error.message.slice(`${error.code}: `.length) };
  }
  return { code: null, message: error instanceof Error ? error.message : String(error) };
}

export function fromPortError(error: PortError): Error {
  if (error.topic !== undefined) return new UnknownTopicError(error.topic);
  if (error.code !== null) return new LogClientError(error.code, error.message);
  return new Error(error.message);
}

/**
 * A Buffer as a structured clone delivers it (a Uint8Array) made a Buffer again, without copying.
 */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The ArrayBuffers of `buffers` that can move to the other thread instead of being copied: only those a
 * Buffer spans whole. A small Buffer is a view of Node's shared allocation pool, which must stay here.
 */
export function transferable(buffers: Iterable<Uint8Array>): ArrayBuffer[] {
  const moved = new Set<ArrayBuffer>();
  for (const bytes of buffers) {
    const { buffer } = bytes;
    if (buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength)
      moved.add(buffer);
  }
  return [...moved];
}
