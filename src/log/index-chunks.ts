import assert from 'node:assert/strict';
import { crc32c } from '@node-rs/crc32';

/**
 * The entries of one sparse segment index (see segment-index.ts), held in fixed-size chunks in their on-disk
 * encoding, so that a chunk is written to the index file and read back as it is.
 *
 * An index that spills (the active segment's) keeps only its last chunk in memory, plus the one chunk it last
 * wrote or read back: a full chunk is written to the index file at its final position and dropped. A lookup
 * finds its chunk in a directory of every chunk's first entry and reads a dropped chunk back. The memory of an
 * active segment's indexes is then bounded by a few chunks, not by the segment's size (at the defaults an
 * entry per 4 KiB of log, 20 bytes per entry for both indexes: 5 MiB for a 1 GiB segment otherwise).
 *
 * Nothing read back is trusted blindly: a chunk that cannot be read whole, or whose CRC-32C is not the one
 * taken when it was written, is replaced by the one entry the directory holds for it. A lookup answering
 * from that entry is still right (both indexes only ever bound from below where a scan starts), just
 * further from its target.
 */

/** Entries per chunk: 32 KiB of offset index and 48 KiB of time index, one chunk per 16 MiB of log. */
export const INDEX_CHUNK_ENTRIES = 4096;
/**
 * Capacity the first chunk starts with; it doubles up to a full chunk. Most segments' indexes stay small
 * (an idle partition's, a sealed one's loaded for a read): a full chunk each would cost 80 KiB per segment.
 * Later chunks belong to a busy segment and are allocated whole.
 */
const FIRST_CHUNK_ENTRIES = 64;

export interface Column {
  /** Where the value sits in an entry. */
  readonly byteOffset: number;
  readonly kind: 'u32' | 'i64';
  /** Values grow from entry to entry; otherwise they never fall. */
  readonly strictlyIncreasing: boolean;
}

/** An index entry: two values, both in entry order, so either can be searched. */
export interface EntryLayout {
  readonly entryBytes: number;
  readonly columns: readonly [Column, Column];
}

/** The index file full chunks go to. Either call throws when the file system fails it. */
export interface ChunkFile {
  write(data: Buffer, position: number): void;
  /** Up to `length` bytes at `position`: fewer where the file ends. */
  read(position: number, length: number): Buffer;
}

/** A spilled chunk could not be read back whole and unchanged, so the whole index cannot be written out. */
export class UnreadableChunkError extends Error {
  constructor(chunk: number) {
    super(`chunk ${chunk} of the index could not be read back`);
    this.name = 'UnreadableChunkError';
  }
}

/** A chunk's bytes and how many of its entries count. */
interface LoadedChunk {
  readonly chunk: number;
  readonly entries: Buffer;
  readonly count: number;
}

const TWO_TO_32 = 2 ** 32;

function readValue(buf: Buffer, at: number, kind: Column['kind']): number {
  if (kind === 'u32') return buf.readUInt32BE(at);
  return buf.readInt32BE(at) * TWO_TO_32 + buf.readUInt32BE(at + 4);
}

function writeValue(buf: Buffer, at: number, kind: Column['kind'], value: number): void {
  if (kind === 'u32') {
    buf.writeUInt32BE(value, at);
    return;
  }
  const high = Math.floor(value / TWO_TO_32);
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE(value - high * TWO_TO_32, at + 4);
}

function inOrder(column: Column, previous: number, next: number): boolean {
  return column.strictlyIncreasing ? next > previous : next >= previous;
}

export class IndexChunks {
  length = 0;
  /** Chunk k's bytes, or null once it is only in the file (then k < spilledChunks). */
  private readonly chunks: Array<Buffer | null> = [];
  /** firstValues[c][k]: column c of chunk k's first entry. */
  private readonly firstValues: [number[], number[]] = [[], []];
  /** checksums[k]: CRC-32C of chunk k as written to the file, checked when it is read back. */
  private readonly checksums: number[] = [];
  private file: ChunkFile | null = null;
  /** The leading chunks that are in the file and not in `chunks`. */
  private spilledChunks = 0;
  /** The chunk of the file last written or read back, for lookups just behind the tail and repeated ones. */
  private cached: LoadedChunk | null = null;
  private readonly chunkBytes: number;

  constructor(
    private readonly layout: EntryLayout,
    private readonly chunkEntries = INDEX_CHUNK_ENTRIES,
  ) {
    assert.ok(Number.isInteger(chunkEntries) && chunkEntries >= 1, `chunkEntries=${chunkEntries}`);
    this.chunkBytes = chunkEntries * layout.entryBytes;
  }

  get spilling(): boolean {
    return this.file !== null;
  }

  /** Bytes of entries held in memory: the chunks not in the file, and the cached one. */
  get residentBytes(): number {
    let bytes = this.cached?.entries.length ?? 0;
    for (const entries of this.chunks) bytes += entries?.length ?? 0;
    return bytes;
  }

  append(first: number, second: number): void {
    const at = this.length % this.chunkEntries;
    if (at === 0) this.startChunk(first, second);
    const entries = this.lastChunkFor(at + 1);
    const entryAt = at * this.layout.entryBytes;
    const [c0, c1] = this.layout.columns;
    writeValue(entries, entryAt + c0.byteOffset, c0.kind, first);
    writeValue(entries, entryAt + c1.byteOffset, c1.kind, second);
    this.length++;
  }

  /** Value of `column` in entry `index`. */
  value(index: number, column: 0 | 1): number {
    if (index < 0 || index >= this.length) assert.fail(`entry ${index} of ${this.length}`);
    const at = index % this.chunkEntries;
    const chunk = (index - at) / this.chunkEntries;
    if (at === 0) return this.firstValues[column][chunk]!;
    const resident = this.chunks[chunk];
    if (resident) return this.read(resident, at, column);
    const loaded = this.load(chunk);
    if (at >= loaded.count) assert.fail(`entry ${index} is not loaded`);
    return this.read(loaded.entries, at, column);
  }

  /** Index of the last entry whose `column` is <= `target`, or -1 when none is. */
  floor(column: 0 | 1, target: number): number {
    const chunk = floorOf(this.chunks.length, (k) => this.firstValues[column][k]!, target);
    if (chunk < 0) return -1;
    const loaded = this.load(chunk);
    const at = floorOf(loaded.count, (i) => this.read(loaded.entries, i, column), target);
    return chunk * this.chunkEntries + at;
  }

  /** Keeps the first `length` entries. The new last chunk comes back into memory if it was in the file. */
  truncate(length: number): void {
    assert.ok(length >= 0 && length <= this.length, `cannot truncate ${this.length} entries to ${length}`);
    const chunkCount = Math.ceil(length / this.chunkEntries);
    let kept = length;
    if (chunkCount > 0 && this.chunks[chunkCount - 1] === null) {
      const last = this.load(chunkCount - 1);
      // A chunk that could not be read back keeps the one entry the directory knows.
      kept = Math.min(length, (chunkCount - 1) * this.chunkEntries + last.count);
      this.chunks[chunkCount - 1] = last.entries;
    }
    this.spilledChunks = Math.min(this.spilledChunks, Math.max(chunkCount - 1, 0));
    // The file past the kept chunks is stale: chunks are written again before any is read back from it.
    if (this.cached && this.cached.chunk >= chunkCount - 1) this.cached = null;
    this.chunks.length = chunkCount;
    this.firstValues[0].length = chunkCount;
    this.firstValues[1].length = chunkCount;
    this.checksums.length = Math.min(this.checksums.length, this.spilledChunks);
    this.length = kept;
  }

  /**
   * From now on full chunks go to `file`, at their final position, and leave memory: those held so far
   * go now. The file's contents past what this index wrote are never read.
   */
  spillTo(file: ChunkFile): void {
    assert.ok(this.file === null && this.spilledChunks === 0, 'the index already spills');
    this.file = file;
    this.spillFullChunks();
  }

  /** Every entry in its on-disk encoding, a chunk at a time; throws when a chunk cannot be read back. */
  *encodedChunks(): Generator<Buffer> {
    for (let chunk = 0; chunk < this.chunks.length; chunk++) {
      const count = this.countOf(chunk);
      const entries = this.chunks[chunk] ?? this.readBack(chunk);
      if (!entries) throw new UnreadableChunkError(chunk);
      yield entries.subarray(0, count * this.layout.entryBytes);
    }
  }

  toBuffer(): Buffer {
    return Buffer.concat([...this.encodedChunks()]);
  }

  /**
   * Entries decoded from an index file, or null if they are out of order or any column reaches its
   * `upperBounds` value: a torn or stale file is rebuilt, not trusted.
   */
  static decode(
    layout: EntryLayout,
    buf: Buffer,
    upperBounds: readonly [number, number],
    chunkEntries = INDEX_CHUNK_ENTRIES,
  ): IndexChunks | null {
    if (buf.length % layout.entryBytes !== 0) return null;
    const index = new IndexChunks(layout, chunkEntries);
    const count = buf.length / layout.entryBytes;
    if (!index.entriesValid(buf, count, upperBounds)) return null;
    for (let start = 0; start < count; start += chunkEntries) {
      const end = Math.min(count, start + chunkEntries) * layout.entryBytes;
      // A copy: a view would keep the whole file's buffer alive after its chunks are dropped.
      const entries = Buffer.allocUnsafeSlow(end - start * layout.entryBytes);
      buf.copy(entries, 0, start * layout.entryBytes, end);
      index.chunks.push(entries);
      index.firstValues[0].push(index.read(entries, 0, 0));
      index.firstValues[1].push(index.read(entries, 0, 1));
    }
    index.length = count;
    return index;
  }

  private read(entries: Buffer, at: number, column: 0 | 1): number {
    const layout = this.layout.columns[column];
    return readValue(entries, at * this.layout.entryBytes + layout.byteOffset, layout.kind);
  }

  private countOf(chunk: number): number {
    return Math.min(this.chunkEntries, this.length - chunk * this.chunkEntries);
  }

  /** Opens the next chunk; the one before it is full and, when spilling, goes to the file. */
  private startChunk(first: number, second: number): void {
    const chunk = this.chunks.length;
    const capacity = chunk === 0 ? Math.min(FIRST_CHUNK_ENTRIES, this.chunkEntries) : this.chunkEntries;
    this.chunks.push(Buffer.allocUnsafeSlow(capacity * this.layout.entryBytes));
    this.firstValues[0].push(first);
    this.firstValues[1].push(second);
    if (this.file) this.spillFullChunks();
  }

  /** The last chunk (always in memory), grown if it cannot hold `count` entries. */
  private lastChunkFor(count: number): Buffer {
    const chunk = this.chunks.length - 1;
    const entries = this.chunks[chunk]!;
    if (entries.length >= count * this.layout.entryBytes) return entries;
    const entryCapacity = entries.length / this.layout.entryBytes;
    const grown = Buffer.allocUnsafeSlow(
      Math.min(this.chunkEntries, Math.max(count, entryCapacity * 2)) * this.layout.entryBytes,
    );
    entries.copy(grown);
    this.chunks[chunk] = grown;
    return grown;
  }

  /**
   * Writes the full chunks still in memory to the file, oldest first, and drops them. A write that fails
   * leaves its chunk (and the later ones) in memory, to be tried again when the next chunk starts: memory
   * grows as it did before chunks, but no entry is lost. The last chunk always stays: it is appended to.
   */
  private spillFullChunks(): void {
    const file = this.file!;
    while (this.spilledChunks < this.chunks.length - 1) {
      const chunk = this.spilledChunks;
      const entries = this.chunks[chunk]!.subarray(0, this.chunkBytes);
      try {
        file.write(entries, chunk * this.chunkBytes);
      } catch {
        return;
      }
      this.checksums[chunk] = crc32c(entries);
      this.chunks[chunk] = null;
      this.spilledChunks++;
      this.cached = { chunk, entries, count: this.chunkEntries };
    }
  }

  private load(chunk: number): LoadedChunk {
    const entries = this.chunks[chunk];
    if (entries) return { chunk, entries, count: this.countOf(chunk) };
    if (this.cached?.chunk === chunk) return this.cached;
    const read = this.readBack(chunk);
    this.cached = read ? { chunk, entries: read, count: this.chunkEntries } : this.directoryEntry(chunk);
    return this.cached;
  }

  /** A spilled chunk as written to the file, or null when it cannot be read whole or its CRC differs. */
  private readBack(chunk: number): Buffer | null {
    let entries: Buffer;
    try {
      entries = this.file!.read(chunk * this.chunkBytes, this.chunkBytes);
    } catch {
      return null;
    }
    if (entries.length !== this.chunkBytes || crc32c(entries) !== this.checksums[chunk]) return null;
    return entries;
  }

  /** A stand-in for a chunk that cannot be read back: its first entry alone, from the directory. */
  private directoryEntry(chunk: number): LoadedChunk {
    const entries = Buffer.allocUnsafeSlow(this.layout.entryBytes);
    const [c0, c1] = this.layout.columns;
    writeValue(entries, c0.byteOffset, c0.kind, this.firstValues[0][chunk]!);
    writeValue(entries, c1.byteOffset, c1.kind, this.firstValues[1][chunk]!);
    return { chunk, entries, count: 1 };
  }

  private entriesValid(buf: Buffer, count: number, upperBounds: readonly [number, number]): boolean {
    const { entryBytes, columns } = this.layout;
    for (const [c, column] of columns.entries()) {
      const end = count * entryBytes;
      let previous = Number.NEGATIVE_INFINITY;
      for (let at = column.byteOffset; at < end; at += entryBytes) {
        const value = readValue(buf, at, column.kind);
        if (value >= upperBounds[c]! || !inOrder(column, previous, value)) return false;
        previous = value;
      }
    }
    return true;
  }
}

/** Index of the last of `length` sorted values that is <= target, or -1. */
function floorOf(length: number, valueAt: (i: number) => number, target: number): number {
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
