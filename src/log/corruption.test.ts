import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { makeBatch, RecordingLogger, temporaryDirectory } from '../../test/support/log-fixtures.js';
import { decodeRecords, readBatchHeader, splitBatches } from '../protocol/index.js';
import { DEFAULT_TOPIC_CONFIG } from './config.js';
import { CorruptSegmentError } from './errors.js';
import { OpenFileLimiter } from './open-files.js';
import { PartitionLog } from './partition-log.js';
import { CLEAN_SHUTDOWN_FILE } from './recovery.js';

const SEGMENT_BYTES = 1024;

interface Setup {
  dir: string;
  logger: RecordingLogger;
  open(): PartitionLog;
}

function setup(root: string): Setup {
  const logger = new RecordingLogger();
  const files = new OpenFileLimiter(100);
  const dir = path.join(root, 'p0');
  return {
    dir,
    logger,
    open: () =>
      PartitionLog.open({
        dir,
        config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes: SEGMENT_BYTES },
        files,
        logger,
      }),
  };
}

/** 30 batches of 3 records over several sealed segments; the batches as written, for a leader to resend. */
async function writeLog(s: Setup): Promise<Buffer[]> {
  const log = s.open();
  for (let i = 0; i < 30; i++) await log.append(makeBatch(`b${i}`, 3));
  assert.ok(log.segmentCount >= 3);
  const batches: Buffer[] = [];
  while (batches.length < 30) {
    const last = batches.at(-1);
    const from = last ? readBatchHeader(last).baseOffset + readBatchHeader(last).lastOffsetDelta + 1 : 0;
    batches.push(...splitBatches(log.readForReplica(from, 1 << 20).records));
  }
  await log.close();
  return batches;
}

function segmentFiles(s: Setup): string[] {
  return fs
    .readdirSync(s.dir)
    .filter((name) => name.endsWith('.log'))
    .sort();
}

/** Flips a bit in the records of the second batch of the second segment; returns its file and batch. */
function damageSealedSegment(s: Setup): { file: string; position: number; baseOffset: number } {
  const file = path.join(s.dir, segmentFiles(s)[1]!);
  const content = fs.readFileSync(file);
  const first = splitBatches(content)[0]!;
  const second = splitBatches(content)[1]!;
  content[first.length + second.length - 5]! ^= 0x10;
  fs.writeFileSync(file, content);
  return { file, position: first.length, baseOffset: readBatchHeader(second).baseOffset };
}

function crash(s: Setup): void {
  fs.rmSync(path.join(s.dir, CLEAN_SHUTDOWN_FILE), { force: true });
}

function values(log: PartitionLog): string[] {
  const found: string[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const batches = splitBatches(log.readForReplica(offset, 1 << 20).records);
    assert.ok(batches.length > 0, `nothing read at ${offset}`);
    for (const batch of batches) {
      for (const record of decodeRecords(batch)) found.push(record.value!.toString());
      const header = readBatchHeader(batch);
      offset = header.baseOffset + header.lastOffsetDelta + 1;
    }
  }
  return found;
}

describe('corrupt segments of a replica', () => {
  it('finds damage in a sealed segment at open after an unclean shutdown and truncates to the batch before it', async () => {
    using tmp = temporaryDirectory();
    const s = setup(tmp.dir);
    const written = await writeLog(s);
    const damage = damageSealedSegment(s);
    crash(s);

    const log = s.open();
    const found = log.corruption;
    assert.ok(found instanceof CorruptSegmentError, 'damage is found at open');
    assert.equal(found.path, damage.file);
    assert.equal(found.position, damage.position);
    assert.equal(found.offset, damage.baseOffset);
    const line = s.logger.at('error').find((l) => l.message.startsWith('CORRUPT SEGMENT'));
    assert.ok(line, 'damage is logged');
    assert.deepEqual(
      { path: damage.file, position: damage.position, offset: damage.baseOffset },
      {
        path: (line.fields as { path: string }).path,
        position: (line.fields as { position: number }).position,
        offset: (line.fields as { offset: number }).offset,
      },
    );
    assert.throws(() => log.readForReplica(damage.baseOffset, 1 << 20), CorruptSegmentError);

    assert.equal(log.truncateAtCorruption(), damage.baseOffset);
    assert.equal(log.corruption, null);
    assert.equal(log.logEndOffset, damage.baseOffset);
    assert.equal(segmentFiles(s).length, 2, 'segments after the damaged one are deleted');
    // A leader sends the rest again: the log takes it from where the valid batches end.
    for (const batch of written.filter((b) => readBatchHeader(b).baseOffset >= damage.baseOffset))
      log.appendAsFollower(Buffer.from(batch));
    await log.durable();
    assert.equal(log.logEndOffset, 90);
    assert.equal(values(log).length, 90);
    assert.equal(log.verify().length, 0);
    await log.close();

    crash(s);
    const reopened = s.open();
    assert.equal(reopened.corruption, null, 'nothing damaged is left');
    assert.equal(values(reopened).length, 90);
    await reopened.close();
  });

  it('after a clean shutdown, finds the damage when a read meets it, tells listeners, and serves nothing of it', async () => {
    using tmp = temporaryDirectory();
    const s = setup(tmp.dir);
    await writeLog(s);
    const damage = damageSealedSegment(s);

    const log = s.open();
    assert.equal(log.corruption, null, 'sealed segments are trusted after a clean shutdown');
    let told = 0;
    log.onCorruption(() => told++);
    const before = splitBatches(log.readForReplica(damage.baseOffset - 3, 1 << 20).records);
    assert.equal(before.length, 1, 'only the batch before the damage is returned');
    assert.equal(readBatchHeader(before[0]!).baseOffset, damage.baseOffset - 3);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(told, 1);
    // Narrowed to null by the assertion above; the read has changed it since.
    assert.equal((log.corruption as CorruptSegmentError | null)?.position, damage.position);
    assert.throws(() => log.read(damage.baseOffset, 1 << 20), CorruptSegmentError);
    assert.equal(
      s.logger.at('error').filter((l) => l.message.startsWith('CORRUPT SEGMENT')).length,
      1,
      'the same damage is logged once',
    );
    assert.equal(log.truncateAtCorruption(), damage.baseOffset);
    await log.close();
  });

  it('drops a whole sealed segment that cannot be read', { skip: process.getuid?.() === 0 }, async () => {
    using tmp = temporaryDirectory();
    const s = setup(tmp.dir);
    await writeLog(s);
    const files = segmentFiles(s);
    const unreadable = path.join(s.dir, files[1]!);
    fs.chmodSync(unreadable, 0);
    crash(s);
    const log = s.open();
    assert.equal(log.corruption?.path, unreadable);
    assert.match(log.corruption?.message ?? '', /unreadable/);
    assert.equal(log.truncateAtCorruption(), Number(files[1]!.slice(0, 20)));
    assert.equal(segmentFiles(s).length, 1);
    await log.close();
  });
});
