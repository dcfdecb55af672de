import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { callHandler, requestContext } from '../../../test/support/handler-call.js';
import { CreateAcls } from '../../protocol/apis/create-acls.js';
import { DeleteAcls } from '../../protocol/apis/delete-acls.js';
import { DescribeAcls } from '../../protocol/apis/describe-acls.js';
import type { EncodableRequestOf } from '../../protocol/message-types.js';
import type { ApiSchema } from '../../protocol/schema.js';
import {
  AclAuthorizer,
  AclOperation,
  AclPermissionType,
  AclStore,
  FileAclStorage,
  PatternType,
  ResourceType,
} from '../../security/index.js';
import { Access } from '../access.js';
import type { ApiHandler } from '../api-handler.js';
import { ErrorCode } from '../error-codes.js';
import { BrokerMetrics } from '../metrics.js';
import { aclHandlers } from './acls.js';

function call<A extends ApiSchema>(
  handlers: ApiHandler[],
  schema: A,
  version: number,
  body: EncodableRequestOf<A>,
  principal = 'User:admin',
) {
  return callHandler(handlers, schema, body, requestContext(version, { principal }));
}

const readOrders = {
  resourceType: ResourceType.TOPIC,
  resourceName: 'orders',
  resourcePatternType: PatternType.LITERAL,
  principal: 'User:alice',
  host: '10.0.0.1',
  operation: AclOperation.READ,
  permissionType: AclPermissionType.ALLOW,
};
const aliceFilter = {
  resourceTypeFilter: ResourceType.ANY,
  resourceNameFilter: null,
  patternTypeFilter: PatternType.ANY,
  principalFilter: 'User:alice',
  hostFilter: null,
  operation: AclOperation.ANY,
  permissionType: AclPermissionType.ANY,
};

describe('ACL handlers', () => {
  let dir: string;
  let handlers: ApiHandler[];
  let authorizer: AclAuthorizer;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acl-handlers-'));
    const store = await AclStore.open(new FileAclStorage(dir), { maxAcls: 3 });
    authorizer = new AclAuthorizer(store, { superUsers: ['User:admin'], allowEveryoneIfNoAclFound: false });
    handlers = aclHandlers(Access.enforced(authorizer, new BrokerMetrics(), pino({ level: 'silent' })));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('without an authorizer every API answers SECURITY_DISABLED', async () => {
    const disabled = aclHandlers(Access.OPEN);
    const described = await call(disabled, DescribeAcls, 3, aliceFilter);
    assert.equal(described.errorCode, ErrorCode.SECURITY_DISABLED);
    const created = await call(disabled, CreateAcls, 3, { creations: [readOrders] });
    assert.deepEqual(
      created.results.map((r) => r.errorCode),
      [ErrorCode.SECURITY_DISABLED],
    );
    const deleted = await call(disabled, DeleteAcls, 3, { filters: [aliceFilter] });
    assert.deepEqual(
      deleted.filterResults.map((r) => r.errorCode),
      [ErrorCode.SECURITY_DISABLED],
    );
  });

  test('create, describe and delete, each creation and filter answered on its own', async () => {
    const created = await call(handlers, CreateAcls, 3, {
      creations: [readOrders, { ...readOrders, operation: AclOperation.ANY }, { ...readOrders, host: '*' }],
    });
    assert.deepEqual(
      created.results.map((r) => r.errorCode),
      [ErrorCode.NONE, ErrorCode.INVALID_REQUEST, ErrorCode.NONE],
    );
    assert.match(created.results[1]!.errorMessage ?? '', /invalid operation/);
    assert.equal(
      authorizer.authorize(
        { principal: 'User:alice', host: '10.0.0.1' },
        AclOperation.READ,
        ResourceType.TOPIC,
        'orders',
      ),
      true,
    );

    const described = await call(handlers, DescribeAcls, 1, aliceFilter);
    assert.equal(described.errorCode, ErrorCode.NONE);
    assert.deepEqual(described.resources, [
      {
        resourceType: ResourceType.TOPIC,
        resourceName: 'orders',
        patternType: PatternType.LITERAL,
        acls: [
          { principal: 'User:alice', host: '10.0.0.1', operation: 3, permissionType: 3 },
          { principal: 'User:alice', host: '*', operation: 3, permissionType: 3 },
        ],
      },
    ]);
    const unknown = await call(handlers, DescribeAcls, 1, {
      ...aliceFilter,
      operation: AclOperation.UNKNOWN,
    });
    assert.equal(unknown.errorCode, ErrorCode.INVALID_REQUEST);

    const deleted = await call(handlers, DeleteAcls, 2, {
      filters: [
        { ...aliceFilter, hostFilter: '*' },
        { ...aliceFilter, patternTypeFilter: PatternType.UNKNOWN },
      ],
    });
    assert.deepEqual(
      deleted.filterResults.map((r) => [r.errorCode, r.matchingAcls.map((acl) => acl.host)]),
      [
        [ErrorCode.NONE, ['*']],
        [ErrorCode.INVALID_REQUEST, []],
      ],
    );
  });

  test('the ACL limit is POLICY_VIOLATION for the creation past it', async () => {
    const created = await call(handlers, CreateAcls, 1, {
      creations: ['a', 'b', 'c'].map((resourceName) => ({ ...readOrders, resourceName })),
    });
    assert.deepEqual(
      created.results.map((r) => r.errorCode),
      [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.POLICY_VIOLATION],
    );
  });

  test('a caller without DESCRIBE or ALTER on the cluster gets CLUSTER_AUTHORIZATION_FAILED', async () => {
    const alice = 'User:alice';
    const described = await call(handlers, DescribeAcls, 2, aliceFilter, alice);
    assert.equal(described.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    assert.match(described.errorMessage ?? '', /User:alice may not describe ACLs/);
    const created = await call(handlers, CreateAcls, 2, { creations: [readOrders] }, alice);
    assert.deepEqual(
      created.results.map((r) => r.errorCode),
      [ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
    );
    const deleted = await call(handlers, DeleteAcls, 2, { filters: [aliceFilter] }, alice);
    assert.deepEqual(
      deleted.filterResults.map((r) => r.errorCode),
      [ErrorCode.CLUSTER_AUTHORIZATION_FAILED],
    );
  });
});
