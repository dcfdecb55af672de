import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { callHandler, requestContext } from '../../../test/support/handler-call.js';
import { temporaryDirectory } from '../../../test/support/log-fixtures.js';
import { AlterClientQuotas } from '../../protocol/apis/alter-client-quotas.js';
import { DescribeClientQuotas } from '../../protocol/apis/describe-client-quotas.js';
import {
  AclAuthorizer,
  AclOperation,
  AclPermissionType,
  AclStore,
  FileAclStorage,
  FileQuotaStorage,
  PatternType,
  QuotaStore,
  ResourceType,
} from '../../security/index.js';
import { Access } from '../access.js';
import { ErrorCode } from '../error-codes.js';
import { BrokerMetrics } from '../metrics.js';
import { clientQuotaHandlers } from './client-quotas.js';

const alice = [{ entityType: 'user', entityName: 'alice' }];
const defaultClient = [{ entityType: 'client-id', entityName: null }];
const set = (key: string, value: number) => ({ key, value, remove: false });
const everything = { components: [], strict: false };

describe('client quota handlers', () => {
  for (const version of [0, 1]) {
    test(`v${version}: alter, validateOnly, describe with filters, remove; each entry answered on its own`, async () => {
      using tmp = temporaryDirectory();
      const store = await QuotaStore.open(new FileQuotaStorage(tmp.dir), { maxEntities: 10 });
      const handlers = clientQuotaHandlers(store, Access.OPEN);
      const context = requestContext(version);
      const altered = await callHandler(
        handlers,
        AlterClientQuotas,
        {
          entries: [
            { entity: alice, ops: [set('producer_byte_rate', 102_400), set('request_percentage', 25)] },
            { entity: defaultClient, ops: [set('consumer_byte_rate', 1.5)] },
            { entity: [{ entityType: 'ip', entityName: null }], ops: [set('producer_byte_rate', 1)] },
            { entity: defaultClient, ops: [set('controller_mutation_rate', 10)] },
            { entity: defaultClient, ops: [set('consumer_byte_rate', 4096)] },
          ],
          validateOnly: false,
        },
        context,
      );
      assert.deepEqual(
        altered.entries.map((e) => e.errorCode),
        [
          ErrorCode.NONE,
          ErrorCode.INVALID_REQUEST,
          ErrorCode.INVALID_REQUEST,
          ErrorCode.INVALID_REQUEST,
          ErrorCode.NONE,
        ],
      );
      assert.match(altered.entries[1]!.errorMessage ?? '', /whole number/);
      assert.match(altered.entries[3]!.errorMessage ?? '', /controller_mutation_rate is not supported/);
      assert.deepEqual(altered.entries[0]!.entity, alice);

      const validated = await callHandler(
        handlers,
        AlterClientQuotas,
        { entries: [{ entity: alice, ops: [set('producer_byte_rate', 1)] }], validateOnly: true },
        context,
      );
      assert.equal(validated.entries[0]!.errorCode, ErrorCode.NONE);

      const all = await callHandler(handlers, DescribeClientQuotas, everything, context);
      assert.equal(all.errorCode, ErrorCode.NONE);
      assert.deepEqual(all.entries, [
        {
          entity: alice,
          values: [
            { key: 'producer_byte_rate', value: 102_400 },
            { key: 'request_percentage', value: 25 },
          ],
        },
        { entity: defaultClient, values: [{ key: 'consumer_byte_rate', value: 4096 }] },
      ]);
      const defaults = await callHandler(
        handlers,
        DescribeClientQuotas,
        { components: [{ entityType: 'client-id', matchType: 1, match: null }], strict: true },
        context,
      );
      assert.deepEqual(
        defaults.entries?.map((e) => e.entity),
        [defaultClient],
      );
      const badFilter = await callHandler(
        handlers,
        DescribeClientQuotas,
        { components: [{ entityType: 'group', matchType: 0, match: 'g' }], strict: false },
        context,
      );
      assert.equal(badFilter.errorCode, ErrorCode.INVALID_REQUEST);
      assert.equal(badFilter.entries, null);

      await callHandler(
        handlers,
        AlterClientQuotas,
        {
          entries: [
            {
              entity: alice,
              ops: [
                { key: 'producer_byte_rate', value: 0, remove: true },
                { key: 'request_percentage', value: 0, remove: true },
              ],
            },
          ],
          validateOnly: false,
        },
        context,
      );
      const left = await callHandler(handlers, DescribeClientQuotas, everything, context);
      assert.deepEqual(
        left.entries?.map((e) => e.entity),
        [defaultClient],
      );
    });
  }

  test('DESCRIBE_CONFIGS and ALTER_CONFIGS on the cluster are needed', async () => {
    using tmp = temporaryDirectory();
    const acls = await AclStore.open(new FileAclStorage(tmp.dir), { maxAcls: 10 });
    const authorizer = new AclAuthorizer(acls, {
      superUsers: ['User:admin'],
      allowEveryoneIfNoAclFound: false,
    });
    await authorizer.createAcls([
      {
        resourceType: ResourceType.CLUSTER,
        resourceName: 'kafka-cluster',
        patternType: PatternType.LITERAL,
        principal: 'User:viewer',
        host: '*',
        operation: AclOperation.DESCRIBE_CONFIGS,
        permissionType: AclPermissionType.ALLOW,
      },
    ]);
    const metrics = new BrokerMetrics();
    const access = Access.enforced(authorizer, metrics, pino({ level: 'silent' }));
    const handlers = clientQuotaHandlers(
      await QuotaStore.open(new FileQuotaStorage(tmp.dir), { maxEntities: 10 }),
      access,
    );
    const viewer = requestContext(1, { principal: 'User:viewer' });
    const nobody = requestContext(1, { principal: 'User:nobody' });
    const alter = {
      entries: [{ entity: alice, ops: [set('producer_byte_rate', 1000)] }],
      validateOnly: false,
    };
    const refused = await callHandler(handlers, AlterClientQuotas, alter, viewer);
    assert.equal(refused.entries[0]!.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    assert.match(refused.entries[0]!.errorMessage ?? '', /lacks ALTER_CONFIGS on the cluster/);
    assert.equal(
      (await callHandler(handlers, DescribeClientQuotas, everything, viewer)).errorCode,
      ErrorCode.NONE,
    );
    const hidden = await callHandler(handlers, DescribeClientQuotas, everything, nobody);
    assert.equal(hidden.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    assert.equal(hidden.entries, null);
    const admin = requestContext(1, { principal: 'User:admin' });
    assert.equal(
      (await callHandler(handlers, AlterClientQuotas, alter, admin)).entries[0]!.errorCode,
      ErrorCode.NONE,
    );
    assert.match(await metrics.registry.metrics(), /api="AlterClientQuotas",resource_type="CLUSTER"} 1/);
  });
});
