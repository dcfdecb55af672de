import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChunkFile } from './index-chunks.js';
import { OffsetIndex, TimeIndex } from './segment-index.js';

/** An index file in memory, whose writes and reads can be made to fail. */
class MemoryFile implements ChunkFile {
  bytes = Buffer.alloc(0);
  failWrites = false;
  failReads = false;
  writes = 0;

  write(data: Buffer, position: number): void {
    if (this.failWrites) throw new Error('ENOSPC (test)');
    if (this.bytes.length < position + data.length) {
      const grown = Buffer.alloc(position + data.length);
      this.bytes.copy(grown);
      this.bytes = grown;
    }
    data.copy(this.bytes, position);
    this.writes++;
  }

  read(position: number, length: number): Buffer {
    if (this.failReads) throw new Error('EIO (test)');
    return Buffer.from(this.bytes.subarray(position, position + length));
  }
}

/** Deterministic pseudo-random integers (mulberry32). */
function randomInts(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * below);
  };
}

/** The plain-array index the chunked one must agree with. */
class ReferenceOffsetIndex {
  relativeOffsets: number[] = [];
  positions: number[] = [];

  append(relativeOffset: number, position: number): void {
    this.relativeOffsets.push(relativeOffset);
    this.positions.push(position);
  }

  floorPosition(relativeOffset: number): number {
    let found = 0;
    for (const [i, r] of this.relativeOffsets.entries()) if (r <= relativeOffset) found = this.positions[i]!;
    return found;
  }

  truncateTo(relativeOffset: number): void {
    while (this.relativeOffsets.length > 0 && this.relativeOffsets.at(-1)! >= relativeOffset) {
      this.relativeOffsets.pop();
      this.positions.pop();
    }
  }

  toBuffer(): Buffer {
    const buf = Buffer.alloc(this.relativeOffsets.length * 8);
    for (const [i, r] of this.relativeOffsets.entries()) {
      buf.writeUInt32BE(r, i * 8);
      buf.writeUInt32BE(this.positions[i]!, i * 8 + 4);
    }
    return buf;
  }
}

class ReferenceTimeIndex {
  timestamps: number[] = [];
  relativeOffsets: number[] = [];

  maybeAppend(timestamp: number, relativeOffset: number): void {
    if (this.timestamps.length > 0 && timestamp <= this.timestamps.at(-1)!) return;
    this.timestamps.push(timestamp);
    this.relativeOffsets.push(relativeOffset);
  }

  scanStart(timestamp: number): number {
    let found = 0;
    for (const [i, t] of this.timestamps.entries()) if (t < timestamp) found = this.relativeOffsets[i]!;
    return found;
  }

  truncateTo(relativeOffset: number): void {
    while (this.relativeOffsets.length > 0 && this.relativeOffsets.at(-1)! >= relativeOffset) {
      this.timestamps.pop();
      this.relativeOffsets.pop();
    }
  }

  toBuffer(): Buffer {
    const buf = Buffer.alloc(this.timestamps.length * 12);
    for (const [i, t] of this.timestamps.entries()) {
      buf.writeBigInt64BE(BigInt(t), i * 12);
      buf.writeUInt32BE(this.relativeOffsets[i]!, i * 12 + 8);
    }
    return buf;
  }
}

const OFFSET_ENTRY_BYTES = 8;
const TIME_ENTRY_BYTES = 12;

describe('OffsetIndex in chunks', () => {
  for (const chunkEntries of [1, 3, 8, 64]) {
    for (const spillAfter of [null, 0, 5, 40]) {
      it(`agrees with a plain array (chunks of ${chunkEntries}, spilling ${spillAfter ?? 'never'})`, () => {
        const next = randomInts(chunkEntries * 100 + (spillAfter ?? 99));
        const index = new OffsetIndex(chunkEntries);
        const reference = new ReferenceOffsetIndex();
        const file = new MemoryFile();
        let relativeOffset = 0;
        let position = 0;
        let peakLength = 0;
        for (let step = 0; step < 4000; step++) {
          if (spillAfter !== null && !index.spilling && step >= spillAfter) index.spillTo(file);
          const op = next(100);
          if (op < 70) {
            relativeOffset += 1 + next(5);
            position += 1 + next(200);
            index.append(relativeOffset, position);
            reference.append(relativeOffset, position);
          } else if (op < 96) {
            const target = next(relativeOffset + 10) - 2;
            assert.equal(index.floorPosition(target), reference.floorPosition(target), `floor ${target}`);
          } else {
            // Mostly short cuts near the end, sometimes deep into spilled chunks.
            const deep = op === 99 && next(5) === 0;
            const cut = deep ? next(relativeOffset + 1) : Math.max(0, relativeOffset - next(20));
            index.truncateTo(cut);
            reference.truncateTo(cut);
            relativeOffset = reference.relativeOffsets.at(-1) ?? 0;
            position = reference.positions.at(-1) ?? 0;
          }
          assert.equal(index.length, reference.relativeOffsets.length);
          peakLength = Math.max(peakLength, index.length);
          if (index.spilling) {
            assert.ok(index.residentBytes <= 2 * chunkEntries * OFFSET_ENTRY_BYTES, `${index.residentBytes}`);
          }
        }
        assert.ok(peakLength > 8 * chunkEntries, `peak ${peakLength}`);
        assert.deepEqual(index.toBuffer(), reference.toBuffer());
        const last = index.length - 1;
        assert.deepEqual(index.entry(last), {
          relativeOffset: reference.relativeOffsets[last],
          position: reference.positions[last],
        });
        assert.deepEqual(index.entry(0), {
          relativeOffset: reference.relativeOffsets[0],
          position: reference.positions[0],
        });
      });
    }
  }

  it('writes full chunks at their final position in the index file format', () => {
    const index = new OffsetIndex(4);
    const reference = new ReferenceOffsetIndex();
    const file = new MemoryFile();
    index.spillTo(file);
    for (let i = 0; i < 18; i++) {
      index.append(i * 3, i * 100);
      reference.append(i * 3, i * 100);
    }
    // Chunks 0-3 are full and no longer the last: in the file. Chunk 4 (2 entries) is in memory only.
    assert.deepEqual(file.bytes, reference.toBuffer().subarray(0, 16 * OFFSET_ENTRY_BYTES));
    assert.deepEqual(Buffer.concat([...index.encodedChunks()]), reference.toBuffer());
    assert.ok(index.residentBytes <= 2 * 4 * OFFSET_ENTRY_BYTES);
  });

  it('spills what it held when it starts spilling, and parses back what it wrote', () => {
    const index = new OffsetIndex(5);
    for (let i = 0; i < 23; i++) index.append(i, i * 10);
    const file = new MemoryFile();
    index.spillTo(file);
    assert.equal(file.bytes.length, 20 * OFFSET_ENTRY_BYTES);
    const whole = index.toBuffer();
    const parsed = OffsetIndex.parse(whole, 1000, 100, 5);
    assert.ok(parsed);
    for (let target = -1; target < 25; target++) {
      assert.equal(parsed.floorPosition(target), index.floorPosition(target));
    }
  });

  it('rejects index files that are torn, out of order or past the segment', () => {
    const entries = (...pairs: number[][]) => {
      const buf = Buffer.alloc(pairs.length * 8);
      for (const [i, [r, p]] of pairs.entries()) {
        buf.writeUInt32BE(r!, i * 8);
        buf.writeUInt32BE(p!, i * 8 + 4);
      }
      return buf;
    };
    assert.ok(OffsetIndex.parse(entries([0, 0], [2, 50], [4, 90]), 100, 5, 2));
    assert.equal(OffsetIndex.parse(entries([0, 0], [2, 50]).subarray(0, 12), 100, 5, 2), null);
    assert.equal(OffsetIndex.parse(entries([0, 0], [2, 50], [2, 90]), 100, 5, 2), null);
    assert.equal(OffsetIndex.parse(entries([0, 0], [2, 50], [3, 50]), 100, 5, 2), null);
    assert.equal(OffsetIndex.parse(entries([0, 0], [5, 50]), 100, 5, 2), null);
    assert.equal(OffsetIndex.parse(entries([0, 0], [2, 100]), 100, 5, 2), null);
  });

  it('keeps a chunk in memory while its write fails, and spills it once writes succeed', () => {
    const index = new OffsetIndex(4);
    const file = new MemoryFile();
    index.spillTo(file);
    file.failWrites = true;
    for (let i = 0; i < 20; i++) index.append(i, i * 10);
    assert.equal(file.writes, 0);
    assert.equal(index.residentBytes, 5 * 4 * OFFSET_ENTRY_BYTES);
    for (let i = 0; i < 20; i++) assert.equal(index.floorPosition(i), i * 10);
    file.failWrites = false;
    for (let i = 20; i < 21; i++) index.append(i, i * 10);
    assert.equal(file.bytes.length, 20 * OFFSET_ENTRY_BYTES);
    assert.ok(index.residentBytes <= 2 * 4 * OFFSET_ENTRY_BYTES);
    for (let i = 0; i < 21; i++) assert.equal(index.floorPosition(i), i * 10);
  });

  it('answers from the directory when a chunk cannot be read back or does not agree with it', () => {
    for (const damage of ['unreadable', 'overwritten', 'cut short'] as const) {
      const index = new OffsetIndex(4);
      const file = new MemoryFile();
      index.spillTo(file);
      for (let i = 0; i < 40; i++) index.append(i * 2, i * 10);
      if (damage === 'unreadable') file.failReads = true;
      if (damage === 'overwritten') file.bytes.writeUInt32BE(999, 9 * OFFSET_ENTRY_BYTES + 4);
      if (damage === 'cut short') file.bytes = file.bytes.subarray(0, 30 * OFFSET_ENTRY_BYTES);
      // Entry 9 (offset 18) is in chunk 2: its lookup may only fall back to chunk 2's first entry (offset 16).
      const position = index.floorPosition(19);
      if (damage === 'cut short') assert.equal(position, 90, damage);
      else assert.equal(position, 80, damage);
      // The tail is still exact.
      assert.equal(index.floorPosition(79), 390, damage);
      assert.throws(() => index.toBuffer(), /could not be read back/);
      if (damage === 'unreadable') {
        // A cut into a chunk that cannot be read keeps the entry the directory has for it: still an index.
        index.truncateTo(23);
        assert.equal(index.length, 2 * 4 + 1);
        assert.equal(index.floorPosition(100), 80);
        file.failReads = false;
        index.append(30, 150);
        assert.equal(index.floorPosition(31), 150);
        assert.equal(index.floorPosition(29), 80);
        assert.equal(index.floorPosition(11), 50);
      }
    }
  });

  it('never reads back stale chunks after a truncation into the file', () => {
    const index = new OffsetIndex(4);
    const reference = new ReferenceOffsetIndex();
    const file = new MemoryFile();
    index.spillTo(file);
    for (let i = 0; i < 30; i++) {
      index.append(i * 10, i * 100);
      reference.append(i * 10, i * 100);
    }
    index.truncateTo(55);
    reference.truncateTo(55);
    // The file still holds chunks 1-6 of the old entries; new ones differ in position.
    for (let i = 6; i < 30; i++) {
      index.append(i * 10 + 1, i * 100 + 7);
      reference.append(i * 10 + 1, i * 100 + 7);
    }
    for (let target = 0; target < 300; target++) {
      assert.equal(index.floorPosition(target), reference.floorPosition(target), `${target}`);
    }
    assert.deepEqual(index.toBuffer(), reference.toBuffer());
  });
});

describe('TimeIndex in chunks', () => {
  for (const chunkEntries of [1, 3, 8]) {
    for (const spillAfter of [null, 0, 17]) {
      it(`agrees with a plain array (chunks of ${chunkEntries}, spilling ${spillAfter ?? 'never'})`, () => {
        const next = randomInts(chunkEntries * 31 + (spillAfter ?? 7));
        const index = new TimeIndex(chunkEntries);
        const reference = new ReferenceTimeIndex();
        const file = new MemoryFile();
        // Negative and beyond-32-bit timestamps both go through the i64 encoding.
        let timestamp = -5000;
        let relativeOffset = 0;
        let peakLength = 0;
        for (let step = 0; step < 4000; step++) {
          if (spillAfter !== null && !index.spilling && step >= spillAfter) index.spillTo(file);
          const op = next(100);
          if (op < 70) {
            timestamp += next(2 ** 34) - 2 ** 30;
            relativeOffset += next(3);
            index.maybeAppend(timestamp, relativeOffset);
            reference.maybeAppend(timestamp, relativeOffset);
          } else if (op < 96) {
            const target = (reference.timestamps.at(-1) ?? 0) - next(2 ** 36) + 2 ** 20;
            assert.equal(index.scanStart(target), reference.scanStart(target), `scanStart ${target}`);
          } else {
            const deep = op === 99 && next(5) === 0;
            const cut = deep ? next(relativeOffset + 1) : Math.max(0, relativeOffset - next(10));
            index.truncateTo(cut);
            reference.truncateTo(cut);
            relativeOffset = reference.relativeOffsets.at(-1) ?? 0;
            timestamp = reference.timestamps.at(-1) ?? -5000;
          }
          assert.equal(index.length, reference.timestamps.length);
          peakLength = Math.max(peakLength, index.length);
          const last = index.last;
          assert.deepEqual(
            last && [last.timestamp, last.relativeOffset],
            reference.timestamps.length > 0
              ? [reference.timestamps.at(-1), reference.relativeOffsets.at(-1)]
              : null,
          );
          if (index.spilling) {
            assert.ok(index.residentBytes <= 2 * chunkEntries * TIME_ENTRY_BYTES, `${index.residentBytes}`);
          }
        }
        assert.ok(peakLength > 8 * chunkEntries, `peak ${peakLength}`);
        assert.deepEqual(index.toBuffer(), reference.toBuffer());
        const parsed = TimeIndex.parse(index.toBuffer(), relativeOffset + 1, chunkEntries);
        assert.ok(parsed);
        assert.deepEqual(parsed.toBuffer(), reference.toBuffer());
      });
    }
  }

  it('accepts the repeated offset of a sealing entry and rejects falling ones', () => {
    const entries = (...pairs: number[][]) => {
      const buf = Buffer.alloc(pairs.length * 12);
      for (const [i, [t, r]] of pairs.entries()) {
        buf.writeBigInt64BE(BigInt(t!), i * 12);
        buf.writeUInt32BE(r!, i * 12 + 8);
      }
      return buf;
    };
    assert.ok(TimeIndex.parse(entries([10, 0], [20, 4], [30, 4]), 5, 2));
    assert.equal(TimeIndex.parse(entries([10, 0], [20, 4], [20, 5]), 9, 2), null);
    assert.equal(TimeIndex.parse(entries([10, 0], [20, 4], [30, 3]), 9, 2), null);
    assert.equal(TimeIndex.parse(entries([10, 0], [20, 4]), 4, 2), null);
  });
});
