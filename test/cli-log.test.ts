import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LogManager } from '../src/log/index.js';
import { makeBatch, RecordingLogger, temporaryDirectory } from './support/log-fixtures.js';

const bin = fileURLToPath(new URL('../../bin/edgestream.js', import.meta.url));

function edgestream(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000 });
}

describe('edgestream log commands', () => {
  it('verify passes a sound log and names the damaged segment and position otherwise', async () => {
    using tmp = temporaryDirectory();
    const manager = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    manager.createTopic('t', 1);
    for (let i = 0; i < 3; i++) await manager.partition('t', 0).append(makeBatch(`b${i}`));
    await manager.close();

    const sound = edgestream('log', 'verify', '--data-dir', tmp.dir);
    assert.equal(sound.status, 0, sound.stderr);
    assert.match(sound.stdout, /^t-0\toffsets 0\.\.9\t\d+ bytes\tok$/m);

    const segment = path.join(tmp.dir, 'topics', 't', '0', '00000000000000000000.log');
    const bytes = fs.readFileSync(segment);
    const secondBatch = makeBatch('b0').length;
    bytes[secondBatch + 80]! ^= 0x01;
    fs.writeFileSync(segment, bytes);
    const damaged = edgestream('log', 'verify', '--data-dir', tmp.dir);
    assert.equal(damaged.status, 1);
    assert.match(
      damaged.stdout,
      new RegExp(`DAMAGED: CORRUPT_SEGMENT: .*00000000000000000000\\.log at byte ${secondBatch}`),
    );
  });

  it('dump lists batches and records', async () => {
    using tmp = temporaryDirectory();
    const manager = LogManager.open({ dataDir: tmp.dir, logger: new RecordingLogger() });
    manager.createTopic('t', 1);
    await manager.partition('t', 0).append(makeBatch('hello', 2));
    await manager.close();
    const result = edgestream('log', 'dump', path.join(tmp.dir, 'topics', 't', '0'), '--records');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^baseOffset 0 lastOffset 1 count 2 /m);
    assert.match(result.stdout, /offset 1 timestamp \d+ key key-1 value hello-1/);
  });

  it('rejects unknown commands with the usage text and exit code 2', () => {
    const result = edgestream('log', 'frobnicate');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown command 'log frobnicate'/);
    assert.match(result.stderr, /Usage:/);
  });
});
