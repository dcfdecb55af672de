import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AclBinding,
  type AclBindingFilter,
  AclError,
  AclOperation,
  AclPermissionType,
  aclHostOf,
  filterMatches,
  PatternType,
  type RawAclBinding,
  ResourceType,
  validateBinding,
  validateFilter,
} from './acl.js';

const readOrders: RawAclBinding = {
  resourceType: ResourceType.TOPIC,
  resourceName: 'orders',
  patternType: PatternType.LITERAL,
  principal: 'User:alice',
  host: '*',
  operation: AclOperation.READ,
  permissionType: AclPermissionType.ALLOW,
};

const anything: AclBindingFilter = {
  resourceType: ResourceType.ANY,
  resourceName: null,
  patternType: PatternType.ANY,
  principal: null,
  host: null,
  operation: AclOperation.ANY,
  permissionType: AclPermissionType.ANY,
};

function binding(change: Partial<RawAclBinding>): AclBinding {
  return validateBinding({ ...readOrders, ...change });
}

function refused(raw: RawAclBinding, why: RegExp): void {
  assert.throws(
    () => validateBinding(raw),
    (error) => error instanceof AclError && error.code === 'INVALID_ACL' && why.test(error.message),
  );
}

describe('validateBinding', () => {
  test('takes concrete bindings', () => {
    assert.deepEqual(validateBinding(readOrders), readOrders);
    assert.equal(binding({ host: '2001:db8::1' }).host, '2001:db8::1');
  });

  test('refuses what Kafka refuses, saying which field and which binding', () => {
    refused({ ...readOrders, resourceType: ResourceType.ANY }, /invalid resource type in \(ANY "orders"/);
    refused({ ...readOrders, patternType: PatternType.MATCH }, /LITERAL or PREFIXED/);
    refused({ ...readOrders, operation: AclOperation.ANY }, /invalid operation/);
    refused({ ...readOrders, operation: 99 }, /invalid operation.* 99\)/);
    refused({ ...readOrders, permissionType: AclPermissionType.ANY }, /DENY or ALLOW/);
    refused({ ...readOrders, resourceName: '' }, /empty resource name/);
    refused({ ...readOrders, resourceType: ResourceType.CLUSTER }, /kafka-cluster/);
    refused({ ...readOrders, principal: 'alice' }, /Type:name/);
    refused({ ...readOrders, principal: ':alice' }, /Type:name/);
    refused({ ...readOrders, host: 'client.example' }, /IP address/);
  });
});

describe('validateFilter', () => {
  test('takes ANY and MATCH, refuses UNKNOWN', () => {
    assert.deepEqual(validateFilter({ ...anything, patternType: PatternType.MATCH }), {
      ...anything,
      patternType: PatternType.MATCH,
    });
    for (const field of ['resourceType', 'patternType', 'operation', 'permissionType'] as const) {
      assert.throws(() => validateFilter({ ...anything, [field]: 0 }), /INVALID_ACL: invalid/, field);
    }
  });
});

describe('filterMatches (Kafka AclBindingFilter)', () => {
  const literal = binding({});
  const wildcard = binding({ resourceName: '*' });
  const prefixed = binding({ resourceName: 'ord', patternType: PatternType.PREFIXED });
  const all = [literal, wildcard, prefixed];
  const selected = (change: Partial<AclBindingFilter>) =>
    all.filter((b) => filterMatches({ ...anything, ...change }, b));

  test('ANY pattern type with a name compares names exactly', () => {
    assert.deepEqual(selected({ resourceName: 'orders' }), [literal]);
    assert.deepEqual(selected({ resourceName: 'ord' }), [prefixed]);
    assert.deepEqual(selected({}), all);
  });

  test('LITERAL and PREFIXED select their own pattern type only', () => {
    assert.deepEqual(selected({ patternType: PatternType.LITERAL }), [literal, wildcard]);
    assert.deepEqual(selected({ patternType: PatternType.LITERAL, resourceName: '*' }), [wildcard]);
    assert.deepEqual(selected({ patternType: PatternType.PREFIXED, resourceName: 'orders' }), []);
  });

  test('MATCH selects every binding that applies to the named resource', () => {
    assert.deepEqual(selected({ patternType: PatternType.MATCH, resourceName: 'orders' }), all);
    assert.deepEqual(selected({ patternType: PatternType.MATCH, resourceName: 'other' }), [wildcard]);
    assert.deepEqual(selected({ patternType: PatternType.MATCH }), all);
  });

  test('resource type, principal, host, operation and permission', () => {
    assert.deepEqual(selected({ resourceType: ResourceType.GROUP }), []);
    assert.deepEqual(selected({ resourceType: ResourceType.TOPIC }), all);
    const other = binding({ principal: 'User:*', host: '10.0.0.1' });
    assert.equal(
      filterMatches({ ...anything, principal: 'User:alice' }, other),
      false,
      'no wildcard in filters',
    );
    assert.equal(filterMatches({ ...anything, principal: 'User:*' }, other), true);
    assert.equal(filterMatches({ ...anything, host: '10.0.0.1' }, other), true);
    assert.equal(filterMatches({ ...anything, host: '10.0.0.1' }, literal), false);
    assert.equal(filterMatches({ ...anything, operation: AclOperation.WRITE }, literal), false);
    assert.equal(filterMatches({ ...anything, operation: AclOperation.READ }, literal), true);
    assert.equal(filterMatches({ ...anything, permissionType: AclPermissionType.DENY }, literal), false);
  });
});

test('aclHostOf gives a client address as Kafka prints it', () => {
  assert.equal(aclHostOf('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(aclHostOf('10.0.0.1'), '10.0.0.1');
  assert.equal(aclHostOf('::1'), '0:0:0:0:0:0:0:1');
  assert.equal(aclHostOf('2001:DB8:0::0a:1'), '2001:db8:0:0:0:0:a:1');
  assert.equal(aclHostOf('fe80::1%eth0'), 'fe80:0:0:0:0:0:0:1%eth0');
  assert.equal(aclHostOf('64:ff9b::192.0.2.33'), '64:ff9b:0:0:0:0:c000:221');
  assert.equal(aclHostOf('0:0:0:0:0:0:0:1'), '0:0:0:0:0:0:0:1');
  assert.equal(aclHostOf('*'), '*');
});
