import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { temporaryDirectory } from '../../test/support/log-fixtures.js';
import { ThreadAppendWriter, type WriteDone } from './append-writer.js';

/** What each write reported, in the order the reports came. */
function recorder(): { done: (name: string) => WriteDone; reports: string[] } {
  const reports: string[] = [];
  return {
    reports,
    done: (name) => (error) => {
      reports.push(error ? `${name}: ${error.message}` : name);
    },
  };
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs `body` with a new file open for writing in a temporary directory, closed after. */
async function withLogFile(body: (fd: number, file: string) => void | Promise<void>): Promise<void> {
  using tmp = temporaryDirectory();
  const file = path.join(tmp.dir, 'log');
  const fd = fs.openSync(file, 'w+');
  try {
    await body(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

describe('ThreadAppendWriter', () => {
  it('makes small unsynced writes on the caller thread, reporting them after submit in order', () =>
    withLogFile(async (fd, file) => {
      const writer = new ThreadAppendWriter();
      const { done, reports } = recorder();
      writer.submit(1, fd, Buffer.from('abc'), 0, false, done('a'));
      writer.submit(1, fd, Buffer.from('def'), 3, false, done('b'));
      assert.deepEqual(reports, [], 'done never runs from within submit');
      // Written already: the file holds the bytes before the reports run.
      assert.equal(fs.readFileSync(file, 'utf8'), 'abcdef');
      await Promise.resolve();
      assert.deepEqual(reports, ['a', 'b']);
    }));

  it('keeps order when a synced write is in flight on the thread: later writes follow it there', () =>
    withLogFile(async (fd, file) => {
      const writer = new ThreadAppendWriter();
      const { done, reports } = recorder();
      writer.submit(1, fd, Buffer.from('abc'), 0, false, done('inline'));
      writer.submit(1, fd, Buffer.from('def'), 3, true, done('synced'));
      const last = writer.submit(1, fd, Buffer.from('ghi'), 6, false, done('after'));
      writer.settle(last);
      assert.deepEqual(reports, ['inline', 'synced', 'after']);
      assert.equal(fs.readFileSync(file, 'utf8'), 'abcdefghi');
      // Once the thread has nothing in flight, small writes are made here again.
      writer.submit(1, fd, Buffer.from('jkl'), 9, false, done('inline again'));
      assert.equal(fs.readFileSync(file, 'utf8'), 'abcdefghijkl');
      await nextTurn();
      assert.deepEqual(reports, ['inline', 'synced', 'after', 'inline again']);
    }));

  it('settle runs the reports of writes made on the caller thread', () =>
    withLogFile(async (fd) => {
      const writer = new ThreadAppendWriter();
      const { done, reports } = recorder();
      const ticket = writer.submit(1, fd, Buffer.from('abc'), 0, false, done('a'));
      writer.settle(ticket);
      assert.deepEqual(reports, ['a']);
    }));

  it('sends large writes to the thread', () =>
    withLogFile(async (fd, file) => {
      const writer = new ThreadAppendWriter();
      const { done, reports } = recorder();
      const large = Buffer.alloc(1024 * 1024, 'x');
      const ticket = writer.submit(1, fd, large, 0, false, done('large'));
      await nextTurn();
      writer.settle(ticket);
      assert.deepEqual(reports, ['large']);
      assert.equal(fs.statSync(file).size, large.length);
    }));

  it('fails a stream whose write failed, and every later write of it, but no other stream', async () => {
    using tmp = temporaryDirectory();
    const readOnly = fs.openSync(path.join(tmp.dir, 'read-only'), 'w+');
    fs.closeSync(readOnly);
    const badFd = fs.openSync(path.join(tmp.dir, 'read-only'), 'r');
    const goodFd = fs.openSync(path.join(tmp.dir, 'good'), 'w+');
    try {
      const writer = new ThreadAppendWriter();
      const { done, reports } = recorder();
      writer.submit(1, badFd, Buffer.from('abc'), 0, false, done('bad'));
      writer.submit(2, goodFd, Buffer.from('abc'), 0, false, done('good'));
      const last = writer.submit(1, badFd, Buffer.from('def'), 3, false, done('bad later'));
      writer.settle(last);
      assert.equal(reports.length, 3);
      assert.match(reports[0]!, /^bad: .*EBADF/);
      assert.equal(reports[1], 'good');
      assert.equal(reports[2], 'bad later: not written: an earlier write of this log failed');
    } finally {
      fs.closeSync(badFd);
      fs.closeSync(goodFd);
    }
  });

  it('never writes on the caller thread for a stream whose write failed on the thread', () => {
    using tmp = temporaryDirectory();
    fs.closeSync(fs.openSync(path.join(tmp.dir, 'read-only'), 'w+'));
    const badFd = fs.openSync(path.join(tmp.dir, 'read-only'), 'r');
    try {
      const writer = new ThreadAppendWriter();
      const { done, reports } = recorder();
      writer.settle(writer.submit(1, badFd, Buffer.from('abc'), 0, true, done('synced')));
      writer.settle(writer.submit(1, badFd, Buffer.from('def'), 3, false, done('later')));
      assert.equal(reports.length, 2);
      assert.match(reports[0]!, /^synced: .*EBADF/);
      assert.equal(reports[1], 'later: not written: an earlier write of this log failed');
    } finally {
      fs.closeSync(badFd);
    }
  });
});
