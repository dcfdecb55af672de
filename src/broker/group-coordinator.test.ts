import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinParams as join, withCoordinator } from '../../test/support/group-fixtures.js';
import { ErrorCode } from '../protocol/index.js';

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
});
