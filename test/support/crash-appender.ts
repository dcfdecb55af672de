import { createHash } from 'node:crypto';
import { LogManager } from '../../src/log/index.js';
import { BatchField, encodeRecordBatch } from '../../src/protocol/index.js';
import { RecordingLogger } from './log-fixtures.js';

/**
 * Child process of the crash test: appends durable batches until killed and prints one line per
 * acknowledged batch — only after its append resolved — so the parent knows exactly what was promised.
 */
const [dataDir, seedText] = process.argv.slice(2);
if (!dataDir || !seedText) throw new Error('usage: crash-appender DATA_DIR SEED');
const seed = Number(seedText);
const IN_FLIGHT = 8;

const manager = LogManager.open({ dataDir, logger: new RecordingLogger() });
if (!manager.hasTopic('crash')) manager.createTopic('crash', 1, { 'segment.bytes': String(64 * 1024) });
const log = manager.partition('crash', 0);

function batchFor(seedValue: number, sequence: number): Buffer {
  const count = 1 + ((sequence * 7 + seedValue) % 50);
  const size = 10 + ((sequence * 13 + seedValue) % 300);
  return encodeRecordBatch(
    Array.from({ length: count }, (_, i) => ({
      key: Buffer.from(`s${seedValue}-b${sequence}-r${i}`),
      value: Buffer.alloc(size, (sequence + i) % 251),
    })),
    { baseTimestamp: 1_700_000_000_000 + sequence },
  );
}

function digest(batch: Buffer): string {
  return createHash('sha256').update(batch.subarray(BatchField.attributes)).digest('hex');
}

let sequence = 0;
async function appendForever(): Promise<void> {
  for (;;) {
    const batch = batchFor(seed, sequence++);
    const hash = digest(batch);
    const result = await log.append(batch);
    process.stdout.write(
      `${JSON.stringify({ baseOffset: result.baseOffset, lastOffset: result.lastOffset, hash })}\n`,
    );
  }
}

for (let i = 0; i < IN_FLIGHT; i++) void appendForever();
