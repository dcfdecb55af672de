import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { temporaryDirectory } from '../../test/support/log-fixtures.js';
import { QuotaError } from './client-quota.js';
import { type EntityQuota, FileQuotaStorage, QUOTA_FILE, QuotaStore } from './quota-store.js';

const options = { maxEntities: 3 };

describe('QuotaStore', () => {
  test('alterations are kept in quotas.json and read back by a new store; followers see each change', async () => {
    using tmp = temporaryDirectory();
    const store = await QuotaStore.open(new FileQuotaStorage(tmp.dir), options);
    const seen: Array<readonly EntityQuota[]> = [];
    store.follow((quotas) => seen.push(quotas));
    await store.alter(
      [
        { entity: { user: 'alice' }, ops: [{ key: 'producer_byte_rate', value: 102_400 }] },
        { entity: { clientId: null }, ops: [{ key: 'request_percentage', value: 50 }] },
      ],
      false,
    );
    await store.alter(
      [{ entity: { user: 'alice' }, ops: [{ key: 'consumer_byte_rate', value: 2048 }] }],
      false,
    );
    const expected = [
      { entity: { user: 'alice' }, values: { producer_byte_rate: 102_400, consumer_byte_rate: 2048 } },
      { entity: { clientId: null }, values: { request_percentage: 50 } },
    ];
    assert.deepEqual(store.list(), expected);
    assert.equal(seen.length, 3);
    assert.deepEqual(seen.at(-1), expected);
    const reopened = await QuotaStore.open(new FileQuotaStorage(tmp.dir), options);
    assert.deepEqual(reopened.list(), expected);
    // The file keeps the default as null, readable by an operator.
    const file = JSON.parse(fs.readFileSync(path.join(tmp.dir, QUOTA_FILE), 'utf8'));
    assert.deepEqual(file.quotas[1], { clientId: null, values: { request_percentage: 50 } });
  });

  test('removing the last key removes the entity; validateOnly changes nothing', async () => {
    using tmp = temporaryDirectory();
    const store = await QuotaStore.open(new FileQuotaStorage(tmp.dir), options);
    await store.alter(
      [{ entity: { user: 'bob' }, ops: [{ key: 'producer_byte_rate', value: 1000 }] }],
      false,
    );
    await store.alter([{ entity: { user: 'bob' }, ops: [{ key: 'producer_byte_rate', value: 5 }] }], true);
    assert.deepEqual(store.list(), [{ entity: { user: 'bob' }, values: { producer_byte_rate: 1000 } }]);
    await store.alter(
      [{ entity: { user: 'bob' }, ops: [{ key: 'producer_byte_rate', value: null }] }],
      false,
    );
    assert.deepEqual(store.list(), []);
    assert.deepEqual((await QuotaStore.open(new FileQuotaStorage(tmp.dir), options)).list(), []);
  });

  test('more entities than the limit are refused, validateOnly included, and nothing is kept', async () => {
    using tmp = temporaryDirectory();
    const store = await QuotaStore.open(new FileQuotaStorage(tmp.dir), options);
    const four = ['a', 'b', 'c', 'd'].map((user) => ({
      entity: { user },
      ops: [{ key: 'producer_byte_rate' as const, value: 1 }],
    }));
    for (const validateOnly of [true, false]) {
      await assert.rejects(
        store.alter(four, validateOnly),
        (error) => error instanceof QuotaError && error.code === 'QUOTA_LIMIT',
      );
    }
    assert.deepEqual(store.list(), []);
  });

  test('a damaged file is refused naming where', async () => {
    using tmp = temporaryDirectory();
    const file = path.join(tmp.dir, QUOTA_FILE);
    const cases: Array<[string, RegExp]> = [
      ['{', /not JSON/],
      ['{"version":1,"quotas":[{"values":{}}]}', /quotas\.0: an entity needs/],
      [
        '{"version":1,"quotas":[{"user":"a","values":{"producer_byte_rate":-1}}]}',
        /quotas\.0\.values\.producer_byte_rate/,
      ],
      ['{"version":1,"quotas":[{"user":"a","values":{"x":1}}]}', /unknown quota key/],
    ];
    for (const [text, message] of cases) {
      fs.writeFileSync(file, text);
      await assert.rejects(
        QuotaStore.open(new FileQuotaStorage(tmp.dir), options),
        (error) =>
          error instanceof QuotaError && error.code === 'CORRUPT_QUOTA_FILE' && message.test(error.message),
      );
    }
  });
});
