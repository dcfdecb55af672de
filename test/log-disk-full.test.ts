import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LogError, LogManager } from '../src/log/index.js';
import { decodeRecords, splitBatches } from '../src/protocol/index.js';
import { makeBatch, RecordingLogger, temporaryDirectory } from './support/log-fixtures.js';

/** Mounts a tiny tmpfs so the kernel itself answers ENOSPC; needs root (as CI and `npm test` run). */
function mountTinyFilesystem(dir: string, bytes: number): (() => void) | string {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    return `mount failed: ${(error as Error).message}`;
  }
  return () => execFileSync('umount', [dir]);
}

describe('log on a full disk', () => {
  it('fails appends with DISK_FULL, stays consistent and readable, and accepts appends once space returns', async (t) => {
    using tmp = temporaryDirectory();
    const unmount = mountTinyFilesystem(tmp.dir, 256 * 1024);
    if (typeof unmount === 'string') {
      t.skip(`real ENOSPC not testable here: ${unmount} (the injected-ENOSPC unit test still runs)`);
      return;
    }
    try {
      const dataDir = path.join(tmp.dir, 'data');
      const logger = new RecordingLogger();
      const manager = LogManager.open({ dataDir, logger });
      manager.createTopic('full', 1);
      const log = manager.partition('full', 0);
      let acknowledged = 0;
      let failure: unknown = null;
      for (let i = 0; i < 10_000 && !failure; i++) {
        try {
          await log.append(makeBatch(`b${i}`, 10, 1_700_000_000_000, 200));
          acknowledged++;
        } catch (error) {
          failure = error;
        }
      }
      assert.ok(failure instanceof LogError, `expected a LogError, got ${String(failure)}`);
      assert.equal(failure.code, 'DISK_FULL');
      assert.ok(acknowledged > 10, `only ${acknowledged} appends fit`);
      assert.equal(log.logEndOffset, acknowledged * 10, 'the failed append consumed no offsets');

      let count = 0;
      for (const batch of splitBatches(log.read(0, 1 << 20).records)) count += decodeRecords(batch).length;
      assert.equal(count, acknowledged * 10, 'everything acknowledged is readable');

      await manager.close();
      const reopened = LogManager.open({ dataDir, logger });
      assert.equal(reopened.partition('full', 0).logEndOffset, acknowledged * 10);
      await reopened.deleteTopic('full');
      reopened.createTopic('again', 1);
      await reopened.partition('again', 0).append(makeBatch('space-is-back'));
      await reopened.close();
    } finally {
      unmount();
    }
  });
});
