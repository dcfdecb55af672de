import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, mock } from 'node:test';
import { makeBatch, RecordingLogger, temporaryDirectory } from '../../test/support/log-fixtures.js';
import {
  BatchField,
  Compression,
  decodeRecords,
  encodeRecordBatch,
  readBatchHeader,
  splitBatches,
} from '../protocol/index.js';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from './config.js';
import { LogError } from './errors.js';
import { sharedLoadedIndexes } from './loaded-indexes.js';
import { OpenFileLimiter } from './open-files.js';
import { type AppendResult, PartitionLog, type PartitionLogOptions } from './partition-log.js';
import { type SegmentWriter, segmentFileName } from './segment.js';

const T0 = 1_700_000_000_000;

interface Harness {
  dir: string;
  logger: RecordingLogger;
  clock: { now: number };
  open(overrides?: Partial<TopicConfig>, extra?: Partial<PartitionLogOptions>): PartitionLog;
}

function harness(dir: string): Harness {
  const logger = new RecordingLogger();
  const clock = { now: T0 };
  const files = new OpenFileLimiter(100);
  return {
    dir,
    logger,
    clock,
    open: (overrides = {}, extra = {}) =>
      PartitionLog.open({
        dir: path.join(dir, 'p0'),
        config: { ...DEFAULT_TOPIC_CONFIG, ...overrides },
        files,
        logger,
        now: () => clock.now,
        ...extra,
      }),
  };
}

/** Values of every record from `offset` to the end of the log, read batch by batch. */
function readAllValues(log: PartitionLog, from = log.logStartOffset): string[] {
  const values: string[] = [];
  let offset = from;
  while (offset < log.highWatermark) {
    const { records } = log.read(offset, 1 << 20);
    assert.ok(records.length > 0, `read at ${offset} below the high watermark returned nothing`);
    for (const batch of splitBatches(records)) {
      for (const record of decodeRecords(batch)) {
        if (record.offset >= offset) values.push(record.value!.toString());
      }
      const header = readBatchHeader(batch);
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  return values;
}

function expectCode(error: unknown, code: string): true {
  assert.ok(error instanceof LogError, `expected LogError ${code}, got ${String(error)}`);
  assert.equal(error.code, code);
  return true;
}

const partitionDir = (h: Harness) => path.join(h.dir, 'p0');
const segmentFiles = (h: Harness) =>
  fs
    .readdirSync(partitionDir(h))
    .filter((f) => f.endsWith('.log'))
    .sort();

describe('PartitionLog append and read', () => {
  it('assigns dense offsets by rewriting baseOffset and keeps the rest byte-identical', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open();
    const sent = [makeBatch('a', 3), makeBatch('b', 1), makeBatch('c', 5)];
    const copies = sent.map((b) => Buffer.from(b));
    const results: AppendResult[] = [];
    for (const batch of sent) results.push(await log.append(batch));
    assert.deepEqual(
      results.map((r) => [r.baseOffset, r.lastOffset]),
      [
        [0, 2],
        [3, 3],
        [4, 8],
      ],
    );
    assert.equal(log.logEndOffset, 9);
    assert.equal(log.highWatermark, 9);
    assert.equal(log.logStartOffset, 0);
    const stored = splitBatches(log.read(0, 1 << 20).records);
    assert.equal(stored.length, 3);
    stored.forEach((batch, i) => {
      assert.equal(readBatchHeader(batch).baseOffset, results[i]!.baseOffset);
      assert.deepEqual(batch.subarray(BatchField.crc), copies[i]!.subarray(BatchField.crc));
    });
    await log.close();
  });

  it('serves the whole batch that contains a mid-batch offset', async () => {
    using tmp = temporaryDirectory();
    const log = harness(tmp.dir).open();
    await log.append(makeBatch('a', 4));
    await log.append(makeBatch('b', 4));
    const batches = splitBatches(log.read(6, 1 << 20).records);
    assert.equal(batches.length, 1);
    assert.equal(readBatchHeader(batches[0]!).baseOffset, 4);
    await log.close();
  });

  it('returns whole batches up to maxBytes but always at least one batch', async () => {
    using tmp = temporaryDirectory();
    const log = harness(tmp.dir).open();
    const size = makeBatch('x', 2, T0, 100).length;
    for (let i = 0; i < 10; i++) await log.append(makeBatch(`b${i}`, 2, T0, 100));
    assert.equal(splitBatches(log.read(0, size * 3 + 10).records).length, 3);
    assert.equal(log.read(0, size * 3 + 10).records.length, size * 3);
    assert.equal(splitBatches(log.read(0, 1).records).length, 1, 'a tiny maxBytes still returns one batch');
    assert.equal(log.read(10, 1 << 20).records.length, size * 5);
    await log.close();
  });

  it('reports the end of the log as empty and beyond it as out of range', async () => {
    using tmp = temporaryDirectory();
    const log = harness(tmp.dir).open();
    await log.append(makeBatch('a', 2));
    assert.equal(log.read(2, 1000).records.length, 0);
    assert.throws(
      () => log.read(3, 1000),
      (e) => expectCode(e, 'OFFSET_OUT_OF_RANGE'),
    );
    assert.throws(
      () => log.read(-1, 1000),
      (e) => expectCode(e, 'OFFSET_OUT_OF_RANGE'),
    );
    await log.close();
  });

  it('writes nothing when a batch in the payload is bad', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open();
    await log.append(makeBatch('ok'));
    const bad = makeBatch('bad');
    bad[bad.length - 1]! ^= 0xff;
    await assert.rejects(log.append(Buffer.concat([makeBatch('fine'), bad])), (e) =>
      expectCode(e, 'CORRUPT_MESSAGE'),
    );
    assert.equal(log.logEndOffset, 3);
    assert.equal(
      fs.statSync(path.join(partitionDir(h), segmentFileName(0, '.log'))).size,
      makeBatch('ok').length,
    );
    await log.close();
  });

  it('rejects batches above max.message.bytes with MESSAGE_TOO_LARGE', async () => {
    using tmp = temporaryDirectory();
    const log = harness(tmp.dir).open({ maxMessageBytes: 200 });
    await assert.rejects(log.append(makeBatch('big', 20, T0, 50)), (e) => expectCode(e, 'MESSAGE_TOO_LARGE'));
    assert.equal(log.logEndOffset, 0);
    await log.close();
  });

  it('stamps LogAppendTime batches with the broker clock and a valid CRC', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open({ messageTimestampType: 'LogAppendTime' });
    h.clock.now = T0 + 5000;
    const result = await log.append(makeBatch('a', 2, 1));
    assert.equal(result.logAppendTimeMs, T0 + 5000);
    const batch = splitBatches(log.read(0, 1000).records)[0]!;
    const header = readBatchHeader(batch);
    assert.equal(header.maxTimestamp, T0 + 5000);
    assert.equal(header.attributes & 0x08, 0x08);
    assert.deepEqual(log.offsetForTimestamp(T0 + 5000), { offset: 0, timestamp: T0 + 5000 });
    await log.close();
  });
});

describe('PartitionLog timestamp lookup', () => {
  it('finds the first offset whose timestamp is >= t across batches and segments', async () => {
    using tmp = temporaryDirectory();
    const log = harness(tmp.dir).open({ segmentBytes: 1024, indexIntervalBytes: 0 });
    for (let i = 0; i < 30; i++) await log.append(makeBatch(`b${i}`, 4, T0 + i * 100));
    assert.ok(log.segmentCount > 3);
    assert.deepEqual(log.offsetForTimestamp(0), { offset: 0, timestamp: T0 });
    assert.deepEqual(log.offsetForTimestamp(T0 + 1502), { offset: 62, timestamp: T0 + 1502 });
    assert.deepEqual(log.offsetForTimestamp(T0 + 1504), { offset: 64, timestamp: T0 + 1600 });
    assert.equal(log.offsetForTimestamp(T0 + 99_999), null);
    await log.close();
  });

  it('returns the first offset in log order when timestamps are out of order, including gzip batches', async () => {
    using tmp = temporaryDirectory();
    const log = harness(tmp.dir).open();
    const batch = (timestamps: number[], compression: 0 | 1) =>
      encodeRecordBatch(
        timestamps.map((t, i) => ({ key: null, value: Buffer.from(`v${i}`), timestamp: T0 + t })),
        { compression: compression === 1 ? Compression.Gzip : Compression.None },
      );
    await log.append(batch([50, 10, 20], 0));
    await log.append(batch([5, 70, 30], 1));
    assert.deepEqual(log.offsetForTimestamp(T0 + 15), { offset: 0, timestamp: T0 + 50 });
    assert.deepEqual(log.offsetForTimestamp(T0 + 60), { offset: 4, timestamp: T0 + 70 });
    await log.close();
  });
});

describe('PartitionLog sealed segment indexes', () => {
  it("keeps a bounded number of sealed segments' indexes loaded and reads every segment right", async () => {
    using tmp = temporaryDirectory();
    const log = harness(tmp.dir).open({ segmentBytes: 1024, indexIntervalBytes: 0 });
    const written: string[] = [];
    for (let i = 0; i < 1200; i++) {
      await log.append(makeBatch(`b${i}`, 4, T0 + i));
      for (let r = 0; r < 4; r++) written.push(`b${i}-${r}`);
    }
    const indexes = sharedLoadedIndexes();
    assert.ok(log.segmentCount > indexes.maxLoaded * 2, `${log.segmentCount} segments`);
    // Reading every segment loads each one's indexes; only the most recently used stay loaded.
    assert.deepEqual(readAllValues(log), written);
    // Every sealed segment read was counted; the limiter released the older ones (its own test).
    assert.equal(indexes.loadedCount, indexes.maxLoaded);
    assert.deepEqual(readAllValues(log), written);
    await log.close();
  });
});

describe('PartitionLog segments and retention', () => {
  it('rolls by size and keeps reading across segments', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open({ segmentBytes: 2048 });
    for (let i = 0; i < 50; i++) await log.append(makeBatch(`b${i}`, 2, T0, 60));
    assert.ok(log.segmentCount >= 5, `expected several segments, got ${log.segmentCount}`);
    for (const name of segmentFiles(h)) assert.ok(fs.statSync(path.join(partitionDir(h), name)).size <= 2048);
    assert.equal(readAllValues(log).length, 100);
    assert.equal(readAllValues(log)[57], 'b28-1'.padEnd(60, '.'));
    await log.close();
  });

  it('rolls by age (segment.ms)', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open({ segmentMs: 60_000 });
    await log.append(makeBatch('a'));
    h.clock.now += 30_000;
    await log.append(makeBatch('b'));
    assert.equal(log.segmentCount, 1);
    h.clock.now += 30_000;
    await log.append(makeBatch('c'));
    assert.equal(log.segmentCount, 2);
    h.clock.now += 60_000;
    log.rollIfExpired();
    assert.equal(log.segmentCount, 3);
    await log.close();
  });

  it('deletes whole segments older than retention.ms and moves the log start offset', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open({ segmentBytes: 1024, retentionMs: 10_000 });
    for (let i = 0; i < 20; i++) await log.append(makeBatch(`old${i}`, 3, T0));
    const oldSegments = log.segmentCount;
    for (let i = 0; i < 20; i++) await log.append(makeBatch(`new${i}`, 3, T0 + 60_000));
    h.clock.now = T0 + 65_000;
    const result = log.applyRetention();
    assert.ok(
      result.deletedSegments >= oldSegments - 1,
      `deleted ${result.deletedSegments} of ${oldSegments}`,
    );
    assert.ok(log.logStartOffset > 0);
    const values = readAllValues(log);
    assert.ok(values.every((v) => !v.startsWith('old') || log.logStartOffset <= 60));
    assert.ok(values.includes('new19-2'));
    assert.throws(
      () => log.read(0, 100),
      (e) => expectCode(e, 'OFFSET_OUT_OF_RANGE'),
    );
    assert.ok(h.logger.at('info').some((l) => l.message === 'deleted log segment'));
    h.clock.now = T0 + 200_000;
    log.applyRetention();
    assert.equal(log.logStartOffset, log.logEndOffset, 'an expired active segment is rolled and deleted too');
    await log.append(makeBatch('after'));
    assert.deepEqual(readAllValues(log), ['after-0', 'after-1', 'after-2']);
    await log.close();
  });

  it('deletes the oldest segments while the partition exceeds retention.bytes', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open({ segmentBytes: 1024, retentionBytes: 3000 });
    for (let i = 0; i < 60; i++) await log.append(makeBatch(`b${i}`, 2));
    const before = log.sizeBytes;
    const result = log.applyRetention();
    assert.ok(result.deletedSegments > 0);
    assert.equal(log.sizeBytes, before - result.deletedBytes);
    assert.ok(
      log.sizeBytes <= 3000 + 1024,
      `size ${log.sizeBytes} should be within one segment of the limit`,
    );
    assert.ok(log.sizeBytes > 3000 - 1024);
    assert.equal(readAllValues(log).at(-1), 'b59-1');
    await log.close();
  });
});

describe('PartitionLog durability', () => {
  it('group-commits concurrent durable appends into fewer fsyncs', async () => {
    using tmp = temporaryDirectory();
    const log = harness(tmp.dir).open();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => log.append(makeBatch(`c${i}`, 1))),
    );
    assert.deepEqual(
      results.map((r) => r.baseOffset),
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.equal(log.highWatermark, 200);
    assert.ok(log.fsyncCount >= 1 && log.fsyncCount < 20, `200 appends took ${log.fsyncCount} fsyncs`);
    await log.close();
  });

  it('keeps durable records invisible to readers until fsynced', async () => {
    using tmp = temporaryDirectory();
    const log = harness(tmp.dir).open();
    const pending = log.append(makeBatch('a', 2));
    assert.equal(log.logEndOffset, 2);
    assert.equal(log.highWatermark, 0);
    assert.equal(log.read(0, 1000).records.length, 0);
    await pending;
    assert.equal(log.highWatermark, 2);
    await log.close();
  });

  it('acknowledges interval-policy appends at once and fsyncs them on the timer', async () => {
    using tmp = temporaryDirectory();
    const log = harness(tmp.dir).open({ flushPolicy: 'interval', flushMs: 20 });
    await log.append(makeBatch('a'));
    assert.equal(log.highWatermark, 3);
    assert.equal(log.fsyncCount, 0);
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.ok(log.fsyncCount >= 1);
    await log.close();
  });

  it('fails an append on a full disk, cutting back the partial write, and keeps serving reads', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    let fail = false;
    const writer: SegmentWriter = {
      write(fd, buf, offset, length, position) {
        if (!fail) return fs.writeSync(fd, buf, offset, length, position);
        fs.writeSync(fd, buf, offset, Math.floor(length / 2), position);
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
      sync: (fd) => fs.fdatasyncSync(fd),
    };
    const log = h.open({}, { writer });
    await log.append(makeBatch('before'));
    fail = true;
    // Offsets are handed out before the write lands: the failure reaches the append through its promise.
    const lost = log.write(makeBatch('lost'));
    assert.equal(lost.baseOffset, 3);
    await assert.rejects(log.durable(), (e) => expectCode(e, 'DISK_FULL'));
    assert.equal(log.logEndOffset, 3);
    assert.equal(log.highWatermark, 3);
    assert.equal(
      fs.statSync(path.join(partitionDir(h), segmentFileName(0, '.log'))).size,
      makeBatch('before').length,
    );
    // Its offsets were handed out, so the log takes no more writes until it is reopened.
    fail = false;
    assert.throws(
      () => log.write(makeBatch('after')),
      (e) => expectCode(e, 'IO_ERROR'),
    );
    assert.deepEqual(readAllValues(log), ['before-0', 'before-1', 'before-2']);
    await log.close();
    const reopened = h.open();
    assert.equal(reopened.logEndOffset, 3);
    await reopened.append(makeBatch('after'));
    assert.deepEqual(readAllValues(reopened), [
      'before-0',
      'before-1',
      'before-2',
      'after-0',
      'after-1',
      'after-2',
    ]);
    await reopened.close();
  });

  it('fails every append queued behind a failed write and keeps none of them', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    let writes = 0;
    const writer: SegmentWriter = {
      write(fd, buf, offset, length, position) {
        writes++;
        if (writes === 2) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
        return fs.writeSync(fd, buf, offset, length, position);
      },
      sync: (fd) => fs.fdatasyncSync(fd),
    };
    const log = h.open({}, { writer });
    await log.append(makeBatch('first'));
    const failing = log.append(makeBatch('second'));
    // The first write is in the writer's queue: the next turn's append queues behind it.
    await new Promise((resolve) => setImmediate(resolve));
    const queued = log.write(makeBatch('third'));
    assert.equal(queued.baseOffset, 6);
    const third = log.durable();
    await assert.rejects(failing, (e) => expectCode(e, 'IO_ERROR'));
    await assert.rejects(third, (e) => expectCode(e, 'IO_ERROR'));
    assert.equal(log.logEndOffset, 3);
    assert.deepEqual(readAllValues(log), ['first-0', 'first-1', 'first-2']);
    await log.close();
    const reopened = h.open();
    assert.equal(reopened.logEndOffset, 3);
    await reopened.close();
  });
  it('fails a durable append whose fsync fails, keeps it invisible, and takes no more writes', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    let failSync = false;
    const writer: SegmentWriter = {
      write: (fd, buf, offset, length, position) => fs.writeSync(fd, buf, offset, length, position),
      sync(fd) {
        if (failSync) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        fs.fdatasyncSync(fd);
      },
    };
    const log = h.open({}, { writer });
    await log.append(makeBatch('synced'));
    assert.equal(log.fsyncCount, 1, 'the writer fsynced the durable append');
    failSync = true;
    await assert.rejects(log.append(makeBatch('unsynced')), (e) => expectCode(e, 'IO_ERROR'));
    assert.equal(log.highWatermark, 3, 'an append whose fsync failed is never visible');
    assert.deepEqual(readAllValues(log), ['synced-0', 'synced-1', 'synced-2']);
    assert.throws(
      () => log.write(makeBatch('after')),
      (e) => expectCode(e, 'IO_ERROR'),
    );
    await log.close();
  });
});

describe('PartitionLog recovery', () => {
  async function logWithSegments(h: Harness): Promise<void> {
    const log = h.open({ segmentBytes: 1024 });
    for (let i = 0; i < 30; i++) await log.append(makeBatch(`b${i}`, 3));
    assert.ok(log.segmentCount >= 3);
    await log.close();
  }

  it('reopens after a clean shutdown without rescanning and with identical content', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    await logWithSegments(h);
    assert.ok(fs.existsSync(path.join(partitionDir(h), '.clean-shutdown')));
    const log = h.open({ segmentBytes: 1024 });
    assert.ok(!fs.existsSync(path.join(partitionDir(h), '.clean-shutdown')), 'marker is consumed on open');
    assert.equal(log.logEndOffset, 90);
    assert.equal(readAllValues(log).length, 90);
    assert.equal(h.logger.at('warn').length, 0);
    await log.close();
  });

  it('truncates a torn trailing batch after a crash', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    await logWithSegments(h);
    fs.rmSync(path.join(partitionDir(h), '.clean-shutdown'));
    const last = segmentFiles(h).at(-1)!;
    const lastPath = path.join(partitionDir(h), last);
    const torn = makeBatch('torn', 3);
    fs.appendFileSync(lastPath, torn.subarray(0, torn.length - 7));
    const log = h.open({ segmentBytes: 1024 });
    assert.equal(log.logEndOffset, 90);
    assert.equal(readAllValues(log).at(-1), 'b29-2');
    const warning = h.logger.at('warn').find((l) => l.message.includes('truncating'));
    assert.ok(warning, 'truncation is logged');
    assert.equal((warning.fields as { discardedBytes: number }).discardedBytes, torn.length - 7);
    await log.append(makeBatch('next'));
    assert.equal(readAllValues(log).at(-1), 'next-2');
    await log.close();
  });

  it('truncates a trailing batch whose CRC does not match and zero-filled tails', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open();
    for (let i = 0; i < 5; i++) await log.append(makeBatch(`b${i}`));
    await log.close();
    fs.rmSync(path.join(partitionDir(h), '.clean-shutdown'));
    const file = path.join(partitionDir(h), segmentFileName(0, '.log'));
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([0xde, 0xad]), 0, 2, size - 5);
    fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, size);
    fs.closeSync(fd);
    const reopened = h.open();
    assert.equal(reopened.logEndOffset, 12);
    assert.equal(fs.statSync(file).size, (size / 5) * 4);
    await reopened.close();
  });

  it('rebuilds missing or inconsistent index files', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    await logWithSegments(h);
    const [first, second] = segmentFiles(h);
    fs.rmSync(path.join(partitionDir(h), first!.replace('.log', '.index')));
    fs.writeFileSync(
      path.join(partitionDir(h), second!.replace('.log', '.index')),
      Buffer.from([0, 0, 0, 9, 0xff, 0xff, 0xff, 0]),
    );
    fs.writeFileSync(
      path.join(partitionDir(h), first!.replace('.log', '.timeindex')),
      Buffer.from('garbage'),
    );
    const log = h.open({ segmentBytes: 1024 });
    assert.equal(readAllValues(log).length, 90);
    for (let offset = 0; offset < 90; offset += 7) {
      const batch = splitBatches(log.read(offset, 1).records)[0]!;
      const header = readBatchHeader(batch);
      assert.ok(header.baseOffset <= offset && offset <= header.baseOffset + header.lastOffsetDelta);
    }
    assert.deepEqual(log.offsetForTimestamp(T0 + 2), { offset: 2, timestamp: T0 + 2 });
    assert.equal(log.verify().length, 0);
    await log.close();
  });

  it('reports a corrupt segment in the middle loudly and never serves its damaged data', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    await logWithSegments(h);
    const middle = segmentFiles(h)[1]!;
    const middlePath = path.join(partitionDir(h), middle);
    const content = fs.readFileSync(middlePath);
    const firstBatch = splitBatches(content)[0]!;
    const damageAt = firstBatch.length + 70;
    content[damageAt]! ^= 0x40;
    fs.writeFileSync(middlePath, content);
    const log = h.open({ segmentBytes: 1024 });
    const middleBase = Number(middle.slice(0, 20));
    const ok = log.read(middleBase, 1 << 20).records;
    assert.equal(ok.length, firstBatch.length, 'only the batch before the damage is served');
    const secondOffset = middleBase + readBatchHeader(firstBatch).lastOffsetDelta + 1;
    assert.throws(
      () => log.read(secondOffset, 1 << 20),
      (e: unknown) => {
        expectCode(e, 'CORRUPT_SEGMENT');
        assert.match((e as Error).message, new RegExp(`${middle}.*at byte ${firstBatch.length}`));
        return true;
      },
    );
    const problems = log.verify();
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.path, middlePath);
    assert.equal(problems[0]!.position, firstBatch.length);
    assert.ok(h.logger.at('error').some((l) => l.message.startsWith('CORRUPT SEGMENT')));
    const lastBase = Number(segmentFiles(h).at(-1)!.slice(0, 20));
    assert.ok(log.read(lastBase, 1 << 20).records.length > 0, 'later segments are still served');
    await log.close();
  });

  it('reports a sealed segment whose index must be rebuilt and that lost its tail', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    await logWithSegments(h);
    const first = segmentFiles(h)[0]!;
    fs.truncateSync(path.join(partitionDir(h), first), 500);
    fs.rmSync(path.join(partitionDir(h), first.replace('.log', '.index')));
    fs.rmSync(path.join(partitionDir(h), first.replace('.log', '.timeindex')));
    const log = h.open({ segmentBytes: 1024 });
    assert.ok(h.logger.at('error').some((l) => (l.fields as { path?: string }).path?.endsWith(first)));
    await log.close();
  });
});

describe('open segment limit', () => {
  it('closes least recently used segments, active ones included, to stay under the limit', async () => {
    using tmp = temporaryDirectory();
    const logger = new RecordingLogger();
    const files = new OpenFileLimiter(2);
    const config = { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 1024 };
    const a = PartitionLog.open({ dir: path.join(tmp.dir, 'a'), config, files, logger });
    for (let i = 0; i < 30; i++) await a.append(makeBatch(`b${i}`, 3));
    assert.equal(readAllValues(a).length, 90, 'reading every segment works within a budget of 2 files');
    assert.ok(files.openCount <= 2);
    const others = ['b', 'c', 'd'].map((name) =>
      PartitionLog.open({ dir: path.join(tmp.dir, name), config, files, logger }),
    );
    await a.append(makeBatch('after', 3));
    assert.equal(readAllValues(a).at(-1), 'after-2', 'the active segment reopens on demand');
    for (const log of others) await log.close();
    await a.close();
  });

  it('fsyncs unsynced writes before closing a descriptor to make room, and reports a failure of that fsync', async () => {
    using tmp = temporaryDirectory();
    const logger = new RecordingLogger();
    const files = new OpenFileLimiter(1);
    // Interval flushing leaves the append unsynced; the hour keeps the timer out of the test.
    const config = { ...DEFAULT_TOPIC_CONFIG, flushPolicy: 'interval' as const, flushMs: 3_600_000 };
    const a = PartitionLog.open({ dir: path.join(tmp.dir, 'a'), config, files, logger });
    await a.append(makeBatch('x'));
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const fdatasync = mock.method(fs, 'fdatasyncSync', () => {
      throw eio;
    });
    // Opening b takes a's only descriptor: its unsynced write is fsynced first, and that fsync fails.
    const b = PartitionLog.open({ dir: path.join(tmp.dir, 'b'), config, files, logger });
    assert.equal(fdatasync.mock.callCount(), 1, 'the evicted descriptor was fsynced before it was closed');
    fdatasync.mock.restore();
    // The kernel told that descriptor, not the one a reopens: a's own next fsync must report it.
    await assert.rejects(a.close(), (e: unknown) => expectCode(e, 'IO_ERROR'));
    await b.close();
  });

  it('refuses an open only while every open segment has an fsync in flight', async () => {
    using tmp = temporaryDirectory();
    const logger = new RecordingLogger();
    const files = new OpenFileLimiter(1);
    // A flush's fsync runs in the thread pool (durable appends are fsynced by the writer thread instead).
    const config = { ...DEFAULT_TOPIC_CONFIG, flushPolicy: 'interval' as const, flushMs: 3_600_000 };
    const a = PartitionLog.open({ dir: path.join(tmp.dir, 'a'), config, files, logger });
    await a.append(makeBatch('x'));
    // The flush's fsync, held here, pins the only descriptor.
    const fdatasync = fs.fdatasync;
    const held: { release: (() => void) | null } = { release: null };
    const hold = mock.method(fs, 'fdatasync', (fd: number, callback: (error: Error | null) => void) => {
      held.release = () => fdatasync(fd, callback);
    });
    const pending = a.flush();
    while (held.release === null) await new Promise((resolve) => setImmediate(resolve));
    hold.mock.restore();
    assert.throws(
      () => PartitionLog.open({ dir: path.join(tmp.dir, 'b'), config: DEFAULT_TOPIC_CONFIG, files, logger }),
      (e: unknown) => expectCode(e, 'TOO_MANY_OPEN_SEGMENTS'),
    );
    held.release();
    await pending;
    const b = PartitionLog.open({
      dir: path.join(tmp.dir, 'b'),
      config: DEFAULT_TOPIC_CONFIG,
      files,
      logger,
    });
    await b.close();
    await a.close();
  });
});

describe('PartitionLog.deleteSegmentsBefore', () => {
  it('deletes only sealed segments entirely below the offset', async () => {
    using tmp = temporaryDirectory();
    const log = harness(tmp.dir).open({ segmentBytes: 1024 });
    for (let i = 0; i < 30; i++) await log.append(makeBatch(`b${i}`, 3));
    const before = log.segmentCount;
    log.deleteSegmentsBefore(40);
    assert.ok(log.segmentCount < before);
    assert.ok(log.logStartOffset <= 40 && log.logStartOffset > 0);
    log.deleteSegmentsBefore(1_000);
    assert.equal(log.segmentCount, 1, 'the active segment always stays');
    assert.ok(readAllValues(log).includes('b29-2'));
    await log.close();
  });
});

describe('PartitionLog.advanceLogStartOffset', () => {
  it('hides offsets below the new start, drops segments wholly below it and keeps the start across a restart', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open({ segmentBytes: 1024 });
    for (let i = 0; i < 30; i++) await log.append(makeBatch(`b${i}`, 3));
    const segments = log.segmentCount;
    assert.equal(log.advanceLogStartOffset(41), 41);
    assert.equal(log.logStartOffset, 41, 'inside a batch and a segment');
    assert.ok(log.segmentCount < segments, 'segments wholly below the start are deleted');
    assert.throws(
      () => log.read(40, 1 << 20),
      (error) => expectCode(error, 'OFFSET_OUT_OF_RANGE'),
    );
    assert.deepEqual(readAllValues(log).slice(0, 2), ['b13-2', 'b14-0']);
    assert.equal(log.advanceLogStartOffset(10), 41, 'never backwards');
    assert.throws(
      () => log.advanceLogStartOffset(91),
      (error) => expectCode(error, 'OFFSET_OUT_OF_RANGE'),
    );
    await log.close();
    const reopened = h.open({ segmentBytes: 1024 });
    assert.equal(reopened.logStartOffset, 41);
    assert.throws(
      () => reopened.read(40, 1 << 20),
      (error) => expectCode(error, 'OFFSET_OUT_OF_RANGE'),
    );
    await reopened.close();
  });

  it('forgets the recorded start when a follower empties its log to start elsewhere', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open();
    for (let i = 0; i < 4; i++) await log.append(makeBatch(`b${i}`, 3));
    log.advanceLogStartOffset(7);
    log.truncateFullyAndStartAt(5);
    assert.equal(log.logStartOffset, 5);
    assert.equal(log.logEndOffset, 5);
    await log.close();
    const reopened = h.open();
    assert.equal(reopened.logStartOffset, 5);
    await reopened.close();
  });
});
