import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RecordingLogger, temporaryDirectory } from '../../test/support/log-fixtures.js';
import {
  BATCH_HEADER_BYTES,
  BatchField,
  Compression,
  compressionOf,
  computeBatchCrc,
  decodeRecords,
  encodeRecordBatch,
  readBatchHeader,
  splitBatches,
} from '../protocol/index.js';
import { CLEANER_CHECKPOINT_FILE } from './compaction.js';
import { DEFAULT_TOPIC_CONFIG, parseTopicConfig, type TopicConfig } from './config.js';
import { LogError } from './errors.js';
import { LogManager } from './log-manager.js';
import { OpenFileLimiter } from './open-files.js';
import { PartitionLog, type PartitionLogOptions } from './partition-log.js';

const T0 = 1_700_000_000_000;
const HOUR_MS = 60 * 60 * 1000;

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
    dir: path.join(dir, 'p0'),
    logger,
    clock,
    open: (overrides = {}, extra = {}) =>
      PartitionLog.open({
        dir: path.join(dir, 'p0'),
        config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 1024, cleanupPolicy: 'compact', ...overrides },
        files,
        logger,
        now: () => clock.now,
        ...extra,
      }),
  };
}

type KeyValue = [key: string | null, value: string | null];

interface StoredRecord {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
}

function keyedBatch(
  records: KeyValue[],
  timestamp: number,
  compression: typeof Compression.None | typeof Compression.Gzip = Compression.None,
): Buffer {
  return encodeRecordBatch(
    records.map(([key, value], i) => ({
      key: key === null ? null : Buffer.from(key),
      value: value === null ? null : Buffer.from(value),
      timestamp: timestamp + i,
    })),
    { compression },
  );
}

/** Appends and returns what was written, each record with its assigned offset. */
async function appendKeyed(
  log: PartitionLog,
  records: KeyValue[],
  timestamp: number,
  compression: typeof Compression.None | typeof Compression.Gzip = Compression.None,
): Promise<StoredRecord[]> {
  const { baseOffset } = await log.append(keyedBatch(records, timestamp, compression));
  return records.map(([key, value], i) => ({ offset: baseOffset + i, key, value, timestamp: timestamp + i }));
}

/** Every batch from the log start, moving on from each batch's last offset as a consumer does. */
function readBatches(log: PartitionLog): Buffer[] {
  const batches: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    const { records } = log.read(offset, 1 << 20);
    if (records.length === 0) break;
    for (const batch of splitBatches(records)) {
      batches.push(batch);
      const header = readBatchHeader(batch);
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  return batches;
}

function readRecords(log: PartitionLog): StoredRecord[] {
  return readBatches(log).flatMap((batch) =>
    decodeRecords(batch).map((r) => ({
      offset: r.offset,
      key: r.key?.toString() ?? null,
      value: r.value?.toString() ?? null,
      timestamp: r.timestamp,
    })),
  );
}

/** The newest record of each key among `records`, in offset order. */
function latestPerKey(records: StoredRecord[]): StoredRecord[] {
  const newest = new Map<string, StoredRecord>();
  for (const record of records) if (record.key !== null) newest.set(record.key, record);
  return [...newest.values()].sort((a, b) => a.offset - b.offset);
}

/** Seals the active segment the way the retention loop does, by letting it age past segment.ms. */
function sealActiveSegment(h: Harness, log: PartitionLog): void {
  h.clock.now += DEFAULT_TOPIC_CONFIG.segmentMs;
  log.rollIfExpired();
}

const segmentLogs = (h: Harness) =>
  fs
    .readdirSync(h.dir)
    .filter((f) => f.endsWith('.log'))
    .sort();

/** Many updates of few keys over many segments, with gzip batches and records without a key mixed in. */
async function writeUpdates(log: PartitionLog, rounds: number): Promise<StoredRecord[]> {
  const written: StoredRecord[] = [];
  for (let round = 0; round < rounds; round++) {
    const records: KeyValue[] = [
      [`k${round % 5}`, `v${round}-a`],
      [`k${(round + 1) % 5}`, `v${round}-b`],
    ];
    if (round % 7 === 3) records.push([null, `keyless-${round}`]);
    const compression = round % 4 === 0 ? Compression.Gzip : Compression.None;
    written.push(...(await appendKeyed(log, records, T0 + round * 10, compression)));
  }
  return written;
}

describe('log compaction', () => {
  it('keeps exactly the latest record of each key at its original offset, in order', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open();
    const written = await writeUpdates(log, 80);
    sealActiveSegment(h, log);
    const endOffset = log.logEndOffset;
    const segmentsBefore = log.segmentCount;
    const sizeBefore = log.sizeBytes;
    const originalRanges = new Set(readBatches(log).map((b) => rangeOf(b)));

    const stats = log.compact();

    const expected = latestPerKey(written);
    assert.deepEqual(readRecords(log), expected);
    assert.equal(log.logEndOffset, endOffset, 'the log end offset does not move');
    assert.equal(log.logStartOffset, 0, 'the log start offset does not move');
    const keyless = written.filter((r) => r.key === null).length;
    assert.equal(stats.nullKeyRecordsRemoved, keyless);
    assert.equal(stats.recordsRemoved, written.length - expected.length);
    assert.ok(stats.segmentsCleaned > 0 && stats.bytesAfter < stats.bytesBefore);
    assert.ok(log.sizeBytes < sizeBefore / 4, `${log.sizeBytes} bytes left of ${sizeBefore}`);
    assert.ok(log.segmentCount < segmentsBefore, 'segments left empty are removed');
    for (const batch of readBatches(log)) {
      assert.equal(batch.readUInt32BE(BatchField.crc), computeBatchCrc(batch), 'CRC-32C is rewritten');
      assert.ok(originalRanges.has(rangeOf(batch)), 'baseOffset and lastOffsetDelta are kept');
    }
    const gzipped = readBatches(log).filter((b) => compressionOf(readBatchHeader(b).attributes) !== 0);
    assert.ok(gzipped.length > 0, 'gzip batches stay gzip');
    assert.deepEqual(log.verify(), [], 'offset gaps left by compaction are not damage');
    assert.deepEqual(log.compact().recordsRemoved, 0, 'a second pass finds nothing more to drop');
    await log.close();
  });

  it('serves a fetch at a compacted-away offset from the next surviving record', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open();
    const written = await writeUpdates(log, 60);
    sealActiveSegment(h, log);
    log.compact();
    const surviving = readRecords(log).map((r) => r.offset);
    assert.ok(surviving.length < written.length);
    for (let offset = 0; offset < log.logEndOffset; offset++) {
      assert.equal(firstRecordFetchedFrom(log, offset), surviving.find((s) => s >= offset) ?? null);
    }
    await log.close();
  });

  it('reopens a compacted log with its indexes, and rebuilds them across the gaps', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open();
    const written = await writeUpdates(log, 60);
    sealActiveSegment(h, log);
    log.compact();
    const compacted = readRecords(log);
    await log.close();

    const reopened = h.open();
    assert.deepEqual(readRecords(reopened), compacted);
    await reopened.close();

    for (const name of fs.readdirSync(h.dir).filter((f) => /\.(index|timeindex)$/.test(f))) {
      fs.rmSync(path.join(h.dir, name));
    }
    const rebuilt = h.open();
    assert.deepEqual(readRecords(rebuilt), compacted);
    assert.deepEqual(rebuilt.verify(), []);
    const removedRecords = written.filter((r) => !compacted.some((c) => c.offset === r.offset));
    const removed = removedRecords[Math.floor(removedRecords.length / 2)]!;
    const next = compacted.find((c) => c.offset > removed.offset)!;
    assert.ok(next.timestamp >= removed.timestamp, 'timestamps grow with offsets in this log');
    assert.deepEqual(rebuilt.offsetForTimestamp(removed.timestamp), {
      offset: next.offset,
      timestamp: next.timestamp,
    });
    assert.equal(h.logger.at('error').length, 0, 'no corruption is reported');
    await rebuilt.close();
  });

  it('keeps tombstones until delete.retention.ms has passed, then drops them', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open({ deleteRetentionMs: HOUR_MS });
    await appendKeyed(
      log,
      [
        ['a', 'a1'],
        ['b', 'b1'],
      ],
      T0,
    );
    await appendKeyed(log, [['a', null]], T0 + 100);
    sealActiveSegment(h, log);
    h.clock.now = T0 + HOUR_MS / 2;

    const first = log.compact();
    assert.equal(first.tombstonesRemoved, 0);
    assert.deepEqual(
      readRecords(log).map((r) => [r.key, r.value]),
      [
        ['b', 'b1'],
        ['a', null],
      ],
    );
    assert.equal(log.compactIfDue(), null, 'nothing is dirty and no tombstone has expired yet');

    h.clock.now = T0 + 100 + HOUR_MS + 1;
    const second = log.compactIfDue();
    assert.equal(second?.tombstonesRemoved, 1, 'the expiry of the kept tombstone makes a pass due');
    assert.deepEqual(
      readRecords(log).map((r) => [r.key, r.value]),
      [['b', 'b1']],
    );
    await log.close();
  });

  it('never compacts segments holding records younger than min.compaction.lag.ms', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open({ minCompactionLagMs: HOUR_MS, segmentMs: 10 * HOUR_MS });
    const old: StoredRecord[] = [];
    for (let i = 0; i < 30; i++) old.push(...(await appendKeyed(log, [[`k${i % 3}`, `old${i}`]], T0 + i)));
    h.clock.now = T0 + 10 * HOUR_MS;
    log.rollIfExpired();
    const youngFrom = log.logEndOffset;
    for (let i = 0; i < 30; i++) {
      await appendKeyed(log, [[`k${i % 3}`, `young${i}`]], h.clock.now + i);
    }
    h.clock.now += 10 * HOUR_MS;
    log.rollIfExpired();
    const youngSegments = segmentLogs(h).filter((name) => Number(name.slice(0, 20)) >= youngFrom);
    const youngBytes = youngSegments.map((name) => fs.readFileSync(path.join(h.dir, name)));
    h.clock.now = T0 + 10 * HOUR_MS + 30 + HOUR_MS / 2;

    log.compact();

    const records = readRecords(log);
    assert.deepEqual(
      records.filter((r) => r.offset < youngFrom),
      latestPerKey(old),
      'old segments keep the latest of their own records',
    );
    assert.equal(records.filter((r) => r.offset >= youngFrom).length, 30, 'young records all stay');
    youngSegments.forEach((name, i) => {
      assert.deepEqual(fs.readFileSync(path.join(h.dir, name)), youngBytes[i], `${name} is untouched`);
    });
    await log.close();
  });

  it('never touches the active segment', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open();
    const written = await writeUpdates(log, 40);
    const activeName = segmentLogs(h).at(-1)!;
    const activeBytes = fs.readFileSync(path.join(h.dir, activeName));
    const activeFrom = Number(activeName.slice(0, 20));
    const endOffset = log.logEndOffset;

    log.compact();

    assert.deepEqual(fs.readFileSync(path.join(h.dir, activeName)), activeBytes);
    assert.equal(log.logEndOffset, endOffset);
    const records = readRecords(log);
    assert.deepEqual(
      records.filter((r) => r.offset >= activeFrom),
      written.filter((r) => r.offset >= activeFrom),
    );
    assert.deepEqual(
      records.filter((r) => r.offset < activeFrom),
      latestPerKey(written.filter((r) => r.offset < activeFrom)),
    );
    await log.close();
  });

  it('leaves batches of other codecs whole and keeps tombstones after them', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open({ deleteRetentionMs: 0 });
    const opaque = opaqueSnappyBatch();
    await log.append(Buffer.from(opaque));
    await appendKeyed(log, [['a', 'a1']], T0);
    await appendKeyed(log, [['a', null]], T0 + 1);
    sealActiveSegment(h, log);

    const stats = log.compact();

    assert.equal(stats.tombstonesRemoved, 0, 'the opaque batch may hold a value the tombstone hides');
    const batches = readBatches(log);
    assert.deepEqual(batches[0]!.subarray(BatchField.magic), opaque.subarray(BatchField.magic));
    assert.deepEqual(decodeRecords(batches[1]!)[0]!.value, null);
    assert.ok(h.logger.at('warn').some((l) => l.message.includes('cannot decode')));
    await log.close();
  });

  it('compacts in several passes when the key map is full, reaching the same result', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open({}, { compactionKeyMapBytes: 300 });
    const written: StoredRecord[] = [];
    for (let i = 0; i < 60; i++) {
      written.push(...(await appendKeyed(log, [[`key-${i % 12}`, `v${i}`]], T0 + i)));
    }
    sealActiveSegment(h, log);
    const first = log.compact();
    assert.ok(first.recordsRemoved < written.length - 12, 'the first pass covers only part of the log');
    assert.ok(h.logger.at('info').some((l) => l.message.includes('key map is full')));
    for (let pass = 0; pass < 20 && readRecords(log).length > 12; pass++) log.compact();
    assert.deepEqual(readRecords(log), latestPerKey(written));
    await log.close();
  });

  it('refuses to compact a topic whose cleanup.policy is delete', async () => {
    using tmp = temporaryDirectory();
    const log = harness(tmp.dir).open({ cleanupPolicy: 'delete' });
    assert.throws(
      () => log.compact(),
      (e: unknown) => e instanceof LogError && e.code === 'INVALID_CONFIG',
    );
    assert.equal(log.compactIfDue(), null);
    await log.close();
  });
});

describe('log compaction crash recovery', () => {
  it('discards .cleaned files of a swap that was not committed', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open();
    await writeUpdates(log, 40);
    sealActiveSegment(h, log);
    const before = readRecords(log);
    await log.close();
    const first = segmentLogs(h)[0]!;
    for (const suffix of ['.log.cleaned', '.index.cleaned', '.timeindex.cleaned.tmp']) {
      fs.writeFileSync(path.join(h.dir, first.replace('.log', suffix)), 'half written');
    }

    const reopened = h.open();

    assert.deepEqual(readRecords(reopened), before);
    assert.deepEqual(
      fs.readdirSync(h.dir).filter((f) => f.includes('.cleaned')),
      [],
    );
    assert.deepEqual(reopened.verify(), []);
    await reopened.close();
  });

  it('finishes a committed swap left as .swap beside the old segment and its indexes', async () => {
    using tmp = temporaryDirectory();
    const h = harness(tmp.dir);
    const log = h.open();
    await writeUpdates(log, 40);
    sealActiveSegment(h, log);
    const endOffset = log.logEndOffset;
    await log.close();
    const original = path.join(tmp.dir, 'original');
    fs.cpSync(h.dir, original, { recursive: true });

    const compacting = h.open();
    compacting.compact();
    const compacted = readRecords(compacting);
    await compacting.close();

    // The state a crash right after the first commit rename leaves: the cleaned first segment as .swap
    // beside the old one, its old indexes and a new .cleaned index. Only the checkpoint's gap bound had
    // been raised; the one saying how far keys are unique is written after the last swap.
    const first = segmentLogs(h)[0]!;
    fs.copyFileSync(path.join(h.dir, first), path.join(original, `${first}.swap`));
    fs.copyFileSync(
      path.join(h.dir, first.replace('.log', '.index')),
      path.join(original, first.replace('.log', '.index.cleaned')),
    );
    const checkpoint = { cleanedUpToOffset: 0, compactedBelowOffset: endOffset, tombstoneExpiryMs: null };
    fs.writeFileSync(path.join(original, CLEANER_CHECKPOINT_FILE), JSON.stringify(checkpoint));
    fs.rmSync(h.dir, { recursive: true });
    fs.renameSync(original, h.dir);

    const recovered = h.open();

    assert.deepEqual(
      fs.readdirSync(h.dir).filter((f) => f.startsWith(first.slice(0, 20))),
      [first, first.replace('.log', '.index'), first.replace('.log', '.timeindex')].sort(),
    );
    const secondBase = Number(segmentLogs(h)[1]!.slice(0, 20));
    assert.deepEqual(
      readRecords(recovered).filter((r) => r.offset < secondBase),
      compacted.filter((r) => r.offset < secondBase),
      'the first segment reads as the compacted one',
    );
    assert.deepEqual(recovered.verify(), []);
    assert.ok(h.logger.at('warn').some((l) => l.message.includes('interrupted')));
    recovered.compact();
    assert.deepEqual(readRecords(recovered), compacted, 'a later pass completes the compaction');
    await recovered.close();
  });
});

describe('cleanup.policy and compaction settings', () => {
  it('parses and validates the compaction keys', () => {
    const config = parseTopicConfig(
      {
        'cleanup.policy': 'delete, compact',
        'min.compaction.lag.ms': '60000',
        'delete.retention.ms': '1000',
        'min.cleanable.dirty.ratio': '0.25',
      },
      DEFAULT_TOPIC_CONFIG,
    );
    assert.equal(config.cleanupPolicy, 'compact,delete');
    assert.equal(config.minCompactionLagMs, 60000);
    assert.equal(config.deleteRetentionMs, 1000);
    assert.equal(config.minCleanableDirtyRatio, 0.25);
    assert.equal(DEFAULT_TOPIC_CONFIG.cleanupPolicy, 'delete');
    for (const [key, value, expected] of [
      ['cleanup.policy', 'compact,compact', /delete, compact, or compact,delete/],
      ['cleanup.policy', 'archive', /delete, compact, or compact,delete/],
      ['min.cleanable.dirty.ratio', '1.5', /between 0 and 1/],
      ['min.cleanable.dirty.ratio', 'half', /between 0 and 1/],
      ['delete.retention.ms', '-1', /integer >= 0/],
    ] as const) {
      assert.throws(
        () => parseTopicConfig({ [key]: value }, DEFAULT_TOPIC_CONFIG),
        (e: unknown) => e instanceof LogError && e.code === 'INVALID_CONFIG' && expected.test(e.message),
        `${key}=${value}`,
      );
    }
  });

  it('compacts from the retention loop once dirty, persists the policy and applies delete only with delete', async () => {
    using tmp = temporaryDirectory();
    let now = T0;
    const logger = new RecordingLogger();
    const open = () => LogManager.open({ dataDir: tmp.dir, logger, now: () => now });
    const manager = open();
    const settings = { 'segment.bytes': '1024', 'retention.ms': '1000', 'segment.ms': '1000' };
    manager.createTopic('table', 1, { ...settings, 'cleanup.policy': 'compact' });
    manager.createTopic('both', 1, { ...settings, 'cleanup.policy': 'compact,delete' });
    for (const topic of ['table', 'both']) {
      const log = manager.partition(topic, 0);
      for (let i = 0; i < 40; i++) await appendKeyed(log, [[`k${i % 4}`, `v${i}`]], now + i);
    }
    now += 5000;
    const result = manager.runRetention();
    const table = manager.partition('table', 0);
    assert.equal(result.compactedPartitions, 1);
    assert.equal(result.compactedRecords, 36);
    assert.equal(table.logStartOffset, 0, 'retention.ms deletes nothing under cleanup.policy=compact');
    const latest = ['v36', 'v37', 'v38', 'v39'];
    assert.deepEqual(
      readRecords(table).map((r) => r.value),
      latest,
    );
    const both = manager.partition('both', 0);
    assert.equal(both.logStartOffset, both.logEndOffset, 'compact,delete still deletes expired segments');
    assert.ok(logger.at('info').some((l) => l.message === 'compacted log'));
    assert.equal(manager.runRetention().compactedPartitions, 0, 'a clean log is not compacted again');
    await manager.close();

    const reopened = open();
    assert.equal(reopened.describeTopic('table').config.cleanupPolicy, 'compact');
    assert.deepEqual(
      readRecords(reopened.partition('table', 0)).map((r) => r.value),
      latest,
    );
    await reopened.close();
  });
});

/**
 * The first record at or after `offset` that a consumer fetching from there receives. Like a Kafka consumer
 * it skips records below its position and moves past each batch's last offset, which compaction keeps
 * even when the records at the end of a batch are gone.
 */
function firstRecordFetchedFrom(log: PartitionLog, offset: number): number | null {
  let position = offset;
  while (position < log.highWatermark) {
    const batches = splitBatches(log.read(position, 1).records);
    if (batches.length === 0) return null;
    const header = readBatchHeader(batches[0]!);
    assert.ok(header.baseOffset + header.lastOffsetDelta >= position, `fetch at ${position} makes progress`);
    const found = decodeRecords(batches[0]!).find((r) => r.offset >= position);
    if (found) return found.offset;
    position = header.baseOffset + header.lastOffsetDelta + 1;
  }
  return null;
}

function rangeOf(batch: Buffer): string {
  const header = readBatchHeader(batch);
  return `${header.baseOffset}-${header.baseOffset + header.lastOffsetDelta}`;
}

/** A batch marked snappy whose body this process cannot decode; its CRC is valid so the log stores it. */
function opaqueSnappyBatch(): Buffer {
  const batch = keyedBatch([['opaque', 'x']], T0);
  batch.writeInt16BE(Compression.Snappy, BatchField.attributes);
  batch.fill(0x5a, BATCH_HEADER_BYTES);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  return batch;
}
