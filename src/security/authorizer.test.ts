import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AclBinding,
  AclOperation,
  AclPermissionType,
  aclHostOf,
  type BindingOperation,
  type BindingResourceType,
  CLUSTER_RESOURCE_NAME,
  PatternType,
  type RequestedOperation,
  ResourceType,
  validateBinding,
} from './acl.js';
import { AclStore } from './acl-store.js';
import { AclAuthorizer, type AuthorizerOptions, type Session } from './authorizer.js';
import { SingleWriterStorage } from './list-storage.js';

/** Keeps bindings in memory: the authorizer's tests are about decisions, not files. */
class MemoryStorage extends SingleWriterStorage<AclBinding> {
  saved: readonly AclBinding[] = [];
  async load(): Promise<AclBinding[]> {
    return [...this.saved];
  }
  async save(bindings: readonly AclBinding[]): Promise<void> {
    this.saved = bindings;
  }
}

interface AclSpec {
  principal?: string;
  host?: string;
  resourceType?: BindingResourceType;
  name?: string;
  prefixed?: boolean;
  operation: BindingOperation;
  deny?: boolean;
}

function acl(spec: AclSpec): AclBinding {
  return validateBinding({
    resourceType: spec.resourceType ?? ResourceType.TOPIC,
    resourceName: spec.name ?? 'orders',
    patternType: spec.prefixed ? PatternType.PREFIXED : PatternType.LITERAL,
    principal: spec.principal ?? 'User:alice',
    host: spec.host ?? '*',
    operation: spec.operation,
    permissionType: spec.deny ? AclPermissionType.DENY : AclPermissionType.ALLOW,
  });
}

async function authorizerWith(
  specs: AclSpec[],
  options: Partial<AuthorizerOptions> = {},
): Promise<AclAuthorizer> {
  const store = await AclStore.open(new MemoryStorage(), { maxAcls: 100 });
  const authorizer = new AclAuthorizer(store, {
    superUsers: options.superUsers ?? [],
    allowEveryoneIfNoAclFound: options.allowEveryoneIfNoAclFound ?? false,
    clusterActionPrincipals: options.clusterActionPrincipals ?? [],
  });
  assert.deepEqual(
    await authorizer.createAcls(specs.map(acl)),
    specs.map(() => null),
  );
  return authorizer;
}

const alice: Session = { principal: 'User:alice', host: '10.0.0.1' };
const bob: Session = { principal: 'User:bob', host: '10.0.0.2' };

describe('AclAuthorizer', () => {
  test('literal, prefixed and wildcard names', async () => {
    const authorizer = await authorizerWith([
      { name: 'orders', operation: AclOperation.READ },
      { name: 'pay', prefixed: true, operation: AclOperation.WRITE },
      { name: '*', operation: AclOperation.CREATE },
    ]);
    const can = (op: RequestedOperation, name: string) =>
      authorizer.authorize(alice, op, ResourceType.TOPIC, name);
    assert.equal(can(AclOperation.READ, 'orders'), true);
    assert.equal(can(AclOperation.READ, 'orders-eu'), false, 'a literal names one resource');
    assert.equal(can(AclOperation.WRITE, 'payments'), true);
    assert.equal(can(AclOperation.WRITE, 'pay'), true, 'a prefix matches itself');
    assert.equal(can(AclOperation.WRITE, 'pa'), false);
    assert.equal(can(AclOperation.WRITE, 'xpayments'), false, 'a prefix matches at the start only');
    assert.equal(can(AclOperation.CREATE, 'anything'), true);
    assert.equal(
      authorizer.authorize(alice, AclOperation.READ, ResourceType.GROUP, 'orders'),
      false,
      'ACLs apply to their resource type only',
    );
  });

  test('prefixes of several lengths each apply to the names they start', async () => {
    const authorizer = await authorizerWith([
      { name: 'p', prefixed: true, operation: AclOperation.READ },
      { name: 'pay', prefixed: true, operation: AclOperation.WRITE },
      { name: 'payments-eu', prefixed: true, operation: AclOperation.WRITE, deny: true },
      { name: 'payments-eu-west', operation: AclOperation.DELETE },
    ]);
    const can = (op: RequestedOperation, name: string) =>
      authorizer.authorize(alice, op, ResourceType.TOPIC, name);
    assert.equal(can(AclOperation.READ, 'payments-eu-west'), true);
    assert.equal(can(AclOperation.WRITE, 'payments-us'), true);
    assert.equal(can(AclOperation.WRITE, 'payments-eu-west'), false);
    assert.equal(can(AclOperation.DELETE, 'payments-eu-west'), true);
    assert.equal(can(AclOperation.DELETE, 'payments-eu'), false);
    assert.equal(can(AclOperation.READ, 'orders'), false, 'no ACL names it: closed by default');
  });

  test('DENY wins over ALLOW wherever each comes from', async () => {
    const authorizer = await authorizerWith([
      { name: '*', operation: AclOperation.ALL },
      { name: 'secret', prefixed: true, operation: AclOperation.READ, deny: true },
      { name: 'orders', operation: AclOperation.ALL, principal: 'User:*', deny: true },
    ]);
    assert.equal(authorizer.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'public'), true);
    assert.equal(authorizer.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'secrets'), false);
    assert.equal(authorizer.authorize(alice, AclOperation.WRITE, ResourceType.TOPIC, 'secrets'), true);
    assert.equal(authorizer.authorize(alice, AclOperation.DESCRIBE, ResourceType.TOPIC, 'orders'), false);
  });

  test('ALL allows every operation; DESCRIBE and DESCRIBE_CONFIGS are implied, but only by ALLOW', async () => {
    const authorizer = await authorizerWith([
      { name: 'all', operation: AclOperation.ALL },
      { name: 'r', operation: AclOperation.READ },
      { name: 'w', operation: AclOperation.WRITE },
      { name: 'd', operation: AclOperation.DELETE },
      { name: 'a', operation: AclOperation.ALTER },
      { name: 'c', operation: AclOperation.CREATE },
      { name: 'ac', operation: AclOperation.ALTER_CONFIGS },
      { name: 'denied', operation: AclOperation.DESCRIBE },
      { name: 'denied', operation: AclOperation.READ, deny: true },
    ]);
    const topic = (op: RequestedOperation, name: string) =>
      authorizer.authorize(alice, op, ResourceType.TOPIC, name);
    for (const op of [AclOperation.READ, AclOperation.IDEMPOTENT_WRITE, AclOperation.DESCRIBE_CONFIGS]) {
      assert.equal(topic(op, 'all'), true);
    }
    for (const name of ['r', 'w', 'd', 'a']) assert.equal(topic(AclOperation.DESCRIBE, name), true, name);
    assert.equal(topic(AclOperation.DESCRIBE, 'c'), false, 'CREATE does not imply DESCRIBE');
    assert.equal(topic(AclOperation.READ, 'w'), false, 'WRITE does not imply READ');
    assert.equal(topic(AclOperation.DESCRIBE_CONFIGS, 'ac'), true);
    assert.equal(topic(AclOperation.ALTER_CONFIGS, 'ac'), true);
    assert.equal(topic(AclOperation.DESCRIBE, 'ac'), false);
    assert.equal(topic(AclOperation.DESCRIBE, 'denied'), true, 'a DENY of READ does not deny DESCRIBE');
  });

  test('principals and hosts: exact, "User:*" and "*"', async () => {
    const authorizer = await authorizerWith([
      { name: 'orders', operation: AclOperation.READ, principal: 'User:*', host: '10.0.0.1' },
      { name: 'orders', operation: AclOperation.WRITE, principal: 'User:bob' },
    ]);
    assert.equal(authorizer.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders'), true);
    assert.equal(authorizer.authorize(bob, AclOperation.READ, ResourceType.TOPIC, 'orders'), false);
    assert.equal(authorizer.authorize(bob, AclOperation.WRITE, ResourceType.TOPIC, 'orders'), true);
    assert.equal(authorizer.authorize(alice, AclOperation.WRITE, ResourceType.TOPIC, 'orders'), false);
    const ipv6 = await authorizerWith([{ name: 'orders', operation: AclOperation.READ, host: '::1' }]);
    for (const remoteAddress of ['::1', '0:0:0:0:0:0:0:1']) {
      const session = { principal: 'User:alice', host: aclHostOf(remoteAddress) };
      assert.equal(
        ipv6.authorize(session, AclOperation.READ, ResourceType.TOPIC, 'orders'),
        true,
        remoteAddress,
      );
    }
    // As in Kafka, "User:*" matches a principal of any type.
    const group = { principal: 'Group:ops', host: '10.0.0.1' };
    assert.equal(authorizer.authorize(group, AclOperation.READ, ResourceType.TOPIC, 'orders'), true);
    assert.equal(authorizer.authorize(group, AclOperation.WRITE, ResourceType.TOPIC, 'orders'), false);
  });

  test('super users are allowed everything, DENY or not', async () => {
    const authorizer = await authorizerWith(
      [{ name: '*', operation: AclOperation.ALL, principal: 'User:*', deny: true }],
      { superUsers: ['User:admin'] },
    );
    const admin = { principal: 'User:admin', host: '10.0.0.9' };
    assert.equal(authorizer.authorize(admin, AclOperation.DELETE, ResourceType.TOPIC, 'orders'), true);
    assert.equal(
      authorizer.authorize(admin, AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME),
      true,
    );
    assert.equal(authorizer.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders'), false);
  });

  test('cluster-action principals may do CLUSTER_ACTION on the cluster, DENY or not, and nothing else', async () => {
    const authorizer = await authorizerWith(
      [
        {
          resourceType: ResourceType.CLUSTER,
          name: CLUSTER_RESOURCE_NAME,
          operation: AclOperation.ALL,
          principal: 'User:*',
          deny: true,
        },
      ],
      { clusterActionPrincipals: ['User:ANONYMOUS'] },
    );
    const broker = { principal: 'User:ANONYMOUS', host: '10.0.0.3' };
    const cluster = [ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME] as const;
    assert.equal(authorizer.authorize(broker, AclOperation.CLUSTER_ACTION, ...cluster), true);
    assert.equal(authorizer.authorize(broker, AclOperation.ALTER, ...cluster), false);
    assert.equal(
      authorizer.authorize(broker, AclOperation.CLUSTER_ACTION, ResourceType.TOPIC, 'orders'),
      false,
    );
    assert.equal(authorizer.authorize(alice, AclOperation.CLUSTER_ACTION, ...cluster), false);
  });

  test('allowEveryoneIfNoAclFound decides only resources no ACL names', async () => {
    const specs = [{ name: 'orders', operation: AclOperation.READ, principal: 'User:bob' }];
    const closed = await authorizerWith(specs);
    assert.equal(closed.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'other'), false);
    const open = await authorizerWith(specs, { allowEveryoneIfNoAclFound: true });
    assert.equal(open.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'other'), true);
    assert.equal(open.authorize(alice, AclOperation.READ, ResourceType.GROUP, 'g'), true);
    assert.equal(
      open.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders'),
      false,
      'an ACL for someone else names the resource',
    );
  });

  test('IDEMPOTENT_WRITE on the cluster is implied by WRITE on any topic', async () => {
    const idempotent = (authorizer: AclAuthorizer) =>
      authorizer.authorize(alice, AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME);
    assert.equal(idempotent(await authorizerWith([{ name: 'orders', operation: AclOperation.WRITE }])), true);
    assert.equal(idempotent(await authorizerWith([{ name: 'orders', operation: AclOperation.READ }])), false);
    assert.equal(
      idempotent(
        await authorizerWith([
          { name: 'orders', operation: AclOperation.WRITE },
          { name: 'ord', prefixed: true, operation: AclOperation.WRITE, deny: true },
        ]),
      ),
      false,
      'a DENY of a prefix of the only allowed topic covers it',
    );
    assert.equal(
      idempotent(
        await authorizerWith([
          {
            resourceType: ResourceType.CLUSTER,
            name: CLUSTER_RESOURCE_NAME,
            operation: AclOperation.IDEMPOTENT_WRITE,
          },
        ]),
      ),
      true,
    );
  });

  test('authorizeByResourceType follows Kafka: wildcard DENY, dominated ALLOWs', async () => {
    const byType = async (specs: AclSpec[]) =>
      (await authorizerWith(specs)).authorizeByResourceType(alice, AclOperation.READ, ResourceType.TOPIC);
    assert.equal(await byType([]), false);
    assert.equal(await byType([{ name: 'a', operation: AclOperation.READ }]), true);
    assert.equal(
      await byType([
        { name: 'a', operation: AclOperation.READ },
        { name: 'a', operation: AclOperation.READ, deny: true },
      ]),
      false,
    );
    assert.equal(
      await byType([
        { name: 'ab', prefixed: true, operation: AclOperation.READ },
        { name: 'abc', prefixed: true, operation: AclOperation.READ, deny: true },
      ]),
      true,
      'a DENY of a longer prefix leaves part of the ALLOW',
    );
    assert.equal(
      await byType([
        { name: 'a', operation: AclOperation.READ },
        { name: '*', operation: AclOperation.READ, deny: true },
      ]),
      false,
    );
  });

  test('acls(filter) and deleteAcls change what is decided at once', async () => {
    const authorizer = await authorizerWith([
      { name: 'orders', operation: AclOperation.READ },
      { name: 'orders', operation: AclOperation.READ, principal: 'User:bob' },
    ]);
    const alicesFilter = {
      resourceType: ResourceType.ANY,
      resourceName: null,
      patternType: PatternType.ANY,
      principal: 'User:alice',
      host: null,
      operation: AclOperation.ANY,
      permissionType: AclPermissionType.ANY,
    } as const;
    assert.equal(authorizer.acls(alicesFilter).length, 1);
    const [deleted] = await authorizer.deleteAcls([alicesFilter]);
    assert.equal(deleted?.length, 1);
    assert.equal(authorizer.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders'), false);
    assert.equal(authorizer.authorize(bob, AclOperation.READ, ResourceType.TOPIC, 'orders'), true);
  });
});
