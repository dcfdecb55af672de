import { type ChunkFile, type EntryLayout, INDEX_CHUNK_ENTRIES, IndexChunks } from './index-chunks.js';

/**
 * Sparse indexes of one segment. A sealed segment's are written as files beside it when it is rolled or the
 * log closes, and loaded whole on use; the active segment's keep only their newest chunks in memory and
 * write the full ones to those files as they go (index-chunks.ts). Both can always be rebuilt from the
 * segment, so they are never fsynced per append, and the active segment's files are trusted only after a
 * clean shutdown wrote them whole (recovery.ts).
 *
 * .index:     [relativeOffset u32][position u32]     one entry per ~index.interval.bytes of log
 * .timeindex: [maxTimestamp i64][relativeOffset u32] entry when the max timestamp seen so far grows
 */

const OFFSET_LAYOUT: EntryLayout = {
  entryBytes: 8,
  columns: [
    { byteOffset: 0, kind: 'u32', strictlyIncreasing: true },
    { byteOffset: 4, kind: 'u32', strictlyIncreasing: true },
  ],
};
const RELATIVE_OFFSET = 0;
const POSITION = 1;

const TIME_LAYOUT: EntryLayout = {
  entryBytes: 12,
  columns: [
    { byteOffset: 0, kind: 'i64', strictlyIncreasing: true },
    // The final entry written at sealing may repeat the last entry's offset with a larger timestamp.
    { byteOffset: 8, kind: 'u32', strictlyIncreasing: false },
  ],
};
const TIMESTAMP = 0;
const TIME_RELATIVE_OFFSET = 1;

/** What both indexes do alike; `entries` is decoded from a file, or a chunk size for an empty index. */
abstract class ChunkedIndex {
  protected readonly entries: IndexChunks;

  protected constructor(layout: EntryLayout, entries: IndexChunks | number) {
    this.entries = typeof entries === 'number' ? new IndexChunks(layout, entries) : entries;
  }

  get length(): number {
    return this.entries.length;
  }

  get spilling(): boolean {
    return this.entries.spilling;
  }

  get residentBytes(): number {
    return this.entries.residentBytes;
  }

  /** Full chunks go to `file` from now on (the active segment's index); see IndexChunks.spillTo. */
  spillTo(file: ChunkFile): void {
    this.entries.spillTo(file);
  }

  encodedChunks(): Generator<Buffer> {
    return this.entries.encodedChunks();
  }

  toBuffer(): Buffer {
    return this.entries.toBuffer();
  }
}

export class OffsetIndex extends ChunkedIndex {
  constructor(entries: IndexChunks | number = INDEX_CHUNK_ENTRIES) {
    super(OFFSET_LAYOUT, entries);
  }

  append(relativeOffset: number, position: number): void {
    this.entries.append(relativeOffset, position);
  }

  /** Position of the last indexed batch starting at or before `relativeOffset`; 0 when none is. */
  floorPosition(relativeOffset: number): number {
    const i = this.entries.floor(RELATIVE_OFFSET, relativeOffset);
    return i < 0 ? 0 : this.entries.value(i, POSITION);
  }

  entry(i: number): { relativeOffset: number; position: number } {
    return {
      relativeOffset: this.entries.value(i, RELATIVE_OFFSET),
      position: this.entries.value(i, POSITION),
    };
  }

  /** Drops the entries of batches starting at or after `relativeOffset`, which a truncation cut away. */
  truncateTo(relativeOffset: number): void {
    this.entries.truncate(this.entries.floor(RELATIVE_OFFSET, relativeOffset - 1) + 1);
  }

  /**
   * Parses an index file, or returns null if it cannot describe a segment of `segmentBytes` bytes holding
   * `offsetCount` offsets: a torn write or a stale file is rebuilt rather than trusted.
   */
  static parse(
    buf: Buffer,
    segmentBytes: number,
    offsetCount: number,
    chunkEntries = INDEX_CHUNK_ENTRIES,
  ): OffsetIndex | null {
    const entries = IndexChunks.decode(OFFSET_LAYOUT, buf, [offsetCount, segmentBytes], chunkEntries);
    return entries && new OffsetIndex(entries);
  }
}

export class TimeIndex extends ChunkedIndex {
  constructor(entries: IndexChunks | number = INDEX_CHUNK_ENTRIES) {
    super(TIME_LAYOUT, entries);
  }

  /** Adds an entry only when the timestamp moves the segment's maximum forward. */
  maybeAppend(maxTimestamp: number, relativeOffset: number): void {
    const length = this.entries.length;
    if (length > 0 && maxTimestamp <= this.entries.value(length - 1, TIMESTAMP)) return;
    this.entries.append(maxTimestamp, relativeOffset);
  }

  /**
   * Relative offset from which to scan for the first record with timestamp >= `timestamp`: every record
   * before the returned offset has a smaller timestamp.
   */
  scanStart(timestamp: number): number {
    const i = this.entries.floor(TIMESTAMP, timestamp - 1);
    return i < 0 ? 0 : this.entries.value(i, TIME_RELATIVE_OFFSET);
  }

  /**
   * Drops the entries at or after `relativeOffset`. Each kept entry still bounds the timestamps before it
   * from above, which is all scanStart relies on; a final entry written at sealing may overstate them.
   */
  truncateTo(relativeOffset: number): void {
    this.entries.truncate(this.entries.floor(TIME_RELATIVE_OFFSET, relativeOffset - 1) + 1);
  }

  get last(): { timestamp: number; relativeOffset: number } | null {
    const length = this.entries.length;
    if (length === 0) return null;
    return {
      timestamp: this.entries.value(length - 1, TIMESTAMP),
      relativeOffset: this.entries.value(length - 1, TIME_RELATIVE_OFFSET),
    };
  }

  static parse(buf: Buffer, offsetCount: number, chunkEntries = INDEX_CHUNK_ENTRIES): TimeIndex | null {
    const entries = IndexChunks.decode(
      TIME_LAYOUT,
      buf,
      [Number.POSITIVE_INFINITY, offsetCount],
      chunkEntries,
    );
    return entries && new TimeIndex(entries);
  }
}

/**
 * Builds both indexes of a segment batch by batch, the way appends do: an offset entry (and a time entry
 * when the maximum grows) whenever `indexIntervalBytes` of log have passed since the last one.
 */
export class SegmentIndexBuilder {
  readonly offsetIndex = new OffsetIndex();
  readonly timeIndex = new TimeIndex();
  bytesSinceEntry = 0;
  maxTimestamp = -1;

  constructor(private readonly indexIntervalBytes: number) {}

  add(relativeOffset: number, position: number, batchBytes: number, batchMaxTimestamp: number): void {
    if (this.bytesSinceEntry >= this.indexIntervalBytes || this.offsetIndex.length === 0) {
      this.offsetIndex.append(relativeOffset, position);
      this.timeIndex.maybeAppend(Math.max(this.maxTimestamp, batchMaxTimestamp), relativeOffset);
      this.bytesSinceEntry = 0;
    }
    this.bytesSinceEntry += batchBytes;
    this.maxTimestamp = Math.max(this.maxTimestamp, batchMaxTimestamp);
  }

  /** Closes the time index with the segment's maximum, as a sealed segment's index files carry it. */
  seal(): void {
    if (this.maxTimestamp >= 0 && this.offsetIndex.length > 0) {
      this.timeIndex.maybeAppend(
        this.maxTimestamp,
        this.offsetIndex.entry(this.offsetIndex.length - 1).relativeOffset,
      );
    }
  }
}
