import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WriteBufferPool } from './write-buffer-pool.js';

describe('WriteBufferPool', () => {
  it('hands out exactly the bytes asked for, each on an ArrayBuffer of its own', () => {
    const pool = new WriteBufferPool();
    const a = pool.take(100);
    const b = pool.take(100);
    assert.equal(a.length, 100);
    assert.equal(a.byteOffset, 0);
    assert.notEqual(a.buffer, b.buffer);
    assert.equal(pool.take(0).length, 0);
  });

  it('reuses a buffer given back for a later copy of its size class', () => {
    const pool = new WriteBufferPool();
    const first = pool.take(3000);
    pool.give(first.buffer);
    const second = pool.take(2500);
    assert.equal(second.buffer, first.buffer);
    assert.equal(second.length, 2500);
    assert.notEqual(pool.take(2500).buffer, first.buffer, 'a buffer is handed out once');
  });

  it('keeps at most 256 KiB per size class and never pools copies over 1 MiB', () => {
    const pool = new WriteBufferPool();
    const taken = Array.from({ length: 80 }, () => pool.take(4096));
    for (const buffer of taken) pool.give(buffer.buffer);
    const reused = new Set(taken.map((buffer) => buffer.buffer));
    let hits = 0;
    for (let i = 0; i < 80; i++) if (reused.has(pool.take(4096).buffer)) hits++;
    assert.equal(hits, 64);
    const large = pool.take(2 * 1024 * 1024 + 1);
    assert.equal(large.buffer.byteLength, 2 * 1024 * 1024 + 1);
    pool.give(large.buffer);
    assert.notEqual(pool.take(2 * 1024 * 1024 + 1).buffer, large.buffer);
  });
});
