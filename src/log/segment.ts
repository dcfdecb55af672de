import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BATCH_HEADER_BYTES, BATCH_LENGTH_PREFIX_BYTES, BatchField, readInt64 } from '../protocol/index.js';
import type { AppendWriter, WriteDone } from './append-writer.js';
import { type BatchSummary, batchDefect, summarizeBatch } from './batch-validation.js';
import { CorruptSegmentError, ioError, isNodeError, LogError } from './errors.js';
import { type ChunkFile, UnreadableChunkError } from './index-chunks.js';
import type { IndexHolder, LoadedIndexLimiter } from './loaded-indexes.js';
import type { FileHolder, OpenFileLimiter } from './open-files.js';
import { OffsetIndex, SegmentIndexBuilder, TimeIndex } from './segment-index.js';

export { nodeSegmentWriter, type SegmentWriter } from './append-writer.js';

/** What all segments of one partition share. */
export interface SegmentContext {
  readonly files: OpenFileLimiter;
  /** Bounds how many sealed segments keep their indexes in memory. */
  readonly indexes: LoadedIndexLimiter;
  /** Takes the appended bytes to the file off the event loop. */
  readonly appendWriter: AppendWriter;
  indexIntervalBytes: number;
  /**
   * Offsets below this may be missing because compaction removed their batches; from it on, offsets are
   * dense, so a gap there is damage.
   */
  compactedBelowOffset: number;
  /** Told about damage found in a segment that cannot be repaired by truncation. */
  onCorruption(error: CorruptSegmentError): void;
}

/** Largest batch a segment will believe a length field about while scanning or reading. */
const SANE_BATCH_BYTES = 2 ** 31 - 1;
/** Bytes read at a time while walking batch headers to find an offset. */
const HEADER_SCAN_CHUNK_BYTES = 16 * 1024;
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * What locate() reads batch headers into. A chunk is used only within one synchronous call, so one per thread
 * serves every segment: a fresh one per call was garbage made at every fetch of every partition.
 */
const headerScanChunk = Buffer.allocUnsafeSlow(HEADER_SCAN_CHUNK_BYTES);

let nextStreamId = 1;

export function segmentFileName(baseOffset: number, extension: string): string {
  return `${String(baseOffset).padStart(20, '0')}${extension}`;
}

export interface ScanResult {
  /**
   * Bytes from the start of the segment that hold whole, valid batches in increasing offset order, dense
   * except where compaction left gaps.
   */
  validBytes: number;
  /** One past the last offset of the last valid batch (the base offset when there is none). */
  nextOffset: number;
  /** Why scanning stopped before the end of the file, if it did. */
  defect: string | null;
}

export class Segment implements FileHolder, IndexHolder {
  readonly logPath: string;
  readonly offsetIndexPath: string;
  readonly timeIndexPath: string;
  private fd: number | null = null;
  /** Position from which the file failed verification; reads never go past it. */
  private corruptFrom = Number.POSITIVE_INFINITY;
  syncsInFlight = 0;
  /** Deleted while an fsync ran on the descriptor: it is closed when that fsync ends. */
  private closeWhenSynced = false;
  /** Bytes written through the current descriptor that no fsync has covered yet. */
  private unsynced = false;
  /**
   * An fsync failure met while closing the descriptor to make room. The kernel reports a writeback error once
   * per open descriptor, so a descriptor opened later would not see it: the owner's next fsync reports it.
   */
  private evictionSyncError: LogError | null = null;
  private offsetIndex: OffsetIndex | null = null;
  /** Set once the indexes were released: they load on use from then on (see LoadedIndexLimiter). */
  private sealedIndexes = false;
  /**
   * The segment appended to (created, the last one recovered, or made the last again by a truncation): its
   * indexes keep only their newest chunks in memory and write the rest to the index files as they go. A
   * sealed segment's index files are whole and never written that way (a partly written one could pass
   * for a whole one).
   */
  private active = false;
  private timeIndex: TimeIndex | null = null;
  private bytesSinceIndexEntry = 0;
  /** Appended bytes not yet in the file: they sit at the end, past writtenSize. */
  private unwrittenBytes = 0;
  /** The append writer's ticket of the last write submitted for this segment (0: none since settling). */
  private writeTicket = 0;
  /** Names this segment's writes to the append writer, which stops a stream at its first failure. */
  private readonly streamId = nextStreamId++;

  constructor(
    readonly dir: string,
    readonly baseOffset: number,
    public size: number,
    public nextOffset: number,
    public maxTimestamp: number,
    public createdAtMs: number,
    private readonly context: SegmentContext,
  ) {
    this.logPath = path.join(dir, segmentFileName(baseOffset, '.log'));
    this.offsetIndexPath = path.join(dir, segmentFileName(baseOffset, '.index'));
    this.timeIndexPath = path.join(dir, segmentFileName(baseOffset, '.timeindex'));
  }

  static create(dir: string, baseOffset: number, context: SegmentContext, nowMs: number): Segment {
    const segment = new Segment(dir, baseOffset, 0, baseOffset, -1, nowMs, context);
    context.files.touch(segment, segment.logPath);
    try {
      segment.fd = fs.openSync(segment.logPath, 'wx+');
    } catch (error) {
      context.files.forget(segment);
      throw ioError(error, `create segment ${segment.logPath}`);
    }
    segment.active = true;
    segment.installIndexes(new OffsetIndex(), new TimeIndex());
    return segment;
  }

  get offsetCount(): number {
    return this.nextOffset - this.baseOffset;
  }

  /**
   * The active segment may be closed too: writes go to explicit positions, and closeFile fsyncs what the
   * descriptor wrote, so nothing depends on keeping one descriptor between appends.
   */
  canCloseFile(): boolean {
    return this.syncsInFlight === 0;
  }

  /** Closes the descriptor; unsynced writes are fsynced first, so a later fsync through a new one loses nothing. */
  closeFile(): void {
    // The writer thread may still hold this descriptor's number: closing it first could send those bytes to
    // whatever file reuses the number.
    this.settleWrites();
    if (this.fd === null) return;
    if (this.unsynced) {
      try {
        fs.fdatasyncSync(this.fd);
      } catch (error) {
        this.evictionSyncError ??= ioError(error, `fsync ${this.logPath}`);
      }
      this.unsynced = false;
    }
    fs.closeSync(this.fd);
    this.fd = null;
  }

  /**
   * The descriptor to fsync now; what is written after this call is left for the next fsync. Throws the error
   * of an fsync that failed when the descriptor was closed to make room.
   */
  fileToSync(): number {
    const lost = this.evictionSyncError;
    if (lost) {
      this.evictionSyncError = null;
      throw lost;
    }
    const fd = this.file();
    this.unsynced = false;
    return fd;
  }

  /** The descriptor, reopened if the limiter closed it. */
  file(): number {
    this.context.files.touch(this, this.logPath);
    if (this.fd === null) {
      try {
        this.fd = fs.openSync(this.logPath, 'r+');
      } catch (error) {
        this.context.files.forget(this);
        throw ioError(error, `open segment ${this.logPath}`);
      }
    }
    return this.fd;
  }

  /**
   * Takes validated batches whose offsets were already assigned, in increasing order from this segment's
   * next offset on, into the segment's size, offsets and indexes; returns the byte position they go to. The
   * bytes themselves reach the file through submitWrite, later: until they land, reads stop at writtenSize.
   * A batch may start above where the previous one ended (a follower copying a compacted leader), and the
   * index entries use each batch's own base offset.
   */
  append(payload: Buffer, batches: BatchSummary[]): number {
    let expected = this.nextOffset;
    for (const batch of batches) {
      const base = readInt64(payload, batch.position + BatchField.baseOffset);
      assert.ok(base >= expected, `${this.logPath}: batch at ${base} appended below offset ${expected}`);
      expected = base + batch.offsetCount;
    }
    const startSize = this.size;
    let nextOffset = this.nextOffset;
    const offsetIndex = this.ensureOffsetIndex();
    const timeIndex = this.ensureTimeIndex();
    for (const batch of batches) {
      const position = startSize + batch.position;
      const offset = readInt64(payload, batch.position + BatchField.baseOffset);
      if (this.bytesSinceIndexEntry >= this.context.indexIntervalBytes || offsetIndex.length === 0) {
        offsetIndex.append(offset - this.baseOffset, position);
        timeIndex.maybeAppend(Math.max(this.maxTimestamp, batch.maxTimestamp), offset - this.baseOffset);
        this.bytesSinceIndexEntry = 0;
      }
      this.bytesSinceIndexEntry += batch.size;
      if (batch.maxTimestamp > this.maxTimestamp) this.maxTimestamp = batch.maxTimestamp;
      nextOffset = offset + batch.offsetCount;
    }
    this.size = startSize + payload.length;
    this.nextOffset = nextOffset;
    this.unwrittenBytes += payload.length;
    return startSize;
  }

  /** Bytes of this segment in the file: appended bytes still on their way are past it. */
  get writtenSize(): number {
    return this.size - this.unwrittenBytes;
  }

  /**
   * Hands appended bytes starting at `position` (which must be writtenSize plus what is already submitted)
   * to the append writer; `done` runs once they are in the file (and fsynced, with `sync`), or failed to get
   * there.
   */
  submitWrite(data: Buffer, position: number, sync: boolean, done: WriteDone): void {
    assert.ok(
      position + data.length <= this.size,
      `${this.logPath}: write up to ${position + data.length} is past size ${this.size}`,
    );
    // An fsync that failed when the descriptor was closed to make room fails the next synced write.
    const fd = sync ? this.fileToSync() : this.file();
    // From here the descriptor may carry bytes no fsync covered: closing it to make room fsyncs it first.
    this.unsynced = true;
    this.writeTicket = this.context.appendWriter.submit(
      this.streamId,
      fd,
      data,
      position,
      sync,
      (error, fsynced) => {
        if (!error) {
          assert.ok(
            position === this.writtenSize,
            `${this.logPath}: write at ${position} lands out of order`,
          );
          this.unwrittenBytes -= data.length;
        }
        done(error, fsynced);
      },
    );
  }

  /** Blocks until every write submitted for this segment has landed or failed. */
  settleWrites(): void {
    if (this.writeTicket > 0) this.context.appendWriter.settle(this.writeTicket);
    this.writeTicket = 0;
  }

  /**
   * Forgets appended bytes that never reached the file (their write failed): size, next offset and index
   * entries go back to what the file holds. maxTimestamp may stay ahead; a log whose write failed takes no
   * more appends, and the next start rebuilds it from the file.
   */
  dropUnwritten(writtenNextOffset: number): void {
    assert.ok(writtenNextOffset <= this.nextOffset, `${writtenNextOffset} is past ${this.nextOffset}`);
    this.size = this.writtenSize;
    this.unwrittenBytes = 0;
    this.nextOffset = writtenNextOffset;
    this.ensureOffsetIndex().truncateTo(writtenNextOffset - this.baseOffset);
    this.ensureTimeIndex().truncateTo(writtenNextOffset - this.baseOffset);
  }

  /** Reads exactly `length` bytes at `position`, or fewer if the file ends first. */
  readAt(position: number, length: number): Buffer {
    const fd = this.file();
    try {
      return readFully(fd, position, length);
    } catch (error) {
      throw ioError(error, `read ${this.logPath}`);
    }
  }

  /** Reads up to `length` bytes at `position` into the start of `target`; returns how many it read. */
  private readInto(position: number, length: number, target: Buffer): number {
    const fd = this.file();
    try {
      return readFullyInto(fd, target, position, length);
    } catch (error) {
      throw ioError(error, `read ${this.logPath}`);
    }
  }

  /**
   * Byte position of the batch holding `offset` or, when compaction removed it, of the first batch after
   * it; -1 if this segment holds neither.
   */
  locate(offset: number): number {
    if (offset < this.baseOffset || offset >= this.nextOffset) return -1;
    const writtenSize = this.writtenSize;
    let position = this.ensureOffsetIndex().floorPosition(offset - this.baseOffset);
    while (position < writtenSize) {
      const chunk = headerScanChunk;
      const filled = this.readInto(
        position,
        Math.min(HEADER_SCAN_CHUNK_BYTES, writtenSize - position),
        chunk,
      );
      let at = 0;
      while (at + BATCH_HEADER_BYTES <= filled) {
        const size = BATCH_LENGTH_PREFIX_BYTES + chunk.readInt32BE(at + BatchField.batchLength);
        const base = readInt64(chunk, at + BatchField.baseOffset);
        const last = base + chunk.readInt32BE(at + BatchField.lastOffsetDelta);
        // Past compactedBelowOffset offsets are dense: a batch starting beyond the offset means damage.
        if (size < BATCH_HEADER_BYTES || (base > offset && offset >= this.context.compactedBelowOffset)) {
          throw this.corruption(position + at, offset, 'batch headers do not lead to the offset');
        }
        if (last >= offset) return position + at;
        at += size;
      }
      if (at === 0) throw this.corruption(position, offset, 'truncated batch header');
      position += at;
    }
    return -1;
  }

  /**
   * Whole batches from `position`: at most `maxBytes`, but always the first batch entire so a consumer can
   * make progress; batches starting at or after `maxOffset` are left out. Every batch returned passed its
   * CRC check; a damaged batch ends the read and is reported, never returned.
   */
  read(position: number, maxBytes: number, maxOffset: number): Buffer {
    const available = Math.min(this.writtenSize, this.corruptFrom) - position;
    if (available <= 0) {
      if (position >= this.corruptFrom)
        throw this.corruption(position, -1, 'segment failed verification here');
      return Buffer.alloc(0);
    }
    let bytes = this.readAt(position, Math.min(Math.max(maxBytes, BATCH_HEADER_BYTES), available));
    const firstSize =
      bytes.length >= BATCH_LENGTH_PREFIX_BYTES ? BATCH_LENGTH_PREFIX_BYTES + bytes.readInt32BE(8) : 0;
    if (firstSize > bytes.length && firstSize <= available) bytes = this.readAt(position, firstSize);
    let at = 0;
    while (at < bytes.length) {
      if (bytes.length - at < BATCH_LENGTH_PREFIX_BYTES) break;
      const size = BATCH_LENGTH_PREFIX_BYTES + bytes.readInt32BE(at + BatchField.batchLength);
      if (at + size > bytes.length && size >= BATCH_HEADER_BYTES && size <= available - at) break;
      if (readInt64(bytes, at + BatchField.baseOffset) >= maxOffset) break;
      const defect = batchDefect(bytes, at, bytes.length, SANE_BATCH_BYTES);
      if (defect) {
        const corrupt = this.corruption(position + at, readInt64(bytes, at), defect);
        if (at === 0) throw corrupt;
        // The batches before it are served; the damage is reported now, not on the next read.
        this.context.onCorruption(corrupt);
        break;
      }
      at += size;
    }
    return bytes.subarray(0, at);
  }

  /**
   * Walks every batch from the start, checking framing, CRC and that offsets increase and are dense from
   * the base offset wherever compaction cannot have removed any, and rebuilds both indexes on the way.
   */
  scan(): ScanResult {
    const indexes = new SegmentIndexBuilder(this.context.indexIntervalBytes);
    const fileSize = this.fileSize();
    const reader = new ChunkedReader(this, fileSize);
    let position = 0;
    let expectedOffset = this.baseOffset;
    let defect: string | null = null;
    while (position < fileSize) {
      const available = fileSize - position;
      if (available < BATCH_LENGTH_PREFIX_BYTES) {
        defect = `${available} trailing bytes are too few for a batch`;
        break;
      }
      const claimed =
        BATCH_LENGTH_PREFIX_BYTES + reader.view(position, BATCH_LENGTH_PREFIX_BYTES).readInt32BE(8);
      const batch = reader.view(position, Math.max(BATCH_LENGTH_PREFIX_BYTES, Math.min(claimed, available)));
      defect = batchDefect(batch, 0, claimed > available ? available : batch.length, SANE_BATCH_BYTES);
      if (!defect && claimed > available) defect = `batch claims ${claimed} bytes, only ${available} remain`;
      const base = defect ? 0 : readInt64(batch, BatchField.baseOffset);
      if (!defect) defect = this.offsetOrderDefect(base, expectedOffset);
      if (defect) break;
      const summary = summarizeBatch(batch, 0);
      indexes.add(base - this.baseOffset, position, summary.size, summary.maxTimestamp);
      expectedOffset = base + summary.offsetCount;
      position += summary.size;
    }
    this.installIndexes(indexes.offsetIndex, indexes.timeIndex);
    this.bytesSinceIndexEntry = indexes.bytesSinceEntry;
    this.maxTimestamp = indexes.maxTimestamp;
    return { validBytes: position, nextOffset: expectedOffset, defect };
  }

  private offsetOrderDefect(base: number, expectedOffset: number): string | null {
    if (base === expectedOffset) return null;
    if (base > expectedOffset && base <= this.context.compactedBelowOffset) return null;
    return `batch has base offset ${base}, expected ${expectedOffset}`;
  }

  /**
   * Why a scan shows this segment does not hold what its place in the log says it does, or null. A sealed
   * segment may end before the next one starts only where compaction removed its last batches.
   */
  scanDisagreement(scan: ScanResult): string | null {
    if (scan.defect) return scan.defect;
    if (scan.nextOffset === this.nextOffset) return null;
    if (scan.nextOffset < this.nextOffset && this.nextOffset <= this.context.compactedBelowOffset)
      return null;
    return `holds offsets up to ${scan.nextOffset - 1}, expected up to ${this.nextOffset - 1}`;
  }

  fileSize(): number {
    this.settleWrites();
    try {
      return fs.fstatSync(this.file()).size;
    } catch (error) {
      if (error instanceof LogError) throw error;
      throw ioError(error, `stat ${this.logPath}`);
    }
  }

  truncateTo(bytes: number): void {
    this.settleWrites();
    assert.equal(this.unwrittenBytes, 0, `${this.logPath}: truncated with appended bytes not yet submitted`);
    try {
      fs.ftruncateSync(this.file(), bytes);
    } catch (error) {
      if (error instanceof LogError) throw error;
      throw ioError(error, `truncate ${this.logPath}`);
    }
    this.size = bytes;
  }

  /**
   * Removes `offset` and everything after it, cutting at the start of the batch that holds it (a batch is
   * never split, so the new end may be below `offset`) or, where compaction removed `offset`, of the first
   * batch after it. The file is fsynced and the in-memory indexes fixed; returns the new next offset. The
   * index files stay stale until the next writeIndexes (sealing, clean shutdown); after a crash the last
   * segment is rescanned and its indexes rebuilt anyway.
   */
  truncateToOffset(offset: number): number {
    assert.ok(offset >= this.baseOffset && offset < this.nextOffset, `${offset} is not in ${this.logPath}`);
    const located = this.locate(offset);
    const cutAt = located < 0 ? this.size : located;
    const newNextOffset = located < 0 ? offset : Math.min(offset, readInt64(this.readAt(located, 8), 0));
    this.truncateTo(cutAt);
    try {
      fs.fdatasyncSync(this.fileToSync());
    } catch (error) {
      throw ioError(error, `fsync ${this.logPath}`);
    }
    this.nextOffset = newNextOffset;
    const offsetIndex = this.ensureOffsetIndex();
    const timeIndex = this.ensureTimeIndex();
    offsetIndex.truncateTo(newNextOffset - this.baseOffset);
    timeIndex.truncateTo(newNextOffset - this.baseOffset);
    // Every batch up to the last indexed one is bounded by the last time entry; the few after it are read.
    const tailStart = offsetIndex.length > 0 ? offsetIndex.entry(offsetIndex.length - 1).position : 0;
    const reader = new ChunkedReader(this, cutAt);
    let maxTimestamp = timeIndex.last?.timestamp ?? -1;
    for (let position = tailStart; position < cutAt; ) {
      assert.ok(position + BATCH_HEADER_BYTES <= cutAt, `${this.logPath}: a batch crosses byte ${cutAt}`);
      const batch = summarizeBatch(reader.view(position, BATCH_HEADER_BYTES), 0);
      maxTimestamp = Math.max(maxTimestamp, batch.maxTimestamp);
      position += batch.size;
    }
    this.maxTimestamp = maxTimestamp;
    this.bytesSinceIndexEntry = cutAt - tailStart;
    if (this.corruptFrom >= cutAt) this.corruptFrom = Number.POSITIVE_INFINITY;
    return newNextOffset;
  }

  /**
   * Cuts the file where a scan found the first damage, dropping that batch and everything after it, and
   * fsyncs: the scan already rebuilt the in-memory indexes and the newest timestamp from the valid batches.
   */
  cutAfterScan(scan: ScanResult): void {
    assert.ok(scan.validBytes <= this.size, `${this.logPath}: cut at ${scan.validBytes} past ${this.size}`);
    this.truncateTo(scan.validBytes);
    try {
      fs.fdatasyncSync(this.fileToSync());
    } catch (error) {
      throw ioError(error, `fsync ${this.logPath}`);
    }
    this.nextOffset = scan.nextOffset;
    this.corruptFrom = Number.POSITIVE_INFINITY;
  }

  markCorruptFrom(position: number): void {
    this.corruptFrom = Math.min(this.corruptFrom, position);
  }

  corruption(position: number, offset: number, reason: string): CorruptSegmentError {
    this.markCorruptFrom(position);
    return new CorruptSegmentError(this.logPath, position, offset, reason);
  }

  /** Loads the index files, rebuilding them from the segment when missing or inconsistent. */
  loadIndexes(): { rebuilt: boolean; scan: ScanResult | null } {
    const offsetIndex = OffsetIndex.parse(readOptional(this.offsetIndexPath), this.size, this.offsetCount);
    const timeIndex = TimeIndex.parse(readOptional(this.timeIndexPath), this.offsetCount);
    if (offsetIndex && timeIndex && this.offsetIndexPointsAtBatches(offsetIndex)) {
      this.installIndexes(offsetIndex, timeIndex);
      // writeIndexes ends the time index with the segment's newest timestamp: the last segment, opened after
      // a clean shutdown without a scan, learns it only here (else timestamp lookups would skip it).
      this.maxTimestamp = Math.max(this.maxTimestamp, timeIndex.last?.timestamp ?? -1);
      return { rebuilt: false, scan: null };
    }
    return { rebuilt: true, scan: this.scan() };
  }

  /**
   * Loads the indexes of a sealed segment on first use. A rebuild that finds damage, or fewer offsets than
   * the next segment's base says it holds, marks the segment unreadable from there and reports it.
   */
  ensureIndexes(): void {
    if (this.sealedIndexes) this.context.indexes.touch(this);
    if (this.offsetIndex && this.timeIndex) return;
    const { scan } = this.loadIndexes();
    if (!scan) return;
    const reason = this.scanDisagreement(scan);
    if (reason) this.context.onCorruption(this.corruption(scan.validBytes, scan.nextOffset, reason));
  }

  private installIndexes(offsetIndex: OffsetIndex, timeIndex: TimeIndex): void {
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.spillIfActive();
  }

  /**
   * Sends the active segment's full index chunks to its index files (see `active`). While it is active the
   * files are never trusted: they are read back only for chunks this process wrote, and after a crash the
   * last segment is rescanned; writeIndexes replaces them whole before a clean shutdown vouches for them.
   */
  private spillIfActive(): void {
    if (!this.active) return;
    if (!this.offsetIndex!.spilling) this.offsetIndex!.spillTo(indexChunkFile(this.offsetIndexPath));
    if (!this.timeIndex!.spilling) this.timeIndex!.spillTo(indexChunkFile(this.timeIndexPath));
  }

  private offsetIndexPointsAtBatches(index: OffsetIndex): boolean {
    // An empty segment's index is rebuilt too: there is nothing to scan.
    if (index.length === 0) return false;
    for (const i of [0, index.length - 1]) {
      const entry = index.entry(i);
      const header = this.readAt(entry.position, BATCH_LENGTH_PREFIX_BYTES);
      if (header.length < BATCH_LENGTH_PREFIX_BYTES) return false;
      if (readInt64(header, 0) !== this.baseOffset + entry.relativeOffset) return false;
    }
    return true;
  }

  private ensureOffsetIndex(): OffsetIndex {
    this.ensureIndexes();
    return this.offsetIndex!;
  }

  private ensureTimeIndex(): TimeIndex {
    this.ensureIndexes();
    return this.timeIndex!;
  }

  /** Relative offset from which a scan for the first timestamp >= `timestamp` must start. */
  timeScanStart(timestamp: number): number {
    return this.ensureTimeIndex().scanStart(timestamp);
  }

  /** Persists both indexes (write to a temporary file, then rename) with a final time entry for the maximum. */
  writeIndexes(): void {
    const offsetIndex = this.ensureOffsetIndex();
    const timeIndex = this.ensureTimeIndex();
    if (this.maxTimestamp >= 0 && this.offsetCount > 0) {
      timeIndex.maybeAppend(this.maxTimestamp, offsetIndex.entry(offsetIndex.length - 1).relativeOffset);
    }
    // Chunk by chunk: the spilled ones are read back from the file being replaced, one at a time.
    try {
      writeChunksAtomic(this.offsetIndexPath, offsetIndex.encodedChunks());
      writeChunksAtomic(this.timeIndexPath, timeIndex.encodedChunks());
    } catch (error) {
      if (!(error instanceof LogError && error.cause instanceof UnreadableChunkError)) throw error;
      // A spilled chunk was damaged in the file. No index file is better than a wrong one: whoever loads
      // these indexes next rebuilds them from the segment, as for any missing index file.
      for (const file of [this.offsetIndexPath, this.timeIndexPath]) {
        for (const stale of [file, `${file}.tmp`]) {
          try {
            fs.rmSync(stale, { force: true });
          } catch (removeError) {
            throw ioError(removeError, `remove ${stale}`);
          }
        }
      }
    }
  }

  /**
   * Takes on the files a compaction just renamed over this segment's: the open descriptor still points at
   * the replaced file, and the indexes in memory describe it.
   */
  adoptCompactedFiles(size: number, maxTimestamp: number): void {
    this.close();
    this.size = size;
    this.maxTimestamp = maxTimestamp;
    this.corruptFrom = Number.POSITIVE_INFINITY;
    this.releaseIndexes();
  }

  /** Drops the in-memory indexes of an inactive segment; they are reloaded on the next lookup. */
  releaseIndexes(): void {
    this.active = false;
    this.offsetIndex = null;
    this.timeIndex = null;
    // Only a sealed segment has its indexes released (at roll, after recovery or compaction): from now on
    // they load on use, and count against the limit of loaded sealed indexes.
    this.sealedIndexes = true;
  }

  /**
   * The segment is the active one: the last one recovered, or the last again after a truncation cut the ones
   * after it. Its indexes stay in memory, their full chunks in the index files.
   */
  reactivate(): void {
    this.ensureIndexes();
    this.context.indexes.forget(this);
    this.sealedIndexes = false;
    this.active = true;
    this.spillIfActive();
  }

  close(): void {
    this.context.indexes.forget(this);
    this.context.files.forget(this);
    this.closeFile();
  }

  /** Ends an fsync started on the descriptor of fileToSync. */
  syncEnded(): void {
    this.syncsInFlight--;
    if (this.closeWhenSynced && this.syncsInFlight === 0) {
      this.closeWhenSynced = false;
      this.closeFile();
    }
  }

  delete(): void {
    if (this.syncsInFlight > 0) {
      // Closing a descriptor under an fsync in the thread pool could let it sync a reused descriptor
      // number; the files go now, the descriptor when the fsync ends, with nothing left worth syncing.
      this.context.files.forget(this);
      this.unsynced = false;
      this.closeWhenSynced = true;
    } else {
      this.close();
    }
    // Indexes first: a crash part way leaves a log file that recovery indexes again, never orphan indexes.
    for (const file of [this.offsetIndexPath, this.timeIndexPath, this.logPath]) {
      try {
        fs.unlinkSync(file);
      } catch (error) {
        if (!isNodeError(error, 'ENOENT')) throw ioError(error, `delete ${file}`);
      }
    }
  }
}

/** Serves byte ranges of a segment from large sequential reads, for scans over many small batches. */
class ChunkedReader {
  private chunk: Buffer = Buffer.alloc(0);
  private chunkStart = 0;

  constructor(
    private readonly segment: Segment,
    private readonly fileSize: number,
  ) {}

  view(position: number, length: number): Buffer {
    const from = position - this.chunkStart;
    if (from < 0 || from + length > this.chunk.length) {
      this.chunkStart = position;
      this.chunk = this.segment.readAt(
        position,
        Math.min(Math.max(SCAN_CHUNK_BYTES, length), this.fileSize - position),
      );
      return this.chunk.subarray(0, length);
    }
    return this.chunk.subarray(from, from + length);
  }
}

/**
 * Reads `length` bytes at `position` of `fd`, or fewer if the file ends first, into memory of their own (never
 * a slice of Node's shared pool: see ReadResult.records).
 */
function readFully(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafeSlow(length);
  const filled = readFullyInto(fd, buf, position, length);
  return filled === length ? buf : buf.subarray(0, filled);
}

/** Reads `length` bytes at `position` of `fd` into the start of `buf`, or fewer if the file ends first. */
function readFullyInto(fd: number, buf: Buffer, position: number, length: number): number {
  let filled = 0;
  while (filled < length) {
    const n = fs.readSync(fd, buf, filled, length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

/**
 * An active segment's index file as IndexChunks spills to it. Each call opens and closes the file, so it
 * holds no descriptor between chunks and needs none of the open-file limit's bookkeeping.
 *
 * Chunks are written here, synchronously on the event loop, not by the append writer's thread: a chunk is
 * 32 KiB of offset index or 48 KiB of time index once per 16 MiB of log, into pages of the page cache no
 * one else writes (so no wait on their writeback), never fsynced. Measured on a loaded 2-core machine:
 * p50 25 µs, p99 0.1 ms per chunk (open, pwrite, close); at 100 MB/s of appends that is under 0.1% of the
 * loop. The writer thread would also
 * take it off the loop, but a chunk read back would then have to wait for its write, and the descriptor's
 * life would be tied to that thread's tickets on every roll, truncation and close.
 */
function indexChunkFile(file: string): ChunkFile {
  return {
    write(data, position) {
      const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
      try {
        for (let written = 0; written < data.length; ) {
          written += fs.writeSync(fd, data, written, data.length - written, position + written);
        }
      } finally {
        fs.closeSync(fd);
      }
    },
    read(position, length) {
      const fd = fs.openSync(file, 'r');
      try {
        return readFully(fd, position, length);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

function readOptional(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    if (isNodeError(error, 'ENOENT')) return Buffer.alloc(0);
    throw ioError(error, `read ${file}`);
  }
}

export function writeFileAtomic(file: string, data: Buffer | string): void {
  writeChunksAtomic(file, [typeof data === 'string' ? Buffer.from(data) : data]);
}

/** Writes `chunks` one after the other to a temporary file, fsyncs it, then renames it to `file`. */
function writeChunksAtomic(file: string, chunks: Iterable<Buffer>): void {
  const temporary = `${file}.tmp`;
  try {
    const fd = fs.openSync(temporary, 'w');
    try {
      for (const chunk of chunks) fs.writeFileSync(fd, chunk);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
  } catch (error) {
    throw ioError(error, `write ${file}`);
  }
}

export function fsyncDirectory(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    throw ioError(error, `fsync directory ${dir}`);
  }
}
