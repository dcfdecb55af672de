// The ACLs and client quotas a cluster's brokers share in ZooKeeper (src/cluster/shared-list.ts), against a
// real three-member ensemble: two brokers changing them at once lose nothing, each sees the other's changes,
// watches are set again after a session expiry, and a list that would not fit in a node is refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { sharedAclStorage, sharedQuotaStorage } from '../src/cluster/shared-security.js';
import { type SessionState, ZooKeeperCoordinator } from '../src/coordination/index.js';
import {
  type AclBinding,
  AclError,
  AclOperation,
  AclPermissionType,
  AclStore,
  PatternType,
  QuotaStore,
  ResourceType,
  validateBinding,
} from '../src/security/index.js';
import { eventually, until } from './support/processes.js';
import { type Ensemble, startZooKeeperEnsemble } from './support/zookeeper.js';

const SESSION_TIMEOUT_MS = 2_000;
const WAIT_MS = 20_000;
const logger = pino({ level: 'silent' });

let ensemble: Ensemble;
const closers: Array<() => unknown> = [];

async function connect(): Promise<ZooKeeperCoordinator> {
  const coordinator = new ZooKeeperCoordinator({
    connectString: ensemble.connectString,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    connectTimeoutMs: 10_000,
    requestTimeoutMs: 5_000,
    logger,
  });
  closers.push(() => coordinator.close());
  await coordinator.start();
  return coordinator;
}

/** One broker's view of the shared ACLs: its own ZooKeeper session, storage and store. */
async function aclBroker(): Promise<{ coordinator: ZooKeeperCoordinator; store: AclStore }> {
  const coordinator = await connect();
  const storage = sharedAclStorage(coordinator, logger);
  closers.push(() => storage.close());
  return { coordinator, store: await AclStore.open(storage, { maxAcls: 10_000 }) };
}

async function quotaBroker(): Promise<QuotaStore> {
  const storage = sharedQuotaStorage(await connect(), logger);
  closers.push(() => storage.close());
  return QuotaStore.open(storage, { maxEntities: 10_000 });
}

function readAcl(principal: string, topic = 'orders'): AclBinding {
  return validateBinding({
    resourceType: ResourceType.TOPIC,
    resourceName: topic,
    patternType: PatternType.LITERAL,
    principal,
    host: '*',
    operation: AclOperation.READ,
    permissionType: AclPermissionType.ALLOW,
  });
}

const principals = (store: AclStore) =>
  store
    .list()
    .map((b) => `${b.principal}/${b.resourceName}`)
    .sort();

describe('ACLs and quotas shared in ZooKeeper', { timeout: 180_000 }, () => {
  before(async () => {
    ensemble = await startZooKeeperEnsemble({ members: 3, tickTimeMs: 500 });
  });

  after(async () => {
    for (const close of closers.reverse()) await close();
    await ensemble?.stop();
  });

  test('two brokers creating and deleting ACLs at once lose no change, and each sees the other’s', async () => {
    const [a, b] = [await aclBroker(), await aclBroker()];
    const perBroker = 15;
    // Every create is a compare-and-set on the same node; interleaved, most of them meet a newer version.
    await Promise.all([
      ...Array.from({ length: perBroker }, (_, i) => a.store.create([readAcl(`User:a${i}`)])),
      ...Array.from({ length: perBroker }, (_, i) => b.store.create([readAcl(`User:b${i}`)])),
    ]);
    const expected = [
      ...Array.from({ length: perBroker }, (_, i) => `User:a${i}/orders`),
      ...Array.from({ length: perBroker }, (_, i) => `User:b${i}/orders`),
    ].sort();
    await until(() => principals(a.store).length === 2 * perBroker, WAIT_MS, 'broker a to see every ACL');
    await until(() => principals(b.store).length === 2 * perBroker, WAIT_MS, 'broker b to see every ACL');
    assert.deepEqual(principals(a.store), expected);
    assert.deepEqual(principals(b.store), expected);

    // Deletions racing creations: each broker deletes the other's ACLs while creating new ones.
    await Promise.all([
      a.store.delete([{ ...anyAclFilter(), principal: 'User:b0' }]),
      b.store.delete([{ ...anyAclFilter(), principal: 'User:a0' }]),
      a.store.create([readAcl('User:a-late')]),
      b.store.create([readAcl('User:b-late')]),
    ]);
    const after = expected
      .filter((p) => p !== 'User:a0/orders' && p !== 'User:b0/orders')
      .concat(['User:a-late/orders', 'User:b-late/orders'])
      .sort();
    await until(() => principals(a.store).join() === after.join(), WAIT_MS, 'broker a to see the deletions');
    await until(() => principals(b.store).join() === after.join(), WAIT_MS, 'broker b to see the deletions');
    // A broker opened now reads the same list.
    assert.deepEqual(principals((await aclBroker()).store), after);
  });

  test('a store is told of another broker’s change (the authorizer rebuilds on it)', async () => {
    const [a, b] = [await aclBroker(), await aclBroker()];
    const seen: number[] = [];
    b.store.follow((bindings) => seen.push(bindings.length));
    const before = seen.at(-1)!;
    await a.store.create([readAcl('User:followed', 'payments')]);
    await until(() => seen.at(-1) === before + 1, WAIT_MS, 'broker b to be told of the new ACL');
  });

  test('quotas set through two brokers at once are all kept and seen by both', async () => {
    const [a, b] = [await quotaBroker(), await quotaBroker()];
    const seenByB: number[] = [];
    b.follow((quotas) => seenByB.push(quotas.length));
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).alter(
          [{ entity: { user: `u${i}` }, ops: [{ key: 'producer_byte_rate', value: 1000 + i }] }],
          false,
        ),
      ),
    );
    await until(() => a.list().length === 10 && b.list().length === 10, WAIT_MS, 'both to see 10 quotas');
    assert.deepEqual(
      a
        .list()
        .map((q) => [q.entity.user, q.values.producer_byte_rate])
        .sort(),
      Array.from({ length: 10 }, (_, i) => [`u${i}`, 1000 + i]).sort(),
    );
    assert.equal(seenByB.at(-1), 10);
  });

  test('after a session expiry a broker watches again and sees changes made after it', async () => {
    const [a, b] = [await aclBroker(), await aclBroker()];
    const states: SessionState[] = [];
    b.coordinator.onState((state) => states.push(state));
    // A pause such as a long GC: nothing of this process runs, the servers expire every session it holds.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SESSION_TIMEOUT_MS * 3);
    await until(
      () => states.includes('expired') && states.lastIndexOf('connected') > states.indexOf('expired'),
      WAIT_MS,
      `b's session expired then connected (states: ${states.join(', ')})`,
    );
    // a's own session may be reconnecting too: its change is retried until it lands.
    await eventually(
      async () => {
        await a.store.create([readAcl('User:after-expiry')]);
        return true;
      },
      WAIT_MS,
      'a to create an ACL after the expiry',
    );
    await until(
      () => principals(b.store).includes('User:after-expiry/orders'),
      WAIT_MS,
      'b to see the ACL created after its session expired',
    );
  });

  test('a change that would not fit in a ZooKeeper node is refused and nothing is kept', async () => {
    const { store } = await aclBroker();
    const before = store.list().length;
    const huge = Array.from({ length: 1200 }, (_, i) => readAcl(`User:${'x'.repeat(800)}${i}`));
    await assert.rejects(
      store.create(huge),
      (error: unknown) =>
        error instanceof AclError && error.code === 'ACL_LIMIT' && /ZooKeeper/.test(error.message),
    );
    assert.equal(store.list().length, before);
  });
});

function anyAclFilter() {
  return {
    resourceType: ResourceType.ANY,
    resourceName: null,
    patternType: PatternType.ANY,
    principal: null,
    host: null,
    operation: AclOperation.ANY,
    permissionType: AclPermissionType.ANY,
  };
}
