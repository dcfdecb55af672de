// The cluster's SASL users (ClusterCredentials) against a real ZooKeeper (Debian's zookeeper 3.8): users
// written in Kafka's form under /config/users, alterations racing from two brokers, another broker's change
// seen through the watches, and logins checked from memory while ZooKeeper is away.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { ClusterCredentials, MAX_USERS_PER_ALTER } from '../src/cluster/cluster-credentials.js';
import { type SessionState, ZooKeeperCoordinator } from '../src/coordination/index.js';
import {
  type CredentialChange,
  CredentialStoreError,
  makeScramCredential,
  type ScramMechanism,
} from '../src/security/index.js';
import { checkPlainPassword } from '../src/security/plain.js';
import { until } from './support/processes.js';
import { type Ensemble, startZooKeeperEnsemble } from './support/zookeeper.js';

const SESSION_TIMEOUT_MS = 4_000;
const WAIT_MS = 15_000;
const logger = pino({ level: 'silent' });

let ensemble: Ensemble;
const coordinators: ZooKeeperCoordinator[] = [];
const sources: ClusterCredentials[] = [];

/** One broker's view of the users: its own ZooKeeper session. */
async function open(): Promise<{ source: ClusterCredentials; coordinator: ZooKeeperCoordinator }> {
  const coordinator = new ZooKeeperCoordinator({
    connectString: ensemble.connectString,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    connectTimeoutMs: 10_000,
    requestTimeoutMs: 3_000,
    logger,
  });
  coordinators.push(coordinator);
  await coordinator.start();
  const source = new ClusterCredentials(coordinator, logger);
  sources.push(source);
  await source.start();
  return { source, coordinator };
}

async function upsert(user: string, password: string, mechanism: ScramMechanism = 'SCRAM-SHA-512') {
  return { user, mechanism, credential: await makeScramCredential(mechanism, password, 4096) };
}

function removal(user: string, mechanism: ScramMechanism): CredentialChange {
  return { user, mechanism, credential: null };
}

describe('SASL users in ZooKeeper', { timeout: 180_000 }, () => {
  before(async () => {
    ensemble = await startZooKeeperEnsemble({ members: 1, tickTimeMs: 500 });
  });

  after(async () => {
    for (const source of sources) source.close();
    await Promise.all(coordinators.map((coordinator) => coordinator.close()));
    await ensemble?.stop();
  });

  test('create, describe and delete; the node holds Kafka form, salted keys only', async () => {
    const { source, coordinator } = await open();
    await source.alter([await upsert('alice', 'alice-pw'), await upsert('a/b..c', 'odd', 'SCRAM-SHA-256')]);
    assert.deepEqual(source.describe(), [
      { user: 'a/b..c', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }] },
      { user: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
    ]);
    assert.equal(await checkPlainPassword(source, 'alice', 'alice-pw'), true);
    assert.equal(await checkPlainPassword(source, 'alice', 'wrong'), false);
    const node = await coordinator.get('/config/users/alice');
    const stored = JSON.parse(node!.data.toString('utf8'));
    assert.match(
      stored.config['SCRAM-SHA-512'],
      /^salt=[A-Za-z0-9+/=]+,stored_key=[A-Za-z0-9+/=]+,server_key=[A-Za-z0-9+/=]+,iterations=4096$/,
    );
    assert.ok(!node!.data.toString('utf8').includes('alice-pw'));
    assert.deepEqual(await coordinator.children('/config/users').then((c) => c?.sort()), [
      'a%2Fb%2E%2Ec',
      'alice',
    ]);

    await source.alter([removal('alice', 'SCRAM-SHA-512'), removal('a/b..c', 'SCRAM-SHA-256')]);
    assert.deepEqual(source.describe(), []);
    assert.equal(source.get('alice', 'SCRAM-SHA-512'), null);
    assert.equal(await coordinator.get('/config/users/alice'), null);
  });

  test('one alteration changes at most MAX_USERS_PER_ALTER users (a ZooKeeper request is bounded)', async () => {
    const { source } = await open();
    const credential = (await upsert('x', 'pw')).credential;
    const changes = Array.from({ length: MAX_USERS_PER_ALTER + 1 }, (_, i) => ({
      user: `bulk-${i}`,
      mechanism: 'SCRAM-SHA-512' as const,
      credential,
    }));
    await assert.rejects(
      source.alter(changes),
      (error) => error instanceof CredentialStoreError && error.code === 'USER_LIMIT',
    );
    await source.alter(changes.slice(0, MAX_USERS_PER_ALTER));
    assert.equal(source.describe().length, MAX_USERS_PER_ALTER);
    await source.alter(changes.slice(0, MAX_USERS_PER_ALTER).map((c) => ({ ...c, credential: null })));
    assert.equal(source.hasUsers(), false);
  });

  test('other config keys of a user node are kept when its credentials change', async () => {
    const { source, coordinator } = await open();
    const quota = Buffer.from(JSON.stringify({ version: 1, config: { producer_byte_rate: '1024' } }));
    await coordinator.create('/config/users/quoted', quota);
    await source.alter([await upsert('quoted', 'pw')]);
    await source.alter([removal('quoted', 'SCRAM-SHA-512')]);
    const node = await coordinator.get('/config/users/quoted');
    assert.deepEqual(JSON.parse(node!.data.toString('utf8')), {
      version: 1,
      config: { producer_byte_rate: '1024' },
    });
    assert.equal(source.hasUsers(), false);
    await coordinator.delete('/config/users/quoted');
  });

  test('two brokers altering the same user at once: no change is lost', async () => {
    const [one, two] = [await open(), await open()];
    for (let round = 0; round < 5; round++) {
      const [a, b] = [
        await upsert('racer', `a${round}`, 'SCRAM-SHA-256'),
        await upsert('racer', `b${round}`),
      ];
      await Promise.all([one.source.alter([a]), two.source.alter([b])]);
      const reader = await open();
      assert.deepEqual(
        reader.source
          .describe()
          .find((d) => d.user === 'racer')
          ?.credentials.map((c) => c.mechanism),
        ['SCRAM-SHA-256', 'SCRAM-SHA-512'],
        `round ${round}`,
      );
      await Promise.all([
        one.source.alter([removal('racer', 'SCRAM-SHA-256')]),
        two.source.alter([removal('racer', 'SCRAM-SHA-512')]),
      ]);
      assert.equal(await one.coordinator.get('/config/users/racer'), null, `round ${round}`);
    }
  });

  test("another broker's changes are seen through the watches within seconds", async () => {
    const [writer, reader] = [await open(), await open()];
    await writer.source.alter([await upsert('bob', 'bob-pw')]);
    await until(() => reader.source.get('bob', 'SCRAM-SHA-512') !== null, WAIT_MS, 'bob seen');
    assert.equal(await checkPlainPassword(reader.source, 'bob', 'bob-pw'), true);
    const before = reader.source.get('bob', 'SCRAM-SHA-512')!;
    await writer.source.alter([await upsert('bob', 'new-pw')]);
    await until(() => reader.source.get('bob', 'SCRAM-SHA-512') !== before, WAIT_MS, 'new password seen');
    assert.equal(await checkPlainPassword(reader.source, 'bob', 'new-pw'), true);
    await writer.source.alter([removal('bob', 'SCRAM-SHA-512')]);
    await until(() => !reader.source.hasUsers(), WAIT_MS, 'bob gone');
  });

  test('after its session expired, a broker reads the users again: a change made meanwhile is seen', async () => {
    const [writer, reader] = [await open(), await open()];
    const states: SessionState[] = [];
    reader.coordinator.onState((state) => states.push(state));
    // A pause such as a long GC or SIGSTOP: nothing of this process runs, the servers expire both sessions
    // and drop their watches.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SESSION_TIMEOUT_MS * 2);
    // Made in the writer's new session, after the reader's watches died with its old one.
    const erin = await upsert('erin', 'erin-pw');
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      try {
        await writer.source.alter([erin]);
        break;
      } catch (error) {
        if (!(error instanceof CredentialStoreError) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    await until(() => reader.source.get('erin', 'SCRAM-SHA-512') !== null, WAIT_MS, 'erin seen');
    assert.ok(states.includes('expired'), `the reader's session expired (states: ${states.join(', ')})`);
    await writer.source.alter([removal('erin', 'SCRAM-SHA-512')]);
    await until(
      () => reader.source.get('erin', 'SCRAM-SHA-512') === null,
      WAIT_MS,
      'erin gone (new watches)',
    );
  });

  test('logins keep working from memory while ZooKeeper is down; alterations fail with UNAVAILABLE', async () => {
    const { source } = await open();
    await source.alter([await upsert('carol', 'carol-pw')]);
    await Promise.all(ensemble.members.map((member) => member.kill()));
    await until(() => !coordinators.at(-1)!.reachable(), WAIT_MS * 2, 'ZooKeeper out of reach');
    assert.equal(await checkPlainPassword(source, 'carol', 'carol-pw'), true);
    assert.equal(await checkPlainPassword(source, 'carol', 'wrong'), false);
    await assert.rejects(
      source.alter([await upsert('dave', 'pw')]),
      (error) => error instanceof CredentialStoreError && error.code === 'UNAVAILABLE',
    );
    assert.equal(source.get('dave', 'SCRAM-SHA-512'), null);
  });
});
