import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinParams as join, withCoordinator } from '../../test/support/group-fixtures.js';
import { RecordingLogger, temporaryDirectory } from '../../test/support/log-fixtures.js';
import { until } from '../../test/support/processes.js';
import { LogManager } from '../log/index.js';
import { ErrorCode } from '../protocol/index.js';
import { GroupCoordinator, type JoinResult, type SyncParams } from './group-coordinator.js';
import { OFFSETS_TOPIC, OFFSETS_TOPIC_CONFIG, OffsetCommitError, OffsetStore } from './offset-store.js';

describe('GroupCoordinator', () => {
  it('runs a two-member rebalance and hands each member the leader assignment', () =>
    withCoordinator(async ({ coordinator }) => {
      const [a, b] = await Promise.all([coordinator.join(join('')), coordinator.join(join(''))]);
      assert.equal(a.errorCode, ErrorCode.NONE);
      assert.equal(a.generationId, b.generationId);
      const leader = a.leader === a.memberId ? a : b;
      const follower = leader === a ? b : a;
      assert.equal(leader.members.length, 2, 'only the leader gets the member list');
      assert.equal(follower.members.length, 0);
      const followerSync = coordinator.sync({
        groupId: 'g',
        generationId: follower.generationId,
        memberId: follower.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: [],
      });
      const leaderSync = await coordinator.sync({
        groupId: 'g',
        generationId: leader.generationId,
        memberId: leader.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: [
          { memberId: leader.memberId, assignment: Buffer.from('p0') },
          { memberId: follower.memberId, assignment: Buffer.from('p1') },
        ],
      });
      assert.equal(leaderSync.assignment.toString(), 'p0');
      assert.equal((await followerSync).assignment.toString(), 'p1');
      assert.equal(coordinator.describe('g').state, 'Stable');
      assert.equal(
        coordinator.heartbeat({
          groupId: 'g',
          generationId: leader.generationId,
          memberId: leader.memberId,
          groupInstanceId: null,
        }).errorCode,
        0,
      );
      assert.equal(
        coordinator.heartbeat({
          groupId: 'g',
          generationId: leader.generationId - 1,
          memberId: leader.memberId,
          groupInstanceId: null,
        }).errorCode,
        ErrorCode.ILLEGAL_GENERATION,
      );
    }));

  it('asks v4+ joiners for a member id first', () =>
    withCoordinator(async ({ coordinator }) => {
      const first = await coordinator.join(join('', { requireKnownMemberId: true }));
      assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
      assert.ok(first.memberId.startsWith('client-'));
      const second = await coordinator.join(join(first.memberId, { requireKnownMemberId: true }));
      assert.equal(second.errorCode, ErrorCode.NONE);
      assert.equal(second.leader, first.memberId);
      assert.equal((await coordinator.join(join('stranger'))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    }));

  it('expires a silent member and rebalances the rest', () =>
    withCoordinator(async ({ coordinator }) => {
      const [a, b] = await Promise.all([coordinator.join(join('')), coordinator.join(join(''))]);
      const syncOf = (m: typeof a) =>
        coordinator.sync({
          groupId: 'g',
          generationId: m.generationId,
          memberId: m.memberId,
          groupInstanceId: null,
          protocolType: null,
          protocolName: null,
          assignments: [],
        });
      await Promise.all([syncOf(a), syncOf(b)]);
      const deadline = Date.now() + 600;
      let errorCode = 0;
      while (Date.now() < deadline && errorCode === 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        errorCode = coordinator.heartbeat({
          groupId: 'g',
          generationId: a.generationId,
          memberId: a.memberId,
          groupInstanceId: null,
        }).errorCode;
      }
      assert.equal(
        errorCode,
        ErrorCode.REBALANCE_IN_PROGRESS,
        'b stopped heartbeating, so a is told to rejoin',
      );
      const rejoined = await coordinator.join(join(a.memberId));
      assert.equal(rejoined.members.length, 1, 'b was removed from the group');
      assert.equal(rejoined.generationId, a.generationId + 1);
    }));

  it('refuses commits from a stale generation and keeps committed offsets across a restart', () =>
    withCoordinator(
      async (fixture) => {
        const { coordinator } = fixture;
        const member = await coordinator.join(join(''));
        assert.equal(member.errorCode, ErrorCode.NONE);
        const offsets = [{ topic: 't', partition: 0, offset: 42, leaderEpoch: -1, metadata: 'meta data' }];
        const stale = await coordinator.commitOffsets({
          groupId: 'g',
          generationId: member.generationId + 5,
          memberId: member.memberId,
          groupInstanceId: null,
          offsets,
        });
        assert.equal(stale[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);
        await coordinator.sync({
          groupId: 'g',
          generationId: member.generationId,
          memberId: member.memberId,
          groupInstanceId: null,
          protocolType: null,
          protocolName: null,
          assignments: [],
        });
        const ok = await coordinator.commitOffsets({
          groupId: 'g',
          generationId: member.generationId,
          memberId: member.memberId,
          groupInstanceId: null,
          offsets,
        });
        assert.equal(ok[0]!.errorCode, ErrorCode.NONE);

        const restarted = await fixture.restart();
        assert.deepEqual(restarted.fetchOffsets('g', [{ topic: 't', partitions: [0, 1] }]), [
          { topic: 't', partition: 0, offset: 42, leaderEpoch: -1, metadata: 'meta data', errorCode: 0 },
          { topic: 't', partition: 1, offset: -1, leaderEpoch: -1, metadata: '', errorCode: 0 },
        ]);
        assert.deepEqual(restarted.list(), [{ groupId: 'g', protocolType: 'consumer', state: 'Empty' }]);
      },
      { initialRebalanceDelayMs: 0 },
    ));

  it('answers SyncGroup only once the group record with the assignment is acknowledged', () =>
    withHeldGroupRecords(async ({ coordinator, store, acknowledge }) => {
      const [leader, follower] = await twoMembers(coordinator);
      const followerSync = coordinator.sync(syncParams(follower, []));
      const leaderSync = coordinator.sync(
        syncParams(leader, [
          { memberId: leader.memberId, assignment: Buffer.from('p0') },
          { memberId: follower.memberId, assignment: Buffer.from('p1') },
        ]),
      );
      let answered = false;
      void Promise.race([leaderSync, followerSync]).then(() => {
        answered = true;
      });
      await until(
        () => store.storedGroup('g')?.generation === leader.generationId,
        10_000,
        'the group record of the new generation',
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(answered, false, 'no member has its assignment before the record is acknowledged');
      assert.equal(coordinator.describe('g').state, 'CompletingRebalance');
      assert.deepEqual(
        store
          .storedGroup('g')!
          .members.map((m) => m.assignment.toString())
          .sort(),
        ['p0', 'p1'],
        'the record holds the leader assignment',
      );
      acknowledge(null);
      assert.equal((await leaderSync).assignment.toString(), 'p0');
      assert.equal((await followerSync).assignment.toString(), 'p1');
      assert.equal(coordinator.describe('g').state, 'Stable');
    }));

  for (const [failure, answer] of [
    [ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.COORDINATOR_NOT_AVAILABLE],
    [ErrorCode.REQUEST_TIMED_OUT, ErrorCode.COORDINATOR_NOT_AVAILABLE],
    [ErrorCode.NOT_COORDINATOR, ErrorCode.NOT_COORDINATOR],
  ] as const) {
    it(`a group record refused with error ${failure} answers every waiting member ${answer} and rebalances`, () =>
      withHeldGroupRecords(async ({ coordinator, acknowledge }) => {
        const [leader, follower] = await twoMembers(coordinator);
        const followerSync = coordinator.sync(syncParams(follower, []));
        const leaderSync = coordinator.sync(
          syncParams(leader, [{ memberId: follower.memberId, assignment: Buffer.from('p1') }]),
        );
        acknowledge(new OffsetCommitError(failure, 'not replicated'));
        const answers = await Promise.all([leaderSync, followerSync]);
        assert.deepEqual(
          answers.map((a) => [a.errorCode, a.assignment.length]),
          [
            [answer, 0],
            [answer, 0],
          ],
        );
        assert.equal(coordinator.describe('g').state, 'PreparingRebalance');
        const rejoined = await Promise.all([
          coordinator.join(join(leader.memberId, longSession)),
          coordinator.join(join(follower.memberId, longSession)),
        ]);
        assert.deepEqual(
          rejoined.map((r) => [r.errorCode, r.generationId]),
          [
            [ErrorCode.NONE, leader.generationId + 1],
            [ErrorCode.NONE, leader.generationId + 1],
          ],
        );
      }));
  }
});

/** Sessions that outlast any test: a member's expiry would rebalance the group under it. */
const longSession = { sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 10_000 };

/** Both members of group `g` joined: the leader's result first. */
async function twoMembers(coordinator: GroupCoordinator): Promise<[JoinResult, JoinResult]> {
  const [a, b] = await Promise.all([
    coordinator.join(join('', longSession)),
    coordinator.join(join('', longSession)),
  ]);
  return a.leader === a.memberId ? [a, b] : [b, a];
}

function syncParams(member: JoinResult, assignments: SyncParams['assignments']): SyncParams {
  return {
    groupId: 'g',
    generationId: member.generationId,
    memberId: member.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments,
  };
}

/**
 * A coordinator whose offsets store writes to a log but holds every acknowledgement until the test gives it:
 * `acknowledge(null)` acknowledges what was written, `acknowledge(error)` fails it, as a replicated store
 * whose ISR did not answer.
 */
async function withHeldGroupRecords(
  work: (held: {
    coordinator: GroupCoordinator;
    store: OffsetStore;
    acknowledge: (error: OffsetCommitError | null) => void;
  }) => Promise<void>,
): Promise<void> {
  using tmp = temporaryDirectory();
  const logger = new RecordingLogger();
  const logs = LogManager.open({ dataDir: tmp.dir, logger });
  logs.createTopic(OFFSETS_TOPIC, 1, OFFSETS_TOPIC_CONFIG);
  const log = logs.partition(OFFSETS_TOPIC, 0);
  let release: (error: OffsetCommitError | null) => void = () => undefined;
  const released = new Promise<OffsetCommitError | null>((resolve) => {
    release = resolve;
  });
  const store = OffsetStore.over(log, {
    write: (payload) => log.write(payload),
    acknowledged: async () => {
      const error = await released;
      if (error) throw error;
      await log.durable();
    },
  });
  const coordinator = new GroupCoordinator(store, {
    // Both members of a test join the first generation.
    initialRebalanceDelayMs: 100,
    logger,
    partitionExists: () => true,
  });
  try {
    await work({ coordinator, store, acknowledge: release });
  } finally {
    coordinator.close();
    await logs.close();
  }
}
