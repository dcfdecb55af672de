import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkCommitEntries,
  checkFetchOptions,
  checkFetchRequests,
  checkJoinGroup,
  checkPartitionIndex,
  checkProduceRecords,
  checkTopicSpec,
} from './client-checks.js';
import { LogClientError, type LogClientErrorCode, UnknownTopicError } from './client-errors.js';
import { LOG_CLIENT_LIMITS } from './client-limits.js';

function refusedWith(code: LogClientErrorCode, pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof LogClientError, `expected a LogClientError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  };
}

const record = { topic: 't', partition: 0, key: null, value: null, timestamp: 1_700_000_000_000 };

describe('client argument checks', () => {
  it('refuses topic specs without partitions', () => {
    checkTopicSpec({ name: 't', partitions: 1 });
    for (const partitions of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => checkTopicSpec({ name: 't', partitions }),
        refusedWith('INVALID_ARGUMENT', /count >= 1/),
      );
    }
  });

  it('refuses produce calls over the record limit and timestamps that are not epoch milliseconds', () => {
    checkProduceRecords([record]);
    const tooMany = new Array(LOG_CLIENT_LIMITS.maxRecordsPerProduce + 1).fill(record);
    assert.throws(
      () => checkProduceRecords(tooMany),
      refusedWith('INVALID_ARGUMENT', /the limit is 1000000/),
    );
    for (const timestamp of [-1, 1.5, Number.MAX_SAFE_INTEGER + 2]) {
      assert.throws(
        () => checkProduceRecords([{ ...record, timestamp }]),
        refusedWith('INVALID_ARGUMENT', /t-0 is not milliseconds since the epoch/),
      );
    }
  });

  it("bounds a fetch's bytes by the shared limit and its wait by the client's", () => {
    checkFetchOptions({ maxBytes: 1, maxWaitMs: 0 }, 10);
    assert.throws(
      () => checkFetchOptions({ maxBytes: LOG_CLIENT_LIMITS.maxFetchBytes + 1, maxWaitMs: 0 }, 10),
      refusedWith('INVALID_ARGUMENT', /maxBytes=/),
    );
    assert.throws(
      () => checkFetchOptions({ maxBytes: 1, maxWaitMs: 11 }, 10, ' (because)'),
      refusedWith('INVALID_ARGUMENT', /between 0 and 10 \(because\)$/),
    );
  });

  it('refuses a fetch that names a partition twice or starts below offset 0', () => {
    checkFetchRequests([
      { topic: 't', partition: 0, offset: 0 },
      { topic: 't', partition: 1, offset: 5 },
    ]);
    assert.throws(
      () =>
        checkFetchRequests([
          { topic: 't', partition: 0, offset: 0 },
          { topic: 't', partition: 0, offset: 3 },
        ]),
      refusedWith('INVALID_ARGUMENT', /t-0 is requested twice/),
    );
    assert.throws(
      () => checkFetchRequests([{ topic: 't', partition: 0, offset: -1 }]),
      refusedWith('INVALID_ARGUMENT', /fetch offset -1/),
    );
  });

  it('refuses commits of negative or fractional offsets', () => {
    checkCommitEntries([{ topic: 't', partition: 0, offset: 0 }]);
    assert.throws(
      () => checkCommitEntries([{ topic: 't', partition: 0, offset: 0.5 }]),
      refusedWith('INVALID_ARGUMENT', /committed offset 0.5/),
    );
  });

  it('names the partitions a topic has', () => {
    checkPartitionIndex('t', 2, 3);
    assert.throws(
      () => checkPartitionIndex('t', 3, 3),
      refusedWith('UNKNOWN_PARTITION', /partitions 0\.\.2/),
    );
  });

  it('refuses a second join of one group and joins past the group limit', () => {
    const joined = new Map([['g', null]]);
    checkJoinGroup('h', ['t'], joined);
    assert.throws(
      () => checkJoinGroup('', ['t'], joined),
      refusedWith('INVALID_ARGUMENT', /group id is empty/),
    );
    assert.throws(
      () => checkJoinGroup('h', [], joined),
      refusedWith('INVALID_ARGUMENT', /at least one topic/),
    );
    assert.throws(() => checkJoinGroup('g', ['t'], joined), refusedWith('GROUP_ALREADY_JOINED', /'g'/));
    const full = new Map(
      Array.from({ length: LOG_CLIENT_LIMITS.maxGroupsPerClient }, (_, i) => [`g${i}`, null]),
    );
    assert.throws(
      () => checkJoinGroup('h', ['t'], full),
      refusedWith('INVALID_ARGUMENT', /the limit is 100/),
    );
  });

  it('makes an unknown topic a LogClientError that carries its name', () => {
    const error = new UnknownTopicError('orders');
    assert.ok(error instanceof LogClientError);
    assert.equal(error.code, 'UNKNOWN_TOPIC');
    assert.equal(error.topic, 'orders');
  });
});
