import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  type AclBinding,
  type AclBindingFilter,
  AclError,
  AclOperation,
  AclPermissionType,
  PatternType,
  ResourceType,
} from './acl.js';
import { ACL_FILE, AclStore, FileAclStorage } from './acl-store.js';

/** An ALLOW from any host: the store's tests differ only in resource, principal and operation. */
const allow = (
  resourceType: AclBinding['resourceType'],
  resourceName: string,
  patternType: AclBinding['patternType'],
  principal: string,
  operation: AclBinding['operation'],
): AclBinding => ({
  resourceType,
  resourceName,
  patternType,
  principal,
  host: '*',
  operation,
  permissionType: AclPermissionType.ALLOW,
});

const readOrders = allow(ResourceType.TOPIC, 'orders', PatternType.LITERAL, 'User:alice', AclOperation.READ);
const writePayments = allow(
  ResourceType.TOPIC,
  'pay',
  PatternType.PREFIXED,
  'User:alice',
  AclOperation.WRITE,
);
const describeCluster = allow(
  ResourceType.CLUSTER,
  'kafka-cluster',
  PatternType.LITERAL,
  'User:ops',
  AclOperation.DESCRIBE,
);

const byPrincipal = (principal: string | null): AclBindingFilter => ({
  resourceType: ResourceType.ANY,
  resourceName: null,
  patternType: PatternType.ANY,
  principal,
  host: null,
  operation: AclOperation.ANY,
  permissionType: AclPermissionType.ANY,
});

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acl-store-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const open = (maxAcls = 100) => AclStore.open(new FileAclStorage(path.join(dir, 'security')), { maxAcls });

describe('AclStore over FileAclStorage', () => {
  test('a new directory has no ACLs; what is created is there after reopening', async () => {
    const store = await open();
    assert.deepEqual(store.list(), []);
    assert.deepEqual(await store.create([readOrders, writePayments, readOrders]), [null, null, null]);
    assert.deepEqual(store.list(), [readOrders, writePayments], 'the same binding twice is kept once');
    const text = fs.readFileSync(path.join(dir, 'security', ACL_FILE), 'utf8');
    assert.match(text, /"operation": "WRITE"/, 'the file names codes, for people');
    assert.deepEqual((await open()).list(), [readOrders, writePayments]);
  });

  test('delete by filter: each filter reports what it selected, and only that is gone', async () => {
    const store = await open();
    await store.create([readOrders, writePayments, describeCluster]);
    const [alices, everyone, nobody] = await store.delete([
      byPrincipal('User:alice'),
      byPrincipal(null),
      byPrincipal('User:nobody'),
    ]);
    assert.deepEqual(alices, [readOrders, writePayments]);
    assert.deepEqual(everyone, [readOrders, writePayments, describeCluster], 'filters see the same list');
    assert.deepEqual(nobody, []);
    assert.deepEqual((await open()).list(), []);
  });

  test('concurrent changes apply one after the other', async () => {
    const store = await open();
    await Promise.all([
      store.create([readOrders]),
      store.create([writePayments]),
      store.create([describeCluster]),
    ]);
    assert.equal((await open()).list().length, 3);
  });

  test('the number of ACLs is limited, with a clear error', async () => {
    const store = await open(2);
    const results = await store.create([readOrders, writePayments, describeCluster]);
    assert.equal(results[0], null);
    assert.equal(results[1], null);
    assert.ok(results[2] instanceof AclError);
    assert.equal(results[2].code, 'ACL_LIMIT');
    assert.match(results[2].message, /at most 2 ACLs/);
    assert.deepEqual(await store.create([readOrders]), [null], 'an existing ACL is not one more');
    await assert.rejects(open(1), /ACL_LIMIT: storage holds 2 ACLs, more than the limit of 1/);
  });

  test('a damaged file is refused at start with an error naming the file and the problem', async () => {
    await (await open()).create([readOrders]);
    const file = path.join(dir, 'security', ACL_FILE);
    const original = fs.readFileSync(file, 'utf8');
    const refusedWith = async (contents: string, why: RegExp) => {
      fs.writeFileSync(file, contents);
      await assert.rejects(open(), (error) => {
        assert.ok(error instanceof AclError);
        assert.equal(error.code, 'CORRUPT_ACL_FILE');
        assert.ok(error.message.includes(file), error.message);
        assert.match(error.message, why);
        return true;
      });
    };
    await refusedWith(original.slice(0, 40), /not JSON/);
    await refusedWith(original.replace('"READ"', '"READS"'), /acls\.0\.operation/);
    await refusedWith(original.replace('"version": 1', '"version": 2'), /version/);
    await refusedWith(original.replace('"host": "*"', '"host": "somewhere"'), /acls\.0: .*IP address/);
  });
});
