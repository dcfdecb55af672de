/**
 * Sparse indexes of one segment, kept in memory and written as files beside the segment when it is rolled
 * or the log closes. Both can always be rebuilt from the segment, so they are never fsynced per append.
 *
 * .index:     [relativeOffset u32][position u32]     one entry per ~index.interval.bytes of log
 * .timeindex: [maxTimestamp i64][relativeOffset u32] entry when the max timestamp seen so far grows
 */

const OFFSET_ENTRY_BYTES = 8;
const TIME_ENTRY_BYTES = 12;
const INITIAL_CAPACITY = 64;

function grow<T extends Uint32Array | Float64Array>(array: T, needed: number, make: (n: number) => T): T {
  if (needed <= array.length) return array;
  const bigger = make(Math.max(needed, array.length * 2));
  bigger.set(array);
  return bigger;
}

/** Index of the last element of a sorted array that is <= target, or -1. */
function floorIndex(length: number, valueAt: (i: number) => number, target: number): number {
  let low = 0;
  let high = length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if (valueAt(mid) <= target) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}

export class OffsetIndex {
  private relativeOffsets = new Uint32Array(INITIAL_CAPACITY);
  private positions = new Uint32Array(INITIAL_CAPACITY);
  length = 0;

  append(relativeOffset: number, position: number): void {
    this.relativeOffsets = grow(this.relativeOffsets, this.length + 1, (n) => new Uint32Array(n));
    this.positions = grow(this.positions, this.length + 1, (n) => new Uint32Array(n));
    this.relativeOffsets[this.length] = relativeOffset;
    this.positions[this.length] = position;
    this.length++;
  }

  /** Position of the last indexed batch starting at or before `relativeOffset`; 0 when none is. */
  floorPosition(relativeOffset: number): number {
    const i = floorIndex(this.length, (k) => this.relativeOffsets[k]!, relativeOffset);
    return i < 0 ? 0 : this.positions[i]!;
  }

  entry(i: number): { relativeOffset: number; position: number } {
    return { relativeOffset: this.relativeOffsets[i]!, position: this.positions[i]! };
  }

  /** Drops the entries of batches starting at or after `relativeOffset`, which a truncation cut away. */
  truncateTo(relativeOffset: number): void {
    this.length = floorIndex(this.length, (k) => this.relativeOffsets[k]!, relativeOffset - 1) + 1;
  }

  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.length * OFFSET_ENTRY_BYTES);
    for (let i = 0; i < this.length; i++) {
      buf.writeUInt32BE(this.relativeOffsets[i]!, i * OFFSET_ENTRY_BYTES);
      buf.writeUInt32BE(this.positions[i]!, i * OFFSET_ENTRY_BYTES + 4);
    }
    return buf;
  }

  /**
   * Parses an index file, or returns null if it cannot describe a segment of `segmentBytes` bytes holding
   * `offsetCount` offsets: a torn write or a stale file is rebuilt rather than trusted.
   */
  static parse(buf: Buffer, segmentBytes: number, offsetCount: number): OffsetIndex | null {
    if (buf.length % OFFSET_ENTRY_BYTES !== 0) return null;
    const index = new OffsetIndex();
    let previousOffset = -1;
    let previousPosition = -1;
    for (let at = 0; at < buf.length; at += OFFSET_ENTRY_BYTES) {
      const relativeOffset = buf.readUInt32BE(at);
      const position = buf.readUInt32BE(at + 4);
      if (relativeOffset <= previousOffset && at > 0) return null;
      if (position <= previousPosition && at > 0) return null;
      if (relativeOffset >= offsetCount || position >= segmentBytes) return null;
      index.append(relativeOffset, position);
      previousOffset = relativeOffset;
      previousPosition = position;
    }
    return index;
  }
}

export class TimeIndex {
  private timestamps = new Float64Array(INITIAL_CAPACITY);
  private relativeOffsets = new Uint32Array(INITIAL_CAPACITY);
  length = 0;

  /** Adds an entry only when the timestamp moves the segment's maximum forward. */
  maybeAppend(maxTimestamp: number, relativeOffset: number): void {
    if (this.length > 0 && maxTimestamp <= this.timestamps[this.length - 1]!) return;
    this.timestamps = grow(this.timestamps, this.length + 1, (n) => new Float64Array(n));
    this.relativeOffsets = grow(this.relativeOffsets, this.length + 1, (n) => new Uint32Array(n));
    this.timestamps[this.length] = maxTimestamp;
    this.relativeOffsets[this.length] = relativeOffset;
    this.length++;
  }

  /**
   * Relative offset from which to scan for the first record with timestamp >= `timestamp`: every record
   * before the returned offset has a smaller timestamp.
   */
  scanStart(timestamp: number): number {
    const i = floorIndex(this.length, (k) => this.timestamps[k]!, timestamp - 1);
    return i < 0 ? 0 : this.relativeOffsets[i]!;
  }

  /**
   * Drops the entries at or after `relativeOffset`. Each kept entry still bounds the timestamps before it
   * from above, which is all scanStart relies on; a final entry written at sealing may overstate them.
   */
  truncateTo(relativeOffset: number): void {
    while (this.length > 0 && this.relativeOffsets[this.length - 1]! >= relativeOffset) this.length--;
  }

  get last(): { timestamp: number; relativeOffset: number } | null {
    if (this.length === 0) return null;
    return {
      timestamp: this.timestamps[this.length - 1]!,
      relativeOffset: this.relativeOffsets[this.length - 1]!,
    };
  }

  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.length * TIME_ENTRY_BYTES);
    for (let i = 0; i < this.length; i++) {
      buf.writeBigInt64BE(BigInt(this.timestamps[i]!), i * TIME_ENTRY_BYTES);
      buf.writeUInt32BE(this.relativeOffsets[i]!, i * TIME_ENTRY_BYTES + 8);
    }
    return buf;
  }

  static parse(buf: Buffer, offsetCount: number): TimeIndex | null {
    if (buf.length % TIME_ENTRY_BYTES !== 0) return null;
    const index = new TimeIndex();
    for (let at = 0; at < buf.length; at += TIME_ENTRY_BYTES) {
      const timestamp = Number(buf.readBigInt64BE(at));
      const relativeOffset = buf.readUInt32BE(at + 8);
      const previous = index.last;
      if (previous && (timestamp <= previous.timestamp || relativeOffset < previous.relativeOffset))
        return null;
      if (relativeOffset >= offsetCount) return null;
      index.maybeAppend(timestamp, relativeOffset);
    }
    return index;
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
