import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LogManager, type PartitionLog } from '../src/log/index.js';
import { encodeRecordBatch, readBatchHeader } from '../src/protocol/index.js';

/**
 * Partition-log throughput beside the raw disk measured in the same run: plain writes + fdatasync of the
 * same sizes, and plain sequential reads of a file in page cache.
 */

const MiB = 1024 * 1024;
const RECORD_VALUE_BYTES = 100;
const scale = Number(process.env.BENCH_SCALE ?? 1);
const baseDir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'edgestream-bench-'));
const silent = { info() {}, warn() {}, error() {} };

interface Row {
  name: string;
  mbPerSecond: number;
  batchesPerSecond: number;
  recordsPerSecond: number;
  reference: string;
  ratio: number | null;
}

function batchOf(bytes: number): { batch: Buffer; records: number } {
  const records = Math.floor(bytes / (RECORD_VALUE_BYTES + 12));
  const value = Buffer.alloc(RECORD_VALUE_BYTES, 120);
  const batch = encodeRecordBatch(
    Array.from({ length: records }, () => ({ key: null, value })),
    { baseTimestamp: Date.now() },
  );
  return { batch, records };
}

function rawDurableWrites(chunkBytes: number, totalBytes: number): number {
  const file = path.join(baseDir, `raw-${chunkBytes}`);
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(chunkBytes, 7);
  const started = performance.now();
  for (let written = 0; written < totalBytes; written += chunkBytes) {
    fs.writeSync(fd, chunk, 0, chunkBytes, written);
    fs.fdatasyncSync(fd);
  }
  const seconds = (performance.now() - started) / 1000;
  fs.closeSync(fd);
  fs.rmSync(file);
  return totalBytes / MiB / seconds;
}

function rawSequentialRead(totalBytes: number): number {
  const file = path.join(baseDir, 'raw-read');
  fs.writeFileSync(file, Buffer.alloc(totalBytes, 3));
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(MiB);
  fs.readSync(fd, buf, 0, MiB, 0);
  const started = performance.now();
  for (let at = 0; at < totalBytes; at += MiB) fs.readSync(fd, buf, 0, MiB, at);
  const seconds = (performance.now() - started) / 1000;
  fs.closeSync(fd);
  fs.rmSync(file);
  return totalBytes / MiB / seconds;
}

async function appendRun(
  name: string,
  batchBytes: number,
  batches: number,
  inFlight: number,
  overrides: Record<string, string>,
): Promise<{ row: Omit<Row, 'reference' | 'ratio'>; log: PartitionLog; manager: LogManager }> {
  const manager = LogManager.open({ dataDir: path.join(baseDir, name.replace(/\W+/g, '-')), logger: silent });
  manager.createTopic('bench', 1, {
    'max.message.bytes': String(2 * MiB),
    'segment.bytes': String(256 * MiB),
    ...overrides,
  });
  const log = manager.partition('bench', 0);
  const { batch, records } = batchOf(batchBytes);
  let issued = 0;
  const started = performance.now();
  const worker = async () => {
    while (issued < batches) {
      issued++;
      await log.append(batch);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  await log.flush();
  const seconds = (performance.now() - started) / 1000;
  return {
    row: {
      name,
      mbPerSecond: (batch.length * batches) / MiB / seconds,
      batchesPerSecond: batches / seconds,
      recordsPerSecond: (records * batches) / seconds,
    },
    log,
    manager,
  };
}

function readRun(log: PartitionLog): {
  mbPerSecond: number;
  batchesPerSecond: number;
  recordsPerSecond: number;
} {
  let offset = log.logStartOffset;
  let bytes = 0;
  let batches = 0;
  let records = 0;
  const started = performance.now();
  while (offset < log.highWatermark) {
    const { records: chunk } = log.read(offset, MiB);
    let at = 0;
    while (at < chunk.length) {
      const header = readBatchHeader(chunk, at);
      batches++;
      records += header.recordsCount;
      offset = header.baseOffset + header.lastOffsetDelta + 1;
      at += 12 + header.batchLength;
    }
    bytes += chunk.length;
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    mbPerSecond: bytes / MiB / seconds,
    batchesPerSecond: batches / seconds,
    recordsPerSecond: records / seconds,
  };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const raw16k = rawDurableWrites(16 * 1024, Math.round(32 * MiB * scale));
  const raw1m = rawDurableWrites(MiB, Math.round(512 * MiB * scale));
  const durable = { 'flush.policy': 'durable' };
  const interval = { 'flush.policy': 'interval', 'flush.ms': '1000' };
  const cases: Array<[string, number, number, number, Record<string, string>, string, number]> = [
    [
      'durable, 16 KiB batches, 1 in flight',
      16 * 1024,
      Math.round(2000 * scale),
      1,
      durable,
      'raw 16 KiB write+fdatasync',
      raw16k,
    ],
    [
      'durable, 16 KiB batches, 8 in flight',
      16 * 1024,
      Math.round(8000 * scale),
      8,
      durable,
      'raw 16 KiB write+fdatasync',
      raw16k,
    ],
    [
      'interval 1 s, 16 KiB batches',
      16 * 1024,
      Math.round(40000 * scale),
      1,
      interval,
      'raw 16 KiB write+fdatasync',
      raw16k,
    ],
    [
      'durable, 1 MiB batches, 1 in flight',
      MiB,
      Math.round(512 * scale),
      1,
      durable,
      'raw 1 MiB write+fdatasync',
      raw1m,
    ],
    [
      'durable, 1 MiB batches, 8 in flight',
      MiB,
      Math.round(512 * scale),
      8,
      durable,
      'raw 1 MiB write+fdatasync',
      raw1m,
    ],
    [
      'interval 1 s, 1 MiB batches',
      MiB,
      Math.round(1024 * scale),
      1,
      interval,
      'raw 1 MiB write+fdatasync',
      raw1m,
    ],
  ];
  let readSource: { log: PartitionLog; manager: LogManager } | null = null;
  for (const [name, size, count, inFlight, overrides, reference, referenceRate] of cases) {
    const run = await appendRun(name, size, count, inFlight, overrides);
    rows.push({
      ...run.row,
      reference: `${reference}: ${referenceRate.toFixed(0)} MB/s`,
      ratio: run.row.mbPerSecond / referenceRate,
    });
    if (name.startsWith('interval 1 s, 1 MiB')) readSource = run;
    else await run.manager.close();
  }
  const rawRead = rawSequentialRead(Math.round(1024 * MiB * scale));
  const read = readRun(readSource!.log);
  rows.push({
    name: 'sequential read, 1 MiB fetches (page cache)',
    ...read,
    reference: `raw 1 MiB readSync: ${rawRead.toFixed(0)} MB/s`,
    ratio: read.mbPerSecond / rawRead,
  });
  await readSource!.manager.close();

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`\nPartition log benchmark — ${new Date().toISOString().slice(0, 10)}`);
  console.log(
    `Machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, data in ${baseDir}`,
  );
  console.log(`Records: ${RECORD_VALUE_BYTES}-byte values, null keys. MB = MiB.\n`);
  console.log('| case | MB/s | batches/s | records/s | reference (same run) | ratio |');
  console.log('|---|---:|---:|---:|---|---:|');
  for (const row of rows) {
    console.log(
      `| ${row.name} | ${row.mbPerSecond.toFixed(0)} | ${row.batchesPerSecond.toFixed(0)} | ${Math.round(row.recordsPerSecond).toLocaleString('en-US')} | ${row.reference} | ${row.ratio === null ? '' : `${(row.ratio * 100).toFixed(0)}%`} |`,
    );
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(baseDir, { recursive: true, force: true }));
