import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkQuotaValue,
  componentsOf,
  entityKey,
  entityOf,
  filterOf,
  MatchType,
  precedenceOf,
  QuotaError,
  quotaFilterMatches,
  quotaKeyOf,
  sharedBy,
} from './client-quota.js';

const invalid = (message: RegExp) => (error: unknown) =>
  error instanceof QuotaError && error.code === 'INVALID_QUOTA' && message.test(error.message);

describe('quota entities', () => {
  test('components become an entity and back; null is the default', () => {
    const components = [
      { entityType: 'user', entityName: 'alice' },
      { entityType: 'client-id', entityName: null },
    ];
    const entity = entityOf(components);
    assert.deepEqual(entity, { user: 'alice', clientId: null });
    assert.deepEqual(componentsOf(entity), components);
    // User first whatever order the client sent.
    assert.deepEqual(componentsOf(entityOf([...components].reverse())), components);
  });

  test('absent, default and named components have different keys', () => {
    const keys = [{ user: 'a' }, { user: null }, { clientId: 'a' }, { user: 'a', clientId: null }].map(
      entityKey,
    );
    assert.equal(new Set(keys).size, keys.length);
  });

  test('empty, duplicated, ip and unknown entity types are refused', () => {
    assert.throws(() => entityOf([]), invalid(/needs a user or a client-id/));
    assert.throws(
      () =>
        entityOf([
          { entityType: 'user', entityName: 'a' },
          { entityType: 'user', entityName: 'b' },
        ]),
      invalid(/duplicate user/),
    );
    assert.throws(() => entityOf([{ entityType: 'ip', entityName: '10.0.0.1' }]), invalid(/ip quotas/));
    assert.throws(
      () => entityOf([{ entityType: 'group', entityName: 'g' }]),
      invalid(/unknown quota entity type/),
    );
  });
});

describe('quota keys and values', () => {
  test('the three keys are accepted; controller_mutation_rate and unknown keys are refused', () => {
    assert.equal(quotaKeyOf('producer_byte_rate'), 'producer_byte_rate');
    assert.equal(quotaKeyOf('consumer_byte_rate'), 'consumer_byte_rate');
    assert.equal(quotaKeyOf('request_percentage'), 'request_percentage');
    assert.throws(() => quotaKeyOf('controller_mutation_rate'), invalid(/not supported/));
    assert.throws(() => quotaKeyOf('producer_rate'), invalid(/unknown quota key/));
  });

  test('byte rates are positive whole numbers; request_percentage any positive number', () => {
    assert.equal(checkQuotaValue('producer_byte_rate', 102_400), 102_400);
    assert.equal(checkQuotaValue('request_percentage', 12.5), 12.5);
    assert.throws(() => checkQuotaValue('consumer_byte_rate', 1.5), invalid(/whole number/));
    assert.throws(() => checkQuotaValue('producer_byte_rate', 0), invalid(/positive/));
    assert.throws(() => checkQuotaValue('request_percentage', Number.NaN), invalid(/positive/));
    assert.throws(() => checkQuotaValue('request_percentage', Number.POSITIVE_INFINITY), invalid(/positive/));
  });
});

describe('precedence', () => {
  test("Kafka's order, most specific first", () => {
    assert.deepEqual(precedenceOf('alice', 'app'), [
      { user: 'alice', clientId: 'app' },
      { user: 'alice', clientId: null },
      { user: 'alice' },
      { user: null, clientId: 'app' },
      { user: null, clientId: null },
      { user: null },
      { clientId: 'app' },
      { clientId: null },
    ]);
  });

  test('a quota is shared by the components its entity has, defaults standing for the client', () => {
    assert.deepEqual(sharedBy({ user: null }, 'alice', 'app'), { user: 'alice', clientId: null });
    assert.deepEqual(sharedBy({ clientId: null }, 'alice', 'app'), { user: null, clientId: 'app' });
    assert.deepEqual(sharedBy({ user: 'alice', clientId: null }, 'alice', 'app'), {
      user: 'alice',
      clientId: 'app',
    });
  });
});

describe('DescribeClientQuotas filters', () => {
  const entities = [
    { user: 'alice' },
    { user: null },
    { user: 'alice', clientId: 'app' },
    { clientId: 'app' },
    { clientId: null },
  ];
  const matching = (components: Parameters<typeof filterOf>[0], strict: boolean) => {
    const filter = filterOf(components, strict);
    return entities.filter((entity) => quotaFilterMatches(filter, entity));
  };

  test('exact, default and specified matches; strict leaves out entities with other components', () => {
    const exact = [{ entityType: 'user', matchType: MatchType.EXACT, match: 'alice' }];
    assert.deepEqual(matching(exact, false), [{ user: 'alice' }, { user: 'alice', clientId: 'app' }]);
    assert.deepEqual(matching(exact, true), [{ user: 'alice' }]);
    const defaults = [{ entityType: 'client-id', matchType: MatchType.DEFAULT, match: null }];
    assert.deepEqual(matching(defaults, false), [{ clientId: null }]);
    const specified = [{ entityType: 'client-id', matchType: MatchType.SPECIFIED, match: null }];
    assert.deepEqual(matching(specified, false), [{ user: 'alice', clientId: 'app' }, { clientId: 'app' }]);
    assert.deepEqual(matching([], false), entities);
    assert.deepEqual(matching([], true), []);
  });

  test('unknown entity types and match types are refused', () => {
    assert.throws(
      () => filterOf([{ entityType: 'ip', matchType: 0, match: 'x' }], false),
      invalid(/unknown/),
    );
    assert.throws(
      () => filterOf([{ entityType: 'user', matchType: 3, match: null }], false),
      invalid(/match type/),
    );
  });
});
