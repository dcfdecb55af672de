import assert from 'node:assert/strict';
import { decompressForConversion } from './conversion-codecs.js';
import {
  decodeLegacyMessageSet,
  encodeLegacyMessageSet,
  inflateWrapper,
  LEGACY_LOG_OVERHEAD_BYTES,
  LegacyField,
  LegacyFormatError,
  type LegacyMagic,
  type LegacyMessage,
  type LegacyMessageInput,
  legacyEntryBytes,
} from './legacy-message-set.js';
import {
  DecompressionError,
  decodeRecords,
  encodeRecordBatch,
  splitBatches,
  UnsupportedCompressionError,
} from './record-batch.js';
import {
  BatchField,
  Compression,
  isControlBatch,
  isLogAppendTime,
  RECORD_BATCH_MAGIC,
  readBatchHeader,
} from './record-batch-header.js';

/**
 * Conversion between the log's RecordBatch v2 and the message sets of clients older than Kafka 0.11, as
 * Kafka 2.x/3.x convert: only requests in the old formats pay for it; v2 requests never reach this module.
 */

/** The magic of a produce request's records: the byte sits at the same place in all three formats. */
export function recordsMagic(records: Buffer): number | null {
  return records.length > BatchField.magic ? records.readInt8(BatchField.magic) : null;
}

/** The message format a Fetch version's client reads, as Kafka picks it: null for RecordBatch v2 (v4+). */
export function legacyMagicForFetch(fetchVersion: number): LegacyMagic | null {
  if (fetchVersion <= 1) return 0;
  return fetchVersion <= 3 ? 1 : null;
}

/**
 * A producer's magic 0/1 message set as RecordBatch v2 batches for the log: one batch per run of uncompressed
 * messages and one gzip batch per compressed wrapper, keeping keys, values and timestamps (magic 0 has none:
 * NO_TIMESTAMP). The producer's offsets are dropped: the log assigns its own. All wrappers of the set together
 * inflate to at most `maxDecompressedBytes`, so a request of many small bombs costs no more than one.
 * Throws LegacyFormatError.
 */
export function upConvertMessageSet(messageSet: Buffer, maxDecompressedBytes: number): Buffer {
  const messages = decodeLegacyMessageSet(messageSet);
  if (messages.length === 0) throw new LegacyFormatError('INVALID_RECORD', 'an empty message set');
  const batches: Buffer[] = [];
  let run: LegacyMessage[] = [];
  let inflateBudgetBytes = maxDecompressedBytes;
  const flush = (): void => {
    if (run.length > 0) batches.push(toBatch(run, Compression.None));
    run = [];
  };
  for (const message of messages) {
    if (message.compression === Compression.None) {
      run.push(message);
      continue;
    }
    flush();
    const inner = inflateWrapper(message, inflateBudgetBytes);
    inflateBudgetBytes -= inner.reduce((sum, m) => sum + legacyEntryBytes(m, m.magic), 0);
    // Compressed stays compressed, so the batch is about the size the producer sent (under max.message.bytes):
    // gzip, the one codec this process compresses, whatever the wrapper's was (snappy and LZ4 included).
    batches.push(toBatch(inner, Compression.Gzip));
  }
  flush();
  return Buffer.concat(batches);
}

function toBatch(
  messages: LegacyMessage[],
  compression: typeof Compression.None | typeof Compression.Gzip,
): Buffer {
  return encodeRecordBatch(
    messages.map(({ key, value, timestamp }) => ({ key, value, timestamp })),
    { compression, baseTimestamp: messages[0]!.timestamp },
  );
}

/**
 * The log's RecordBatch v2 bytes as a message set at `magic` for an old consumer: control batches are dropped
 * (old clients know no transactions), headers are dropped (the old formats have none), records below
 * `fetchOffset` (a batch may start before it) are left out, and LogAppendTime batches keep that type.
 *
 * Messages are written uncompressed, whatever the batch's codec: re-compressing would cost a compression per
 * fetch per old consumer, while the record bytes were already inflated to convert them; old consumers are few
 * and usually local, so bytes on the wire are the cheaper side. It also keeps the byte limit exact per message.
 *
 * Whole messages only, adding up to at most `maxBytes`, except that the first is returned whatever its size so
 * the consumer makes progress, as Kafka does. Throws LegacyFormatError for a batch it cannot decode.
 */
export function downConvertBatches(
  batches: Buffer,
  fetchOffset: number,
  magic: LegacyMagic,
  maxBytes: number,
  maxDecompressedBytes: number,
): Buffer {
  const messages: LegacyMessageInput[] = [];
  let bytes = 0;
  for (const batch of splitBatches(batches)) {
    const header = readBatchHeader(batch);
    assert.equal(header.magic, RECORD_BATCH_MAGIC, 'the log holds RecordBatch v2 only');
    if (isControlBatch(header.attributes)) continue;
    const logAppendTime = isLogAppendTime(header.attributes);
    for (const record of decodeForConversion(batch, maxDecompressedBytes)) {
      if (record.offset < fetchOffset) continue;
      const message = {
        offset: record.offset,
        timestamp: logAppendTime ? header.maxTimestamp : record.timestamp,
        logAppendTime,
        key: record.key,
        value: record.value,
      };
      const size = legacyEntryBytes(message, magic);
      if (messages.length > 0 && bytes + size > maxBytes) return encodeLegacyMessageSet(messages, magic);
      messages.push(message);
      bytes += size;
    }
  }
  return encodeLegacyMessageSet(messages, magic);
}

function decodeForConversion(batch: Buffer, maxDecompressedBytes: number): ReturnType<typeof decodeRecords> {
  try {
    return decodeRecords(batch, maxDecompressedBytes, decompressForConversion);
  } catch (error) {
    // Kafka answers an old consumer UNSUPPORTED_COMPRESSION_TYPE for zstd, which its format cannot carry (KIP-110).
    if (error instanceof UnsupportedCompressionError) {
      throw new LegacyFormatError('UNSUPPORTED_COMPRESSION_TYPE', error.message);
    }
    if (error instanceof DecompressionError) throw new LegacyFormatError('CORRUPT_MESSAGE', error.message);
    // The log checks a batch's framing and CRC, not its records: records that do not parse are corrupt here.
    if (error instanceof RangeError) throw new LegacyFormatError('CORRUPT_MESSAGE', error.message);
    throw error;
  }
}

/** The number of top-level messages in a message set this module wrote (uncompressed, so one per record). */
export function countLegacyMessages(messageSet: Buffer): number {
  let count = 0;
  for (let at = 0; at + LEGACY_LOG_OVERHEAD_BYTES <= messageSet.length; count++) {
    at += LEGACY_LOG_OVERHEAD_BYTES + messageSet.readInt32BE(at + LegacyField.messageSize);
  }
  return count;
}

/**
 * Reads from `fetchOffset` through `read` (a log read of whole v2 batches) and down-converts what it returns.
 * When every record read converts to nothing (control batches only), it reads on past them, so an old
 * consumer is not answered empty, and stuck, at a transaction marker that more data follows.
 */
export function readDownConverted<Read extends { records: Buffer }>(
  read: (offset: number, maxBytes: number) => Read,
  fetchOffset: number,
  magic: LegacyMagic,
  maxBytes: number,
  maxDecompressedBytes: number,
): Read {
  for (let offset = fetchOffset; ; ) {
    const result = read(offset, maxBytes);
    const records = downConvertBatches(result.records, fetchOffset, magic, maxBytes, maxDecompressedBytes);
    if (records.length > 0 || result.records.length === 0) return { ...result, records };
    const batches = splitBatches(result.records);
    const last = readBatchHeader(batches[batches.length - 1]!);
    const next = last.baseOffset + last.lastOffsetDelta + 1;
    assert.ok(next > offset, `a read at ${offset} returned batches ending before it`);
    offset = next;
  }
}
