import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { SPOOL_BYTES_MIN, Spool, type SpoolRecord } from './spool.js';

function withDir(run: (dir: string) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-spool-'));
    try {
      await run(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const records = (count: number, bytes = 100): SpoolRecord[] =>
  Array.from({ length: count }, (_, i) => ({ topic: 'cdn.tcp', ts: 1_000 + i, value: 'v'.repeat(bytes) }));

test(
  'records get consecutive sequences, are read back in order after a reopen, with the newest meta',
  withDir(async (dir) => {
    const spool = await Spool.open(dir, SPOOL_BYTES_MIN);
    assert.equal(await spool.append(records(3), { at: 1 }), 0);
    assert.equal(await spool.append(records(2), { at: 2 }), 3);
    await spool.close();
    const reopened = await Spool.open(dir, SPOOL_BYTES_MIN);
    assert.equal(reopened.id, spool.id);
    assert.deepEqual(reopened.meta, { at: 2 });
    assert.deepEqual(
      (await reopened.read(-1, 100, 1 << 20)).map((r) => r.seq),
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual(
      (await reopened.read(1, 2, 1 << 20)).map((r) => r.seq),
      [2, 3],
      'from after a sequence, at most recordsMax',
    );
    await reopened.ack(3);
    assert.equal(await reopened.append(records(1), null), 5);
    await reopened.close();
    const again = await Spool.open(dir, SPOOL_BYTES_MIN);
    assert.equal(again.acked, 3);
    assert.deepEqual(
      (await again.read(again.acked, 100, 1 << 20)).map((r) => r.seq),
      [4, 5],
    );
    await again.close();
  }),
);

test(
  'a torn last write is cut off at reopen, counted, and the sequence goes on from the last good frame',
  withDir(async (dir) => {
    const spool = await Spool.open(dir, SPOOL_BYTES_MIN);
    await spool.append(records(2), null);
    await spool.close();
    const [segment] = readdirSync(dir).filter((f) => f.startsWith('segment-'));
    appendFileSync(path.join(dir, segment!), Buffer.from([0, 0, 1, 0, 9, 9]));
    const reopened = await Spool.open(dir, SPOOL_BYTES_MIN);
    assert.equal(reopened.stats().damagedFrames, 1);
    assert.equal(await reopened.append(records(1), null), 2);
    assert.deepEqual(
      (await reopened.read(-1, 100, 1 << 20)).map((r) => r.seq),
      [0, 1, 2],
    );
    await reopened.close();
  }),
);

test(
  'past the bound the oldest segments are dropped, sent or not, and the unsent ones counted',
  withDir(async (dir) => {
    const spool = await Spool.open(dir, SPOOL_BYTES_MIN);
    // 100 frames of ~52 KB: about five times the 1 MiB bound.
    for (let i = 0; i < 100; i++) await spool.append(records(50, 1_000), null);
    const stats = spool.stats();
    assert.ok(stats.bytes <= SPOOL_BYTES_MIN + 200_000, `bytes ${stats.bytes}`);
    assert.ok(stats.droppedRecords > 3_000, `dropped ${stats.droppedRecords}`);
    assert.equal(stats.pendingRecords + stats.droppedRecords, 5_000);
    const pending = await spool.read(spool.acked, 100_000, 1 << 30);
    assert.equal(pending.length, stats.pendingRecords);
    assert.equal(pending.at(-1)!.seq, 4_999, 'the newest are kept');
    assert.equal(pending[0]!.seq, spool.acked + 1);
    await spool.close();
  }),
);

test(
  'acknowledged whole segments are deleted',
  withDir(async (dir) => {
    const spool = await Spool.open(dir, SPOOL_BYTES_MIN * 4);
    for (let i = 0; i < 30; i++) await spool.append(records(50, 1_000), null);
    const before = spool.stats().segments;
    assert.ok(before > 2);
    await spool.ack(1_499);
    assert.equal(spool.stats().segments, 1, 'only the active segment stays');
    assert.equal(spool.stats().pendingRecords, 0);
    await spool.close();
  }),
);
