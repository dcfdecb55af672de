// The coordination module against a real three-member ZooKeeper ensemble (Debian's zookeeper 3.8): sessions
// and ephemeral nodes, watches, versions and multi-ops, membership, election with epoch fencing, the loss of
// one member, and the lease of a process that was paused longer than its session timeout.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import {
  type CoordinationOp,
  Election,
  type Leadership,
  Membership,
  type SessionState,
  ZooKeeperCoordinator,
} from '../src/coordination/index.js';
import { Background, until } from './support/processes.js';
import { type Ensemble, startZooKeeperEnsemble } from './support/zookeeper.js';

const SESSION_TIMEOUT_MS = 2_000;
const WAIT_MS = 15_000;
const logger = pino({ level: 'silent' });
const childScript = fileURLToPath(new URL('./support/zookeeper-ephemeral-child.js', import.meta.url));

let ensemble: Ensemble;
const coordinators: ZooKeeperCoordinator[] = [];

async function connect(): Promise<ZooKeeperCoordinator> {
  const coordinator = new ZooKeeperCoordinator({
    connectString: ensemble.connectString,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    connectTimeoutMs: 10_000,
    requestTimeoutMs: 3_000,
    logger,
  });
  coordinators.push(coordinator);
  await coordinator.start();
  return coordinator;
}

/** A watch callback and a promise of its first call, rejected after WAIT_MS; `calls` counts every call. */
function watchOnce(what: string): { watch: () => void; fired: Promise<void>; calls: () => number } {
  let calls = 0;
  let resolveFired: () => void = () => undefined;
  const fired = new Promise<void>((resolve, reject) => {
    resolveFired = resolve;
    setTimeout(
      () => reject(new Error(`watch on ${what} did not fire within ${WAIT_MS} ms`)),
      WAIT_MS,
    ).unref();
  });
  return {
    watch: () => {
      calls++;
      resolveFired();
    },
    fired,
    calls: () => calls,
  };
}

/** Retries `attempt` until it passes: requests may time out while the survivors of a crash elect a leader. */
async function eventually(attempt: () => Promise<void>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`${what} still failing after ${timeoutMs} ms`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function fenced(epochPath: string, lead: Leadership, statePath: string, value: string): CoordinationOp[] {
  return [
    { op: 'check', path: epochPath, version: lead.epochVersion },
    { op: 'set', path: statePath, data: Buffer.from(value), version: -1 },
  ];
}

describe('coordination on a ZooKeeper ensemble', { timeout: 120_000 }, () => {
  before(async () => {
    ensemble = await startZooKeeperEnsemble({ members: 3, tickTimeMs: 500 });
  });

  after(async () => {
    await Promise.all(coordinators.map((coordinator) => coordinator.close()));
    await ensemble?.stop();
  });

  test('an ephemeral node of a SIGKILLed process stays until its session times out; a member with its id then takes it over', async () => {
    const child = new Background('node', [childScript, ensemble.connectString, '/a/members/7'], 60_000);
    await until(() => child.stdout.includes('created'), WAIT_MS, 'the child to create its node');
    const childSessionId = /created (\w+)/.exec(child.stdout)?.[1];
    const coordinator = await connect();
    assert.equal((await coordinator.get('/a/members/7'))?.ephemeralOwner, childSessionId);

    await child.stop('SIGKILL');
    const killedAtMs = performance.now();
    assert.notEqual(await coordinator.get('/a/members/7'), null, 'a killed process closes no session');

    // As a restarted broker would: join with the same id; the old node must vanish first.
    const membership = new Membership(coordinator, { dir: '/a/members', logger });
    await membership.join('7', Buffer.from('restarted'));
    const waitedMs = performance.now() - killedAtMs;
    // Our heartbeats leave at most a quarter of the timeout unaccounted for before the kill.
    assert.ok(waitedMs >= SESSION_TIMEOUT_MS / 2, `node vanished ${waitedMs} ms after the kill`);
    const node = await coordinator.get('/a/members/7');
    assert.equal(node?.ephemeralOwner, coordinator.sessionId());
    assert.equal(node?.data.toString(), 'restarted');
    await membership.close();
    assert.equal(await coordinator.get('/a/members/7'), null, 'leave deletes the node');
  });

  test('watches fire once on creation, change, children and deletion', async () => {
    const coordinator = await connect();
    const other = await connect();

    const created = watchOnce('creation');
    assert.equal(await coordinator.get('/b/node', created.watch), null);
    assert.equal(await other.create('/b/node', Buffer.from('1'), { parents: true }), true);
    await created.fired;

    const changed = watchOnce('change');
    const node = await coordinator.get('/b/node', changed.watch);
    assert.deepEqual(node, { data: Buffer.from('1'), version: 0 });
    assert.equal(await other.set('/b/node', Buffer.from('2'), 0), 1);
    await changed.fired;

    const child = watchOnce('children');
    assert.deepEqual(await coordinator.children('/b/node', child.watch), []);
    await other.create('/b/node/kid', Buffer.alloc(0));
    await child.fired;

    const deleted = watchOnce('deletion');
    assert.notEqual(await coordinator.get('/b/node/kid', deleted.watch), null);
    assert.equal(await other.delete('/b/node/kid'), true);
    await deleted.fired;

    // One-shot: later changes do not call them again.
    await other.set('/b/node', Buffer.from('3'), -1);
    await other.create('/b/node/kid', Buffer.alloc(0));
    assert.equal((await coordinator.get('/b/node'))?.version, 2);
    for (const watch of [created, changed, child, deleted]) assert.equal(watch.calls(), 1);
    assert.equal(await coordinator.children('/b/missing'), null);
  });

  test('set with a stale version fails; a commit with a failing condition applies nothing', async () => {
    const coordinator = await connect();
    assert.equal(await coordinator.create('/c/n', Buffer.from('a'), { parents: true }), true);
    assert.equal(await coordinator.create('/c/n', Buffer.from('again')), false);
    assert.equal(await coordinator.set('/c/n', Buffer.from('b'), 0), 1);
    assert.equal(await coordinator.set('/c/n', Buffer.from('stale'), 0), null);
    assert.equal(await coordinator.set('/c/missing', Buffer.from('x'), -1), null);
    assert.equal(await coordinator.delete('/c/n', 0), false);

    const failing: CoordinationOp[] = [
      { op: 'create', path: '/c/n/child', data: Buffer.alloc(0) },
      { op: 'set', path: '/c/n', data: Buffer.from('c'), version: 1 },
      { op: 'check', path: '/c/missing', version: 0 },
    ];
    assert.equal(await coordinator.commit(failing), false);
    assert.equal(await coordinator.get('/c/n/child'), null);
    assert.deepEqual(await coordinator.get('/c/n'), { data: Buffer.from('b'), version: 1 });
    // Version 0 means exactly 0 (the library's own builder would send "any").
    assert.equal(await coordinator.commit([{ op: 'check', path: '/c/n', version: 0 }]), false);

    const passing: CoordinationOp[] = [
      { op: 'check', path: '/c/n', version: 1 },
      { op: 'set', path: '/c/n', data: Buffer.from('c'), version: 1 },
      { op: 'create', path: '/c/n/child', data: Buffer.from('d'), ephemeral: true },
    ];
    assert.equal(await coordinator.commit(passing), true);
    assert.deepEqual(await coordinator.get('/c/n'), { data: Buffer.from('c'), version: 2 });
    assert.equal((await coordinator.get('/c/n/child'))?.ephemeralOwner, coordinator.sessionId());
  });

  test('membership keeps a live view of the members', async () => {
    const [a, b] = [await connect(), await connect()];
    const viewer = new Membership(a, { dir: '/m/members', logger });
    const views: Array<Map<string, Buffer>> = [];
    viewer.watchMembers((members) => views.push(members));
    const [memberA, memberB] = [
      new Membership(a, { dir: '/m/members', logger }),
      new Membership(b, { dir: '/m/members', logger }),
    ];
    await memberA.join('1', Buffer.from('host-a'));
    await memberB.join('2', Buffer.from('host-b'));
    const latest = () => views.at(-1) ?? new Map<string, Buffer>();
    await until(() => latest().size === 2, WAIT_MS, 'both members in the view');
    assert.equal(latest().get('2')?.toString(), 'host-b');
    await memberB.close();
    await until(() => latest().size === 1 && latest().has('1'), WAIT_MS, 'member 2 gone from the view');
    await viewer.close();
    await memberA.close();
  });

  test('election: one of two candidates wins epoch 1, the other takes over with epoch 2 and the deposed one is fenced', async () => {
    const paths = { path: '/d/controller', epochPath: '/d/controller_epoch' };
    const [a, b] = [await connect(), await connect()];
    const candidates = [
      { id: 'a', coordinator: a, election: new Election(a, { ...paths, candidateId: 'a', logger }) },
      { id: 'b', coordinator: b, election: new Election(b, { ...paths, candidateId: 'b', logger }) },
    ];
    const heard = new Map<string, Array<Leadership | null>>([
      ['a', []],
      ['b', []],
    ]);
    for (const { id, election } of candidates) {
      election.onLeadership((lead) => heard.get(id)?.push(lead));
      election.start();
    }
    await until(() => candidates.some((c) => c.election.leadership() !== null), WAIT_MS, 'a leader');
    const winner = candidates.find((c) => c.election.leadership() !== null)!;
    const loser = candidates.find((c) => c !== winner)!;
    const firstLead = winner.election.leadership()!;
    assert.deepEqual(firstLead, { epoch: 1, epochVersion: 1 });
    await until(() => loser.election.leaderId() === winner.id, WAIT_MS, 'the loser to see the leader');
    assert.equal(loser.election.leadership(), null);

    await winner.coordinator.create('/d/state', Buffer.alloc(0));
    assert.equal(
      await winner.coordinator.commit(fenced(paths.epochPath, firstLead, '/d/state', 'one')),
      true,
    );

    await winner.coordinator.close();
    assert.deepEqual(heard.get(winner.id), [firstLead, null]);
    await until(() => loser.election.leadership() !== null, WAIT_MS, 'the other candidate to win');
    const secondLead = loser.election.leadership()!;
    assert.deepEqual(secondLead, { epoch: 2, epochVersion: 2 });
    assert.equal(loser.election.leaderId(), loser.id);

    // Whatever session carries them, writes fenced with the old epoch fail; the new leader's pass.
    const late = await connect();
    assert.equal(await late.commit(fenced(paths.epochPath, firstLead, '/d/state', 'deposed')), false);
    assert.equal(
      await loser.coordinator.commit(fenced(paths.epochPath, secondLead, '/d/state', 'two')),
      true,
    );
    assert.equal((await late.get('/d/state'))?.data.toString(), 'two');

    await loser.election.close();
    assert.deepEqual(heard.get(loser.id), [secondLead, null]);
    assert.equal(await late.get(paths.path), null, 'resigning deletes the leader node');
  });

  test('losing any one of three ZooKeeper members keeps the session, its nodes and writes', async () => {
    const coordinator = await connect();
    const states: SessionState[] = [];
    coordinator.onState((state) => states.push(state));
    const sessionId = coordinator.sessionId();
    await coordinator.create('/e/ephemeral', Buffer.alloc(0), { ephemeral: true, parents: true });
    for (const member of ensemble.members) {
      await member.kill('SIGKILL');
      assert.equal(member.running, false);
      await eventually(
        async () => {
          const ops: CoordinationOp[] = [
            { op: 'set', path: '/e/ephemeral', data: Buffer.from(`without ${member.id}`), version: -1 },
          ];
          assert.equal(await coordinator.commit(ops), true);
        },
        WAIT_MS,
        `a write without member ${member.id}`,
      );
      const node = await coordinator.get('/e/ephemeral');
      assert.equal(node?.ephemeralOwner, sessionId);
      assert.equal(node?.data.toString(), `without ${member.id}`);
      await member.restart();
      assert.equal(member.running, true);
    }
    assert.equal(coordinator.sessionId(), sessionId);
    // Some kill took the member it was connected to, or the quorum's leader (which drops every client).
    assert.ok(states.includes('disconnected'), `states: ${states.join(', ')}`);
    assert.ok(!states.includes('expired'), `states: ${states.join(', ')}`);
  });

  test('without a reachable server, start and every request fail with a CoordinationError in bounded time', async () => {
    const member = ensemble.members[2]!;
    const options = {
      connectString: `127.0.0.1:${member.clientPort}`,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      connectTimeoutMs: 1_000,
      requestTimeoutMs: 1_000,
      logger,
    };
    const coordinator = new ZooKeeperCoordinator(options);
    coordinators.push(coordinator);
    await coordinator.start();
    const states: SessionState[] = [];
    coordinator.onState((state) => states.push(state));
    try {
      await member.kill('SIGKILL');
      await until(() => states.includes('disconnected'), WAIT_MS, 'disconnected');
      let startedMs = performance.now();
      await assert.rejects(coordinator.get('/'), { name: 'CoordinationError', code: 'TIMEOUT' });
      assert.ok(performance.now() - startedMs < 2_000, 'bounded by requestTimeoutMs');

      const unreachable = new ZooKeeperCoordinator(options);
      startedMs = performance.now();
      await assert.rejects(unreachable.start(), { name: 'CoordinationError', code: 'TIMEOUT' });
      assert.ok(performance.now() - startedMs < 2_000, 'bounded by connectTimeoutMs');
      await assert.rejects(unreachable.get('/'), { name: 'CoordinationError', code: 'UNEXPECTED' });
      await unreachable.close();
      await assert.rejects(unreachable.get('/'), { name: 'CoordinationError', code: 'CLOSED' });
    } finally {
      await member.restart();
    }
  });

  test('the lease stays ahead while connected and falls behind after a pause longer than the session timeout', async () => {
    const paths = { path: '/f/controller', epochPath: '/f/controller_epoch' };
    const coordinator = await connect();
    const states: SessionState[] = [];
    coordinator.onState((state) => states.push(state));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const sampleUntilMs = performance.now() + SESSION_TIMEOUT_MS;
    while (performance.now() < sampleUntilMs) {
      const aheadMs = coordinator.leaseDeadlineMs() - performance.now();
      // At least 0.9 - 1/4 of the timeout minus a round trip: one heartbeat every quarter of the timeout.
      assert.ok(aheadMs > SESSION_TIMEOUT_MS * 0.5, `lease only ${aheadMs} ms ahead`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const election = new Election(coordinator, { ...paths, candidateId: 'paused', logger });
    const heard: Array<Leadership | null> = [];
    election.onLeadership((lead) => heard.push(lead));
    election.start();
    await until(() => election.leadership() !== null, WAIT_MS, 'leadership');
    const oldLead = election.leadership()!;
    await coordinator.create('/f/state', Buffer.alloc(0));

    // A pause such as a long GC or SIGSTOP: nothing of this process runs, the servers expire its session.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SESSION_TIMEOUT_MS * 2);
    assert.ok(coordinator.leaseDeadlineMs() < performance.now(), 'the lease ran out during the pause');

    await until(
      () => states.includes('expired') && states.lastIndexOf('connected') > states.indexOf('expired'),
      WAIT_MS,
      `expired then connected (states: ${states.join(', ')})`,
    );
    assert.equal(heard[0], oldLead);
    assert.equal(heard[1], null, 'leadership ends with the session');
    // The candidate campaigns again with its new session and wins a newer epoch.
    await until(() => election.leadership() !== null, WAIT_MS, 'leadership in the new session');
    const newLead = election.leadership()!;
    assert.equal(newLead.epoch, oldLead.epoch + 1);
    assert.equal(await coordinator.commit(fenced(paths.epochPath, oldLead, '/f/state', 'stale')), false);
    assert.equal(await coordinator.commit(fenced(paths.epochPath, newLead, '/f/state', 'fresh')), true);
    await until(() => coordinator.leaseDeadlineMs() > performance.now(), WAIT_MS, 'a fresh lease');
    await election.close();
  });
});
