import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeBatch } from '../../test/support/log-fixtures.js';
import { BatchField } from '../protocol/index.js';
import { validateBatches } from './batch-validation.js';
import { LogError } from './errors.js';

function expectLogError(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof LogError, `expected LogError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('validateBatches', () => {
  it('summarises every batch of a payload', () => {
    const a = makeBatch('a', 3, 1000);
    const b = makeBatch('b', 5, 2000);
    const summaries = validateBatches(Buffer.concat([a, b]), 1 << 20);
    assert.deepEqual(
      summaries.map((s) => [s.position, s.size, s.offsetCount, s.maxTimestamp]),
      [
        [0, a.length, 3, 1002],
        [a.length, b.length, 5, 2004],
      ],
    );
  });

  it('rejects a flipped bit anywhere the CRC covers', () => {
    const batch = makeBatch('a');
    batch[batch.length - 3]! ^= 0x10;
    expectLogError(() => validateBatches(batch, 1 << 20), 'CORRUPT_MESSAGE', /CRC-32C mismatch/);
  });

  it('rejects a truncated batch', () => {
    const batch = makeBatch('a');
    expectLogError(
      () => validateBatches(batch.subarray(0, batch.length - 1), 1 << 20),
      'CORRUPT_MESSAGE',
      /claims/,
    );
    expectLogError(
      () => validateBatches(batch.subarray(0, 30), 1 << 20),
      'CORRUPT_MESSAGE',
      /header needs 61/,
    );
  });

  it('rejects a batch whose length field is too small to be a batch', () => {
    const batch = makeBatch('a');
    batch.writeInt32BE(10, BatchField.batchLength);
    expectLogError(() => validateBatches(batch, 1 << 20), 'CORRUPT_MESSAGE', /shorter than a batch header/);
  });

  it('rejects magic other than 2', () => {
    const batch = makeBatch('a');
    batch.writeInt8(1, BatchField.magic);
    expectLogError(() => validateBatches(batch, 1 << 20), 'CORRUPT_MESSAGE', /magic byte is 1/);
  });

  it('rejects a batch larger than max.message.bytes with MESSAGE_TOO_LARGE', () => {
    const batch = makeBatch('a', 10);
    expectLogError(() => validateBatches(batch, 100), 'MESSAGE_TOO_LARGE', /exceeds max.message.bytes=100/);
  });

  it('rejects the whole payload when a later batch is bad', () => {
    const good = makeBatch('good');
    const bad = makeBatch('bad');
    bad[BatchField.crc]! ^= 1;
    expectLogError(
      () => validateBatches(Buffer.concat([good, bad]), 1 << 20),
      'CORRUPT_MESSAGE',
      /at byte \d+/,
    );
  });

  it('rejects an empty payload', () => {
    expectLogError(() => validateBatches(Buffer.alloc(0), 1 << 20), 'CORRUPT_MESSAGE', /no record batch/);
  });
});
