import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LogManager } from '../src/log/index.js';
import { BatchField, computeBatchCrc, readBatchHeader, splitBatches } from '../src/protocol/index.js';
import { RecordingLogger, temporaryDirectory } from './support/log-fixtures.js';

const ROUNDS = 24;
const appender = fileURLToPath(new URL('./support/crash-appender.js', import.meta.url));

interface Ack {
  baseOffset: number;
  lastOffset: number;
  hash: string;
}

/** Runs the appender until a random moment after its first acknowledgement, then SIGKILLs it. */
function runAndKill(dataDir: string, seed: number, killAfterMs: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [appender, dataDir, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stderr = '';
    let timer: NodeJS.Timeout | null = null;
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!timer) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (_code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`appender exited by itself (${signal ?? _code}): ${stderr}`));
        return;
      }
      const complete = output.slice(0, output.lastIndexOf('\n') + 1);
      resolve(
        complete
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Ack),
      );
    });
  });
}

describe('partition log under SIGKILL', { timeout: 240_000 }, () => {
  const tmp = temporaryDirectory('edgestream-crash-');
  after(() => tmp[Symbol.dispose]());

  it(`keeps every acknowledged batch through ${ROUNDS} kills at random moments`, async () => {
    const acknowledged = new Map<number, Ack>();
    let next = 12345;
    const random = () => {
      next = (next * 1103515245 + 12345) % 2 ** 31;
      return next / 2 ** 31;
    };
    let batchesChecked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const acks = await runAndKill(tmp.dir, round, 20 + Math.floor(random() * 300));
      for (const ack of acks) acknowledged.set(ack.baseOffset, ack);
      const manager = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
      try {
        const log = manager.partition('crash', 0);
        const highestAck = Math.max(-1, ...[...acknowledged.values()].map((a) => a.lastOffset));
        assert.ok(
          log.logEndOffset >= highestAck + 1,
          `round ${round}: log end ${log.logEndOffset} lost acknowledged offset ${highestAck}`,
        );
        let offset = log.logStartOffset;
        assert.equal(offset, 0);
        const seen = new Set<number>();
        while (offset < log.highWatermark) {
          const batches = splitBatches(log.read(offset, 1 << 20).records);
          assert.ok(batches.length > 0, `round ${round}: nothing served at ${offset}`);
          for (const batch of batches) {
            const header = readBatchHeader(batch);
            assert.equal(header.baseOffset, offset, `round ${round}: offsets are dense`);
            assert.equal(
              header.crc,
              computeBatchCrc(batch),
              `round ${round}: served batch at ${offset} passes its CRC`,
            );
            const ack = acknowledged.get(header.baseOffset);
            if (ack) {
              const hash = createHash('sha256').update(batch.subarray(BatchField.attributes)).digest('hex');
              assert.equal(
                hash,
                ack.hash,
                `round ${round}: batch at ${offset} is byte-identical to what was acknowledged`,
              );
              assert.equal(header.baseOffset + header.lastOffsetDelta, ack.lastOffset);
            }
            seen.add(header.baseOffset);
            offset = header.baseOffset + header.lastOffsetDelta + 1;
          }
        }
        for (const ack of acknowledged.values()) {
          assert.ok(
            seen.has(ack.baseOffset),
            `round ${round}: acknowledged batch at ${ack.baseOffset} is readable`,
          );
        }
        batchesChecked += seen.size;
      } finally {
        await manager.close();
      }
    }
    assert.ok(acknowledged.size > ROUNDS, 'every round acknowledged batches');
    console.log(
      `crash test: ${ROUNDS} SIGKILLs, ${acknowledged.size} acknowledged batches, ${batchesChecked} batch reads verified`,
    );
  });
});
