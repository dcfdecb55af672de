import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { makeBatch, RecordingLogger, temporaryDirectory } from '../../test/support/log-fixtures.js';
import { readBatchHeader, splitBatches } from '../protocol/index.js';
import { DEFAULT_TOPIC_CONFIG } from './config.js';
import { INDEX_CHUNK_ENTRIES } from './index-chunks.js';
import { OpenFileLimiter } from './open-files.js';
import { PartitionLog } from './partition-log.js';
import { segmentFileName } from './segment.js';

const T0 = 1_700_000_000_000;
const RECORDS_PER_BATCH = 2;
const TIMESTAMP_STEP_MS = 10;
/** Every batch has the same size (fixed-width tags), so positions and index entries can be predicted. */
const batchOf = (tag: string, i: number) =>
  makeBatch(`${tag}${String(i).padStart(7, '0')}`, RECORDS_PER_BATCH, T0 + i * TIMESTAMP_STEP_MS);
const BATCH_BYTES = batchOf('a', 0).length;
/** Sealed segments hold three full index chunks and a few entries more (an entry per batch). */
const SEGMENT_BATCHES = 3 * INDEX_CHUNK_ENTRIES + 100;
const BATCHES = SEGMENT_BATCHES + 2 * INDEX_CHUNK_ENTRIES + 300;
/** Appended after a reopen: the active segment's index crosses another chunk, the segment does not roll. */
const EXTRA_BATCHES = 2000;

function opener(dir: string): () => PartitionLog {
  const files = new OpenFileLimiter(100);
  const logger = new RecordingLogger();
  return () =>
    PartitionLog.open({
      dir,
      // index.interval.bytes=0: an index entry for every batch, so a few MiB of log cross many chunks.
      config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes: SEGMENT_BATCHES * BATCH_BYTES, indexIntervalBytes: 0 },
      files,
      logger,
      now: () => T0,
    });
}

async function appendBatches(log: PartitionLog, tag: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) log.write(batchOf(tag, i));
  await log.flush();
}

/** Offsets sampled across every chunk, with the entries either side of each chunk boundary. */
function sampledBatches(count: number): number[] {
  const sampled = new Set<number>([0, count - 1]);
  for (let i = 0; i < count; i += 997) sampled.add(i);
  for (let boundary = 0; boundary < count + INDEX_CHUNK_ENTRIES; boundary += INDEX_CHUNK_ENTRIES) {
    for (const segmentStart of [0, SEGMENT_BATCHES]) {
      for (const i of [boundary - 1, boundary, boundary + 1].map((b) => b + segmentStart)) {
        if (i >= 0 && i < count) sampled.add(i);
      }
    }
  }
  return [...sampled];
}

/** Batch i (of `tags[i]`) must be served at its offsets and found by its timestamps. */
function assertServes(log: PartitionLog, tags: (i: number) => string, count: number): void {
  assert.equal(log.logEndOffset, count * RECORDS_PER_BATCH);
  for (const i of sampledBatches(count)) {
    for (const offset of [i * RECORDS_PER_BATCH, i * RECORDS_PER_BATCH + 1]) {
      const batch = splitBatches(log.read(offset, 1).records)[0];
      assert.ok(batch, `offset ${offset} is served`);
      assert.equal(readBatchHeader(batch).baseOffset, i * RECORDS_PER_BATCH, `batch at offset ${offset}`);
      assert.ok(
        batch.includes(Buffer.from(`${tags(i)}${String(i).padStart(7, '0')}`)),
        `content at ${offset}`,
      );
    }
    const timestamp = T0 + i * TIMESTAMP_STEP_MS;
    assert.deepEqual(log.offsetForTimestamp(timestamp), { offset: i * RECORDS_PER_BATCH, timestamp });
    if (i + 1 < count) {
      assert.deepEqual(log.offsetForTimestamp(timestamp + 5), {
        offset: (i + 1) * RECORDS_PER_BATCH,
        timestamp: timestamp + TIMESTAMP_STEP_MS,
      });
    }
  }
}

/** The index files a segment holding batches [from, to) must have once written whole. */
function expectedIndexFiles(from: number, to: number): { offsets: Buffer; times: Buffer } {
  const offsets = Buffer.alloc((to - from) * 8);
  const times = Buffer.alloc((to - from) * 12);
  for (let i = from; i < to; i++) {
    offsets.writeUInt32BE((i - from) * RECORDS_PER_BATCH, (i - from) * 8);
    offsets.writeUInt32BE((i - from) * BATCH_BYTES, (i - from) * 8 + 4);
    times.writeBigInt64BE(BigInt(T0 + i * TIMESTAMP_STEP_MS + RECORDS_PER_BATCH - 1), (i - from) * 12);
    times.writeUInt32BE((i - from) * RECORDS_PER_BATCH, (i - from) * 12 + 8);
  }
  return { offsets, times };
}

function indexFiles(dir: string, baseOffset: number): { offsets: Buffer; times: Buffer } {
  return {
    offsets: fs.readFileSync(path.join(dir, segmentFileName(baseOffset, '.index'))),
    times: fs.readFileSync(path.join(dir, segmentFileName(baseOffset, '.timeindex'))),
  };
}

const ACTIVE_BASE = SEGMENT_BATCHES * RECORDS_PER_BATCH;

describe('PartitionLog with indexes across many chunks', () => {
  it('serves fetches by offset and timestamp while running, after a clean close and after a crash', async () => {
    using tmp = temporaryDirectory();
    const dir = path.join(tmp.dir, 'p0');
    const open = opener(dir);
    const log = open();
    await appendBatches(log, 'a', 0, BATCHES);
    assert.equal(log.segmentCount, 2);
    // The sealed segment's files were written whole at roll; the active one's hold its full chunks so far.
    assert.deepEqual(indexFiles(dir, 0), expectedIndexFiles(0, SEGMENT_BATCHES));
    const spilled = indexFiles(dir, ACTIVE_BASE);
    assert.equal(spilled.offsets.length, 2 * INDEX_CHUNK_ENTRIES * 8);
    assert.equal(spilled.times.length, 2 * INDEX_CHUNK_ENTRIES * 12);
    assertServes(log, () => 'a', BATCHES);
    await log.close();
    assert.deepEqual(indexFiles(dir, ACTIVE_BASE), expectedIndexFiles(SEGMENT_BATCHES, BATCHES));

    const reopened = open();
    assertServes(reopened, () => 'a', BATCHES);
    await appendBatches(reopened, 'a', BATCHES, BATCHES + EXTRA_BATCHES);
    assertServes(reopened, () => 'a', BATCHES + EXTRA_BATCHES);
    // A crash: no close, and the active index file torn in the middle of a chunk and overwritten in another.
    const activeIndex = path.join(dir, segmentFileName(ACTIVE_BASE, '.index'));
    fs.truncateSync(activeIndex, INDEX_CHUNK_ENTRIES * 8 + 12);
    fs.writeFileSync(activeIndex, Buffer.alloc(64, 0xff), { flag: 'r+' });
    const recovered = open();
    assertServes(recovered, () => 'a', BATCHES + EXTRA_BATCHES);
    await recovered.close();
    assert.deepEqual(
      indexFiles(dir, ACTIVE_BASE),
      expectedIndexFiles(SEGMENT_BATCHES, BATCHES + EXTRA_BATCHES),
    );
  });

  it('never serves stale spilled chunks after a truncation cuts into them', async () => {
    using tmp = temporaryDirectory();
    const dir = path.join(tmp.dir, 'p0');
    const open = opener(dir);
    const log = open();
    await appendBatches(log, 'a', 0, BATCHES);
    // Cut into the active segment's first chunk (in the file, two chunks behind the tail): the batches
    // written again have other contents, and the file still holds the old chunks until they are rewritten.
    const cutBatch = SEGMENT_BATCHES + 1000;
    assert.equal(log.truncateTo(cutBatch * RECORDS_PER_BATCH), cutBatch * RECORDS_PER_BATCH);
    const tag = (i: number) => (i < cutBatch ? 'a' : 'b');
    assertServes(log, tag, cutBatch);
    for (let i = cutBatch; i < BATCHES; i++) log.write(batchOf('b', i));
    await log.flush();
    assertServes(log, tag, BATCHES);
    // Crash and reopen: the last segment is rescanned whatever its index files hold.
    const recovered = open();
    assertServes(recovered, tag, BATCHES);
    // A truncation that removes the active segment makes the sealed one active again, cut inside.
    const sealedCut = 2 * INDEX_CHUNK_ENTRIES + 5;
    recovered.truncateTo(sealedCut * RECORDS_PER_BATCH);
    for (let i = sealedCut; i < BATCHES; i++) recovered.write(batchOf('c', i));
    await recovered.flush();
    const tagAfter = (i: number) => (i < sealedCut ? 'a' : 'c');
    assertServes(recovered, tagAfter, BATCHES);
    await recovered.close();
    assert.deepEqual(indexFiles(dir, 0), expectedIndexFiles(0, SEGMENT_BATCHES));
    const reopened = open();
    assertServes(reopened, tagAfter, BATCHES);
    await reopened.close();
  });
});

describe('PartitionLog with a damaged spilled index chunk', () => {
  it('rolls without index files for the segment, which are rebuilt from it when next loaded', async () => {
    using tmp = temporaryDirectory();
    const dir = path.join(tmp.dir, 'p0');
    const open = opener(dir);
    const log = open();
    await appendBatches(log, 'a', 0, SEGMENT_BATCHES - 10);
    // Chunk 1 of the active segment's offset index, in the file only, is overwritten.
    const activeIndex = path.join(dir, segmentFileName(0, '.index'));
    const fd = fs.openSync(activeIndex, 'r+');
    fs.writeSync(fd, Buffer.alloc(16, 0xff), 0, 16, INDEX_CHUNK_ENTRIES * 8 + 40);
    fs.closeSync(fd);
    assertServes(log, () => 'a', SEGMENT_BATCHES - 10);
    await appendBatches(log, 'a', SEGMENT_BATCHES - 10, SEGMENT_BATCHES + 10);
    assert.equal(log.segmentCount, 2);
    assert.equal(fs.existsSync(activeIndex), false);
    assert.equal(fs.existsSync(path.join(dir, segmentFileName(0, '.timeindex'))), false);
    assertServes(log, () => 'a', SEGMENT_BATCHES + 10);
    await log.close();
    const reopened = open();
    assertServes(reopened, () => 'a', SEGMENT_BATCHES + 10);
    await reopened.close();
  });
});
