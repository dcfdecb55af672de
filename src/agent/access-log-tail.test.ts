import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AccessLogTail } from './access-log-tail.js';

const limits = { lineBytesMax: 100, readBytesPerPollMax: 1_000 };

function withDir(run: (dir: string) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-tail-'));
    try {
      await run(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'a log that exists at start is followed from its end; partial lines wait for their newline',
  withDir(async (dir) => {
    const log = path.join(dir, 'access.log');
    writeFileSync(log, 'old 1\nold 2\n');
    const tail = new AccessLogTail(log, limits, null);
    assert.deepEqual((await tail.poll()).lines, []);
    appendFileSync(log, 'new 1\nnew 2 part');
    assert.deepEqual((await tail.poll()).lines, ['new 1']);
    appendFileSync(log, 'ial\n');
    assert.deepEqual((await tail.poll()).lines, ['new 2 partial']);
    await tail.close();
  }),
);

test(
  'rename rotation: the old file is finished (also what it gets after the rename), the new one read whole',
  withDir(async (dir) => {
    const log = path.join(dir, 'access.log');
    const tail = new AccessLogTail(log, limits, null);
    assert.deepEqual((await tail.poll()).lines, [], 'no log yet');
    writeFileSync(log, 'a\n');
    assert.deepEqual((await tail.poll()).lines, ['a'], 'a log that appears later is read from its start');
    appendFileSync(log, 'b\n');
    renameSync(log, `${log}.1`);
    writeFileSync(log, 'c\n');
    assert.deepEqual((await tail.poll()).lines, ['b', 'c']);
    appendFileSync(`${log}.1`, 'b2\n');
    appendFileSync(log, 'd\n');
    assert.deepEqual((await tail.poll()).lines, ['b2', 'd']);
    appendFileSync(`${log}.1`, 'too late\n');
    assert.deepEqual((await tail.poll()).lines, [], 'the old file is closed after one more poll');
    await tail.close();
  }),
);

test(
  'copytruncate: a file that shrank is read from its start',
  withDir(async (dir) => {
    const log = path.join(dir, 'access.log');
    writeFileSync(log, '');
    const tail = new AccessLogTail(log, limits, null);
    await tail.poll();
    appendFileSync(log, 'one\ntwo\n');
    assert.deepEqual((await tail.poll()).lines, ['one', 'two']);
    truncateSync(log, 0);
    appendFileSync(log, 'three\n');
    assert.deepEqual((await tail.poll()).lines, ['three']);
    await tail.close();
  }),
);

test(
  'a restart resumes at the saved position, and finishes a file rotated to .1 meanwhile',
  withDir(async (dir) => {
    const log = path.join(dir, 'access.log');
    writeFileSync(log, '');
    const first = new AccessLogTail(log, limits, null);
    await first.poll();
    appendFileSync(log, 'x\n');
    assert.deepEqual((await first.poll()).lines, ['x']);
    const saved = first.position();
    await first.close();
    appendFileSync(log, 'y\n');
    renameSync(log, `${log}.1`);
    writeFileSync(log, 'z\n');
    const second = new AccessLogTail(log, limits, saved);
    assert.deepEqual((await second.poll()).lines, ['y', 'z']);
    await second.close();
  }),
);

test(
  'lines longer than the bound are skipped and counted, however they arrive',
  withDir(async (dir) => {
    const log = path.join(dir, 'access.log');
    writeFileSync(log, '');
    const tail = new AccessLogTail(log, limits, null);
    await tail.poll();
    appendFileSync(log, `${'x'.repeat(150)}\nok\n${'y'.repeat(2_500)}`);
    const read = await tail.poll();
    assert.deepEqual(read.lines, ['ok']);
    assert.equal(read.skippedLines, 1);
    appendFileSync(log, 'yyy\nafter\n');
    let more = await tail.poll();
    for (let polls = 1; !more.lines.includes('after') && polls < 10; polls++) more = await tail.poll();
    assert.deepEqual(more.lines, ['after']);
    assert.equal(more.skippedLines, 1);
    await tail.close();
  }),
);
