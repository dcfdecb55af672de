import { crc32, gzipSync } from 'node:zlib';
import { decompressForConversion } from './conversion-codecs.js';
import type { ErrorCodeName } from './error-codes.js';
import { DecompressionError, UnsupportedCompressionError } from './record-batch.js';
import { Compression, compressionOf, readInt64, writeInt64 } from './record-batch-header.js';

/**
 * Kafka's message formats before RecordBatch v2: magic 0 (Kafka 0.8-0.9) and magic 1 (0.10, adds a timestamp).
 * A message set is entries of [offset int64][message size int32][message] back to back; a message is
 * [crc int32][magic int8][attributes int8]([timestamp int64] from magic 1)[key bytes][value bytes], the CRC
 * being CRC-32 (IEEE, not the 32C of v2) over everything after it. A compressed message is a wrapper whose
 * value is a whole inner message set, compressed.
 */
export const LegacyField = {
  offset: 0,
  messageSize: 8,
  crc: 12,
  magic: 16,
  attributes: 17,
  timestamp: 18,
} as const;

export type LegacyMagic = 0 | 1;
/** Offset and message size precede every message of a set. */
export const LEGACY_LOG_OVERHEAD_BYTES = 12;
/** crc, magic, attributes and the two length prefixes: the least a magic 0 message takes. */
const MESSAGE_V0_MIN_BYTES = 4 + 1 + 1 + 4 + 4;
const TIMESTAMP_BYTES = 8;
const TIMESTAMP_TYPE_LOG_APPEND_BIT = 0x08;
/** What magic 0 messages carry in place of a timestamp, as Kafka's RecordBatch.NO_TIMESTAMP. */
export const NO_TIMESTAMP = -1;

export interface LegacyMessage {
  /** The entry's offset as written: absolute from a broker, anything a producer chose. */
  offset: number;
  magic: LegacyMagic;
  compression: Compression;
  /** NO_TIMESTAMP for magic 0. */
  timestamp: number;
  logAppendTime: boolean;
  key: Buffer | null;
  /** A wrapper's value is its compressed inner message set. */
  value: Buffer | null;
}

/** Why a legacy message set cannot be read, under the Kafka error code it is answered with. */
export class LegacyFormatError extends Error {
  constructor(
    readonly code: Extract<
      ErrorCodeName,
      'CORRUPT_MESSAGE' | 'INVALID_RECORD' | 'INVALID_TIMESTAMP' | 'UNSUPPORTED_COMPRESSION_TYPE'
    >,
    message: string,
  ) {
    super(message);
    this.name = 'LegacyFormatError';
  }
}

function messageOverheadBytes(magic: LegacyMagic): number {
  return MESSAGE_V0_MIN_BYTES + (magic === 1 ? TIMESTAMP_BYTES : 0);
}

/**
 * Decodes a whole message set, top level only (a wrapper stays compressed: see inflateWrapper). Every CRC is
 * checked; a set that does not end on a message boundary, a size or length out of bounds, or an unknown
 * magic is CORRUPT_MESSAGE, as Kafka answers a producer that sends one.
 */
export function decodeLegacyMessageSet(bytes: Buffer): LegacyMessage[] {
  const messages: LegacyMessage[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + LEGACY_LOG_OVERHEAD_BYTES > bytes.length) corrupt(`entry at byte ${at} is cut short`);
    const size = bytes.readInt32BE(at + LegacyField.messageSize);
    const end = at + LEGACY_LOG_OVERHEAD_BYTES + size;
    if (size < MESSAGE_V0_MIN_BYTES || end > bytes.length) {
      corrupt(
        `message at byte ${at} has size ${size}, outside ${MESSAGE_V0_MIN_BYTES}..${bytes.length - at - 12}`,
      );
    }
    messages.push(decodeMessage(bytes.subarray(at, end)));
    at = end;
  }
  return messages;
}

function decodeMessage(entry: Buffer): LegacyMessage {
  const magic = entry.readInt8(LegacyField.magic);
  if (magic !== 0 && magic !== 1) corrupt(`message magic ${magic} is not 0 or 1`);
  if (entry.length < LEGACY_LOG_OVERHEAD_BYTES + messageOverheadBytes(magic)) {
    corrupt(`magic ${magic} message of ${entry.length - LEGACY_LOG_OVERHEAD_BYTES} bytes is too short`);
  }
  const stored = entry.readUInt32BE(LegacyField.crc);
  const computed = crc32(entry.subarray(LegacyField.magic));
  if (stored !== computed) corrupt(`message CRC ${stored} does not match its contents (${computed})`);
  const attributes = entry.readInt8(LegacyField.attributes);
  let at = LegacyField.timestamp;
  const timestamp = magic === 1 ? readInt64(entry, at) : NO_TIMESTAMP;
  // Milliseconds since the epoch or NO_TIMESTAMP; past 2^53 a JS number could not carry it exactly.
  if (timestamp < NO_TIMESTAMP || !Number.isSafeInteger(timestamp)) {
    throw new LegacyFormatError('INVALID_TIMESTAMP', `message timestamp ${timestamp} is not a time`);
  }
  if (magic === 1) at += TIMESTAMP_BYTES;
  const key = readBytes(entry, at);
  at += 4 + (key?.length ?? 0);
  const value = readBytes(entry, at);
  at += 4 + (value?.length ?? 0);
  if (at !== entry.length) corrupt(`message fields end at byte ${at}, its size says ${entry.length}`);
  return {
    offset: readInt64(entry, LegacyField.offset),
    magic,
    compression: compressionOf(attributes),
    timestamp,
    logAppendTime: magic === 1 && (attributes & TIMESTAMP_TYPE_LOG_APPEND_BIT) !== 0,
    key,
    value,
  };
}

function readBytes(entry: Buffer, at: number): Buffer | null {
  if (at + 4 > entry.length) corrupt(`length field at byte ${at} is past the message end`);
  const length = entry.readInt32BE(at);
  if (length === -1) return null;
  if (length < 0 || at + 4 + length > entry.length)
    corrupt(`length ${length} at byte ${at} is out of bounds`);
  return entry.subarray(at + 4, at + 4 + length);
}

/**
 * The messages a compressed wrapper holds, inflated into at most `maxDecompressedBytes`. As Kafka requires,
 * inner messages are uncompressed and share the wrapper's magic; under a magic 1 wrapper with LogAppendTime
 * every inner message takes the wrapper's timestamp.
 */
export function inflateWrapper(wrapper: LegacyMessage, maxDecompressedBytes: number): LegacyMessage[] {
  if (wrapper.value === null) invalid('a compressed wrapper message has a null value');
  let inner: Buffer;
  try {
    inner = decompressForConversion(wrapper.compression, wrapper.value, maxDecompressedBytes);
  } catch (error) {
    if (error instanceof UnsupportedCompressionError) {
      throw new LegacyFormatError('UNSUPPORTED_COMPRESSION_TYPE', error.message);
    }
    if (error instanceof DecompressionError) throw new LegacyFormatError('CORRUPT_MESSAGE', error.message);
    throw error;
  }
  const messages = decodeLegacyMessageSet(inner);
  if (messages.length === 0) invalid('a compressed wrapper message holds no messages');
  for (const message of messages) {
    if (message.compression !== Compression.None)
      invalid('a compressed message nests another compressed one');
    if (message.magic !== wrapper.magic) {
      invalid(`magic ${message.magic} message inside a magic ${wrapper.magic} wrapper`);
    }
    if (wrapper.logAppendTime) {
      message.timestamp = wrapper.timestamp;
      message.logAppendTime = true;
    }
  }
  return messages;
}

export interface LegacyMessageInput {
  offset: number;
  /** Written by magic 1 only. */
  timestamp: number;
  logAppendTime?: boolean;
  key: Buffer | null;
  value: Buffer | null;
}

/** Bytes one uncompressed message takes in a set at `magic`, offset and size fields included. */
export function legacyEntryBytes(message: LegacyMessageInput, magic: LegacyMagic): number {
  return (
    LEGACY_LOG_OVERHEAD_BYTES +
    messageOverheadBytes(magic) +
    (message.key?.length ?? 0) +
    (message.value?.length ?? 0)
  );
}

/**
 * Encodes messages as one message set at `magic`. With gzip, the set is wrapped as Kafka's producers wrap it:
 * magic 0 inner offsets as given, magic 1 inner offsets relative (0, 1, ...) and the wrapper at the last one's
 * offset with the greatest timestamp.
 */
export function encodeLegacyMessageSet(
  messages: LegacyMessageInput[],
  magic: LegacyMagic,
  compression: typeof Compression.None | typeof Compression.Gzip = Compression.None,
): Buffer {
  if (compression === Compression.None) return encodeUncompressed(messages, magic);
  if (messages.length === 0) throw new RangeError('a compressed wrapper needs at least one message');
  const inner = encodeUncompressed(
    magic === 1 ? messages.map((message, i) => ({ ...message, offset: i })) : messages,
    magic,
  );
  const last = messages[messages.length - 1]!;
  const wrapper = {
    offset: last.offset,
    timestamp: Math.max(...messages.map((message) => message.timestamp)),
    key: null,
    value: gzipSync(inner),
  };
  const out = Buffer.allocUnsafe(legacyEntryBytes(wrapper, magic));
  writeMessage(out, 0, wrapper, magic, compression);
  return out;
}

function encodeUncompressed(messages: LegacyMessageInput[], magic: LegacyMagic): Buffer {
  const out = Buffer.allocUnsafe(messages.reduce((sum, m) => sum + legacyEntryBytes(m, magic), 0));
  let at = 0;
  for (const message of messages) at = writeMessage(out, at, message, magic, Compression.None);
  return out;
}

/** Writes one entry at `at` and returns where it ends. */
function writeMessage(
  out: Buffer,
  at: number,
  message: LegacyMessageInput,
  magic: LegacyMagic,
  compression: Compression,
): number {
  const end = at + legacyEntryBytes(message, magic);
  writeInt64(out, at + LegacyField.offset, message.offset);
  out.writeInt32BE(end - at - LEGACY_LOG_OVERHEAD_BYTES, at + LegacyField.messageSize);
  out.writeInt8(magic, at + LegacyField.magic);
  const timestampType = magic === 1 && message.logAppendTime === true ? TIMESTAMP_TYPE_LOG_APPEND_BIT : 0;
  out.writeInt8(compression | timestampType, at + LegacyField.attributes);
  let field = at + LegacyField.timestamp;
  if (magic === 1) {
    writeInt64(out, field, message.timestamp);
    field += TIMESTAMP_BYTES;
  }
  field = writeBytes(out, field, message.key);
  field = writeBytes(out, field, message.value);
  out.writeUInt32BE(crc32(out.subarray(at + LegacyField.magic, end)), at + LegacyField.crc);
  return end;
}

function writeBytes(out: Buffer, at: number, bytes: Buffer | null): number {
  if (bytes === null) {
    out.writeInt32BE(-1, at);
    return at + 4;
  }
  out.writeInt32BE(bytes.length, at);
  return at + 4 + bytes.copy(out, at + 4);
}

function corrupt(message: string): never {
  throw new LegacyFormatError('CORRUPT_MESSAGE', message);
}

function invalid(message: string): never {
  throw new LegacyFormatError('INVALID_RECORD', message);
}
