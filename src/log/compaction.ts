import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_PREFIX_BYTES,
  BatchField,
  type BatchHeader,
  ByteReader,
  Compression,
  compressionOf,
  computeBatchCrc,
  DecompressionError,
  decompressRecords,
  isControlBatch,
  isLogAppendTime,
  isTransactional,
  readBatchHeader,
  splitBatches,
  UnsupportedCompressionError,
  writeInt64,
} from '../protocol/index.js';
import type { TopicConfig } from './config.js';
import { ioError, isNodeError, LogError } from './errors.js';
import type { Logger } from './logger.js';
import { fsyncDirectory, type Segment, type SegmentContext, writeFileAtomic } from './segment.js';
import { SegmentIndexBuilder } from './segment-index.js';

/**
 * Log compaction (cleanup.policy=compact): sealed segments are rewritten keeping only the latest record of
 * each key, like Kafka's log cleaner. Offsets never change, so a compacted log has gaps.
 *
 * A pass maps every key of the dirty part of the cleanable segments (those not compacted yet) to its
 * newest offset, then rewrites each cleanable segment from the log start dropping records the map
 * supersedes, records without a key and tombstones past delete.retention.ms. Segments are cleanable from
 * the log start up to the first one holding a record younger than min.compaction.lag.ms; the active
 * segment never is, so the log end offset stays where it is.
 *
 * A segment is replaced crash-safely: `<base>.log.cleaned` and its indexes are written and fsynced, the
 * log is renamed to `<base>.log.swap` (the commit point), then indexes and log are renamed over the old
 * files. Recovery discards `.cleaned` files and finishes a `.swap` (see recovery.ts).
 */

export const CLEANER_CHECKPOINT_FILE = '.cleaner-checkpoint';
export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';

/**
 * Bound on the key map of one pass (key bytes plus a per-entry overhead). When it fills, the pass compacts
 * up to the last batch it mapped and the next pass continues from there.
 */
export const DEFAULT_MAX_KEY_MAP_BYTES = 64 * 1024 * 1024;
/** Rough memory of a Map entry besides the key's bytes: the entry, the number and the string header. */
const KEY_MAP_ENTRY_OVERHEAD_BYTES = 64;
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

export interface CompactionStats {
  /** Segments rewritten or, when nothing in them survived, removed. */
  segmentsCleaned: number;
  /** Every record dropped, including the null-key records and tombstones counted below. */
  recordsRemoved: number;
  /** Records without a key, which a compacted topic cannot keep (Kafka's cleaner drops them too). */
  nullKeyRecordsRemoved: number;
  /** Tombstones dropped because they were older than delete.retention.ms. */
  tombstonesRemoved: number;
  /** Size of the cleaned segments before the pass. */
  bytesBefore: number;
  /** Size of the same offset ranges after it. */
  bytesAfter: number;
}

/** What a partition remembers between passes, in CLEANER_CHECKPOINT_FILE. */
export interface CleanerCheckpoint {
  /** Below this offset every key appears at most once: later passes map only the keys from here on. */
  cleanedUpToOffset: number;
  /** Below this offset, compaction may have removed batches (SegmentContext.compactedBelowOffset). */
  compactedBelowOffset: number;
  /** When the oldest tombstone kept by the last pass expires, so a pass is due even with nothing dirty. */
  tombstoneExpiryMs: number | null;
}

const EMPTY_CHECKPOINT: CleanerCheckpoint = {
  cleanedUpToOffset: 0,
  compactedBelowOffset: 0,
  tombstoneExpiryMs: null,
};

export function readCleanerCheckpoint(dir: string, logger: Logger): CleanerCheckpoint {
  const file = path.join(dir, CLEANER_CHECKPOINT_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (isNodeError(error, 'ENOENT')) return { ...EMPTY_CHECKPOINT };
    throw ioError(error, `read ${file}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (isCheckpoint(parsed)) return parsed;
  // It is written atomically, so this is damage at rest. Serving the log matters more than telling a
  // compaction gap from lost data, so every gap is accepted from now on and the next pass recompacts all.
  logger.error(
    { path: file, content: text.slice(0, 200) },
    'CORRUPT CLEANER CHECKPOINT: offset gaps in this partition can no longer be told from lost data',
  );
  return { cleanedUpToOffset: 0, compactedBelowOffset: Number.MAX_SAFE_INTEGER, tombstoneExpiryMs: null };
}

function isCheckpoint(value: unknown): value is CleanerCheckpoint {
  if (typeof value !== 'object' || value === null) return false;
  const fields = value as Record<string, unknown>;
  const expiry = fields.tombstoneExpiryMs;
  return (
    Number.isSafeInteger(fields.cleanedUpToOffset) &&
    Number.isSafeInteger(fields.compactedBelowOffset) &&
    (expiry === null || Number.isSafeInteger(expiry))
  );
}

function writeCleanerCheckpoint(dir: string, checkpoint: CleanerCheckpoint): void {
  writeFileAtomic(path.join(dir, CLEANER_CHECKPOINT_FILE), JSON.stringify(checkpoint));
  fsyncDirectory(dir);
}

/** One record of a batch as stored, with what compaction decides on. */
interface StoredRecord {
  /** The record's bytes including its length prefix, copied as they are into a rewritten batch. */
  raw: Buffer;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  isTombstone: boolean;
}

/** The newest offset of each key in the mapped range [.., endOffset). */
interface KeyMap {
  newestOffset: Map<string, number>;
  endOffset: number;
}

/** What compaction must know of the partition's transactions (KIP-98). */
export interface CompactionTransactions {
  /** The first offset of the oldest open transaction, or null: from there on nothing is cleaned, as in Kafka. */
  firstUnstableOffset(): number | null;
  /** Whether the producer's transactional batch at `offset` belongs to a transaction it aborted. */
  isAborted(producerId: number, offset: number): boolean;
}

/** The cleaner of one partition; the PartitionLog hands it its segment list (last one active). */
export class LogCompactor {
  constructor(
    private readonly dir: string,
    private readonly context: SegmentContext,
    private readonly logger: Logger,
    private checkpoint: CleanerCheckpoint,
    private readonly maxKeyMapBytes: number,
    /** A batch whose records inflate past this is kept whole, like one in a codec this process lacks. */
    readonly maxDecompressedBytes: number,
  ) {}

  /** True once the dirty ratio reaches min.cleanable.dirty.ratio or a kept tombstone has expired. */
  isDue(
    segments: Segment[],
    config: Readonly<TopicConfig>,
    nowMs: number,
    transactions: CompactionTransactions,
  ): boolean {
    const cleanable = cleanablePrefix(segments, config, nowMs, transactions);
    if (cleanable.length === 0) return false;
    let cleanBytes = 0;
    let dirtyBytes = 0;
    for (const segment of cleanable) {
      if (segment.nextOffset <= this.checkpoint.cleanedUpToOffset) cleanBytes += segment.size;
      else dirtyBytes += segment.size;
    }
    const expiry = this.checkpoint.tombstoneExpiryMs;
    if (expiry !== null && nowMs >= expiry) return true;
    return dirtyBytes > 0 && dirtyBytes / (cleanBytes + dirtyBytes) >= config.minCleanableDirtyRatio;
  }

  /** Runs one pass over the cleanable segments; `segments` is updated in place when one is removed. */
  compact(
    segments: Segment[],
    config: Readonly<TopicConfig>,
    nowMs: number,
    transactions: CompactionTransactions,
  ): CompactionStats {
    const stats: CompactionStats = {
      segmentsCleaned: 0,
      recordsRemoved: 0,
      nullKeyRecordsRemoved: 0,
      tombstonesRemoved: 0,
      bytesBefore: 0,
      bytesAfter: 0,
    };
    const cleanable = cleanablePrefix(segments, config, nowMs, transactions);
    if (cleanable.length === 0) return stats;
    const firstDirtyOffset = Math.max(this.checkpoint.cleanedUpToOffset, segments[0]!.baseOffset);
    const keyMap = this.buildKeyMap(cleanable, firstDirtyOffset, transactions);
    if (keyMap.endOffset > this.checkpoint.compactedBelowOffset) {
      // Before any gap exists on disk, so that recovery never mistakes one for lost data.
      this.saveCheckpoint({ ...this.checkpoint, compactedBelowOffset: keyMap.endOffset });
      this.context.compactedBelowOffset = keyMap.endOffset;
    }
    const filter = new RecordFilter(
      keyMap,
      nowMs,
      config.deleteRetentionMs,
      this.maxDecompressedBytes,
      transactions,
    );
    for (const segment of cleanable) {
      if (segment.baseOffset >= keyMap.endOffset) break;
      this.cleanSegment(segment, segments, filter, stats);
    }
    const oldestTombstoneMs = filter.oldestKeptTombstoneMs;
    this.saveCheckpoint({
      cleanedUpToOffset: Math.max(this.checkpoint.cleanedUpToOffset, keyMap.endOffset),
      compactedBelowOffset: this.checkpoint.compactedBelowOffset,
      tombstoneExpiryMs: oldestTombstoneMs === null ? null : oldestTombstoneMs + config.deleteRetentionMs,
    });
    stats.recordsRemoved = filter.recordsRemoved;
    stats.nullKeyRecordsRemoved = filter.nullKeyRecordsRemoved;
    stats.tombstonesRemoved = filter.tombstonesRemoved;
    if (filter.undecodableBatches > 0) {
      this.logger.warn(
        { dir: this.dir, batches: filter.undecodableBatches },
        'compaction kept batches it cannot decode whole (codec or malformed records); tombstones after them are kept',
      );
    }
    this.logger.info(
      { dir: this.dir, ...stats, keys: keyMap.newestOffset.size, cleanedUpToOffset: keyMap.endOffset },
      'compacted log',
    );
    return stats;
  }

  /**
   * Maps each key from `firstDirtyOffset` to the end of the cleanable segments to its newest offset, stopping
   * at a batch boundary when the map would outgrow its limit.
   */
  private buildKeyMap(
    cleanable: Segment[],
    firstDirtyOffset: number,
    transactions: CompactionTransactions,
  ): KeyMap {
    const newestOffset = new Map<string, number>();
    let mapBytes = 0;
    let endOffset = firstDirtyOffset;
    for (const segment of cleanable) {
      if (segment.nextOffset <= firstDirtyOffset) continue;
      for (const batch of batchesOf(segment)) {
        const header = readBatchHeader(batch);
        const batchEnd = header.baseOffset + header.lastOffsetDelta + 1;
        if (batchEnd <= firstDirtyOffset) continue;
        // Aborted records never count as a key's newest value: read_committed readers never saw them.
        const records =
          isControlBatch(header.attributes) || abortedBatch(header, transactions)
            ? []
            : (storedRecords(batch, header, this.maxDecompressedBytes) ?? []);
        const keys = records.flatMap((r) =>
          r.key ? [{ key: r.key.toString('latin1'), offset: r.offset }] : [],
        );
        const newKeys = new Set(keys.map((k) => k.key).filter((key) => !newestOffset.has(key)));
        const keyBytes = [...newKeys].reduce(
          (sum, key) => sum + key.length + KEY_MAP_ENTRY_OVERHEAD_BYTES,
          0,
        );
        if (mapBytes + keyBytes > this.maxKeyMapBytes && newestOffset.size > 0) {
          this.logger.info(
            { dir: this.dir, keys: newestOffset.size, mapBytes, endOffset },
            'compaction key map is full; this pass stops there and the next one continues',
          );
          return { newestOffset, endOffset };
        }
        for (const { key, offset } of keys) newestOffset.set(key, offset);
        mapBytes += keyBytes;
        endOffset = batchEnd;
      }
      endOffset = Math.max(endOffset, segment.nextOffset);
    }
    return { newestOffset, endOffset };
  }

  private cleanSegment(
    segment: Segment,
    segments: Segment[],
    filter: RecordFilter,
    stats: CompactionStats,
  ): void {
    const output = new CleanedSegmentWriter(segment, this.context.indexIntervalBytes);
    try {
      for (const batch of batchesOf(segment)) {
        const kept = filter.apply(batch);
        if (kept === batch) output.keep(batch);
        else if (kept) output.replace(kept);
        else output.drop();
      }
    } catch (error) {
      output.abort();
      throw error;
    }
    if (!output.diverged) return;
    const bytesBefore = segment.size;
    const position = segments.indexOf(segment);
    if (output.size === 0 && position > 0) {
      // Nothing survived: the previous segment takes over the offset range so the log start stays put.
      output.abort();
      segments.splice(position, 1);
      segments[position - 1]!.nextOffset = segment.nextOffset;
      segment.delete();
      fsyncDirectory(this.dir);
    } else {
      output.swapIn();
    }
    stats.segmentsCleaned++;
    stats.bytesBefore += bytesBefore;
    stats.bytesAfter += output.size;
  }

  /**
   * Offsets below `offset` may be missing without damage: a follower is about to write batches of its
   * compacted leader with gaps between them. Saved before the batches are, like a pass's own gaps.
   */
  allowGapsBelow(offset: number): void {
    if (offset <= this.checkpoint.compactedBelowOffset) return;
    this.saveCheckpoint({ ...this.checkpoint, compactedBelowOffset: offset });
    this.context.compactedBelowOffset = offset;
  }

  private saveCheckpoint(checkpoint: CleanerCheckpoint): void {
    writeCleanerCheckpoint(this.dir, checkpoint);
    this.checkpoint = checkpoint;
  }
}

/**
 * Sealed segments from the log start up to (not including) the first that is still being fsynced or, when
 * min.compaction.lag.ms is set, holds a record younger than that. Like Kafka, a lag of 0 skips the time
 * check, so records stamped in the future by a producer's clock do not hold compaction back.
 */
function cleanablePrefix(
  segments: Segment[],
  config: Readonly<TopicConfig>,
  nowMs: number,
  transactions: CompactionTransactions,
): Segment[] {
  const cleanable: Segment[] = [];
  const stableEnd = transactions.firstUnstableOffset() ?? Number.MAX_SAFE_INTEGER;
  for (const segment of segments.slice(0, -1)) {
    if (segment.syncsInFlight > 0 || segment.nextOffset > stableEnd) break;
    const newest = segment.maxTimestamp >= 0 ? segment.maxTimestamp : segment.createdAtMs;
    if (config.minCompactionLagMs > 0 && nowMs - newest < config.minCompactionLagMs) break;
    cleanable.push(segment);
  }
  return cleanable;
}

/** A transactional data batch of an aborted transaction: compaction removes it, as Kafka's cleaner does. */
function abortedBatch(header: BatchHeader, transactions: CompactionTransactions): boolean {
  return (
    isTransactional(header.attributes) &&
    !isControlBatch(header.attributes) &&
    transactions.isAborted(header.producerId, header.baseOffset)
  );
}

/** Decides record by record, in log order, what a pass keeps; counts what it drops. */
class RecordFilter {
  recordsRemoved = 0;
  nullKeyRecordsRemoved = 0;
  tombstonesRemoved = 0;
  undecodableBatches = 0;
  oldestKeptTombstoneMs: number | null = null;

  constructor(
    private readonly keyMap: KeyMap,
    private readonly nowMs: number,
    private readonly deleteRetentionMs: number,
    private readonly maxDecompressedBytes: number,
    private readonly transactions: CompactionTransactions,
  ) {}

  /** The batch itself when all of it stays, a rewritten batch when some records go, null when all do. */
  apply(batch: Buffer): Buffer | null {
    const header = readBatchHeader(batch);
    if (isControlBatch(header.attributes) || header.baseOffset >= this.keyMap.endOffset) return batch;
    if (abortedBatch(header, this.transactions)) {
      this.recordsRemoved += header.recordsCount;
      return null;
    }
    const records = storedRecords(batch, header, this.maxDecompressedBytes);
    if (!records) {
      this.undecodableBatches++;
      return batch;
    }
    const survivors = records.filter((record) => this.keeps(record));
    if (survivors.length === records.length) return batch;
    return survivors.length === 0 ? null : rebuildBatch(batch, header, survivors);
  }

  private keeps(record: StoredRecord): boolean {
    if (record.offset >= this.keyMap.endOffset) return true;
    if (!record.key) {
      this.nullKeyRecordsRemoved++;
      this.recordsRemoved++;
      return false;
    }
    const newest = this.keyMap.newestOffset.get(record.key.toString('latin1'));
    if (newest !== undefined && newest > record.offset) {
      this.recordsRemoved++;
      return false;
    }
    if (!record.isTombstone) return true;
    // An undecodable batch earlier in the log may hold an older value this tombstone still hides.
    if (this.undecodableBatches === 0 && this.nowMs - record.timestamp > this.deleteRetentionMs) {
      this.tombstonesRemoved++;
      this.recordsRemoved++;
      return false;
    }
    this.oldestKeptTombstoneMs = Math.min(this.oldestKeptTombstoneMs ?? record.timestamp, record.timestamp);
    return true;
  }
}

/** Every batch of a sealed segment in order, each checked against its CRC by Segment.read. */
function* batchesOf(segment: Segment): Generator<Buffer> {
  let position = 0;
  while (position < segment.size) {
    const bytes = segment.read(position, READ_CHUNK_BYTES, Number.POSITIVE_INFINITY);
    if (bytes.length === 0) throw segment.corruption(position, -1, 'no whole batch where one should start');
    yield* splitBatches(bytes);
    position += bytes.length;
  }
}

/** The records of a batch, or null when this process cannot decode them (codec, size or malformed). */
function storedRecords(
  batch: Buffer,
  header: BatchHeader,
  maxDecompressedBytes: number,
): StoredRecord[] | null {
  let body: Buffer;
  try {
    body = decompressRecords(batch, maxDecompressedBytes);
  } catch (error) {
    if (error instanceof UnsupportedCompressionError || error instanceof DecompressionError) return null;
    throw error;
  }
  const logAppendTime = isLogAppendTime(header.attributes);
  const reader = new ByteReader(body);
  const records: StoredRecord[] = [];
  try {
    for (let i = 0; i < header.recordsCount; i++) {
      const start = reader.pos;
      const length = reader.varint();
      const end = reader.pos + length;
      reader.int8();
      const timestampDelta = reader.varint();
      const offsetDelta = reader.varint();
      const key = reader.nullableVarintBytes();
      const valueLength = reader.varint();
      if (length < 0 || end > body.length || valueLength > end - reader.pos) return null;
      reader.pos = end;
      records.push({
        raw: body.subarray(start, end),
        offset: header.baseOffset + offsetDelta,
        timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
        key,
        isTombstone: valueLength < 0,
      });
    }
  } catch (error) {
    if (error instanceof RangeError) return null;
    throw error;
  }
  return reader.pos === body.length ? records : null;
}

/**
 * The batch with only `survivors`, in the codec it came in. baseOffset, baseTimestamp, lastOffsetDelta and
 * each record's deltas stay as they were, so offsets and timestamps read back unchanged and a fetcher
 * still moves on to baseOffset + lastOffsetDelta + 1.
 */
function rebuildBatch(original: Buffer, header: BatchHeader, survivors: StoredRecord[]): Buffer {
  const plain = Buffer.concat(survivors.map((record) => record.raw));
  const body = compressionOf(header.attributes) === Compression.Gzip ? gzipSync(plain) : plain;
  const batch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + body.length);
  original.copy(batch, 0, 0, BATCH_HEADER_BYTES);
  batch.writeInt32BE(batch.length - BATCH_LENGTH_PREFIX_BYTES, BatchField.batchLength);
  batch.writeInt32BE(survivors.length, BatchField.recordsCount);
  if (!isLogAppendTime(header.attributes)) {
    const maxTimestamp = survivors.reduce((max, record) => Math.max(max, record.timestamp), -1);
    writeInt64(batch, BatchField.maxTimestamp, maxTimestamp);
  }
  body.copy(batch, BATCH_HEADER_BYTES);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  return batch;
}

/**
 * Writes the replacement of a segment. Nothing is written while the output equals the segment; on the
 * first difference the unchanged prefix is copied, so segments a pass does not change cost no writes.
 */
class CleanedSegmentWriter {
  readonly indexes: SegmentIndexBuilder;
  size = 0;
  diverged = false;
  private fd: number | null = null;
  private readonly cleanedLogPath: string;
  private readonly cleanedOffsetIndexPath: string;
  private readonly cleanedTimeIndexPath: string;

  constructor(
    private readonly segment: Segment,
    indexIntervalBytes: number,
  ) {
    this.indexes = new SegmentIndexBuilder(indexIntervalBytes);
    this.cleanedLogPath = segment.logPath + CLEANED_SUFFIX;
    this.cleanedOffsetIndexPath = segment.offsetIndexPath + CLEANED_SUFFIX;
    this.cleanedTimeIndexPath = segment.timeIndexPath + CLEANED_SUFFIX;
  }

  keep(batch: Buffer): void {
    if (this.diverged) this.write(batch);
    this.index(batch);
  }

  replace(batch: Buffer): void {
    this.diverge();
    this.write(batch);
    this.index(batch);
  }

  drop(): void {
    this.diverge();
  }

  /** Makes the cleaned files durable, commits them by the rename to .swap, then moves them into place. */
  swapIn(): void {
    const segment = this.segment;
    this.indexes.seal();
    try {
      fs.fsyncSync(this.fd!);
      fs.closeSync(this.fd!);
      this.fd = null;
      writeFileAtomic(this.cleanedOffsetIndexPath, this.indexes.offsetIndex.toBuffer());
      writeFileAtomic(this.cleanedTimeIndexPath, this.indexes.timeIndex.toBuffer());
      fs.renameSync(this.cleanedLogPath, segment.logPath + SWAP_SUFFIX);
      fsyncDirectory(segment.dir);
    } catch (error) {
      this.abort();
      throw error instanceof LogError ? error : ioError(error, `write ${this.cleanedLogPath}`);
    }
    try {
      fs.renameSync(this.cleanedOffsetIndexPath, segment.offsetIndexPath);
      fs.renameSync(this.cleanedTimeIndexPath, segment.timeIndexPath);
      fs.renameSync(segment.logPath + SWAP_SUFFIX, segment.logPath);
      fsyncDirectory(segment.dir);
    } catch (error) {
      // Past the commit point: recovery finishes the swap on the next start.
      throw error instanceof LogError ? error : ioError(error, `swap in ${this.cleanedLogPath}`);
    }
    segment.adoptCompactedFiles(this.size, this.indexes.maxTimestamp);
  }

  abort(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    for (const file of [this.cleanedLogPath, this.cleanedOffsetIndexPath, this.cleanedTimeIndexPath]) {
      fs.rmSync(file, { force: true });
    }
  }

  private index(batch: Buffer): void {
    const header = readBatchHeader(batch);
    this.indexes.add(
      header.baseOffset - this.segment.baseOffset,
      this.size,
      batch.length,
      header.maxTimestamp,
    );
    this.size += batch.length;
  }

  private diverge(): void {
    if (this.diverged) return;
    this.diverged = true;
    try {
      this.fd = fs.openSync(this.cleanedLogPath, 'w');
    } catch (error) {
      throw ioError(error, `create ${this.cleanedLogPath}`);
    }
    for (let copied = 0; copied < this.size; ) {
      const chunk = this.segment.readAt(copied, Math.min(READ_CHUNK_BYTES, this.size - copied));
      if (chunk.length === 0) throw this.segment.corruption(copied, -1, 'segment ended while copying it');
      this.writeAt(chunk, copied);
      copied += chunk.length;
    }
  }

  private write(batch: Buffer): void {
    this.writeAt(batch, this.size);
  }

  private writeAt(bytes: Buffer, position: number): void {
    try {
      for (let written = 0; written < bytes.length; ) {
        written += fs.writeSync(this.fd!, bytes, written, bytes.length - written, position + written);
      }
    } catch (error) {
      throw ioError(error, `write ${this.cleanedLogPath}`);
    }
  }
}
